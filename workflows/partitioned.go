package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// DefaultPartitionFanOut is how many partitions of a run run at once unless the
// input says otherwise.
const DefaultPartitionFanOut = 8

// MaxPartitionFanOut bounds partition_fan_out: Temporal refuses more than 2,000
// pending activities per workflow by default.
const MaxPartitionFanOut = 1000

var (
	planPartitions   = typedActivity[batchapi.PlanInput, batchapi.PlanResult]{batchapi.PlanPartitions}
	profilePartition = typedActivity[batchapi.PartitionInput, batchapi.PartitionResult]{batchapi.ProfilePartition}
	mergeProfiles    = typedActivity[batchapi.MergeInput, batchapi.ComputeResult]{batchapi.MergeProfiles}
)

// PartitionActivityOptions are the options of the partitioned path's activities:
//
//	activity          start-to-close  heartbeat  attempts
//	PlanPartitions    5m              -          10
//	ProfilePartition  1h              10s        10
//	MergeProfiles     30m             10s        5
func PartitionActivityOptions(name string) workflow.ActivityOptions {
	switch name {
	case batchapi.PlanPartitions:
		return workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute, RetryPolicy: retry(10)}
	case batchapi.ProfilePartition:
		// Not eager: an eagerly executed activity runs on the worker that completed the
		// workflow task, which would keep every partition on one worker.
		return workflow.ActivityOptions{StartToCloseTimeout: time.Hour, HeartbeatTimeout: HeartbeatTimeout, RetryPolicy: retry(10), DisableEagerExecution: true}
	case batchapi.MergeProfiles:
		return workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: HeartbeatTimeout, RetryPolicy: retry(5)}
	}
	panic("workflows: no options for activity " + name)
}

func callPart[In, Out any](ctx workflow.Context, s *run, act typedActivity[In, Out], in In) (Out, error) {
	t0 := workflow.Now(ctx)
	out, err := act.get(ctx, act.startWith(ctx, PartitionActivityOptions(act.name), in))
	s.timings[act.name] = workflow.Now(ctx).Sub(t0).Milliseconds()
	return out, err
}

// partitioned runs the partitioned path with partitions of at most maxRows rows
// when the plan has more than one partition (byDefault: the input left
// partition_rows 0, and the plan counts the window when the collection's count
// exceeds maxRows):
//
//	PlanPartitions -> (ScoreReference || ProfilePartition x N, at most fan-out at once)
//	  -> MergeProfiles -> SaveHTMLReport -> InsertResults
//
// N above partition_block runs in child workflows of partition_block partitions
// each (ProfileBlock x ceil(N / block), at most MaxBlocksInFlight at once).
//
// done is false when the caller should take the single-pass path (one partition, or
// an empty window, which FetchPredictions resolves and reports as today).
func (s *run) partitioned(ctx workflow.Context, start, end time.Time, maxRows int, byDefault bool) (res *Result, done bool, err error) {
	if err := checkPartitionInput(s.in); err != nil {
		return nil, true, err
	}
	byStored := s.window != nil // claimed on the ledger (execute): a stored_at window
	pin := batchapi.PlanInput{Run: s.run, Dataset: s.in.Dataset, WindowEnd: end, MaxPartitionRows: maxRows, ByStoredAt: byStored, CountWindow: byDefault}
	if !start.IsZero() {
		pin.WindowStart = &start
	}
	plan, err := callPart(ctx, s, planPartitions, pin)
	if err != nil {
		return nil, true, err
	}
	if plan.Partitions <= 1 {
		return nil, false, nil
	}
	w := plan.Window
	s.window = &w
	s.res.WindowStart, s.res.WindowEnd = w.Start, w.End
	s.res.ReportID = batch.ReportID(s.in.Dataset, w)

	t0 := workflow.Now(ctx)
	refFut := scoreReference.start(ctx, batchapi.ScoreReferenceInput{Run: s.run, Dataset: s.in.Dataset, Reference: s.in.Reference})
	var refErr error
	refDone := false
	workflow.Go(ctx, func(gctx workflow.Context) {
		s.ref, refErr = scoreReference.get(gctx, refFut)
		s.timings[batchapi.ScoreReference] = workflow.Now(gctx).Sub(t0).Milliseconds()
		refDone = true
	})
	tot, err := s.profileAll(ctx, w, plan.Partitions, byStored)
	s.timings[batchapi.ProfilePartition] = workflow.Now(ctx).Sub(t0).Milliseconds()
	if werr := workflow.Await(ctx, func() bool { return refDone }); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return nil, true, err
	}
	s.res.Rows.Current += tot.Rows
	s.res.ProfileBytes += tot.ProfileBytes
	s.res.Rows.Skipped += tot.Skipped
	s.res.Rows.TargetsMatched += tot.TargetsMatched
	s.res.Rows.TargetsInDomain += tot.TargetsInDomain
	s.res.PartitionsByWorker = tot.ByWorker
	s.fetch.ModelVersions = sortedVersions(tot.ModelVersions)
	s.join.Source = "collection"
	if s.in.Targets != "" {
		s.join.Source = "csv:" + s.in.Targets
	}
	if s.res.Rows.Current == 0 {
		s.res.Status = batch.StatusNoData
		return s.res, true, s.insert(ctx, nil, nil, "")
	}
	if refErr != nil {
		return nil, true, refErr
	}
	s.res.Rows.Reference = s.ref.Reference.Rows
	s.res.ModelVersion = s.ref.ModelVersion
	s.res.ReferenceCache = s.ref.CacheOutcome()

	cm, err := callPart(ctx, s, mergeProfiles, batchapi.MergeInput{
		Run: s.run, Dataset: s.in.Dataset, Partitions: plan.Partitions, Reference: s.ref.Reference, Plan: plan,
	})
	if err != nil {
		return nil, true, err
	}
	s.res.Summary = &cm.Summary
	info := workflow.GetInfo(ctx)
	html, err := call(ctx, s, saveHTMLReport, batchapi.SaveHTMLInput{
		Run: s.run, Dataset: s.in.Dataset, Window: w, Report: cm.Report, Summary: cm.Summary,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		ModelVersion: s.ref.ModelVersion, GeneratedAt: workflow.Now(ctx).UTC(),
	})
	if err != nil {
		return nil, true, err
	}
	s.res.HTMLPath = html.Path
	s.res.Status = batch.StatusCompleted
	s.res.Partitions = plan.Partitions
	return s.res, true, s.insert(ctx, &cm.Report, &html, "")
}

// CheckSettings checks the input's settings as the workflow does (partition_rows,
// partition_fan_out, partition_block, allowed_lateness), for clients that store
// an input to start later (schedules): the error says what to fix.
func (in Input) CheckSettings() error {
	err := checkPartitionInput(in)
	if err == nil {
		_, err = parseLateness(in.AllowedLateness)
	}
	if ae := (*temporal.ApplicationError)(nil); errors.As(err, &ae) && ae.Unwrap() != nil {
		return ae.Unwrap() // the message alone, without the workflow's error type
	}
	return err
}

// checkPartitionInput refuses partition settings out of range (non-retryable bad
// input). execute calls it before claiming a window, so a bad setting never
// consumes a ledger window.
func checkPartitionInput(in Input) error {
	if in.PartitionRows < ForceSinglePass || in.PartitionFanOut < 0 || in.PartitionFanOut > MaxPartitionFanOut ||
		in.PartitionBlock < 0 || in.PartitionBlock > MaxPartitionBlock {
		err := fmt.Errorf("partition_rows = %d (want >= 1, 0 for the default of %d, or %d for the single pass), partition_fan_out = %d (want 0..%d), partition_block = %d (want 1..%d, 0 for the default of %d)",
			in.PartitionRows, batchapi.DefaultPartitionRows, ForceSinglePass, in.PartitionFanOut, MaxPartitionFanOut,
			in.PartitionBlock, MaxPartitionBlock, DefaultPartitionBlock)
		return temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrBadInput, err)
	}
	return nil
}

// profileAll profiles the n partitions of w: in this workflow when they fit in
// one block (fanOut), else in child workflows, one per block (profileBlocks).
func (s *run) profileAll(ctx workflow.Context, w batch.Window, n int, byStored bool) (BlockResult, error) {
	block := s.in.PartitionBlock
	if block == 0 {
		block = DefaultPartitionBlock
	}
	if n > block && workflow.GetVersion(ctx, blockChange, workflow.DefaultVersion, blockVersion) >= blockVersion {
		return s.profileBlocks(ctx, w, n, byStored, block)
	}
	var tot BlockResult
	err := fanOut(ctx, ctx, s.partitionInput(byStored), w, n, 0, n, s.partitionFanOut(), tot.add)
	return tot, err
}

// partitionFanOut is partition_fan_out, or its default.
func (s *run) partitionFanOut() int {
	if s.in.PartitionFanOut == 0 {
		return DefaultPartitionFanOut
	}
	return s.in.PartitionFanOut
}

// partitionInput is what every partition of the run shares.
func (s *run) partitionInput(byStored bool) batchapi.PartitionInput {
	return batchapi.PartitionInput{Run: s.run, Dataset: s.in.Dataset, Targets: s.in.Targets, ByStoredAt: byStored}
}

// fanOut runs one ProfilePartition per time slice first..first+count-1 of the n
// slices of w, at most fan at once (a selector over the running futures; each
// completion starts the next slice), and passes each result to done. The
// activities are started on actx (ctx, or a context disconnected from it); after
// the first failure, or once ctx is cancelled, no new partition starts; the
// running ones are awaited and the first error is returned.
func fanOut(ctx, actx workflow.Context, base batchapi.PartitionInput, w batch.Window, n, first, count, fan int, done func(batchapi.PartitionResult)) error {
	sel := workflow.NewSelector(ctx)
	opts := PartitionActivityOptions(batchapi.ProfilePartition)
	opts.TaskQueue = partitionQueue(ctx)
	running, next := 0, first
	end := first + count
	var firstErr error
	for {
		for firstErr == nil && ctx.Err() == nil && running < fan && next < end {
			i := next
			pin := base
			pin.Index, pin.Window = i, batchapi.PartitionWindow(w, n, i)
			f := profilePartition.startWith(actx, opts, pin)
			sel.AddFuture(f, func(f workflow.Future) {
				running--
				r, err := profilePartition.get(ctx, f)
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("partition %d (%s): %w", i, pin.Window, err)
					}
					return
				}
				done(r)
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
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if next != end {
		return errors.New("partitions: not every partition ran") // unreachable
	}
	return nil
}

func sortedVersions(m map[string]int) []batch.ModelVersionCount {
	out := make([]batch.ModelVersionCount, 0, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, batch.ModelVersionCount{Version: k, Rows: m[k]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rows > out[j].Rows })
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}
