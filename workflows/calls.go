package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// typedActivity is a typed handle on an activity registered under name: the workflow
// calls the activities by their registered names (package batchapi), with the
// input and result types the activities implement, without importing them.
type typedActivity[In, Out any] struct{ name string }

// The workflow's activities.
var (
	claimWindow      = typedActivity[batchapi.ClaimInput, batchapi.ClaimResult]{batchapi.ClaimWindow}
	fetchPredictions = typedActivity[batchapi.FetchInput, batchapi.FetchResult]{batchapi.FetchPredictions}
	scoreReference   = typedActivity[batchapi.ScoreReferenceInput, batchapi.ScoreReferenceResult]{batchapi.ScoreReference}
	joinTarget       = typedActivity[batchapi.JoinInput, batchapi.JoinResult]{batchapi.JoinTarget}
	computeMetrics   = typedActivity[batchapi.ComputeInput, batchapi.ComputeResult]{batchapi.ComputeMetrics}
	saveHTMLReport   = typedActivity[batchapi.SaveHTMLInput, batchapi.SaveHTMLResult]{batchapi.SaveHTMLReport}
	insertResults    = typedActivity[batchapi.InsertResultsInput, batchapi.InsertResultsResult]{batchapi.InsertResults}
)

// start schedules the activity with its ActivityOptions.
func (a typedActivity[In, Out]) start(ctx workflow.Context, in In) workflow.Future {
	return a.startWith(ctx, ActivityOptions(a.name), in)
}

// startWith schedules the activity with opts.
func (a typedActivity[In, Out]) startWith(ctx workflow.Context, opts workflow.ActivityOptions, in In) workflow.Future {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.name, in)
}

// get waits for a started activity's result.
func (a typedActivity[In, Out]) get(ctx workflow.Context, f workflow.Future) (Out, error) {
	var out Out
	err := f.Get(ctx, &out)
	return out, err
}
