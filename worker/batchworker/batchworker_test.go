package batchworker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/modelmon/modelmon/activities"
	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/workflows"
)

// TestWorkflowCallsWhatTheWorkerRegisters runs BatchMonitoring on a test environment
// registered by Register, the worker's own registration: OnActivity panics for a name
// of batchapi.Names that the worker does not register, and the run fails if the
// workflow calls a name that the worker does not register. A healthy run with rows
// calls every activity once.
func TestWorkflowCallsWhatTheWorkerRegisters(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env, &activities.Activities{})

	var mu sync.Mutex
	called := map[string]int{}
	count := func(name string) {
		mu.Lock()
		defer mu.Unlock()
		called[name]++
	}
	w := batch.Window{Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)}
	env.OnActivity(batchapi.ClaimWindow, mock.Anything, mock.Anything).Return(
		func(context.Context, batchapi.ClaimInput) (*batchapi.ClaimResult, error) {
			count(batchapi.ClaimWindow)
			return &batchapi.ClaimResult{Window: w, Kind: batch.KindLedger}, nil
		})
	// The default partitioning plans first; one partition: the single pass.
	env.OnActivity(batchapi.PlanPartitions, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in batchapi.PlanInput) (*batchapi.PlanResult, error) {
			count(batchapi.PlanPartitions)
			return &batchapi.PlanResult{Window: w, Partitions: 1, MaxPartitionRows: in.MaxPartitionRows}, nil
		})
	env.OnActivity(batchapi.FetchPredictions, mock.Anything, mock.Anything).Return(
		func(context.Context, batchapi.FetchInput) (*batchapi.FetchResult, error) {
			count(batchapi.FetchPredictions)
			return &batchapi.FetchResult{Window: w, Current: batch.StageRef{Run: "r", Stage: batch.StageCurrent, Chunks: 1, Rows: 10}}, nil
		})
	env.OnActivity(batchapi.ScoreReference, mock.Anything, mock.Anything).Return(
		func(context.Context, batchapi.ScoreReferenceInput) (*batchapi.ScoreReferenceResult, error) {
			count(batchapi.ScoreReference)
			return &batchapi.ScoreReferenceResult{}, nil
		})
	env.OnActivity(batchapi.JoinTarget, mock.Anything, mock.Anything).Return(
		func(context.Context, batchapi.JoinInput) (*batchapi.JoinResult, error) {
			count(batchapi.JoinTarget)
			return &batchapi.JoinResult{}, nil
		})
	env.OnActivity(batchapi.ComputeMetrics, mock.Anything, mock.Anything).Return(
		func(context.Context, batchapi.ComputeInput) (*batchapi.ComputeResult, error) {
			count(batchapi.ComputeMetrics)
			return &batchapi.ComputeResult{}, nil
		})
	env.OnActivity(batchapi.SaveHTMLReport, mock.Anything, mock.Anything).Return(
		func(context.Context, batchapi.SaveHTMLInput) (*batchapi.SaveHTMLResult, error) {
			count(batchapi.SaveHTMLReport)
			return &batchapi.SaveHTMLResult{}, nil
		})
	env.OnActivity(batchapi.InsertResults, mock.Anything, mock.Anything).Return(
		func(context.Context, batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
			count(batchapi.InsertResults)
			return &batchapi.InsertResultsResult{}, nil
		})
	env.SetStartTime(w.End.Add(time.Hour))
	env.ExecuteWorkflow(workflows.WorkflowType, workflows.Input{Dataset: "taxi", WindowStart: "2022-01-01T00:00:00Z", WindowEnd: "2022-01-02T00:00:00Z"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: %v", env.GetWorkflowError())
	}
	for _, name := range append([]string{batchapi.PlanPartitions}, batchapi.Names...) {
		if called[name] != 1 {
			t.Errorf("%s called %d times, want 1", name, called[name])
		}
	}
	if len(called) != len(batchapi.Names)+1 {
		t.Errorf("called %v, want exactly %v", called, batchapi.Names)
	}
}
