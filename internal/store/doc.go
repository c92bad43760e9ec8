// Package store is the prediction log in MongoDB: its names (database, collections,
// fields), the document written for every prediction (Prediction), a connection
// helper with timeouts (Connect), and a group-commit writer (Logger) that puts the
// records of concurrent requests into one InsertMany and tells every caller when its
// own record is acknowledged.
//
// Layout (read by the batch-monitoring workflow too):
//
//	database prediction_service
//	  collection data:   one document per prediction, _id == id == the ride id,
//	                     every TLC request field (missing = null, timestamps as
//	                     "YYYY-MM-DDTHH:MM:SS" strings), PU_DO, pu_do_known,
//	                     prediction (minutes), model_version, received_at (UTC datetime)
//	  collection target: {_id: ride id, duration: minutes}, joined on _id
//
// The store is written only by batched InsertMany (ordered=false): no per-record
// updates and no counts on hot paths, because the embedded FerretDB (SQLite) uses no
// index for filters and scans every document for a count.
package store
