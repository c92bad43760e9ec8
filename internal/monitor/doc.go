// Package monitor is live model monitoring in the online service: per dataset, a sliding window of recent records compared with a reference every calculation period, exported as Prometheus metrics.
package monitor
