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

func registerPartitionStubs(env *testsuite.TestWorkflowEnvironment) {
	stub := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	errStub := errors.New("activity not mocked")
	stub(batchapi.PlanPartitions, func(context.Context, batchapi.PlanInput) (*batchapi.PlanResult, error) { return nil, errStub })
	stub(batchapi.ProfilePartition, func(context.Context, batchapi.PartitionInput) (*batchapi.PartitionResult, error) { return nil, errStub })
	stub(batchapi.MergeProfiles, func(context.Context, batchapi.MergeInput) (*batchapi.ComputeResult, error) { return nil, errStub })
}

// partitionMocks answers the partitioned path: a plan of n partitions, partitions
// of 100 rows (failing is called for a partition that fails permanently), a merge.
type partitionMocks struct {
	mu       sync.Mutex
	running  int
	maxRun   int
	indexes  map[int]int
	claims   calls
	planRows int           // the partition size the plan must be asked for (0: 100)
	delay    time.Duration // how long a healthy partition takes
	// byWF counts partitions by the workflow that ran them, active the running
	// ones; maxWF is the most workflows that had partitions running at once.
	byWF, active map[string]int
	maxWF        int
	// runningAtInsert is how many partitions still ran when InsertResults began.
	runningAtInsert int
	merged          *batchapi.MergeInput
	inserted        *batchapi.InsertResultsInput
}

func (p *partitionMocks) install(t *testing.T, env *testsuite.TestWorkflowEnvironment, n int, fail func(int) bool) {
	w := batch.Window{Start: t0, End: t1}
	p.indexes, p.byWF, p.active = map[int]int{}, map[string]int{}, map[string]int{}
	mockClaim(t, env, &p.claims, batch.KindLedger)
	env.OnActivity(batchapi.PlanPartitions, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.PlanInput) (*batchapi.PlanResult, error) {
			want := p.planRows
			if want == 0 {
				want = 100
			}
			if in.MaxPartitionRows != want || in.WindowStart == nil || !in.ByStoredAt || in.CountWindow != (want == batchapi.DefaultPartitionRows) {
				t.Errorf("plan input %+v", in)
			}
			return &batchapi.PlanResult{Window: w, Partitions: n, EstimatedRows: int64(100 * n), MaxPartitionRows: 100}, nil
		})
	env.OnActivity(batchapi.ScoreReference, mock.Anything, mock.Anything).Return(
		&batchapi.ScoreReferenceResult{Reference: stage(batch.StageReference, 8, 76000), Path: "/data/ref.parquet", ModelVersion: "sha256:m"}, nil)
	env.OnActivity(batchapi.ProfilePartition, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.PartitionInput) (*batchapi.PartitionResult, error) {
			p.mu.Lock()
			p.indexes[in.Index]++
			if !in.ByStoredAt {
				t.Errorf("partition %d of a ledger window selected by received_at", in.Index)
			}
			wf := activity.GetInfo(ctx).WorkflowExecution.ID
			p.byWF[wf]++
			p.active[wf]++
			p.maxWF = max(p.maxWF, len(p.active))
			p.running++
			p.maxRun = max(p.maxRun, p.running)
			p.mu.Unlock()
			defer func() {
				p.mu.Lock()
				p.running--
				if p.active[wf]--; p.active[wf] == 0 {
					delete(p.active, wf)
				}
				p.mu.Unlock()
			}()
			time.Sleep(p.delay)
			if fail != nil && fail(in.Index) {
				return nil, temporal.NewNonRetryableApplicationError("bad data", batchapi.ErrComputeFailed, nil)
			}
			if fail != nil {
				// The mocks run on goroutines of their own: the others take a moment, so
				// the failure is seen while they are still running (what the assertion
				// on partitions started after it needs).
				time.Sleep(50 * time.Millisecond)
			}
			return &batchapi.PartitionResult{Index: in.Index, Rows: 100, TargetsMatched: 100, TargetsInDomain: 99, Worker: "w"}, nil
		})
	env.OnActivity(batchapi.MergeProfiles, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.MergeInput) (*batchapi.ComputeResult, error) {
			p.mu.Lock()
			p.merged = &in
			p.mu.Unlock()
			return &batchapi.ComputeResult{Report: stage(batch.StageReport, 1, 1), Summary: batch.Summary{CurrentRows: 100 * n}}, nil
		})
	env.OnActivity(batchapi.SaveHTMLReport, mock.Anything, mock.Anything).Return(&batchapi.SaveHTMLResult{Path: "/reports/x.html", Host: "h"}, nil)
	env.OnActivity(batchapi.InsertResults, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
			p.mu.Lock()
			p.inserted = &in
			p.runningAtInsert = p.running
			p.mu.Unlock()
			return &batchapi.InsertResultsResult{ID: batch.ReportID(in.Dataset, in.Window)}, nil
		})
}

func partitionedInput() Input {
	return Input{Dataset: "taxi", WindowStart: "2022-01-01T00:00:00Z", WindowEnd: "2022-01-02T00:00:00Z", PartitionRows: 100, PartitionFanOut: 3}
}

func TestWorkflowPartitionedFansOutAndMerges(t *testing.T) {
	env := newEnv(t)
	var p partitionMocks
	p.install(t, env, 10, nil)
	env.ExecuteWorkflow(WorkflowType, partitionedInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != batch.StatusCompleted || res.Partitions != 10 || res.Rows.Current != 1000 || res.Rows.TargetsInDomain != 990 || res.PartitionsByWorker["w"] != 10 {
		t.Fatalf("result %+v", res)
	}
	for i := range 10 {
		if p.indexes[i] != 1 {
			t.Errorf("partition %d ran %d times", i, p.indexes[i])
		}
	}
	if p.maxRun > 3 {
		t.Errorf("%d partitions ran at once, fan-out 3", p.maxRun)
	}
	if p.merged == nil || p.merged.Partitions != 10 || p.merged.Reference.Rows != 76000 {
		t.Errorf("merge input %+v", p.merged)
	}
	if p.inserted == nil || p.inserted.Status != batch.StatusCompleted || p.inserted.Rows.Current != 1000 || p.inserted.Report == nil {
		t.Errorf("insert input %+v", p.inserted)
	}
}

// TestWorkflowPartitionedByDefault: an input without partition_rows plans
// partitions of batchapi.DefaultPartitionRows (counting the window) and takes the
// partitioned path when the plan has several.
func TestWorkflowPartitionedByDefault(t *testing.T) {
	env := newEnv(t)
	p := partitionMocks{planRows: batchapi.DefaultPartitionRows}
	p.install(t, env, 3, nil)
	in := partitionedInput()
	in.PartitionRows = 0
	env.ExecuteWorkflow(WorkflowType, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != batch.StatusCompleted || res.Partitions != 3 || res.Rows.Current != 300 {
		t.Fatalf("result %+v", res)
	}
}

func TestWorkflowPartitionFailsPermanently(t *testing.T) {
	env := newEnv(t)
	var p partitionMocks
	p.install(t, env, 10, func(i int) bool { return i == 4 })
	env.ExecuteWorkflow(WorkflowType, partitionedInput())
	err := env.GetWorkflowError()
	if err == nil {
		t.Fatal("workflow succeeded with a failed partition")
	}
	if p.merged != nil {
		t.Error("merged despite a failed partition")
	}
	// A ledger window whose run fails for good is skipped (later windows still run).
	if p.inserted == nil || p.inserted.Status != batch.StatusSkipped || !p.inserted.Cleanup {
		t.Fatalf("failure not recorded: %+v", p.inserted)
	}
	if p.indexes[4] != 1 {
		t.Errorf("the failed partition ran %d times (non-retryable: want 1)", p.indexes[4])
	}
	for i := 7; i < 10; i++ { // no new partition starts after the failure
		if p.indexes[i] != 0 {
			t.Errorf("partition %d started after partition 4 failed", i)
		}
	}
}

func TestWorkflowPartitionBadInput(t *testing.T) {
	env := newEnv(t)
	var c calls
	mockClaim(t, env, &c, batch.KindLedger)
	in := partitionedInput()
	in.PartitionRows = -5
	env.ExecuteWorkflow(WorkflowType, in)
	var ae *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &ae) || ae.Type() != batchapi.ErrBadInput {
		t.Fatalf("err = %v, want %s", err, batchapi.ErrBadInput)
	}
	if n := c.get("ClaimWindow"); n != 0 {
		t.Errorf("a bad partition setting claimed %d windows", n)
	}
}

// TestWorkflowForceSinglePass: partition_rows -1 takes the single pass without a
// plan (PlanPartitions is not mocked: the stub would fail the run).
func TestWorkflowForceSinglePass(t *testing.T) {
	env := newEnv(t)
	c := &calls{}
	mockPipeline(t, env, c, 3000, "PlanPartitions")
	env.OnActivity(batchapi.InsertResults, mock.Anything, mock.Anything).Return(&batchapi.InsertResultsResult{}, nil)
	env.ExecuteWorkflow(WorkflowType, Input{Dataset: "taxi", WindowStart: "2022-01-01T00:00:00Z", WindowEnd: "2022-01-02T00:00:00Z",
		Reference: "data/ref.parquet", Targets: "target.csv", PartitionRows: ForceSinglePass})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != batch.StatusCompleted || res.Partitions != 0 || c.get("FetchPredictions") != 1 || c.get("PlanPartitions") != 0 {
		t.Fatalf("result %+v, calls %v", res, c.n)
	}
}
