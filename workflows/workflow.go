package workflows

import (
	"github.com/modelmon/modelmon/internal/envconf"

	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// WorkflowType is the registered, stable type name of the workflow: start it by this
// name from the Temporal CLI, tctl, schedules and other languages.
const WorkflowType = "BatchMonitoring"

// TaskQueue is the default task queue of the batch-monitoring worker.
const TaskQueue = envconf.TaskQueue

// Input is the workflow's JSON input. Times are RFC 3339. An empty window_start means
// "since the end of the last window a run of the dataset covered" (first run: the
// last 24 hours); an empty window_end means the workflow's current time.
type Input struct {
	Dataset     string `json:"dataset"`
	WindowStart string `json:"window_start,omitempty"`
	WindowEnd   string `json:"window_end,omitempty"`
	// Reference is the reference file (relative to the worker's DATA_DIR); empty: the
	// dataset's default.
	Reference string `json:"reference,omitempty"`
	// Targets is a target.csv path (relative to DATA_DIR); empty: the target collection.
	Targets string `json:"targets,omitempty"`
	// PartitionRows > 0 turns on the partitioned path (partitioned.go): a window
	// estimated at more rows than this is profiled in time slices of at most about
	// this many rows on all workers, and the report computed from the merged
	// profiles; 0 (the default) keeps the exact single-pass path.
	// batchapi.DefaultPartitionRows is the suggested value.
	PartitionRows int `json:"partition_rows,omitempty"`
	// PartitionFanOut bounds the partitions running at once (0: DefaultPartitionFanOut).
	PartitionFanOut int `json:"partition_fan_out,omitempty"`
}

// Result statuses beyond batch.StatusCompleted and batch.StatusNoData.
const (
	// StatusSkipped: the window was empty (already covered); nothing was written.
	StatusSkipped = "skipped"
)

// Result is the workflow's result: where the report is and its key numbers.
type Result struct {
	Status       string           `json:"status"`
	ReportID     string           `json:"report_id,omitempty"`
	Dataset      string           `json:"dataset"`
	WindowStart  time.Time        `json:"window_start"`
	WindowEnd    time.Time        `json:"window_end"`
	Rows         batch.RowCounts  `json:"rows"`
	Summary      *batch.Summary   `json:"summary,omitempty"`
	HTMLPath     string           `json:"html_path,omitempty"`
	ModelVersion string           `json:"model_version,omitempty"`
	TimingsMS    map[string]int64 `json:"timings_ms,omitempty"`
	// Partitions is the number of partitions of the partitioned path (0: single pass),
	// PartitionsByWorker how many each worker profiled.
	Partitions         int            `json:"partitions,omitempty"`
	PartitionsByWorker map[string]int `json:"partitions_by_worker,omitempty"`
	// ProfileBytes is the total size of the partition profiles.
	ProfileBytes int `json:"profile_bytes,omitempty"`
}

// MaxFutureSkew is how far window_end may lie ahead of the workflow's clock.
const MaxFutureSkew = time.Minute

// BatchMonitoring computes the monitoring report of one window of a dataset's
// prediction log against its reference:
//
//	FetchPredictions -> (ScoreReference || JoinTarget) -> ComputeMetrics -> SaveHTMLReport -> InsertResults
//
// Activities exchange only references to data staged in MongoDB. A failure after the
// window is known records a "failed" result (unless the window already has a
// completed one) and cleans the staging before the workflow fails.
func BatchMonitoring(ctx workflow.Context, in Input) (*Result, error) {
	log := workflow.GetLogger(ctx)
	info := workflow.GetInfo(ctx)
	now := workflow.Now(ctx).UTC().Truncate(time.Second)
	start, end, err := parseInput(in, now)
	if err != nil {
		return nil, err
	}
	s := &run{
		in:      in,
		run:     info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID,
		started: workflow.Now(ctx).UTC(),
		timings: map[string]int64{},
		res:     &Result{Dataset: in.Dataset},
	}
	if !start.IsZero() {
		s.window = &batch.Window{Start: start, End: end}
	}
	res, err := s.execute(ctx, start, end)
	if err != nil {
		s.recordFailure(ctx, err)
		return nil, err
	}
	log.Info("batch monitoring done", "status", res.Status, "report_id", res.ReportID, "html", res.HTMLPath)
	return res, nil
}

// parseInput validates the input; its errors fail the workflow without retry.
func parseInput(in Input, now time.Time) (start, end time.Time, err error) {
	bad := func(err error) error {
		return temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrBadInput, err)
	}
	if in.Dataset == "" {
		return start, end, bad(errors.New(`input has no "dataset" (e.g. {"dataset":"taxi"})`))
	}
	if err := batch.ValidateDatasetName(in.Dataset); err != nil {
		return start, end, bad(err)
	}
	if start, err = batch.ParseTime("window_start", in.WindowStart); err != nil {
		return start, end, bad(fmt.Errorf("malformed window: %w", err))
	}
	if end, err = batch.ParseTime("window_end", in.WindowEnd); err != nil {
		return start, end, bad(fmt.Errorf("malformed window: %w", err))
	}
	if end.IsZero() {
		end = now
	}
	if end.After(now.Add(MaxFutureSkew)) {
		return start, end, bad(fmt.Errorf("malformed window: window_end %s is in the future (now %s): later predictions would be skipped by the next run",
			end.Format(time.RFC3339), now.Format(time.RFC3339)))
	}
	if !start.IsZero() && !end.After(start) {
		return start, end, bad(fmt.Errorf("malformed window: window_end %s is not after window_start %s",
			end.Format(time.RFC3339), start.Format(time.RFC3339)))
	}
	return start, end, nil
}

// run is the state of one execution.
type run struct {
	in      Input
	run     string
	started time.Time
	window  *batch.Window
	timings map[string]int64
	res     *Result
	fetch   batchapi.FetchResult
	ref     batchapi.ScoreReferenceResult
	join    batchapi.JoinResult
}

// call runs one activity of s with its options and records its time.
func call[In, Out any](ctx workflow.Context, s *run, act typedActivity[In, Out], in In) (Out, error) {
	t0 := workflow.Now(ctx)
	out, err := act.get(ctx, act.start(ctx, in))
	s.timings[act.name] = workflow.Now(ctx).Sub(t0).Milliseconds()
	return out, err
}

func (s *run) execute(ctx workflow.Context, start, end time.Time) (*Result, error) {
	if s.in.PartitionRows != 0 {
		if res, done, err := s.partitioned(ctx, start, end); done {
			return res, err
		}
	}
	fin := batchapi.FetchInput{Run: s.run, Dataset: s.in.Dataset, WindowEnd: end}
	if !start.IsZero() {
		fin.WindowStart = &start
	}
	var err error
	if s.fetch, err = call(ctx, s, fetchPredictions, fin); err != nil {
		return nil, err
	}
	w := s.fetch.Window
	s.window = &w
	s.res.WindowStart, s.res.WindowEnd = w.Start, w.End
	s.res.Rows.Current, s.res.Rows.Skipped = s.fetch.Current.Rows, s.fetch.Skipped
	if !w.End.After(w.Start) {
		s.res.Status = StatusSkipped
		workflow.GetLogger(ctx).Info("window already covered: nothing to do", "window_end", w.End)
		return s.res, nil
	}
	s.res.ReportID = batch.ReportID(s.in.Dataset, w)
	if s.fetch.Current.Rows == 0 {
		s.res.Status = batch.StatusNoData
		return s.res, s.insert(ctx, nil, nil, "")
	}

	// The reference and the join are independent: run them side by side.
	t0 := workflow.Now(ctx)
	refFut := scoreReference.start(ctx, batchapi.ScoreReferenceInput{Run: s.run, Dataset: s.in.Dataset, Reference: s.in.Reference})
	joinFut := joinTarget.start(ctx, batchapi.JoinInput{Run: s.run, Dataset: s.in.Dataset, Current: s.fetch.Current, Targets: s.in.Targets})
	var refErr, joinErr error
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(refFut, func(f workflow.Future) {
		s.ref, refErr = scoreReference.get(ctx, f)
		s.timings[batchapi.ScoreReference] = workflow.Now(ctx).Sub(t0).Milliseconds()
	})
	sel.AddFuture(joinFut, func(f workflow.Future) {
		s.join, joinErr = joinTarget.get(ctx, f)
		s.timings[batchapi.JoinTarget] = workflow.Now(ctx).Sub(t0).Milliseconds()
	})
	sel.Select(ctx)
	sel.Select(ctx)
	if refErr != nil {
		return nil, refErr
	}
	if joinErr != nil {
		return nil, joinErr
	}
	s.res.Rows.Reference = s.ref.Reference.Rows
	s.res.Rows.TargetsMatched, s.res.Rows.TargetsInDomain = s.join.Matched, s.join.InDomain
	s.res.ModelVersion = s.ref.ModelVersion

	cm, err := call(ctx, s, computeMetrics, batchapi.ComputeInput{
		Run: s.run, Dataset: s.in.Dataset, Reference: s.ref.Reference, Current: s.fetch.Current, Targets: s.join.Targets,
	})
	if err != nil {
		return nil, err
	}
	s.res.Summary = &cm.Summary

	info := workflow.GetInfo(ctx)
	html, err := call(ctx, s, saveHTMLReport, batchapi.SaveHTMLInput{
		Run: s.run, Dataset: s.in.Dataset, Window: w, Report: cm.Report, Summary: cm.Summary,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		ModelVersion: s.ref.ModelVersion, GeneratedAt: workflow.Now(ctx).UTC(),
	})
	if err != nil {
		return nil, err
	}
	s.res.HTMLPath = html.Path
	s.res.Status = batch.StatusCompleted
	return s.res, s.insert(ctx, &cm.Report, &html, "")
}

// insert runs InsertResults for the current state.
func (s *run) insert(ctx workflow.Context, reportRef *batch.StageRef, html *batchapi.SaveHTMLResult, errMsg string) error {
	info := workflow.GetInfo(ctx)
	in := batchapi.InsertResultsInput{
		Dataset: s.in.Dataset, Window: *s.window, Status: s.res.Status, Error: errMsg,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		ModelVersion: s.res.ModelVersion, Run: s.run, Report: reportRef, Summary: s.res.Summary,
		Rows: s.res.Rows, ModelVersions: s.fetch.ModelVersions,
		Reference: s.ref.Path, Targets: s.join.Source, TimingsMS: s.timings,
		StartedAt: s.started, Cleanup: true,
	}
	if html != nil {
		in.HTMLPath, in.HTMLHost = html.Path, html.Host
	}
	if _, err := call(ctx, s, insertResults, in); err != nil {
		return err
	}
	s.res.TimingsMS = s.timings
	return nil
}

// recordFailure saves a "failed" result for a known window (best effort, also when
// the workflow was cancelled) and deletes the run's staging.
func (s *run) recordFailure(ctx workflow.Context, cause error) {
	if s.window == nil || !s.window.End.After(s.window.Start) {
		return
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	s.res.Status = batch.StatusFailed
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	opts := ActivityOptions(batchapi.InsertResults)
	opts.RetryPolicy = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3}
	info := workflow.GetInfo(ctx)
	in := batchapi.InsertResultsInput{
		Dataset: s.in.Dataset, Window: *s.window, Status: batch.StatusFailed, Error: msg,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		ModelVersion: s.res.ModelVersion, Run: s.run, Rows: s.res.Rows, ModelVersions: s.fetch.ModelVersions,
		Reference: s.ref.Path, Targets: s.join.Source, TimingsMS: s.timings, StartedAt: s.started, Cleanup: true,
	}
	if err := insertResults.startWith(dctx, opts, in).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("could not record the failure", "error", err)
	}
}
