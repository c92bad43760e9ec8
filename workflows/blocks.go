package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// BlockWorkflowType is the registered type name of ProfileBlock, the child
// workflow that runs one block of a run's partitions. Part of saved histories:
// never rename it.
const BlockWorkflowType = "ProfileBlock"

// Blocks of partitions. Temporal's default history limits are 51,200 events or
// 50 MB per workflow execution (the server warns at 10,240 events or 10 MB). A
// partition run in a workflow costs at most 6 events (its activity's scheduled,
// started and completed, plus a workflow task of 3 events for its completion when
// no other completion shares it) and about 1 KB of payloads; a child workflow
// costs its parent at most 9 (initiated, started, completed, plus up to two
// workflow tasks).
const (
	// DefaultPartitionBlock is the block size unless the input says otherwise:
	// a plan of at most this many partitions runs them in the workflow itself
	// (at most ~6,000 events, under the 10,240-event warning), a larger one in
	// child workflows of this many partitions each (~6,000 events and ~1 MB of
	// history each).
	DefaultPartitionBlock = 1000
	// MaxPartitionBlock bounds partition_block: ~30,000 events in a block's
	// history, under the 51,200-event limit with room for retries' events.
	MaxPartitionBlock = 5000
	// MaxBlocks bounds the children of a run (~9,000 events in the parent): a
	// plan with more blocks of partition_block gets larger blocks instead. With
	// the default block and batchapi.MaxPartitions (100,000) a run has 100.
	MaxBlocks = 1000
	// MaxBlocksInFlight bounds the children running at once (Temporal allows
	// 2,000 pending children per workflow by default). More than one keeps the
	// workers busy while a block waits for its last, slowest partitions.
	MaxBlocksInFlight = 4
)

// blockChange versions the blocks: histories from before it (no marker) ran
// every partition in the workflow itself, whatever their number.
const (
	blockChange  = "partition-blocks"
	blockVersion = 1
)

// BlockInput is the input of ProfileBlock: partitions First..First+Count-1 of
// the Partitions equal time slices of Window (batchapi.PartitionWindow).
type BlockInput struct {
	// Run is the parent's run key: the partitions' profiles are staged under it.
	Run        string       `json:"run"`
	Dataset    string       `json:"dataset"`
	Window     batch.Window `json:"window"`
	Partitions int          `json:"partitions"`
	First      int          `json:"first"`
	Count      int          `json:"count"`
	Targets    string       `json:"targets,omitempty"`
	ByStoredAt bool         `json:"by_stored_at,omitempty"`
	// FanOut bounds the block's partitions running at once.
	FanOut int `json:"fan_out"`
}

// BlockResult sums what the partitions of a block found (the sizes of the
// partitions' results, not their rows: a few hundred bytes per block).
type BlockResult struct {
	Partitions      int `json:"partitions"`
	Rows            int `json:"rows"`
	Skipped         int `json:"skipped,omitempty"`
	TargetsMatched  int `json:"targets_matched"`
	TargetsInDomain int `json:"targets_in_domain"`
	ProfileBytes    int `json:"profile_bytes"`
	// ModelVersions counts rows per model version, ByWorker partitions per worker.
	ModelVersions map[string]int `json:"model_versions,omitempty"`
	ByWorker      map[string]int `json:"by_worker,omitempty"`
}

func (t *BlockResult) add(p batchapi.PartitionResult) {
	t.Partitions++
	t.Rows += p.Rows
	t.Skipped += p.Skipped
	t.TargetsMatched += p.TargetsMatched
	t.TargetsInDomain += p.TargetsInDomain
	t.ProfileBytes += p.ProfileBytes
	if p.Worker != "" {
		if t.ByWorker == nil {
			t.ByWorker = map[string]int{}
		}
		t.ByWorker[p.Worker]++
	}
	for _, v := range p.ModelVersions {
		if t.ModelVersions == nil {
			t.ModelVersions = map[string]int{}
		}
		t.ModelVersions[v.Version] += v.Rows
	}
}

func (t *BlockResult) merge(o BlockResult) {
	t.Partitions += o.Partitions
	t.Rows += o.Rows
	t.Skipped += o.Skipped
	t.TargetsMatched += o.TargetsMatched
	t.TargetsInDomain += o.TargetsInDomain
	t.ProfileBytes += o.ProfileBytes
	for k, v := range o.ByWorker {
		if t.ByWorker == nil {
			t.ByWorker = map[string]int{}
		}
		t.ByWorker[k] += v
	}
	for k, v := range o.ModelVersions {
		if t.ModelVersions == nil {
			t.ModelVersions = map[string]int{}
		}
		t.ModelVersions[k] += v
	}
}

// BlockWorkflowID is the id of block i of the run whose workflow id is parent:
// a re-run of the window (same workflow id) starts the same ids again.
func BlockWorkflowID(parent string, i int) string {
	return fmt.Sprintf("%s/block-%d", parent, i)
}

// ProfileBlock runs one ProfilePartition per partition of its block, at most
// in.FanOut at once, and returns their sums. It fails with the first partition
// that fails for good; cancelled (its parent failed or was cancelled), it starts
// no new partition, awaits the running ones and returns the cancellation.
func ProfileBlock(ctx workflow.Context, in BlockInput) (*BlockResult, error) {
	if in.Partitions < 1 || in.First < 0 || in.Count < 1 || in.First+in.Count > in.Partitions ||
		in.FanOut < 1 || in.FanOut > MaxPartitionFanOut || in.Run == "" || !in.Window.End.After(in.Window.Start) {
		err := fmt.Errorf("profile block: partitions %d..%d of %d, fan-out %d (want 1..%d), run %q, window %s",
			in.First, in.First+in.Count-1, in.Partitions, in.FanOut, MaxPartitionFanOut, in.Run, in.Window)
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrBadInput, err)
	}
	base := batchapi.PartitionInput{Run: in.Run, Dataset: in.Dataset, Targets: in.Targets, ByStoredAt: in.ByStoredAt}
	// The partitions run on a context of their own, so that a cancelled block
	// lets its running partitions finish (as the parent's own fan-out does after
	// a failure) before the parent records the failure and cleans the staging.
	actx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	var tot BlockResult
	if err := fanOut(ctx, actx, base, in.Window, in.Partitions, in.First, in.Count, in.FanOut, tot.add); err != nil {
		return nil, err
	}
	return &tot, nil
}

// blockPlan is how profileBlocks splits n partitions: blocks of size (the last
// one smaller), at most inFlight children at once, child slot k running
// fanOuts[k] partitions at once, so that at most fan partitions run at once in
// all.
type blockPlan struct {
	size, blocks, inFlight int
	fanOuts                []int
}

func planBlocks(n, block, fan int) blockPlan {
	size := max(block, (n+MaxBlocks-1)/MaxBlocks)
	p := blockPlan{size: size, blocks: (n + size - 1) / size}
	p.inFlight = min(p.blocks, fan, MaxBlocksInFlight)
	for k := range p.inFlight {
		f := fan / p.inFlight
		if k < fan%p.inFlight {
			f++
		}
		p.fanOuts = append(p.fanOuts, f)
	}
	return p
}

// profileBlocks runs the n partitions of w in child workflows (ProfileBlock) of
// block partitions each, at most MaxBlocksInFlight at once, and sums their
// results. Children are ids BlockWorkflowID(parent, i), on the parent's task
// queue, terminated if the parent closes first. After the first failure no new
// block starts and the running ones are cancelled (each awaits its running
// partitions); the first error is returned.
func (s *run) profileBlocks(ctx workflow.Context, w batch.Window, n int, byStored bool, block int) (BlockResult, error) {
	bp := planBlocks(n, block, s.partitionFanOut())
	info := workflow.GetInfo(ctx)
	workflow.GetLogger(ctx).Info("partitions in blocks", "partitions", n, "block", bp.size, "blocks", bp.blocks, "in_flight", bp.inFlight)
	s.res.PartitionBlocks = bp.blocks
	cctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	busy := make([]bool, bp.inFlight)
	running, next := 0, 0
	var tot BlockResult
	var firstErr error
	for {
		for firstErr == nil && ctx.Err() == nil && running < bp.inFlight && next < bp.blocks {
			b, slot := next, 0
			for busy[slot] {
				slot++
			}
			busy[slot] = true
			first := b * bp.size
			count := min(bp.size, n-first)
			opts := workflow.ChildWorkflowOptions{
				WorkflowID:            BlockWorkflowID(info.WorkflowExecution.ID, b),
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_TERMINATE,
				WaitForCancellation:   true,
			}
			f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(cctx, opts), BlockWorkflowType, BlockInput{
				Run: s.run, Dataset: s.in.Dataset, Window: w, Partitions: n, First: first, Count: count,
				Targets: s.in.Targets, ByStoredAt: byStored, FanOut: bp.fanOuts[slot],
			})
			sel.AddFuture(f, func(f workflow.Future) {
				running--
				busy[slot] = false
				var r BlockResult
				if err := f.Get(ctx, &r); err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("block %d (partitions %d..%d): %w", b, first, first+count-1, err)
						cancel()
					}
					return
				}
				if r.Partitions != count && firstErr == nil {
					firstErr = fmt.Errorf("block %d: %d partitions profiled, want %d", b, r.Partitions, count)
					cancel()
				}
				tot.merge(r)
			})
			running++
			next++
		}
		if running == 0 {
			break
		}
		sel.Select(ctx)
	}
	if firstErr != nil {
		return tot, firstErr
	}
	if err := ctx.Err(); err != nil {
		return tot, err
	}
	return tot, nil
}
