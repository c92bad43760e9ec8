package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

var (
	t0    = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	t1    = time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)
	clock = time.Date(2022, 1, 5, 12, 30, 45, 0, time.UTC)
)

// calls counts activity calls (mocks run on the test environment's goroutines).
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

func (c *calls) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	registerStubs(env)
	registerPartitionStubs(env)
	env.SetStartTime(clock)
	return env
}

// registerStubs registers, under the activities' names, functions of their types
// that fail: every test mocks the activities its run reaches (the worker's
// registration is checked against the workflow in worker/batchworker).
func registerStubs(env *testsuite.TestWorkflowEnvironment) {
	stub := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	errStub := errors.New("activity not mocked")
	stub(batchapi.ClaimWindow, func(context.Context, batchapi.ClaimInput) (*batchapi.ClaimResult, error) { return nil, errStub })
	stub(batchapi.FetchPredictions, func(context.Context, batchapi.FetchInput) (*batchapi.FetchResult, error) { return nil, errStub })
	stub(batchapi.ScoreReference, func(context.Context, batchapi.ScoreReferenceInput) (*batchapi.ScoreReferenceResult, error) {
		return nil, errStub
	})
	stub(batchapi.JoinTarget, func(context.Context, batchapi.JoinInput) (*batchapi.JoinResult, error) { return nil, errStub })
	stub(batchapi.ComputeMetrics, func(context.Context, batchapi.ComputeInput) (*batchapi.ComputeResult, error) { return nil, errStub })
	stub(batchapi.SaveHTMLReport, func(context.Context, batchapi.SaveHTMLInput) (*batchapi.SaveHTMLResult, error) { return nil, errStub })
	stub(batchapi.InsertResults, func(context.Context, batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
		return nil, errStub
	})
}

func stage(name string, chunks, rows int) batch.StageRef {
	return batch.StageRef{Run: "default-test-workflow-id/default-test-run-id", Stage: name, Chunks: chunks, Rows: rows}
}

// mockPipeline answers every activity like a healthy pipeline over rows logged rows
// and checks what the workflow passes along.
func mockPipeline(t *testing.T, env *testsuite.TestWorkflowEnvironment, c *calls, rows int, except ...string) {
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	w := batch.Window{Start: t0, End: t1}
	if !skip["ClaimWindow"] {
		mockClaim(t, env, c, batch.KindLedger)
	}
	if !skip["PlanPartitions"] {
		// The default partitioning plans one partition: the single pass follows.
		env.OnActivity(batchapi.PlanPartitions, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in batchapi.PlanInput) (*batchapi.PlanResult, error) {
				c.add("PlanPartitions")
				if in.MaxPartitionRows != batchapi.DefaultPartitionRows || !in.CountWindow || in.WindowStart == nil || !in.ByStoredAt {
					t.Errorf("plan input %+v", in)
				}
				return &batchapi.PlanResult{Window: batch.Window{Start: *in.WindowStart, End: in.WindowEnd}, Partitions: 1,
					EstimatedRows: int64(rows), MaxPartitionRows: in.MaxPartitionRows}, nil
			})
	}
	env.OnActivity(batchapi.FetchPredictions, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.FetchInput) (*batchapi.FetchResult, error) {
			c.add("FetchPredictions")
			if in.Dataset != "taxi" || in.Run == "" {
				t.Errorf("fetch input %+v", in)
			}
			if in.WindowStart == nil || !in.ByStoredAt {
				t.Errorf("fetch of the ledger path without the claimed window or not by stored_at: %+v", in)
			}
			ww := w
			if in.WindowStart != nil {
				ww = batch.Window{Start: *in.WindowStart, End: in.WindowEnd}
			}
			return &batchapi.FetchResult{Window: ww, Current: stage(batch.StageCurrent, 1, rows)}, nil
		})
	env.OnActivity(batchapi.ScoreReference, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.ScoreReferenceInput) (*batchapi.ScoreReferenceResult, error) {
			c.add("ScoreReference")
			if in.Reference != "data/ref.parquet" {
				t.Errorf("reference %q", in.Reference)
			}
			return &batchapi.ScoreReferenceResult{Reference: stage(batch.StageReference, 8, 76000), Path: "/data/ref.parquet", ModelVersion: "sha256:m"}, nil
		})
	env.OnActivity(batchapi.JoinTarget, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.JoinInput) (*batchapi.JoinResult, error) {
			c.add("JoinTarget")
			if in.Targets != "target.csv" || in.Current.Rows != rows {
				t.Errorf("join input %+v", in)
			}
			return &batchapi.JoinResult{Targets: stage(batch.StageTarget, 1, rows), Source: "csv:target.csv", Matched: rows, InDomain: rows - 1}, nil
		})
	if !skip["ComputeMetrics"] {
		env.OnActivity(batchapi.ComputeMetrics, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in batchapi.ComputeInput) (*batchapi.ComputeResult, error) {
				c.add("ComputeMetrics")
				if in.Reference.Rows != 76000 || in.Current.Rows != rows || in.Targets.Stage != batch.StageTarget {
					t.Errorf("compute input %+v", in)
				}
				rmse := 5.5
				return &batchapi.ComputeResult{Report: stage(batch.StageReport, 1, 1), Summary: batch.Summary{CurrentRows: rows, RMSE: &rmse}}, nil
			})
	}
	env.OnActivity(batchapi.SaveHTMLReport, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.SaveHTMLInput) (*batchapi.SaveHTMLResult, error) {
			c.add("SaveHTMLReport")
			if in.Report.Stage != batch.StageReport || in.ModelVersion != "sha256:m" || in.WorkflowID == "" {
				t.Errorf("html input %+v", in)
			}
			return &batchapi.SaveHTMLResult{Path: "/reports/taxi/x.html", Host: "h"}, nil
		})
}

// mockClaim answers ClaimWindow with the explicit window as kind (an open start:
// [end - 24h, end)).
func mockClaim(t *testing.T, env *testsuite.TestWorkflowEnvironment, c *calls, kind string) {
	env.OnActivity(batchapi.ClaimWindow, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.ClaimInput) (*batchapi.ClaimResult, error) {
			c.add("ClaimWindow")
			if in.Dataset != "taxi" || in.Run == "" {
				t.Errorf("claim input %+v", in)
			}
			w := batch.Window{Start: in.WindowEnd.Add(-24 * time.Hour), End: in.WindowEnd}
			if in.WindowStart != nil {
				w.Start = *in.WindowStart
			}
			seq := int64(7)
			if kind == batch.KindAdhoc {
				seq = -1
			}
			return &batchapi.ClaimResult{Window: w, Kind: kind, Seq: seq}, nil
		})
}

func TestWorkflowRunsTheSixActivities(t *testing.T) {
	env := newEnv(t)
	c := &calls{}
	mockPipeline(t, env, c, 3000)
	var inserted batchapi.InsertResultsInput
	env.OnActivity(batchapi.InsertResults, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
			c.add("InsertResults")
			inserted = in
			return &batchapi.InsertResultsResult{ID: batch.ReportID(in.Dataset, in.Window)}, nil
		})
	env.ExecuteWorkflow(WorkflowType, Input{Dataset: "taxi", WindowStart: "2022-01-01T00:00:00Z", WindowEnd: "2022-01-02T00:00:00Z",
		Reference: "data/ref.parquet", Targets: "target.csv"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: %v", env.GetWorkflowError())
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"PlanPartitions", "FetchPredictions", "ScoreReference", "JoinTarget", "ComputeMetrics", "SaveHTMLReport", "InsertResults"} {
		if c.get(name) != 1 {
			t.Errorf("%s called %d times, want 1", name, c.get(name))
		}
	}
	if res.Status != batch.StatusCompleted || res.ReportID != "taxi/2022-01-01T00:00:00Z/2022-01-02T00:00:00Z" || res.HTMLPath != "/reports/taxi/x.html" {
		t.Errorf("result %+v", res)
	}
	if res.Rows.Current != 3000 || res.Rows.Reference != 76000 || res.Rows.TargetsMatched != 3000 || res.Rows.TargetsInDomain != 2999 {
		t.Errorf("rows %+v", res.Rows)
	}
	if inserted.Status != batch.StatusCompleted || inserted.Report == nil || !inserted.Cleanup || inserted.HTMLPath != res.HTMLPath ||
		inserted.Reference != "/data/ref.parquet" || inserted.Targets != "csv:target.csv" || inserted.ModelVersion != "sha256:m" {
		t.Errorf("InsertResults input %+v", inserted)
	}
	if len(inserted.TimingsMS) != 7 {
		t.Errorf("timings %v", inserted.TimingsMS)
	}
	if inserted.WindowKind != batch.KindLedger || inserted.LedgerSeq == nil || *inserted.LedgerSeq != 7 || inserted.SelectedBy != batch.SelectedByStoredAt {
		t.Errorf("ledger fields of the result: %+v", inserted)
	}
	env.AssertExpectations(t)
}

func TestWorkflowOpenWindowEndsBehindTheWatermark(t *testing.T) {
	env := newEnv(t)
	c := &calls{}
	var claimed batchapi.ClaimInput
	env.OnActivity(batchapi.ClaimWindow, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.ClaimInput) (*batchapi.ClaimResult, error) {
			c.add("ClaimWindow")
			claimed = in
			return &batchapi.ClaimResult{Window: batch.Window{Start: in.WindowEnd, End: in.WindowEnd}, Kind: batch.KindEmpty, Seq: -1}, nil
		})
	env.ExecuteWorkflow(WorkflowType, Input{Dataset: "taxi"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := clock.Add(-DefaultAllowedLateness); claimed.WindowStart != nil || !claimed.WindowEnd.Equal(want) {
		t.Errorf("claim got start %v end %v, want open start and end %v", claimed.WindowStart, claimed.WindowEnd, want)
	}
	var res Result
	_ = env.GetWorkflowResult(&res)
	if res.Status != StatusEmpty || c.get("ClaimWindow") != 1 || c.get("FetchPredictions") != 0 {
		t.Errorf("result %+v, calls %v", res, c.n)
	}
}

// TestWorkflowWaitsForTheWatermark: an explicit window that ends less than the
// allowed lateness ago is claimed and fetched only after end + lateness.
func TestWorkflowWaitsForTheWatermark(t *testing.T) {
	env := newEnv(t)
	c := &calls{}
	var claimedAt time.Time
	env.OnActivity(batchapi.ClaimWindow, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.ClaimInput) (*batchapi.ClaimResult, error) {
			claimedAt = env.Now()
			return &batchapi.ClaimResult{Window: batch.Window{Start: *in.WindowStart, End: in.WindowEnd}, Kind: batch.KindAdhoc, Seq: -1}, nil
		})
	env.OnActivity(batchapi.PlanPartitions, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.PlanInput) (*batchapi.PlanResult, error) {
			return &batchapi.PlanResult{Window: batch.Window{Start: *in.WindowStart, End: in.WindowEnd}, Partitions: 1, MaxPartitionRows: in.MaxPartitionRows}, nil
		})
	env.OnActivity(batchapi.FetchPredictions, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.FetchInput) (*batchapi.FetchResult, error) {
			c.add("FetchPredictions")
			return &batchapi.FetchResult{Window: batch.Window{Start: *in.WindowStart, End: in.WindowEnd}}, nil
		})
	var inserted batchapi.InsertResultsInput
	env.OnActivity(batchapi.InsertResults, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
			inserted = in
			return &batchapi.InsertResultsResult{}, nil
		})
	end := clock.Add(10 * time.Second)
	env.ExecuteWorkflow(WorkflowType, Input{Dataset: "taxi", WindowStart: clock.Add(-time.Hour).Format(time.RFC3339),
		WindowEnd: end.Format(time.RFC3339), AllowedLateness: "20s"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := end.Add(20 * time.Second); claimedAt.Before(want) {
		t.Errorf("claimed at %v, before the watermark %v", claimedAt, want)
	}
	if inserted.Status != batch.StatusNoData || inserted.WindowKind != batch.KindAdhoc || inserted.LedgerSeq != nil || inserted.SelectedBy != batch.SelectedByStoredAt {
		t.Errorf("insert %+v", inserted)
	}
}

func TestWorkflowNoData(t *testing.T) {
	env := newEnv(t)
	c := &calls{}
	mockPipeline(t, env, c, 0)
	var inserted batchapi.InsertResultsInput
	env.OnActivity(batchapi.InsertResults, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
			c.add("InsertResults")
			inserted = in
			return &batchapi.InsertResultsResult{}, nil
		})
	env.ExecuteWorkflow(WorkflowType, Input{Dataset: "taxi", WindowStart: "2022-01-01T00:00:00Z", WindowEnd: "2022-01-02T00:00:00Z"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res Result
	_ = env.GetWorkflowResult(&res)
	if res.Status != batch.StatusNoData || inserted.Status != batch.StatusNoData || inserted.Report != nil {
		t.Errorf("result %+v, insert %+v", res, inserted)
	}
	for _, name := range []string{"ScoreReference", "JoinTarget", "ComputeMetrics", "SaveHTMLReport"} {
		if c.get(name) != 0 {
			t.Errorf("%s called on an empty window", name)
		}
	}
}

func TestWorkflowBadInputFailsWithoutRetry(t *testing.T) {
	for name, in := range map[string]Input{
		"no dataset":     {WindowStart: "2022-01-01T00:00:00Z"},
		"bad dataset":    {Dataset: "Taxi Rides"},
		"malformed time": {Dataset: "taxi", WindowStart: "yesterday"},
		"reversed":       {Dataset: "taxi", WindowStart: "2022-01-02T00:00:00Z", WindowEnd: "2022-01-01T00:00:00Z"},
		"future end":     {Dataset: "taxi", WindowEnd: "2030-01-01T00:00:00Z"},
		"bad lateness":   {Dataset: "taxi", AllowedLateness: "-1s"},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			env.ExecuteWorkflow(WorkflowType, in)
			err := env.GetWorkflowError()
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != batchapi.ErrBadInput || !ae.NonRetryable() {
				t.Fatalf("error %v, want a non-retryable %s", err, batchapi.ErrBadInput)
			}
			t.Logf("%s: %v", name, ae.Error())
		})
	}
}

func TestWorkflowFailureIsRecorded(t *testing.T) {
	env := newEnv(t)
	c := &calls{}
	mockPipeline(t, env, c, 10, "ComputeMetrics")
	env.OnActivity(batchapi.ComputeMetrics, mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("compute report of taxi: no rows", batchapi.ErrComputeFailed, nil))
	var inserted batchapi.InsertResultsInput
	env.OnActivity(batchapi.InsertResults, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
			c.add("InsertResults")
			inserted = in
			return &batchapi.InsertResultsResult{}, nil
		})
	env.ExecuteWorkflow(WorkflowType, Input{Dataset: "taxi", WindowStart: "2022-01-01T00:00:00Z", WindowEnd: "2022-01-02T00:00:00Z", Reference: "data/ref.parquet", Targets: "target.csv"})
	if env.GetWorkflowError() == nil {
		t.Fatal("workflow succeeded")
	}
	if c.get("InsertResults") != 1 || inserted.Status != batch.StatusSkipped || inserted.Error == "" || !inserted.Cleanup || c.get("SaveHTMLReport") != 0 ||
		inserted.WindowKind != batch.KindLedger || inserted.LedgerSeq == nil || *inserted.LedgerSeq != 7 {
		t.Errorf("failure record %+v (calls %v)", inserted, c.n)
	}
}

// TestWorkflowAdhocFailureIsFailed: an ad-hoc window is not part of the ledger:
// its failure is recorded as failed, not skipped.
func TestWorkflowAdhocFailureIsFailed(t *testing.T) {
	env := newEnv(t)
	c := &calls{}
	mockPipeline(t, env, c, 10, "ComputeMetrics", "ClaimWindow")
	mockClaim(t, env, c, batch.KindAdhoc)
	env.OnActivity(batchapi.ComputeMetrics, mock.Anything, mock.Anything).Return(nil,
		temporal.NewNonRetryableApplicationError("compute report of taxi: no rows", batchapi.ErrComputeFailed, nil))
	var inserted batchapi.InsertResultsInput
	env.OnActivity(batchapi.InsertResults, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
			inserted = in
			return &batchapi.InsertResultsResult{}, nil
		})
	env.ExecuteWorkflow(WorkflowType, Input{Dataset: "taxi", WindowStart: "2022-01-01T00:00:00Z", WindowEnd: "2022-01-02T00:00:00Z", Reference: "data/ref.parquet", Targets: "target.csv"})
	if env.GetWorkflowError() == nil {
		t.Fatal("workflow succeeded")
	}
	if inserted.Status != batch.StatusFailed || inserted.WindowKind != batch.KindAdhoc || inserted.LedgerSeq != nil {
		t.Errorf("failure record %+v", inserted)
	}
}

func TestActivityOptions(t *testing.T) {
	for _, name := range batchapi.Names {
		o := ActivityOptions(name)
		if o.StartToCloseTimeout == 0 || o.RetryPolicy == nil || o.RetryPolicy.MaximumAttempts == 0 || len(o.RetryPolicy.NonRetryableErrorTypes) == 0 {
			t.Errorf("%s: %+v", name, o)
		}
		long := name != "SaveHTMLReport" && name != "InsertResults" && name != "ClaimWindow"
		if long && (o.HeartbeatTimeout == 0 || o.HeartbeatTimeout > 30*time.Second) {
			t.Errorf("%s: heartbeat timeout %v", name, o.HeartbeatTimeout)
		}
	}
}
