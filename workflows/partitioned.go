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
	parts, err := s.fanOut(ctx, w, plan.Partitions, byStored)
	s.timings[batchapi.ProfilePartition] = workflow.Now(ctx).Sub(t0).Milliseconds()
	if werr := workflow.Await(ctx, func() bool { return refDone }); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return nil, true, err
	}
	versions := map[string]int{}
	for _, p := range parts {
		s.res.Rows.Current += p.Rows
		s.res.ProfileBytes += p.ProfileBytes
		s.res.Rows.Skipped += p.Skipped
		s.res.Rows.TargetsMatched += p.TargetsMatched
		s.res.Rows.TargetsInDomain += p.TargetsInDomain
		if p.Worker != "" {
			if s.res.PartitionsByWorker == nil {
				s.res.PartitionsByWorker = map[string]int{}
			}
			s.res.PartitionsByWorker[p.Worker]++
		}
		for _, v := range p.ModelVersions {
			versions[v.Version] += v.Rows
		}
	}
	s.fetch.ModelVersions = sortedVersions(versions)
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

// checkPartitionInput refuses partition settings out of range (non-retryable bad
// input). execute calls it before claiming a window, so a bad setting never
// consumes a ledger window.
func checkPartitionInput(in Input) error {
	if in.PartitionRows < ForceSinglePass || in.PartitionFanOut < 0 || in.PartitionFanOut > MaxPartitionFanOut {
		err := fmt.Errorf("partition_rows = %d (want >= 1, 0 for the default of %d, or %d for the single pass), partition_fan_out = %d (want 0..%d)",
			in.PartitionRows, batchapi.DefaultPartitionRows, ForceSinglePass, in.PartitionFanOut, MaxPartitionFanOut)
		return temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrBadInput, err)
	}
	return nil
}

// fanOut runs one ProfilePartition per time slice of w, at most fan-out at once
// (a selector over the running futures; each completion starts the next slice).
// After the first failure no new partition starts; the running ones are awaited
// and the first error is returned.
func (s *run) fanOut(ctx workflow.Context, w batch.Window, n int, byStored bool) ([]batchapi.PartitionResult, error) {
	fan := s.in.PartitionFanOut
	if fan == 0 {
		fan = DefaultPartitionFanOut
	}
	windows := batchapi.PartitionWindows(w, n)
	out := make([]batchapi.PartitionResult, n)
	sel := workflow.NewSelector(ctx)
	opts := PartitionActivityOptions(batchapi.ProfilePartition)
	opts.TaskQueue = partitionQueue(ctx)
	running, next := 0, 0
	var firstErr error
	for {
		for firstErr == nil && running < fan && next < n {
			i := next
			f := profilePartition.startWith(ctx, opts, batchapi.PartitionInput{
				Run: s.run, Dataset: s.in.Dataset, Index: i, Window: windows[i], Targets: s.in.Targets, ByStoredAt: byStored,
			})
			sel.AddFuture(f, func(f workflow.Future) {
				running--
				r, err := profilePartition.get(ctx, f)
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("partition %d (%s): %w", i, windows[i], err)
					}
					return
				}
				out[i] = r
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
		return nil, firstErr
	}
	if next != n {
		return nil, errors.New("partitions: not every partition ran") // unreachable
	}
	return out, nil
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
