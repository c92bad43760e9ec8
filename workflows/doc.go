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
// An empty window_start means "the next window of the dataset's ledger" (below; the
// first run covers the last 24 hours); an empty window_end means the workflow's time
// (workflow.Now) minus the allowed lateness, so schedules pass only the dataset. The
// window is decided by the first activity, ClaimWindow: its result, recorded in the
// history, keeps the workflow deterministic.
//
// # Windows: every stored record counted exactly once
//
// A window is a range of the time a record was stored, not of the time it was
// received: the online service's group-commit writer stamps every document with
// stored_at when the InsertMany that carries it starts, including the records
// drained from the spool after an outage (stamped at the drain). A record received at
// 10:59 and stored at 11:20 (the database was down) belongs to the window that holds
// 11:20, and its row is counted there as late (rows.late; the result keeps the range
// of received_at of its rows). Documents written before the stamp existed are selected
// by received_at instead: every document has exactly one of these times.
//
// A window [start, end) is fetched only behind a watermark: once the workflow's clock
// is past end + allowed_lateness (default 30 s; the workflow sleeps on a durable timer
// until then). A document is visible at most one write timeout (10 s by default) after
// its stamp, so with the lateness above the write timeout plus the clock skew between
// the online hosts and Temporal no document appears later in a window already fetched.
//
// The windows of a dataset form a ledger (collection `windows`): contiguous, disjoint
// claims with sequence numbers, _id "<dataset>/<seq>". ClaimWindow inserts the claim
// of the next sequence number, [end of the last claim, window_end); the unique _id
// is the lock: of two runs that read the same last claim (a scheduled run and a
// `starter run`, or any `temporal workflow start`), one inserts it and the other
// reads the ledger again and takes the window after it, or nothing (status "empty").
// So runs never cover overlapping ledger windows, whoever starts them, and each stored
// record is in exactly one ledger window. An explicit window that starts where the
// ledger ends is appended to it; exactly a ledger window is a re-run of it (its
// result is replaced); any other explicit window (overlapping the ledger, or leaving
// a gap) is an ad-hoc analysis: computed and stored with window_kind "adhoc", counted
// in no accounting, and it never moves the next open start. The first ledger window
// of a dataset starts where its results from before the ledger end.
//
// We chose a store-assigned stamp and a watermark over re-opening windows (a late
// record would change a completed report and every total built on it) and over a
// per-dataset sequence number (one more write, serialised across online replicas,
// per record). The cost: an index on stored_at (batch_stored_at) next to the
// received_at one on real MongoDB, where a window's query is an $or of two index
// ranges (stored_at in the window, or no stored_at and received_at in it: after a
// year of stamped documents the second branch reads only the window's received_at
// range and drops it, about as many index keys again); 19 bytes a document; results
// that lag the clock by the allowed lateness. FerretDB uses no index either way: a
// window is a full scan of the collection, as before. On real MongoDB a change
// stream would give the commit order itself, without a lateness bound; it is not
// available on FerretDB, so the stamp is what both run.
//
// A window whose run fails for good (an activity's retries exhausted, or an error no
// retry can fix) is recorded with status "skipped" and the reason in `error`; the
// ledger has moved past it, so later windows still run, and the worker's gauge
// modelmon_batch_windows{status="skipped"} fires ModelmonBatchWindowSkipped. Running
// the window again (starter run with its bounds) replaces the skipped result. An
// ad-hoc window that fails records "failed" (ModelmonBatchRunFailed). A run that is
// terminated (not failed), or cannot write its failure, leaves its claim without a
// result: later windows run, the gauge counts the window as "claimed", and as "lost"
// after 7 h (longer than a scheduled run may take), which fires the same alert.
//
// # Steps
//
//	ClaimWindow -> FetchPredictions -> ScoreReference || JoinTarget -> ComputeMetrics -> SaveHTMLReport -> InsertResults
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
// The scored reference is not run data: ScoreReference stages it once per (reference
// file content SHA-256, model version, dataset config: staged columns, segmentations
// and their lookup files' content, batch.RefCacheVersion) in the collection
// `reference_cache` (batch.RefCache) and every later run's StageRef points there
// (StageRef.Cache). The entry's manifest is inserted after its chunks with the key's
// hash as _id: of two runs that score at once, one manifest wins and the other run
// uses it (its own chunks deleted). A hit checks each chunk against the manifest's
// SHA-256; a missing chunk, an altered one or a manifest of another format is a miss
// (scored again, the entry replaced), and ComputeMetrics / MergeProfiles check the
// checksums again when they read. No TTL and no run's cleanup touch the entry (a few
// MB per reference and model version: delete entries of retired models by hand).
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
// # Partitioned path (the default for windows above partition_rows)
//
// A window too large for one worker is split into partitions that every worker of
// the queue can run (partitioned.go, activities/partition.go, internal/profile).
// partition_rows bounds a partition: absent or 0 means batchapi.DefaultPartitionRows
// (250,000), -1 (ForceSinglePass) always takes the single pass without a plan, any
// other negative value is bad input. A window that fits in one partition keeps the
// exact single pass (PlanPartitions, then the steps above):
//
//	PlanPartitions -> (ScoreReference || ProfilePartition x P, at most partition_fan_out at once)
//	-> MergeProfiles -> SaveHTMLReport -> InsertResults
//
// with P above partition_block (1,000 by default) the partitions run in child
// workflows, one per block (below):
//
//	... -> (ScoreReference || ProfileBlock x ceil(P / block), at most 4 at once,
//	        each ProfilePartition x block) -> MergeProfiles -> ...
//
// The steps:
//   - PlanPartitions resolves the window as FetchPredictions does and sizes P =
//     ceil(estimate / partition_rows) equal time slices of received_at (at most
//     batchapi.MaxPartitions, 100,000: a window that needs more is counted
//     exactly, and if it still needs more the plan fails as bad input saying
//     which partition_rows would do; partitions never grow past partition_rows). The estimate is the log collection's document count
//     from $collStats: metadata, no document read, an upper bound of the window's
//     rows (a countDocuments of the window reads every document on FerretDB; on
//     MongoDB with the received_at index it would be exact and cheap). With the
//     default partition_rows (CountWindow) a collection count above it is
//     refined by counting the window's documents, so that a small window of a
//     large log is not split: on MongoDB a count of index keys, on FerretDB one
//     more pass over the log (the single pass that follows reads it again).
//     P = 1 (and an empty window) takes the single-pass path unchanged.
//   - ProfilePartition runs on the partition queue, the run's task queue +
//     PartitionQueueSuffix ("-partitions"; version "partition-queue", older
//     histories keep the run's queue), which every batch worker polls with at
//     most PARTITION_SLOTS (default 1) activities at once: a worker's memory is
//     bounded by its slots x partition_rows, and the partitions spread over the
//     workers. It streams its slice with a cursor (batch.FindLogged, the same
//     filter as the single pass), joins targets (per chunk with TargetLookup "in" or
//     a target CSV: memory of one chunk; with the default "scan": the slice's rows,
//     bounded by partition_rows) and stages a mergeable profile (internal/profile:
//     exact category counts, moments + a DDSketch per numerical column and the
//     prediction, regression error sums + an error sketch, the same per segment,
//     and the estimator's per-row losses summed; 170-270 KB for the taxi)
//     as chunk <partition index> of stage "profile": a retried partition replaces its
//     own profile, so no partition is counted twice.
//   - MergeProfiles reads the profiles in one pass, refuses a missing one, a
//     duplicate or one of another format_version (StagingLost: run the window
//     again), merges them and computes the report (internal/profile.Report). The
//     report's "computation" block says which path it took and the bounds that
//     apply: categorical statistics and counts exact, ME/MAE/RMSE/R2 exact to
//     rounding, numerical drift tests and quantiles on the sketch (0.5% relative;
//     K-S D within 0.005, Wasserstein within 1% measured on the real months).
//     Segments and the performance estimate come from the merged profile (rows,
//     regression and the estimate exact to rounding); error bias is not computed
//     on this path.
//
// History, and where its limit is: Temporal fails a workflow execution at 51,200
// history events or 50 MB (and warns at 10,240 events or 10 MB; the server's
// limit.historyCount.* and limit.historySize.*), and refuses more than 2,000
// pending activities or child workflows per execution. A partition costs the
// workflow that runs it at most 6 events (its activity scheduled, started and
// completed, plus a workflow task of 3 events for its completion when no other
// completion shares one) and about 1 KB of payloads (input, result). So one
// workflow can run about 8,500 partitions before it fails and 1,700 before the
// warning. A plan of at most partition_block partitions (default
// DefaultPartitionBlock, 1,000: ~6,000 events) runs them in the workflow itself,
// as before. A larger plan runs them in child workflows (ProfileBlock, blocks.go),
// one per block of partition_block partitions, at most MaxBlocksInFlight (4) at
// once, with the partition_fan_out split among them (so at most partition_fan_out
// partitions run at once in all). A child costs its parent at most 9 events
// (initiated, started, completed, up to two workflow tasks) and a few hundred
// bytes: the child returns the sums of its partitions' results (rows, targets,
// profile bytes, rows per model version, partitions per worker), never a list.
// Measured on embedded Temporal (e2e TestPartitionBlocksMatchInParent): a child
// of 3 partitions run one at a time has 23 events (5 + 6 a partition), of 1
// partition 11; the parent of 3 children 69 events where the same run with its 7
// partitions in the parent has 85. 10,000 partitions (e2e
// TestTenThousandPartitionsHistory, fan-out 16): parent 120 events, each child
// 4,637-4,736 events (4.7 a partition: completions share workflow tasks) and
// ~380 KB of payloads. At the cap, 100,000 partitions are 100 children of 1,000:
// ≤ ~950 events in the parent, ≤ ~6,000 in each child.
// partition_block (1..MaxPartitionBlock, 5,000: ~30,000 events a child, under
// the limit) is a tuning knob that changes the history's shape, never the report;
// a plan of more than MaxBlocks (1,000) blocks of it gets larger blocks (≤ 9,000
// events in the parent).
//
// Children: ids "<workflow id>/block-<i>" (BlockWorkflowID: a re-run of the
// window starts the same ids again, WorkflowIDReusePolicy ALLOW_DUPLICATE), on the
// parent's task queue, ParentClosePolicy TERMINATE (a parent that is terminated
// or times out takes its children with it: their profiles are staged under the
// parent's run key and nothing would merge them; the staging TTL removes them). A
// partition that fails for good fails its child, which fails the run with the
// block, the partition and the reason ("block 4 (partitions 40..49): child
// workflow execution error (...): partition 42 (...): ... bad data"), recorded as
// the window's skipped/failed result. After the first failed block no new block
// starts and the running children are cancelled; a cancelled child starts no new
// partition and awaits its running ones (as the in-parent fan-out does after a
// failure), so the run's cleanup runs after them. Versioned by "partition-blocks":
// histories from before it ran every partition in the parent, whatever P.
//
// Cost: on MongoDB each partition reads its slice through the received_at index
// and its targets through _id ("in"), so the window is read once and the run scales
// with the workers until the database saturates; the merge reads P small profiles.
// On FerretDB v1 no filter uses an index: every partition scans the whole log
// collection (and, with "scan", the whole target collection), so P partitions cost
// P passes and the path is slower than the single pass there. The merge computes
// the report from the merged profile's (value, count) pairs (report.ComputeCounted:
// per column at most 512 exact values or the sketch's buckets, and the categories),
// so its memory does not grow with the window (profile.Report allocates ~23 MB at
// 200k and at 800k rows of the taxi, plus ~40 MB to simulate the calibration,
// bounded by the reference). Drift tests without a counted form (rank, kernel and
// permutation tests) expand their column to one value per row; the report names
// such columns in computation.bounds["expanded"].
//
// # Results
//
// InsertResults writes one document per (dataset, window) into `report` with a
// ReplaceOne upsert on the deterministic _id "<dataset>/<start>/<end>": a retried
// activity, a re-run of the window or a replacement worker never duplicates it. A
// failed run records status "skipped" (ledger window) or "failed" (ad-hoc) unless the
// window already has a completed result.
//
// # Versions
//
// Runs started before the ledger (their histories have no "window-ledger" marker,
// workflow.GetVersion) replay the former path: no ClaimWindow, windows over
// received_at, failures recorded as "failed". Runs started before the default
// partitioning (no "default-partitioning" marker) that left partition_rows 0
// replay the single pass without PlanPartitions. Runs started before the blocks
// (no "partition-blocks" marker) replay every partition in the parent.
package workflows
