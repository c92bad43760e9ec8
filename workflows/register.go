package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers the BatchMonitoring workflow, as WorkflowType, and its child
// ProfileBlock, as BlockWorkflowType, on r. The worker registers the activities
// beside them (worker/batchworker).
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(BatchMonitoring, workflowRegisterOptions())
	r.RegisterWorkflowWithOptions(ProfileBlock, workflow.RegisterOptions{Name: BlockWorkflowType})
}

func workflowRegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: WorkflowType}
}
