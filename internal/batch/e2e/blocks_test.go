package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/workflows"
)

// Saved histories of the blocked path, replayed by workflows' replay test
// (rewritten with -update).
const (
	blocksHistoryFile = "batch_monitoring_blocks_history.json"
	blockHistoryFile  = "profile_block_history.json"
)

// History bounds of the blocked path (workflows/blocks.go): a child costs its
// parent at most 9 events, a partition costs the workflow that runs it at most 6.
// A child's GetVersion("partition-queue") adds 2: its marker and the upsert of
// the TemporalChangeVersion search attribute.
const (
	eventsPerBlock     = 9
	eventsPerPartition = 6
	versionEvents      = 2
)

// TestPartitionBlocksMatchInParent runs one window (6,300 logged rows, 7
// partitions of partition_rows 1000) twice on embedded Temporal + FerretDB: with
// the partitions in the workflow itself (the default block, 1,000), then in
// child workflows (partition_block 3: blocks of 3, 3 and 1 partitions, fan-out 2:
// two children at once, one partition each). The two reports are identical, the
// children have the deterministic ids <workflow id>/block-<i>, and the histories
// stay within the stated bounds: the parent at most 9 events a block beyond its
// own steps, each child at most 6 events a partition.
func TestPartitionBlocksMatchInParent(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w := e.startWorker(t, workflows.TaskQueue, 500)
	defer w.Stop(ctx)
	win := batch.Window{Start: day2.Start, End: day2.End.Add(12 * time.Hour)}
	in := workflows.Input{Dataset: "taxi", WindowStart: win.Start.Format(time.RFC3339), WindowEnd: win.End.Format(time.RFC3339),
		PartitionRows: 1000, PartitionFanOut: 2}
	id := batch.WorkflowID("taxi", win)
	reportID := batch.ReportID("taxi", win)
	run := func(in workflows.Input) (workflows.Result, []byte, *historypb.History, error) {
		r, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: workflows.TaskQueue,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, workflows.WorkflowType, in)
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.Result
		if err := r.Get(ctx, &res); err != nil {
			return res, nil, nil, err
		}
		b, err := e.onlyReport(t, ctx, reportID).ReportJSON()
		if err != nil {
			t.Fatal(err)
		}
		return res, b, e.history(t, ctx, id, r.GetRunID()), nil
	}

	t.Run("BadPartitionBlock", func(t *testing.T) {
		bad := in
		bad.PartitionBlock = -1
		_, _, _, err := run(bad)
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != batchapi.ErrBadInput {
			t.Fatalf("partition_block -1: err = %v, want a %s error", err, batchapi.ErrBadInput)
		}
	})

	pres, prep, phist, err := run(in)
	if err != nil {
		t.Fatal(err)
	}
	blocked := in
	blocked.PartitionBlock = 3
	bres, brep, bhist, err := run(blocked)
	if err != nil {
		t.Fatal(err)
	}
	e.checkStagingEmpty(t, ctx)
	t.Logf("in the parent: %d partitions, %d events, timings %v", pres.Partitions, len(phist.Events), pres.TimingsMS)
	t.Logf("in blocks: %d partitions in %d blocks, %d events, by worker %v, timings %v", bres.Partitions, bres.PartitionBlocks, len(bhist.Events), bres.PartitionsByWorker, bres.TimingsMS)
	if pres.Partitions != 7 || pres.PartitionBlocks != 0 || bres.Partitions != 7 || bres.PartitionBlocks != 3 {
		t.Fatalf("partitions %d in %d blocks, then %d in %d blocks; want 7 in 0, 7 in 3", pres.Partitions, pres.PartitionBlocks, bres.Partitions, bres.PartitionBlocks)
	}
	if bres.Rows != pres.Rows || bres.Rows.Current != 3000 || bres.ProfileBytes != pres.ProfileBytes || bres.PartitionsByWorker[""] != 0 {
		t.Fatalf("rows %+v (%d profile bytes) in blocks, %+v (%d) in the parent", bres.Rows, bres.ProfileBytes, pres.Rows, pres.ProfileBytes)
	}
	// The same profiles merged: equal, floating-point sums to rounding (the merge
	// adds the profiles in the order it reads them, which follows the order the
	// partitions finished).
	if dev, diff := compareJSON(t, prep, brep, 1e-12); diff != "" {
		t.Fatalf("the reports differ: %s", diff)
	} else {
		t.Logf("reports equal; largest relative deviation of a number %.3g", dev)
	}

	// The parent: its own steps plus at most 9 events a block; no partition.
	children, partsInParent := 0, 0
	for _, ev := range bhist.Events {
		if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			if want := workflows.BlockWorkflowID(id, children); a.WorkflowId != want || a.WorkflowType.GetName() != workflows.BlockWorkflowType ||
				a.ParentClosePolicy != enumspb.PARENT_CLOSE_POLICY_TERMINATE {
				t.Errorf("child %d: id %s type %s policy %s; want %s", children, a.WorkflowId, a.WorkflowType.GetName(), a.ParentClosePolicy, want)
			}
			children++
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.ActivityType.GetName() == batchapi.ProfilePartition {
			partsInParent++
		}
	}
	// The in-parent run's events less 3 a partition (scheduled, started,
	// completed: the least a partition costs) bound the events of the steps both
	// runs share; the blocked run adds its children and one version marker.
	own := len(phist.Events) - 3*7
	if children != 3 || partsInParent != 0 || len(bhist.Events) > own+eventsPerBlock*3+1 {
		t.Errorf("parent: %d children, %d partitions, %d events (in-parent run: %d)", children, partsInParent, len(bhist.Events), len(phist.Events))
	}
	checkPayloads(t, bhist)
	for b, want := range []int{3, 3, 1} {
		h := e.history(t, ctx, workflows.BlockWorkflowID(id, b), "")
		parts := 0
		for _, ev := range h.Events {
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.ActivityType.GetName() == batchapi.ProfilePartition {
				parts++
			}
		}
		t.Logf("block %d: %d partitions, %d events", b, parts, len(h.Events))
		if bound := 5 + versionEvents + eventsPerPartition*want; parts != want || len(h.Events) > bound {
			t.Errorf("block %d: %d partitions (want %d), %d events (want <= %d)", b, parts, want, len(h.Events), bound)
		}
		checkPayloads(t, h)
		if *update && b == 0 {
			writeHistory(t, blockHistoryFile, h)
		}
	}
	if *update {
		writeHistory(t, blocksHistoryFile, bhist)
	}

	// A re-run of the window starts the same child ids again (their earlier runs
	// closed) and replaces the report with an equal one.
	rres, rrep, _, err := run(blocked)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if _, diff := compareJSON(t, brep, rrep, 1e-12); diff != "" || rres.Rows != bres.Rows || rres.PartitionBlocks != 3 {
		t.Fatalf("re-run: %+v, report %s", rres, diff)
	}
	e.checkStagingEmpty(t, ctx)
}

// compareJSON compares two JSON documents: numbers within tol relative, the rest
// exactly. It returns the largest relative deviation of a number and the first
// difference beyond that ("" if none).
func compareJSON(t *testing.T, a, b []byte, tol float64) (float64, string) {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	largest := 0.0
	var walk func(path string, x, y any) string
	walk = func(path string, x, y any) string {
		switch xv := x.(type) {
		case map[string]any:
			yv, ok := y.(map[string]any)
			if !ok || len(xv) != len(yv) {
				return fmt.Sprintf("%s: %v vs %v", path, x, y)
			}
			for k := range xv {
				if d := walk(path+"/"+k, xv[k], yv[k]); d != "" {
					return d
				}
			}
		case []any:
			yv, ok := y.([]any)
			if !ok || len(xv) != len(yv) {
				return fmt.Sprintf("%s: %v vs %v", path, x, y)
			}
			for i := range xv {
				if d := walk(fmt.Sprintf("%s/%d", path, i), xv[i], yv[i]); d != "" {
					return d
				}
			}
		case float64:
			yv, ok := y.(float64)
			if !ok {
				return fmt.Sprintf("%s: %v vs %v", path, x, y)
			}
			if d := math.Abs(xv - yv); d > 0 {
				rel := d / math.Max(math.Abs(xv), math.Abs(yv))
				largest = max(largest, rel)
				if rel > tol {
					return fmt.Sprintf("%s: %.17g vs %.17g", path, xv, yv)
				}
			}
		default:
			if x != y {
				return fmt.Sprintf("%s: %v vs %v", path, x, y)
			}
		}
		return ""
	}
	return largest, walk("", x, y)
}

// writeHistory saves h as testdata/batch/name for workflows' replay test.
func writeHistory(t *testing.T, name string, h *historypb.History) {
	t.Helper()
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(batchtest.RepoRoot(), "testdata", "batch", name)
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d events)", out, len(h.Events))
}
