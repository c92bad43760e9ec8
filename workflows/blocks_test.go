package workflows

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// Events a command costs a workflow's history at most: an activity is
// scheduled, started and completed, and its completion may need a workflow task
// of its own (scheduled, started, completed); a child is initiated, started and
// completed, and its start and its completion may each need a workflow task; a
// version (GetVersion) is a marker plus the upsert of the TemporalChangeVersion
// search attribute; a timer is started and fired, plus a workflow task.
const (
	eventsPerActivity = 6
	eventsPerChild    = 9
	eventsPerMarker   = 2
	eventsPerTimer    = 5
	// eventsBase: the execution started and the first workflow task, the
	// execution completed.
	eventsBase = 5
	// historyWarn is where Temporal starts warning about a workflow's history
	// (limit.historyCount.warn, 10,240 by default; it fails one at 51,200).
	historyWarn = 10_240
)

// commandCounter counts, per workflow id, the commands that add events to a
// history: activities, child workflows, version markers, timers.
type commandCounter struct {
	interceptor.WorkerInterceptorBase
	mu                                    sync.Mutex
	activities, children, markers, timers map[string]int
}

func newCommandCounter() *commandCounter {
	return &commandCounter{activities: map[string]int{}, children: map[string]int{}, markers: map[string]int{}, timers: map[string]int{}}
}

func (c *commandCounter) add(m map[string]int, ctx workflow.Context) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	c.mu.Lock()
	m[id]++
	c.mu.Unlock()
}

// events is the most events the commands of workflow id can have written.
func (c *commandCounter) events(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return eventsBase + eventsPerActivity*c.activities[id] + eventsPerChild*c.children[id] + eventsPerMarker*c.markers[id] + eventsPerTimer*c.timers[id]
}

func (c *commandCounter) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &countInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, c: c}
}

type countInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	c *commandCounter
}

func (i *countInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&countOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, c: i.c})
}

type countOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	c *commandCounter
}

func (o *countOutbound) ExecuteActivity(ctx workflow.Context, typ string, args ...any) workflow.Future {
	o.c.add(o.c.activities, ctx)
	return o.Next.ExecuteActivity(ctx, typ, args...)
}

func (o *countOutbound) ExecuteChildWorkflow(ctx workflow.Context, typ string, args ...any) workflow.ChildWorkflowFuture {
	o.c.add(o.c.children, ctx)
	return o.Next.ExecuteChildWorkflow(ctx, typ, args...)
}

func (o *countOutbound) GetVersion(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version) workflow.Version {
	o.c.add(o.c.markers, ctx)
	return o.Next.GetVersion(ctx, changeID, minSupported, maxSupported)
}

func (o *countOutbound) NewTimer(ctx workflow.Context, d time.Duration) workflow.Future {
	o.c.add(o.c.timers, ctx)
	return o.Next.NewTimer(ctx, d)
}

func (o *countOutbound) Sleep(ctx workflow.Context, d time.Duration) error {
	o.c.add(o.c.timers, ctx)
	return o.Next.Sleep(ctx, d)
}

const parentID = "default-test-workflow-id" // the test environment's workflow id

// TestWorkflowTenThousandPartitionsInBlocks: a plan of 10,000 partitions runs in
// 10 child workflows of 1,000 (the default block); every partition is profiled
// once, by the child of its block, the merge is asked for all of them, at most
// partition_fan_out partitions and MaxBlocksInFlight children run at once, and
// the parent's and each child's history stay under Temporal's warning threshold
// (bounded from the commands each workflow issued: the parent ~100 events, each
// child ~6,000; the parent alone running 10,000 partitions would need ~60,000,
// over the 51,200-event limit).
func TestWorkflowTenThousandPartitionsInBlocks(t *testing.T) {
	const n = 10_000
	env := newEnv(t)
	cc := newCommandCounter()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{cc}})
	p := partitionMocks{delay: 100 * time.Microsecond}
	p.install(t, env, n, nil)
	in := partitionedInput()
	in.PartitionFanOut = 16
	env.ExecuteWorkflow(WorkflowType, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != batch.StatusCompleted || res.Partitions != n || res.PartitionBlocks != 10 || res.Rows.Current != 100*n ||
		res.Rows.TargetsInDomain != 99*n || res.PartitionsByWorker["w"] != n {
		t.Fatalf("result %+v", res)
	}
	for i := range n {
		if p.indexes[i] != 1 {
			t.Fatalf("partition %d ran %d times", i, p.indexes[i])
		}
	}
	if p.merged == nil || p.merged.Partitions != n {
		t.Fatalf("merge input %+v", p.merged)
	}
	if p.byWF[parentID] != 0 {
		t.Errorf("the parent ran %d partitions itself", p.byWF[parentID])
	}
	for b := range 10 {
		if id := BlockWorkflowID(parentID, b); p.byWF[id] != DefaultPartitionBlock {
			t.Errorf("child %s ran %d partitions, want %d", id, p.byWF[id], DefaultPartitionBlock)
		}
	}
	if len(p.byWF) != 10 {
		t.Errorf("partitions ran in %d workflows: %v", len(p.byWF), p.byWF)
	}
	if p.maxRun > 16 || p.maxWF > MaxBlocksInFlight {
		t.Errorf("%d partitions in %d children at once; fan-out 16, %d children", p.maxRun, p.maxWF, MaxBlocksInFlight)
	}
	parent := cc.events(parentID)
	t.Logf("history bounds: parent %d events (%d activities, %d children); child 0 %d events; at most %d partitions in %d children at once",
		parent, cc.activities[parentID], cc.children[parentID], cc.events(BlockWorkflowID(parentID, 0)), p.maxRun, p.maxWF)
	if parent > 200 {
		t.Errorf("parent: up to %d events, want <= 200", parent)
	}
	for b := range 10 {
		id := BlockWorkflowID(parentID, b)
		// + the partition-queue version
		want := eventsPerActivity*DefaultPartitionBlock + eventsBase + eventsPerMarker
		if ev := cc.events(id); ev > want || ev > historyWarn {
			t.Errorf("child %s: up to %d events, want <= %d", id, ev, want)
		}
	}
}

// TestWorkflowBlockFailsPermanently: a partition that fails for good in block 4
// fails the run with its reason; no block starts after it, block 5 (running beside
// it) is cancelled and finishes its running partition first, nothing is merged and
// the window is recorded skipped.
func TestWorkflowBlockFailsPermanently(t *testing.T) {
	env := newEnv(t)
	var p partitionMocks
	p.install(t, env, 100, func(i int) bool { return i == 42 })
	in := partitionedInput()
	in.PartitionBlock, in.PartitionFanOut = 10, 2
	env.ExecuteWorkflow(WorkflowType, in)
	err := env.GetWorkflowError()
	var ae *temporal.ApplicationError
	if err == nil || !strings.Contains(err.Error(), "bad data") || !strings.Contains(err.Error(), "block 4 (partitions 40..49)") ||
		!strings.Contains(err.Error(), "partition 42") {
		t.Fatalf("err = %v, want the block, the partition and its reason", err)
	}
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v: no application error", err)
	}
	if p.merged != nil {
		t.Error("merged despite a failed partition")
	}
	if p.inserted == nil || p.inserted.Status != batch.StatusSkipped || !strings.Contains(p.inserted.Error, "bad data") {
		t.Fatalf("failure not recorded: %+v", p.inserted)
	}
	if p.indexes[42] != 1 {
		t.Errorf("the failed partition ran %d times (non-retryable: want 1)", p.indexes[42])
	}
	// The cancelled block awaited its running partition before the run recorded
	// its failure (and cleaned the staging).
	if p.runningAtInsert != 0 {
		t.Errorf("%d partitions still ran when the failure was recorded", p.runningAtInsert)
	}
	if p.indexes[50] != 1 {
		t.Errorf("block 5, running beside block 4, ran partition 50 %d times; want 1", p.indexes[50])
	}
	for i := 60; i < 100; i++ { // blocks 6..9 never start: at most 2 blocks after block 4 (fan-out 2: 2 in flight)
		if p.indexes[i] != 0 {
			t.Errorf("partition %d (block %d) started after block 4 failed", i, i/10)
		}
	}
}

// TestWorkflowAtOneBlockStaysInParent: a plan of exactly one block runs its
// partitions in the workflow, without a child and without the blocks' version
// marker (today's histories replay unchanged).
func TestWorkflowAtOneBlockStaysInParent(t *testing.T) {
	env := newEnv(t)
	cc := newCommandCounter()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{cc}})
	var p partitionMocks
	p.install(t, env, 10, nil)
	in := partitionedInput()
	in.PartitionBlock = 10
	env.ExecuteWorkflow(WorkflowType, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Partitions != 10 || res.PartitionBlocks != 0 || p.byWF[parentID] != 10 || cc.children[parentID] != 0 {
		t.Fatalf("result %+v, partitions by workflow %v, %d children", res, p.byWF, cc.children[parentID])
	}
	// ledger + partition queue; no partition-blocks marker.
	if cc.markers[parentID] != 2 {
		t.Errorf("%d version calls, want 2 (window-ledger, partition-queue; partition_rows given: no default-partitioning, one block: no partition-blocks)", cc.markers[parentID])
	}
}

func TestPlanBlocks(t *testing.T) {
	for _, c := range []struct {
		n, block, fan              int
		size, blocks, inFlight, fo int // fo: the fan-outs' sum
	}{
		{n: 10_000, block: 1000, fan: 8, size: 1000, blocks: 10, inFlight: 4, fo: 8},
		{n: 10_000, block: 1000, fan: 1, size: 1000, blocks: 10, inFlight: 1, fo: 1},
		{n: 10_000, block: 1000, fan: 3, size: 1000, blocks: 10, inFlight: 3, fo: 3},
		{n: 10_000, block: 1000, fan: 1000, size: 1000, blocks: 10, inFlight: 4, fo: 1000},
		{n: 2_001, block: 1000, fan: 7, size: 1000, blocks: 3, inFlight: 3, fo: 7},
		{n: 7, block: 3, fan: 2, size: 3, blocks: 3, inFlight: 2, fo: 2},
		// More than MaxBlocks blocks of the asked size: larger blocks.
		{n: 100_000, block: 1, fan: 8, size: 100, blocks: 1000, inFlight: 4, fo: 8},
		{n: 100_000, block: 1000, fan: 8, size: 1000, blocks: 100, inFlight: 4, fo: 8},
	} {
		t.Run(fmt.Sprintf("%d/%d/%d", c.n, c.block, c.fan), func(t *testing.T) {
			bp := planBlocks(c.n, c.block, c.fan)
			sum := 0
			for _, f := range bp.fanOuts {
				if f < 1 {
					t.Errorf("fan-outs %v", bp.fanOuts)
				}
				sum += f
			}
			if bp.size != c.size || bp.blocks != c.blocks || bp.inFlight != c.inFlight || len(bp.fanOuts) != c.inFlight || sum != c.fo ||
				bp.blocks > MaxBlocks || bp.size*bp.blocks < c.n || bp.size*(bp.blocks-1) >= c.n {
				t.Errorf("plan %+v, want size %d blocks %d in flight %d fan-outs summing to %d", bp, c.size, c.blocks, c.inFlight, c.fo)
			}
		})
	}
}

func TestWorkflowBadPartitionBlock(t *testing.T) {
	for _, block := range []int{-1, MaxPartitionBlock + 1} {
		env := newEnv(t)
		var c calls
		mockClaim(t, env, &c, batch.KindLedger)
		in := partitionedInput()
		in.PartitionBlock = block
		env.ExecuteWorkflow(WorkflowType, in)
		var ae *temporal.ApplicationError
		err := env.GetWorkflowError()
		if !errors.As(err, &ae) || ae.Type() != batchapi.ErrBadInput || !strings.Contains(err.Error(), "partition_block") {
			t.Fatalf("partition_block %d: err = %v, want %s naming partition_block", block, err, batchapi.ErrBadInput)
		}
		if n := c.get("ClaimWindow"); n != 0 {
			t.Errorf("a bad partition_block claimed %d windows", n)
		}
	}
}
