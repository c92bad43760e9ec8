// Package store writes the prediction log: a group-commit writer (Logger) that puts
// the records of concurrent requests into one InsertMany, tells every caller when its
// own record is acknowledged, and spools records to disk while the database is down.
// The database's layout and the connection helpers are in package mongodb.
//
// The store is written only by batched InsertMany (ordered=false): no per-record
// updates and no counts on hot paths, because the embedded FerretDB (SQLite) uses no
// index for filters and scans every document for a count.
package store
