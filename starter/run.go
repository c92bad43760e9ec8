package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/workflows"
)

func init() {
	register("run", "run batch monitoring of one window on Temporal and wait for the report", runBatch)
}

func runBatch(ctx context.Context, cl *cli, args []string) error {
	fs, cfg, envErr := batchFlags(cl, "run", "run [--dataset taxi] [--window-start T] [--window-end T] [--reference FILE] [--targets target.csv] [--partition-rows N] [--partition-fan-out N] [--partition-block N] [--allowed-lateness D] [--json]")
	if envErr != nil {
		return envErr
	}
	dataset := fs.String("dataset", "taxi", "dataset (model) to monitor")
	startS := fs.String("window-start", "", "window start, RFC 3339 (empty: the next window of the dataset's ledger, from the end of its last window, or window end - 24h)")
	endS := fs.String("window-end", "", "window end, RFC 3339 (empty: now minus --allowed-lateness)")
	reference := fs.String("reference", "", "reference file, relative to the worker's DATA_DIR (empty: the dataset's default, data/green_tripdata_2021-01.parquet for taxi)")
	targets := fs.String("targets", "", "target CSV (id,value lines) on the worker, relative to DATA_DIR (empty: the target collection)")
	asJSON := fs.Bool("json", false, "print the result document (report JSON and run metadata) instead of a summary")
	timeout := fs.Duration("timeout", 2*time.Hour, "how long to wait for the run")
	partitionRows := fs.Int("partition-rows", 0, "rows of a partition: windows above it are profiled in time slices on all workers, smaller ones take the exact single pass; 0: the workflow's default, 250000; -1: always the single pass")
	fanOut := fs.Int("partition-fan-out", 0, fmt.Sprintf("partitions running at once (0: the workflow's default, %d; at most %d)", workflows.DefaultPartitionFanOut, workflows.MaxPartitionFanOut))
	block := fs.Int("partition-block", 0, fmt.Sprintf("partitions per workflow: more run in child workflows of this many (0: the workflow's default, %d; at most %d)", workflows.DefaultPartitionBlock, workflows.MaxPartitionBlock))
	lateness := fs.Duration("allowed-lateness", workflows.DefaultAllowedLateness, fmt.Sprintf("how long after the window's end it is fetched (at most %s)", workflows.MaxAllowedLateness))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := batch.ValidateDatasetName(*dataset); err != nil {
		return err
	}
	in := workflows.Input{
		Dataset: *dataset, Reference: *reference, Targets: *targets,
		PartitionRows: *partitionRows, PartitionFanOut: *fanOut, PartitionBlock: *block,
		AllowedLateness: lateness.String(),
	}
	// Refuse settings the run would fail on before opening anything.
	if err := in.CheckSettings(); err != nil {
		return err
	}
	start, err := batch.ParseTime("--window-start", *startS)
	if err != nil {
		return err
	}
	end, err := batch.ParseTime("--window-end", *endS)
	if err != nil {
		return err
	}
	db, closeDB, err := batchOpenDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	// Preview an open window here, as the workflow will claim it, so that the
	// workflow id is derived from the window: starting the same window again joins
	// the running execution. The workflow claims the window (ClaimWindow): if another
	// run claimed it in between, this one takes the window after it, or nothing.
	if end.IsZero() {
		end = time.Now().UTC().Add(-*lateness).Truncate(time.Second)
	}
	w := batch.Window{Start: start, End: end}
	if start.IsZero() {
		if w, err = batch.NewLedger(db).Next(ctx, *dataset, end); err != nil {
			return fmt.Errorf("window: %w", err)
		}
	}
	if err := w.Validate(); err != nil {
		return fmt.Errorf("window: %w (the ledger of %s already reaches it)", err, *dataset)
	}
	c, err := batchDialTemporal(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()

	in.WindowEnd = w.End.Format(time.RFC3339Nano)
	if !start.IsZero() {
		in.WindowStart = w.Start.Format(time.RFC3339Nano)
	}
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, run, err := startBatchAndWait(wctx, c, cl.stderr, cfg.TaskQueue, batch.WorkflowID(*dataset, w), in)
	if err != nil {
		return err
	}
	if *asJSON {
		return printRunResultJSON(ctx, cl.stdout, db, res)
	}
	printRunSummary(cl.stdout, run, res)
	return nil
}

// errRunFailed marks a run that failed (the details are in the message).
var errRunFailed = errors.New("see the worker's log and the run's history for details")

// startBatchAndWait starts BatchMonitoring by its type name (as the CLIs do) with a
// deterministic id, or joins the running execution of that id, and waits for it.
func startBatchAndWait(ctx context.Context, c client.Client, progress io.Writer, taskQueue, id string, in workflows.Input) (*workflows.Result, client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.WorkflowType, in)
	if err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", id, err)
	}
	fmt.Fprintf(progress, "workflow %s run %s started on task queue %s; waiting...\n", run.GetID(), run.GetRunID(), taskQueue)
	var res workflows.Result
	if err := run.Get(ctx, &res); err != nil {
		// The innermost application error says what went wrong and what to do.
		var ae *temporal.ApplicationError
		if errors.As(err, &ae) {
			return nil, run, fmt.Errorf("workflow %s failed: %s (%s, retryable: %t): %w", run.GetID(), ae.Message(), ae.Type(), !ae.NonRetryable(), errRunFailed)
		}
		return nil, run, fmt.Errorf("workflow %s: %w", run.GetID(), err)
	}
	return &res, run, nil
}

func printRunSummary(w io.Writer, run client.WorkflowRun, r *workflows.Result) {
	fmt.Fprintf(w, "status=%s\n", r.Status)
	fmt.Fprintf(w, "workflow_id=%s\nrun_id=%s\n", run.GetID(), run.GetRunID())
	fmt.Fprintf(w, "dataset=%s\nwindow=%s .. %s\n", r.Dataset, r.WindowStart.Format(time.RFC3339), r.WindowEnd.Format(time.RFC3339))
	if r.WindowKind != "" {
		fmt.Fprintf(w, "window_kind=%s\n", r.WindowKind)
	}
	if r.ReportID != "" {
		fmt.Fprintf(w, "report_id=%s\n", r.ReportID)
	}
	fmt.Fprintf(w, "rows: reference=%d current=%d targets_matched=%d targets_in_domain=%d skipped=%d late=%d\n",
		r.Rows.Reference, r.Rows.Current, r.Rows.TargetsMatched, r.Rows.TargetsInDomain, r.Rows.Skipped, r.Rows.Late)
	if s := r.Summary; s != nil {
		fmt.Fprintf(w, "dataset_drift=%t drifted_columns=%d share=%.3f\n", s.DatasetDrift, s.DriftedColumns, s.ShareDrifted)
		if s.RMSE != nil {
			fmt.Fprintf(w, "rmse=%.4f mae=%.4f (n=%d)\n", *s.RMSE, *s.MAE, s.TargetRows)
		}
	}
	if r.ModelVersion != "" {
		fmt.Fprintf(w, "model_version=%s\n", r.ModelVersion)
	}
	if r.HTMLPath != "" {
		fmt.Fprintf(w, "report=%s\n", r.HTMLPath)
	}
}

// printRunResultJSON prints the result document of the run (or, when the run wrote
// none, the workflow's result).
func printRunResultJSON(ctx context.Context, w io.Writer, db *mongo.Database, r *workflows.Result) error {
	var v any = r
	if r.ReportID != "" {
		doc, found, err := batch.NewResults(db).Get(ctx, r.ReportID)
		if err != nil {
			return err
		}
		if found {
			v = doc
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print result: %w", err)
	}
	return nil
}
