// Package e2e holds the end-to-end tests of batch monitoring: a real Temporal server
// (go.temporal.io/server/temporaltest, SQLite in memory) and a real FerretDB in the
// test process, real TLC rides, the real worker. It is the only package whose test
// binary links the Temporal server.
package e2e
