// Package workflows holds the BatchMonitoring workflow: a durable batch quality check
// of one window of a model's prediction log against its reference, started by hand
// (starter run, the Temporal CLI, tctl) or by a Temporal Schedule (starter schedule).
//
// # Type, queue, input
//
// The workflow is registered under the stable type name WorkflowType
// ("BatchMonitoring") on TaskQueue ("batch-monitoring"); its input is JSON:
//
//	{"dataset":"taxi","window_start":"2022-01-01T00:00:00Z","window_end":"2022-01-02T00:00:00Z",
//	 "reference":"data/green_tripdata_2021-01.parquet","targets":"target.csv"}
//
// An empty window_start means "since the end of the last window a run of this dataset
// covered" (the first run covers the last 24 hours); an empty window_end means the
// workflow's time (workflow.Now), so schedules pass only the dataset. The open start is
// resolved by the first activity, FetchPredictions, from the `report` collection: its
// result, recorded in the history, keeps the workflow deterministic.
//
// # Steps
//
//	FetchPredictions -> ScoreReference || JoinTarget -> ComputeMetrics -> SaveHTMLReport -> InsertResults
//
// Each activity has a start-to-close timeout and an explicit retry policy
// (ActivityOptions); the long ones heartbeat their progress and a retry resumes from
// it. Invalid input (unknown dataset, malformed window, missing or corrupt reference
// or target file) fails at once with a non-retryable error of type
// batchapi.ErrBadInput whose message says what to fix.
//
// # Staging: MongoDB, not sessions
//
// No record travels through the workflow history: activities pass staging references
// (run key, stage, chunk and row counts), window bounds and counts, each payload a few
// hundred bytes. The rows themselves are staged in MongoDB, in the `staging`
// collection, as columnar binary chunks of 10,000 rows keyed
// "<workflow id>/<run id>/<stage>/<seq>" (stages current, target, reference, report),
// written with one insert per chunk (a rewrite replaces), read back with one query per
// stage and deleted by InsertResults; a TTL index on created_at removes what a failed
// run leaves.
//
// We chose MongoDB staging over Temporal sessions with local files because:
//   - any worker on any host can run any step, so a killed worker's activity is
//     retried on another worker after the heartbeat timeout (10 s) and resumes from
//     its last heartbeat — with sessions the run's files die with the worker and the
//     whole session must start over on a new one;
//   - no sticky host affinity or per-host session capacity to tune when scaling out;
//   - the database is already the system of record the batch reads and writes.
//
// The price is a round trip of the window's columns through the database: about 30
// bytes a row (1M rows: ~30 MB), cheap on MongoDB, slower on FerretDB (see README).
// Chunks are big documents (few, large writes) because FerretDB pays per document and
// never uses an index; the HTML report goes to REPORTS_DIR, which must be shared
// storage when workers run on several hosts (its host is recorded with the path).
//
// # Results
//
// InsertResults writes one document per (dataset, window) into `report` with a
// ReplaceOne upsert on the deterministic _id "<dataset>/<start>/<end>": a retried
// activity, a re-run of the window or a replacement worker never duplicates it. A
// failed run records status "failed" unless the window already has a completed result.
package workflows
