// Package onlineapp assembles the online service: prediction and logging (internal/serve) with live monitoring (internal/monitor) and Prometheus metrics on /metrics.
package onlineapp
