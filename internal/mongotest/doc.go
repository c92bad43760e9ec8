// Package mongotest starts an embedded FerretDB (a real MongoDB wire-protocol server) for tests and the dev stack.
package mongotest
