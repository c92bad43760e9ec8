package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplaySavedHistory replays the histories of real end-to-end runs (3,000 rides)
// against the current workflow code: a change that is not deterministic for running
// workflows fails here. Such a change needs workflow.GetVersion, and a new saved
// history (`go test ./internal/batch/e2e -run 'EndToEnd/ManualRun' -update` rewrites
// batch_monitoring_history.json); the older ones stay to prove that runs started
// before the change still replay.
//
//	batch_monitoring_history_v0.json  before the window ledger (windows over received_at)
//	batch_monitoring_history_v1.json  the window ledger (ClaimWindow, windows over stored_at)
//	batch_monitoring_history.json     default partitioning (PlanPartitions, one partition: the single pass)
func TestReplaySavedHistory(t *testing.T) {
	for _, name := range []string{"batch_monitoring_history_v0.json", "batch_monitoring_history_v1.json", "batch_monitoring_history.json"} {
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(BatchMonitoring, workflowRegisterOptions())
			path := filepath.Join("..", "testdata", "batch", name)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
				t.Fatalf("replay %s: %v", path, err)
			}
		})
	}
}
