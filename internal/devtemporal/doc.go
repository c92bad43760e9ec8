// Package devtemporal runs an embedded, SQLite-backed Temporal server and its Web UI in-process for local development.
package devtemporal
