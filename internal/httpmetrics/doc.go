// Package httpmetrics is the Prometheus middleware of the HTTP services: requests, latency and in-flight requests, labelled by chi route pattern.
package httpmetrics
