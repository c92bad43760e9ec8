package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplaySavedHistory replays the histories of real end-to-end runs (3,000 rides)
// against the current workflow code: a change that is not deterministic for running
// workflows fails here. Such a change needs workflow.GetVersion, and a new saved
// history (`go test ./internal/batch/e2e -run 'EndToEnd/ManualRun' -update` rewrites
// batch_monitoring_history.json); the older ones stay to prove that runs started
// before the change still replay.
//
//	batch_monitoring_history_v0.json      before the window ledger (windows over received_at)
//	batch_monitoring_history_v1.json      the window ledger (ClaimWindow, windows over stored_at)
//	batch_monitoring_history.json         default partitioning (PlanPartitions, one partition: the single pass)
//	batch_monitoring_blocks_history.json  partitions in child workflows (7 partitions, partition_block 3)
//	profile_block_history.json            the first of those children (ProfileBlock, 3 partitions)
//
// `go test ./internal/batch/e2e -run TestPartitionBlocksMatchInParent -update`
// rewrites the last two. A history is replayed under its own workflow id (the
// children's ids derive from it).
func TestReplaySavedHistory(t *testing.T) {
	for _, name := range []string{"batch_monitoring_history_v0.json", "batch_monitoring_history_v1.json", "batch_monitoring_history.json",
		"batch_monitoring_blocks_history.json", "profile_block_history.json"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "batch", name)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatalf("read %s: %v", path, err)
			}
			var opts worker.ReplayWorkflowHistoryOptions
			if a := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes(); a.GetWorkflowId() != "" {
				opts.OriginalExecution = workflow.Execution{ID: a.GetWorkflowId(), RunID: a.GetOriginalExecutionRunId()}
			}
			r := worker.NewWorkflowReplayer()
			Register(r)
			if err := r.ReplayWorkflowHistoryWithOptions(nil, h, opts); err != nil {
				t.Fatalf("replay %s: %v", path, err)
			}
		})
	}
}
