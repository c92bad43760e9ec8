// Package mongodb is the one description of the MongoDB database that the online
// service writes and the batch reads and writes: the database, collection and field
// names, the logged documents (Prediction, Target), and the one way to connect
// (Connect, Open, Ping) and to show a connection string (RedactURI). It imports no
// other part of the project but the taxi request type, so that every part can use it.
//
// Layout:
//
//	database prediction_service
//	  collection data:    one document per prediction, _id == id == the ride id,
//	                      every TLC request field (missing = null, timestamps as
//	                      "YYYY-MM-DDTHH:MM:SS" strings), PU_DO, pu_do_known,
//	                      prediction (minutes), model_version, received_at (UTC datetime),
//	                      stored_at (UTC datetime, set by the store's writer at insert)
//	  collection target:  {_id: ride id, duration: minutes}, joined on _id
//	  collection report:  one batch result per (dataset, window) (package batch)
//	  collection staging: the batch pipeline's columnar chunks (package batch)
//	  collection windows: the batch's window ledger, one claim per window (package batch)
package mongodb
