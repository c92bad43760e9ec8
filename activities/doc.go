// Package activities holds the activities of the BatchMonitoring workflow as
// methods of Activities, which carries their dependencies (the database, the model,
// the directories). They exchange references to staged data (batch.StageRef), window
// bounds and counts, never records: the rows travel through MongoDB's staging
// collection (see package batch).
//
//	ClaimWindow       the next window of the dataset's ledger (windows over stored_at)
//	FetchPredictions  logged predictions of the window  -> stage "current"
//	JoinTarget        targets (CSV or `target` collection), hash join by id -> stage "target"
//	ScoreReference    reference file scored with the model -> the reference cache, once per
//	                  (file content, model version, dataset config); later runs reuse it
//	ComputeMetrics    report.Compute(reference, current+target) -> stage "report"
//	SaveHTMLReport    reporthtml.Render with the dataset's trend -> REPORTS_DIR
//	InsertResults     one result document per (dataset, window), staging deleted
//	PlanPartitions, ProfilePartition, MergeProfiles: the partitioned path (partition.go)
//
// Long loops record their progress with activity.RecordHeartbeat and resume from
// activity.GetHeartbeatDetails when retried (on this worker or another). Input that no
// retry can fix fails with a non-retryable application error of type batchapi.ErrBadInput.
package activities
