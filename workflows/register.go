package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers the BatchMonitoring workflow, as WorkflowType, on r. The worker
// registers the activities beside it (worker/batchworker).
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(BatchMonitoring, workflowRegisterOptions())
}

func workflowRegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: WorkflowType}
}
