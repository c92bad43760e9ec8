package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// HeartbeatTimeout of the long activities: a worker that dies in the middle of one
// is noticed after this long and the activity is retried, on any worker, from its
// last heartbeat.
const HeartbeatTimeout = 10 * time.Second

func retry(attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        attempts,
		NonRetryableErrorTypes: batchapi.NonRetryable,
	}
}

// ActivityOptions are the options of each activity, by name: a StartToClose timeout
// bounding one attempt, a HeartbeatTimeout for those with long loops, and an explicit
// retry policy.
//
//	activity          start-to-close  heartbeat  attempts
//	ClaimWindow       1m              -          10
//	FetchPredictions  2h              10s        10
//	JoinTarget        1h              10s        10
//	ScoreReference    30m             10s        10
//	ComputeMetrics    30m             10s        5
//	SaveHTMLReport    5m              -          5
//	InsertResults     5m              -          10
func ActivityOptions(name string) workflow.ActivityOptions {
	switch name {
	case batchapi.ClaimWindow:
		return workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: retry(10)}
	case batchapi.FetchPredictions:
		return workflow.ActivityOptions{StartToCloseTimeout: 2 * time.Hour, HeartbeatTimeout: HeartbeatTimeout, RetryPolicy: retry(10)}
	case batchapi.JoinTarget:
		return workflow.ActivityOptions{StartToCloseTimeout: time.Hour, HeartbeatTimeout: HeartbeatTimeout, RetryPolicy: retry(10)}
	case batchapi.ScoreReference:
		return workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: HeartbeatTimeout, RetryPolicy: retry(10)}
	case batchapi.ComputeMetrics:
		return workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: HeartbeatTimeout, RetryPolicy: retry(5)}
	case batchapi.SaveHTMLReport:
		return workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute, RetryPolicy: retry(5)}
	case batchapi.InsertResults:
		return workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute, RetryPolicy: retry(10)}
	}
	panic("workflows: no options for activity " + name)
}
