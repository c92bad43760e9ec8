package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/workflows"
)

// partitionedFaultInput: the taxi log holds 10 days of faultRowsPerDay rows, so
// partition_rows 2500 plans 4 partitions of a day.
func partitionedFaultInput(w batch.Window) workflows.Input {
	in := taxiInput(w)
	in.PartitionRows, in.PartitionFanOut = 2500, 2
	return in
}

// maxAttempt is the highest attempt any activity of type name started with.
func maxAttempt(h *historypb.History, name string) int {
	scheduled := map[int64]string{}
	best := 0
	for _, ev := range h.Events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.EventId] = a.ActivityType.GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled[a.ScheduledEventId] == name {
			best = max(best, int(a.Attempt))
		}
	}
	return best
}

// TestPartitionedFaults: a worker SIGKILLed in the middle of a partition, and the
// database down while the profiles are merged; each run ends with exactly one
// report of all the window's rows and an empty staging.
func TestPartitionedFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := setupFaults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Run("WorkerKilledInPartition", func(t *testing.T) { e.partitionKilled(t, ctx, faultDay(10)) })
	t.Run("DatabaseDownInMerge", func(t *testing.T) { e.partitionDBDown(t, ctx, faultDay(11)) })
}

func (e *faultEnv) checkPartitionedRun(t *testing.T, ctx context.Context, run client.WorkflowRun, w batch.Window, retried string) {
	t.Helper()
	gctx, gcancel := context.WithTimeout(ctx, 4*time.Minute)
	defer gcancel()
	var res workflows.Result
	if err := run.Get(gctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != batch.StatusCompleted || res.Partitions != 4 || res.Rows.Current != faultRowsPerDay || res.Rows.TargetsMatched != faultRowsPerDay {
		t.Fatalf("result %+v", res)
	}
	wfID := batch.WorkflowID("taxi", w)
	hist := e.history(t, ctx, wfID, run.GetRunID())
	if got := maxAttempt(hist, retried); got < 2 {
		t.Errorf("%s: highest attempt %d, want a retry", retried, got)
	}
	doc := e.onlyReport(t, ctx, batch.ReportID("taxi", w))
	if doc.RunID != run.GetRunID() || doc.Rows.Current != faultRowsPerDay {
		t.Errorf("document of run %s with rows %+v", doc.RunID, doc.Rows)
	}
	e.checkOneHTML(t, "taxi", w)
	e.checkRunStagingEmpty(t, ctx, wfID+"/"+run.GetRunID())
}

// partitionKilled blocks a child worker at the first heartbeat of a partition (its
// first chunk read), SIGKILLs it and lets an in-process worker finish the run.
func (e *faultEnv) partitionKilled(t *testing.T, ctx context.Context, w batch.Window) {
	name := batchapi.ProfilePartition
	queue := "faults-kill-partition"
	marker := filepath.Join(t.TempDir(), "blocked")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"BATCH_E2E_FAULT_WORKER=1", "BATCH_E2E_BLOCK_AT="+name, "BATCH_E2E_BLOCKED_FILE="+marker,
		"TEMPORAL_ADDRESS="+e.ts.GetFrontendHostPort(), "TEMPORAL_NAMESPACE="+e.ts.GetDefaultNamespace(),
		"TASK_QUEUE="+queue, "MONGODB_ADDRESS="+e.mongoURI, "MODEL_PATH="+batchtest.ModelPath(),
		"REPORTS_DIR="+e.reportsDir, "DATA_DIR="+e.dataDir,
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	defer kill()
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: batch.WorkflowID("taxi", w), TaskQueue: queue}, workflows.WorkflowType, partitionedFaultInput(w))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if b, err := os.ReadFile(marker); err == nil && string(b) == name {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child worker never blocked in %s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	kill()
	t.Log("killed the worker in the middle of a partition")
	nw := e.startFaultWorker(t, queue, nil)
	defer nw.Stop(ctx)
	e.checkPartitionedRun(t, ctx, run, w, name)
}

// partitionDBDown stops FerretDB when MergeProfiles starts and restarts it on the
// same directory and port 5 s later: the merge is retried and the run completes.
func (e *faultEnv) partitionDBDown(t *testing.T, ctx context.Context, w batch.Window) {
	name := batchapi.MergeProfiles
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	gate := func(actx context.Context, typ string) {
		if typ != name {
			return
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return
		}
		close(reached)
		select {
		case <-release:
		case <-actx.Done():
		}
	}
	queue := "faults-dbdown-merge"
	wk := e.startFaultWorker(t, queue, gate)
	defer wk.Stop(ctx)
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: batch.WorkflowID("taxi", w), TaskQueue: queue}, workflows.WorkflowType, partitionedFaultInput(w))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(3 * time.Minute):
		close(release)
		t.Fatalf("%s never started", name)
	}
	e.mu.Lock()
	addr := e.ferret.Addr
	e.ferret.Stop()
	e.ferret = nil
	e.mu.Unlock()
	close(release)
	time.Sleep(5 * time.Second)
	var srv *mongotest.Server
	for i := 0; ; i++ {
		srv, err = mongotest.Start(ctx, mongotest.Options{Dir: e.ferretDir, Addr: addr})
		if err == nil || i == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.ferret = srv
	e.mu.Unlock()
	t.Log("FerretDB restarted during the merge")
	e.checkPartitionedRun(t, ctx, run, w, name)
}
