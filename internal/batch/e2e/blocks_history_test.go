package e2e

import (
	"context"
	"flag"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/workflows"
)

var tenThousand = flag.Bool("tenthousand", false, "run TestTenThousandPartitionsHistory (about 4 minutes)")

// TestTenThousandPartitionsHistory measures the histories of a run of 10,000
// partitions on a real (embedded) Temporal server: the workflow code is the real
// one, the activities are stand-ins that return at once (the database plays no
// part in the history's shape). The run takes the blocked path (10 children of
// 1,000 partitions, fan-out 16); the parent's history must stay within 9 events a
// child beyond its own steps and each child's within 6 events a partition and
// under Temporal's 10,240-event warning. It takes about 4 minutes on 2 shared
// cores (the embedded server runs ~40 activities a second), so it runs only with
// -tenthousand:
//
//	go test ./internal/batch/e2e -run TestTenThousandPartitionsHistory -tenthousand -v
//
// Measured (fan-out 16: 4 children at once, 4 partitions each): parent 120
// events, children 4,637-4,736 (4.7 a partition), largest payload 1.1 KB, 379 KB
// of payloads a child.
func TestTenThousandPartitionsHistory(t *testing.T) {
	if testing.Short() || !*tenThousand {
		t.Skip("end-to-end measurement of 10,000 partitions: run with -tenthousand")
	}
	const n, fan = 10_000, 16
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := temporaltest.NewServer(temporaltest.WithT(t)).GetDefaultClient()
	win := batch.Window{Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)}
	queue := "ten-thousand"
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	var mu sync.Mutex
	seen := map[int]int{}
	reg := func(name string, fn any) { w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(batchapi.ClaimWindow, func(_ context.Context, in batchapi.ClaimInput) (*batchapi.ClaimResult, error) {
		return &batchapi.ClaimResult{Window: win, Kind: batch.KindLedger, Seq: 1}, nil
	})
	reg(batchapi.PlanPartitions, func(_ context.Context, in batchapi.PlanInput) (*batchapi.PlanResult, error) {
		return &batchapi.PlanResult{Window: win, Partitions: n, EstimatedRows: 100 * n, MaxPartitionRows: in.MaxPartitionRows}, nil
	})
	reg(batchapi.ScoreReference, func(context.Context, batchapi.ScoreReferenceInput) (*batchapi.ScoreReferenceResult, error) {
		return &batchapi.ScoreReferenceResult{Reference: batch.StageRef{Run: "r", Stage: batch.StageReference, Chunks: 1, Rows: 10}, ModelVersion: "m"}, nil
	})
	reg(batchapi.ProfilePartition, func(_ context.Context, in batchapi.PartitionInput) (*batchapi.PartitionResult, error) {
		mu.Lock()
		seen[in.Index]++
		mu.Unlock()
		return &batchapi.PartitionResult{Index: in.Index, Rows: 100, TargetsMatched: 100, TargetsInDomain: 100, ProfileBytes: 20_000,
			ModelVersions: []batch.ModelVersionCount{{Version: "m", Rows: 100}}, Worker: "w"}, nil
	})
	reg(batchapi.MergeProfiles, func(_ context.Context, in batchapi.MergeInput) (*batchapi.ComputeResult, error) {
		return &batchapi.ComputeResult{Report: batch.StageRef{Run: in.Run, Stage: batch.StageReport, Chunks: 1, Rows: 1}, Summary: batch.Summary{CurrentRows: 100 * in.Partitions}}, nil
	})
	reg(batchapi.SaveHTMLReport, func(context.Context, batchapi.SaveHTMLInput) (*batchapi.SaveHTMLResult, error) {
		return &batchapi.SaveHTMLResult{Path: "/r.html"}, nil
	})
	reg(batchapi.InsertResults, func(context.Context, batchapi.InsertResultsInput) (*batchapi.InsertResultsResult, error) {
		return &batchapi.InsertResultsResult{}, nil
	})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	id := batch.WorkflowID("taxi", win)
	in := workflows.Input{Dataset: "taxi", WindowStart: win.Start.Format(time.RFC3339), WindowEnd: win.End.Format(time.RFC3339),
		PartitionRows: 100, PartitionFanOut: fan}
	t0 := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.WorkflowType, in)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.Result
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(t0)
	if res.Partitions != n || res.PartitionBlocks != 10 || res.Rows.Current != 100*n || res.PartitionsByWorker["w"] != n || res.ProfileBytes != 20_000*n {
		t.Fatalf("result %+v", res)
	}
	for i := range n {
		if seen[i] != 1 {
			t.Fatalf("partition %d ran %d times", i, seen[i])
		}
	}
	e := &env{c: c}
	parent := e.history(t, ctx, id, run.GetRunID())
	checkPayloads(t, parent)
	// The parent's own steps: 6 activities, 2 version markers; then 9 a child.
	if bound := 5 + 6*6 + 2 + eventsPerBlock*10; len(parent.Events) > bound {
		t.Errorf("parent: %d events, want <= %d", len(parent.Events), bound)
	}
	most := 0
	for b := range 10 {
		h := e.history(t, ctx, workflows.BlockWorkflowID(id, b), "")
		most = max(most, len(h.Events))
		if bound := 5 + versionEvents + eventsPerPartition*workflows.DefaultPartitionBlock; len(h.Events) > bound || len(h.Events) > 10_240 {
			t.Errorf("block %d: %d events, want <= %d", b, len(h.Events), bound)
		}
		if b == 0 {
			checkPayloads(t, h)
		}
	}
	t.Logf("10,000 partitions in %s: parent %d events, largest child %d events (%.2f a partition)", wall.Round(time.Millisecond), len(parent.Events), most, float64(most)/workflows.DefaultPartitionBlock)
}
