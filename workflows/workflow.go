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

// Input is the workflow's JSON input. Times are RFC 3339 and bound the time a record
// was stored (mongodb.FieldStoredAt; received_at for documents stored before the
// stamp existed). An empty window_start means "the next window of the dataset's
// ledger": from the end of the last claimed window (first run: the last 24 hours);
// an empty window_end means the workflow's current time minus the allowed lateness.
type Input struct {
	Dataset     string `json:"dataset"`
	WindowStart string `json:"window_start,omitempty"`
	WindowEnd   string `json:"window_end,omitempty"`
	// AllowedLateness (a Go duration, default DefaultAllowedLateness) is how long
	// after window_end the window is fetched: longer than any insert can take to
	// become visible after its stored_at stamp (the store's write timeout) plus the
	// clock skew between the online service and Temporal.
	AllowedLateness string `json:"allowed_lateness,omitempty"`
	// Reference is the reference file (relative to the worker's DATA_DIR); empty: the
	// dataset's default.
	Reference string `json:"reference,omitempty"`
	// Targets is a target.csv path (relative to DATA_DIR); empty: the target collection.
	Targets string `json:"targets,omitempty"`
	// PartitionRows bounds the rows of a partition (partitioned.go): a window
	// with more rows than this is profiled in time slices of at most about this
	// many rows on all workers, and the report computed from the merged profiles;
	// a window that fits in one partition takes the exact single-pass path.
	// 0 (absent): batchapi.DefaultPartitionRows (250,000), the window counted
	// when the log collection holds more; ForceSinglePass (-1): always the
	// single pass, no plan.
	PartitionRows int `json:"partition_rows,omitempty"`
	// PartitionFanOut bounds the partitions running at once (0: DefaultPartitionFanOut).
	PartitionFanOut int `json:"partition_fan_out,omitempty"`
	// PartitionBlock (a tuning knob: it changes the history's shape, never the
	// report) is how many partitions one workflow runs: a plan with more runs
	// them in child workflows (ProfileBlock) of this many each; 0 (absent):
	// DefaultPartitionBlock (1,000), at most MaxPartitionBlock.
	PartitionBlock int `json:"partition_block,omitempty"`
}

// Result statuses beyond batch.StatusCompleted and batch.StatusNoData.
const (
	// StatusEmpty: an open window with nothing left to cover (the ledger already
	// reaches window_end); nothing was written.
	StatusEmpty = "empty"
	// statusLegacyEmpty is what runs started before the ledger (replayed
	// histories) returned for an empty window.
	statusLegacyEmpty = "skipped"
)

// DefaultAllowedLateness is the watermark's delay: a window [start, end) is fetched
// once the workflow's clock is past end + this. The store's default write timeout is
// 10 s (LOG_WRITE_TIMEOUT); the rest covers clock skew and a slow commit.
const DefaultAllowedLateness = 30 * time.Second

// MaxAllowedLateness bounds Input.AllowedLateness.
const MaxAllowedLateness = 24 * time.Hour

// ledgerChange and ledgerVersion version the window ledger (ClaimWindow, windows
// over stored_at, skipped windows): histories of runs started before it replay the
// former path (workflow.DefaultVersion).
const (
	ledgerChange  = "window-ledger"
	ledgerVersion = 1
)

// defaultPartitionChange versions the default partitioning: runs that leave
// partition_rows 0 plan partitions of batchapi.DefaultPartitionRows; histories
// from before it (no marker) replay the single pass they took.
const (
	defaultPartitionChange  = "default-partitioning"
	defaultPartitionVersion = 1
)

// ForceSinglePass as Input.PartitionRows keeps the exact single-pass path whatever
// the window's size.
const ForceSinglePass = -1

// Result is the workflow's result: where the report is and its key numbers.
type Result struct {
	Status       string           `json:"status"`
	ReportID     string           `json:"report_id,omitempty"`
	Dataset      string           `json:"dataset"`
	WindowKind   string           `json:"window_kind,omitempty"`
	WindowStart  time.Time        `json:"window_start"`
	WindowEnd    time.Time        `json:"window_end"`
	Rows         batch.RowCounts  `json:"rows"`
	Summary      *batch.Summary   `json:"summary,omitempty"`
	HTMLPath     string           `json:"html_path,omitempty"`
	ModelVersion string           `json:"model_version,omitempty"`
	TimingsMS    map[string]int64 `json:"timings_ms,omitempty"`
	// Partitions is the number of partitions of the partitioned path (0: single pass),
	// PartitionsByWorker how many each worker profiled.
	Partitions int `json:"partitions,omitempty"`
	// PartitionBlocks is the number of child workflows (ProfileBlock) that ran
	// the partitions (0: the workflow ran them itself).
	PartitionBlocks    int            `json:"partition_blocks,omitempty"`
	PartitionsByWorker map[string]int `json:"partitions_by_worker,omitempty"`
	// ProfileBytes is the total size of the partition profiles.
	ProfileBytes int `json:"profile_bytes,omitempty"`
	// ReferenceCache is "hit" when the scored reference came from the reference
	// cache, "miss" when this run scored it (ScoreReference's result says why).
	ReferenceCache string `json:"reference_cache,omitempty"`
}

// MaxFutureSkew is how far window_end may lie ahead of the workflow's clock.
const MaxFutureSkew = time.Minute

// BatchMonitoring computes the monitoring report of one window of a dataset's
// prediction log against its reference:
//
//	ClaimWindow -> FetchPredictions -> (ScoreReference || JoinTarget) -> ComputeMetrics -> SaveHTMLReport -> InsertResults
//
// ClaimWindow takes the window on the dataset's ledger (see the package doc: windows
// over stored_at, behind a watermark, never overlapping). Activities exchange only
// references to data staged in MongoDB. A failure after the window is known records
// a "skipped" result for a ledger window, "failed" for an ad-hoc one (unless the
// window already has a completed one) and cleans the staging before the workflow
// fails.
func BatchMonitoring(ctx workflow.Context, in Input) (*Result, error) {
	log := workflow.GetLogger(ctx)
	info := workflow.GetInfo(ctx)
	ledger := workflow.GetVersion(ctx, ledgerChange, workflow.DefaultVersion, ledgerVersion) >= ledgerVersion
	now := workflow.Now(ctx).UTC().Truncate(time.Second)
	lateness := time.Duration(0)
	if ledger {
		var err error
		if lateness, err = parseLateness(in.AllowedLateness); err != nil {
			return nil, err
		}
		if in.WindowEnd == "" {
			now = now.Add(-lateness) // the open window ends behind the watermark
		}
	}
	start, end, err := parseInput(in, now)
	if err != nil {
		return nil, err
	}
	if ledger {
		// The watermark: a window is fetched only once every insert stamped
		// before its end is visible.
		if wait := end.Add(lateness).Sub(workflow.Now(ctx)); wait > 0 {
			log.Info("waiting for the watermark", "window_end", end, "allowed_lateness", lateness, "wait", wait)
			if err := workflow.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
	s := &run{
		ledger:  ledger,
		in:      in,
		run:     info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID,
		started: workflow.Now(ctx).UTC(),
		timings: map[string]int64{},
		res:     &Result{Dataset: in.Dataset},
	}
	if !start.IsZero() && !ledger {
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

// parseLateness reads Input.AllowedLateness (empty: DefaultAllowedLateness).
func parseLateness(v string) (time.Duration, error) {
	if v == "" {
		return DefaultAllowedLateness, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > MaxAllowedLateness {
		err := fmt.Errorf("allowed_lateness %q is not a duration between 0 and %s (e.g. \"30s\")", v, MaxAllowedLateness)
		return 0, temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrBadInput, err)
	}
	return d, nil
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
	ledger  bool // the window ledger's path (false: a replayed run from before it)
	claim   batchapi.ClaimResult
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
	if err := checkPartitionInput(s.in); err != nil {
		return nil, err
	}
	fin := batchapi.FetchInput{Run: s.run, Dataset: s.in.Dataset, WindowEnd: end}
	if !start.IsZero() {
		fin.WindowStart = &start
	}
	var err error
	if s.ledger {
		cin := batchapi.ClaimInput{Run: s.run, Dataset: s.in.Dataset, WindowStart: fin.WindowStart, WindowEnd: end}
		if s.claim, err = call(ctx, s, claimWindow, cin); err != nil {
			return nil, err
		}
		w := s.claim.Window
		s.res.WindowStart, s.res.WindowEnd, s.res.WindowKind = w.Start, w.End, s.claim.Kind
		if s.claim.Kind == batch.KindEmpty || !w.End.After(w.Start) {
			s.res.Status = StatusEmpty
			workflow.GetLogger(ctx).Info("the ledger already reaches the window's end: nothing to do", "window_end", end)
			return s.res, nil
		}
		s.window = &w
		fin.WindowStart, fin.WindowEnd, fin.ByStoredAt = &w.Start, w.End, true
	}
	rows, byDefault := s.in.PartitionRows, false
	if rows == 0 && workflow.GetVersion(ctx, defaultPartitionChange, workflow.DefaultVersion, defaultPartitionVersion) >= defaultPartitionVersion {
		rows, byDefault = batchapi.DefaultPartitionRows, true
	}
	if rows > 0 {
		// After the claim: the partitions slice the claimed window by stored_at, so
		// the ledger's exactly-once accounting holds on this path too.
		pstart, pend := start, end
		if s.window != nil {
			pstart, pend = s.window.Start, s.window.End
		}
		if res, done, err := s.partitioned(ctx, pstart, pend, rows, byDefault); done {
			return res, err
		}
	}
	if s.fetch, err = call(ctx, s, fetchPredictions, fin); err != nil {
		return nil, err
	}
	w := s.fetch.Window
	s.window = &w
	s.res.WindowStart, s.res.WindowEnd = w.Start, w.End
	s.res.Rows.Current, s.res.Rows.Skipped, s.res.Rows.Late = s.fetch.Current.Rows, s.fetch.Skipped, s.fetch.Late
	if !w.End.After(w.Start) {
		s.res.Status = statusLegacyEmpty
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
	s.res.ReferenceCache = s.ref.CacheOutcome()

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
	s.ledgerFields(&in)
	if _, err := call(ctx, s, insertResults, in); err != nil {
		return err
	}
	s.res.TimingsMS = s.timings
	return nil
}

// ledgerFields adds what the ledger path records to a result.
func (s *run) ledgerFields(in *batchapi.InsertResultsInput) {
	if !s.ledger {
		return
	}
	in.SelectedBy, in.ReceivedAt = batch.SelectedByStoredAt, s.fetch.ReceivedAt
	switch s.claim.Kind {
	case batch.KindLedger, batch.KindRerun:
		seq := s.claim.Seq
		in.WindowKind, in.LedgerSeq = batch.KindLedger, &seq
	default:
		in.WindowKind = batch.KindAdhoc
	}
}

// failureStatus is the status a failed run records: a window of the ledger is
// skipped (the ledger has moved past it, later windows run, the alert
// ModelmonBatchWindowSkipped says so); an ad-hoc window (or a replayed run from
// before the ledger) failed.
func (s *run) failureStatus() string {
	if s.ledger && (s.claim.Kind == batch.KindLedger || s.claim.Kind == batch.KindRerun) {
		return batch.StatusSkipped
	}
	return batch.StatusFailed
}

// recordFailure saves a "failed" or "skipped" result for a known window (best
// effort, also when the workflow was cancelled) and deletes the run's staging. A
// failure is recorded after the activity's retries are exhausted (or at once for a
// non-retryable error: bad input, a report that cannot be computed).
func (s *run) recordFailure(ctx workflow.Context, cause error) {
	if s.window == nil || !s.window.End.After(s.window.Start) {
		return
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	s.res.Status = s.failureStatus()
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	opts := ActivityOptions(batchapi.InsertResults)
	opts.RetryPolicy = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3}
	info := workflow.GetInfo(ctx)
	in := batchapi.InsertResultsInput{
		Dataset: s.in.Dataset, Window: *s.window, Status: s.res.Status, Error: msg,
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		ModelVersion: s.res.ModelVersion, Run: s.run, Rows: s.res.Rows, ModelVersions: s.fetch.ModelVersions,
		Reference: s.ref.Path, Targets: s.join.Source, TimingsMS: s.timings, StartedAt: s.started, Cleanup: true,
	}
	s.ledgerFields(&in)
	if err := insertResults.startWith(dctx, opts, in).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("could not record the failure", "error", err)
	}
}
