package workflows

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/modelmon/modelmon/activities"
)

// Register registers the BatchMonitoring workflow (as WorkflowType) and the
// activities of a on r.
func Register(r worker.Registry, a *activities.Activities) {
	r.RegisterWorkflowWithOptions(BatchMonitoring, workflowRegisterOptions())
	r.RegisterActivity(a)
}

// NewWorker creates (does not start) a worker of the batch on taskQueue (empty:
// TaskQueue) with the workflow and a's activities registered.
func NewWorker(c client.Client, taskQueue string, a *activities.Activities, opts worker.Options) worker.Worker {
	if taskQueue == "" {
		taskQueue = TaskQueue
	}
	w := worker.New(c, taskQueue, opts)
	Register(w, a)
	return w
}

func workflowRegisterOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: WorkflowType}
}
