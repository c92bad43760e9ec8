package batchapi

// Registered names of the activities: the method names of activities.Activities,
// which the worker registers, and the names the workflow calls. They are part of the
// saved histories: never rename one.
const (
	ClaimWindow      = "ClaimWindow"      // ClaimInput -> ClaimResult
	FetchPredictions = "FetchPredictions" // FetchInput -> FetchResult
	ScoreReference   = "ScoreReference"   // ScoreReferenceInput -> ScoreReferenceResult
	JoinTarget       = "JoinTarget"       // JoinInput -> JoinResult
	ComputeMetrics   = "ComputeMetrics"   // ComputeInput -> ComputeResult
	SaveHTMLReport   = "SaveHTMLReport"   // SaveHTMLInput -> SaveHTMLResult
	InsertResults    = "InsertResults"    // InsertResultsInput -> InsertResultsResult
)

// Names lists every activity of the workflow, in the order of a run.
var Names = []string{ClaimWindow, FetchPredictions, ScoreReference, JoinTarget, ComputeMetrics, SaveHTMLReport, InsertResults}

// Application error types of the activities. The workflow's retry policies list them
// as non-retryable too.
const (
	// ErrBadInput: the run's input cannot work (unknown dataset, missing or corrupt
	// reference or target file, ...). The message says what to fix.
	ErrBadInput = "BadInput"
	// ErrStagingLost: data staged by an earlier step is gone; run the window again.
	ErrStagingLost = "StagingLost"
	// ErrComputeFailed: the report cannot be computed from these datasets.
	ErrComputeFailed = "ComputeFailed"
)

// NonRetryable are the error types that no retry can fix.
var NonRetryable = []string{ErrBadInput, ErrStagingLost, ErrComputeFailed}
