package workflows

import "go.temporal.io/sdk/workflow"

// PartitionQueueSuffix names the task queue of the ProfilePartition activities:
// a run on task queue Q schedules its partitions on Q + PartitionQueueSuffix.
// Every batch worker polls both; on the partition queue it runs at most
// PARTITION_SLOTS (default 1) partitions at once. A partition holds up to
// partition_rows rows, so the slots bound a worker's memory whatever the run's
// fan-out, and a run's partitions spread over the workers instead of piling on
// the first poller (with one queue, one of two workers took both partitions
// of a 200,000-row run).
const PartitionQueueSuffix = "-partitions"

// PartitionTaskQueue is the partition queue of the runs on taskQueue.
func PartitionTaskQueue(taskQueue string) string { return taskQueue + PartitionQueueSuffix }

// partitionQueue is the task queue ctx's run schedules ProfilePartition on:
// the partition queue of its own task queue, or (histories from before the
// partition queue, version DefaultVersion) its own task queue.
func partitionQueue(ctx workflow.Context) string {
	q := workflow.GetInfo(ctx).TaskQueueName
	if workflow.GetVersion(ctx, "partition-queue", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return q
	}
	return PartitionTaskQueue(q)
}
