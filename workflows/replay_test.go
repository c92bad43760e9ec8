package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplaySavedHistory replays the history of a real end-to-end run (3,000 rides,
// saved by `go test ./internal/batch/e2e -run ManualRun -update`) against the current
// workflow code: a change that is not deterministic for running workflows fails here.
// Such a change needs workflow.GetVersion, and a new saved history.
func TestReplaySavedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(BatchMonitoring, workflowRegisterOptions())
	path := filepath.Join("..", "testdata", "batch", "batch_monitoring_history.json")
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
		t.Fatalf("replay %s: %v", path, err)
	}
}
