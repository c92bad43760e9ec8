package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/starter/batchsched"
	"github.com/modelmon/modelmon/workflows"
)

func init() {
	register("schedule", "manage a dataset's batch-monitoring schedule: create|update|describe|list|trigger|pause|unpause|delete", runSchedule)
}

const scheduleUsage = `schedule create   [--dataset taxi] [--every 1h | --cron "0 * * * *"] [--catchup-window 1h] [--reference FILE] [--targets FILE] [RUN SETTINGS] [--paused]
       starter schedule update   [--dataset taxi] [--every D | --cron EXPR] [--catchup-window D] [--run-timeout D] [--reference FILE] [--targets FILE] [RUN SETTINGS]
       starter schedule describe [--dataset taxi] [--json]
       starter schedule list
       starter schedule trigger  [--dataset taxi] [--overlap buffer_one]
       starter schedule pause    [--dataset taxi] [--note TEXT]
       starter schedule unpause  [--dataset taxi] [--note TEXT]
       starter schedule delete   [--dataset taxi]
RUN SETTINGS (passed to every run; update changes only those given):
       [--partition-rows N] [--partition-fan-out N] [--partition-block N] [--allowed-lateness D]`

// scheduleOpts are the flags of the schedule subcommands.
type scheduleOpts struct {
	spec    batchsched.Spec
	overlap string
	asJSON  bool
	set     map[string]bool // flags given on the command line
}

func runSchedule(ctx context.Context, cl *cli, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(cl.stderr, "usage: starter "+scheduleUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("schedule: missing subcommand")
	}
	sub := args[0]
	fs, cfg, envErr := batchFlags(cl, "schedule "+sub, scheduleUsage)
	if envErr != nil {
		return envErr
	}
	o := &scheduleOpts{}
	fs.StringVar(&o.spec.Dataset, "dataset", "taxi", "dataset (model) of the schedule; its id is batch-monitoring-<dataset>")
	fs.DurationVar(&o.spec.Every, "every", batchsched.DefaultEvery, "interval between runs")
	fs.StringVar(&o.spec.Cron, "cron", "", "cron expression instead of --every (e.g. \"0 * * * *\")")
	fs.DurationVar(&o.spec.CatchupWindow, "catchup-window", batchsched.DefaultCatchupWindow, "how late a missed run may still start (e.g. after Temporal was down)")
	fs.DurationVar(&o.spec.RunTimeout, "run-timeout", batchsched.DefaultRunTimeout, "run timeout of a scheduled run (a stuck run must not block the schedule)")
	fs.StringVar(&o.spec.Reference, "reference", "", "reference file of the runs, relative to the worker's DATA_DIR (empty: the dataset's default)")
	fs.StringVar(&o.spec.Targets, "targets", "", "target CSV of the runs (empty: the target collection, the usual choice for schedules)")
	fs.IntVar(&o.spec.PartitionRows, "partition-rows", 0, "rows of a partition: windows above it are profiled in time slices on all workers, smaller ones take the exact single pass; 0: the workflow's default, 250000; -1: always the single pass")
	fs.IntVar(&o.spec.PartitionFanOut, "partition-fan-out", 0, fmt.Sprintf("partitions running at once (0: the workflow's default, %d; at most %d)", workflows.DefaultPartitionFanOut, workflows.MaxPartitionFanOut))
	fs.IntVar(&o.spec.PartitionBlock, "partition-block", 0, fmt.Sprintf("partitions per workflow: more run in child workflows of this many (0: the workflow's default, %d; at most %d)", workflows.DefaultPartitionBlock, workflows.MaxPartitionBlock))
	lateness := fs.Duration("allowed-lateness", 0, fmt.Sprintf("how long after a window's end it is fetched (not given: the workflow's default, %s; at most %s)", workflows.DefaultAllowedLateness, workflows.MaxAllowedLateness))
	fs.BoolVar(&o.spec.Paused, "paused", false, "create: create the schedule paused")
	fs.StringVar(&o.spec.Note, "note", "", "note recorded with create, pause or unpause")
	fs.StringVar(&o.overlap, "overlap", "buffer_one", "trigger: overlap policy of the triggered run: skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all")
	fs.BoolVar(&o.asJSON, "json", false, "describe, list: print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	o.spec.TaskQueue = cfg.TaskQueue
	if o.set["allowed-lateness"] {
		o.spec.AllowedLateness = lateness.String()
	}
	if sub == "create" || sub == "update" {
		// Refuse settings every run would fail on before dialling Temporal.
		if err := o.spec.Input().CheckSettings(); err != nil {
			return err
		}
	}
	if err := batch.ValidateDatasetName(o.spec.Dataset); err != nil {
		return err
	}
	if o.set["every"] && o.set["cron"] {
		return errors.New("give --every or --cron, not both")
	}
	c, err := batchDialTemporal(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	return scheduleCommand(ctx, c, sub, o, cl.stdout)
}

// scheduleCommand runs one schedule subcommand against c.
func scheduleCommand(ctx context.Context, c client.Client, sub string, o *scheduleOpts, out io.Writer) error {
	ds := o.spec.Dataset
	id := batch.ScheduleID(ds)
	h := c.ScheduleClient().GetHandle(ctx, id)
	switch sub {
	case "create":
		if _, err := batchsched.Create(ctx, c, o.spec); err != nil {
			return err
		}
		what := "every " + o.spec.Every.String()
		if o.spec.Cron != "" {
			what = "cron " + o.spec.Cron
		}
		fmt.Fprintf(out, "schedule %s created: %s, overlap skip, catch-up window %s, task queue %s\n", id, what, o.spec.CatchupWindow, o.spec.TaskQueue)
	case "update":
		var ch batchsched.Change
		ch.Every = ifSet(o.set, "every", &o.spec.Every)
		ch.Cron = ifSet(o.set, "cron", &o.spec.Cron)
		ch.CatchupWindow = ifSet(o.set, "catchup-window", &o.spec.CatchupWindow)
		ch.RunTimeout = ifSet(o.set, "run-timeout", &o.spec.RunTimeout)
		ch.Reference = ifSet(o.set, "reference", &o.spec.Reference)
		ch.Targets = ifSet(o.set, "targets", &o.spec.Targets)
		ch.PartitionRows = ifSet(o.set, "partition-rows", &o.spec.PartitionRows)
		ch.PartitionFanOut = ifSet(o.set, "partition-fan-out", &o.spec.PartitionFanOut)
		ch.PartitionBlock = ifSet(o.set, "partition-block", &o.spec.PartitionBlock)
		ch.AllowedLateness = ifSet(o.set, "allowed-lateness", &o.spec.AllowedLateness)
		if err := batchsched.Update(ctx, c, ds, ch); err != nil {
			return err
		}
		fmt.Fprintf(out, "schedule %s updated\n", id)
	case "describe":
		v, err := batchsched.Describe(ctx, c, ds)
		if err != nil {
			return err
		}
		if o.asJSON {
			return printBatchJSON(out, v)
		}
		printScheduleView(out, v)
	case "list":
		l, err := batchsched.List(ctx, c)
		if err != nil {
			return err
		}
		if o.asJSON {
			return printBatchJSON(out, l)
		}
		if len(l) == 0 {
			fmt.Fprintln(out, "no batch-monitoring schedules")
		}
		for _, e := range l {
			next := "-"
			if e.Next != nil {
				next = e.Next.Format(time.RFC3339)
			}
			fmt.Fprintf(out, "%s\tpaused=%t\tnext=%s\trecent_runs=%d\n", e.ID, e.Paused, next, e.Recent)
		}
	case "trigger":
		p, err := batchsched.ParseOverlap(o.overlap)
		if err != nil {
			return err
		}
		if err := batchsched.Trigger(ctx, c, ds, p); err != nil {
			return err
		}
		fmt.Fprintf(out, "schedule %s triggered (overlap %s)\n", id, o.overlap)
	case "pause":
		if err := h.Pause(ctx, client.SchedulePauseOptions{Note: scheduleNoteOr(o.spec.Note, "paused with starter schedule pause")}); err != nil {
			return fmt.Errorf("pause schedule %s: %w", id, err)
		}
		fmt.Fprintf(out, "schedule %s paused\n", id)
	case "unpause":
		if err := h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: scheduleNoteOr(o.spec.Note, "unpaused with starter schedule unpause")}); err != nil {
			return fmt.Errorf("unpause schedule %s: %w", id, err)
		}
		fmt.Fprintf(out, "schedule %s unpaused\n", id)
	case "delete":
		if err := h.Delete(ctx); err != nil {
			return fmt.Errorf("delete schedule %s: %w", id, err)
		}
		fmt.Fprintf(out, "schedule %s deleted\n", id)
	default:
		return fmt.Errorf("schedule: unknown subcommand %q (create, update, describe, list, trigger, pause, unpause, delete)", sub)
	}
	return nil
}

func scheduleNoteOr(note, def string) string {
	if note != "" {
		return note
	}
	return def
}

func printBatchJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printScheduleView(out io.Writer, v *batchsched.View) {
	fmt.Fprintf(out, "id=%s\npaused=%t\n", v.ID, v.Paused)
	if v.Note != "" {
		fmt.Fprintf(out, "note=%s\n", v.Note)
	}
	fmt.Fprintf(out, "intervals=%s calendars=%d\noverlap=%s catchup_window=%s\n", strings.Join(v.Intervals, ","), v.Calendars, v.Overlap, v.CatchupWindow)
	in := v.Input
	fmt.Fprintf(out, "input: dataset=%s reference=%q targets=%q partition_rows=%d partition_fan_out=%d partition_block=%d allowed_lateness=%q\n",
		in.Dataset, in.Reference, in.Targets, in.PartitionRows, in.PartitionFanOut, in.PartitionBlock, in.AllowedLateness)
	fmt.Fprintf(out, "actions=%d skipped_overlap=%d missed_catchup_window=%d\n", v.Actions, v.SkippedOver, v.MissedCatchup)
	for i, t := range v.NextRuns {
		if i == 3 {
			break
		}
		fmt.Fprintf(out, "next=%s\n", t.Format(time.RFC3339))
	}
	for _, r := range v.Recent {
		fmt.Fprintf(out, "recent: scheduled=%s workflow=%s\n", r.ScheduledAt.Format(time.RFC3339), r.WorkflowID)
	}
	for _, r := range v.Running {
		fmt.Fprintf(out, "running=%s\n", r)
	}
}

// ifSet is v when the flag name was given on the command line, else nil
// (an update changes only what was given).
func ifSet[T any](set map[string]bool, name string, v *T) *T {
	if set[name] {
		return v
	}
	return nil
}
