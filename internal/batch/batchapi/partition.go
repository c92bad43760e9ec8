package batchapi

import (
	"time"

	"github.com/modelmon/modelmon/internal/batch"
)

// Activities of the partitioned path (see workflows/doc.go). Registered names, part
// of saved histories: never rename one.
const (
	PlanPartitions   = "PlanPartitions"   // PlanInput -> PlanResult
	ProfilePartition = "ProfilePartition" // PartitionInput -> PartitionResult
	MergeProfiles    = "MergeProfiles"    // MergeInput -> ComputeResult
)

// PartitionNames lists the activities of the partitioned path.
var PartitionNames = []string{PlanPartitions, ProfilePartition, MergeProfiles}

// StageProfile is the staging stage of the partition profiles: chunk seq i of a run
// holds partition i's profile document (internal/profile), so a retried partition
// replaces its own profile and a run has at most one profile per partition.
const StageProfile = "profile"

// DefaultPartitionRows is the planned number of rows of one partition.
const DefaultPartitionRows = 250_000

// MaxPartitions bounds the partitions of one run. A plan that would need more
// partitions of the configured size fails with ErrBadInput (raise partition_rows)
// instead of making them larger. History is not the bound: above one block of
// partitions (workflows.DefaultPartitionBlock, 1,000) the workflow runs them in
// child workflows, one per block, so the parent's history grows by about 9 events
// a block (900 at this cap) and each child's by about 6 a partition (see
// workflows/doc.go). What bounds it is the merge, which reads every partition's
// profile (13-21 KB for the taxi: about 2 GB read at this cap).
const MaxPartitions = 100_000

// PlanInput asks for the window of a run and its partitions.
type PlanInput struct {
	Run         string     `json:"run"`
	Dataset     string     `json:"dataset"`
	WindowStart *time.Time `json:"window_start,omitempty"`
	WindowEnd   time.Time  `json:"window_end"`
	// MaxPartitionRows bounds the estimated rows of one partition (>= 1).
	MaxPartitionRows int `json:"max_partition_rows"`
	// ByStoredAt: the window is a claimed ledger window over stored_at (taken as
	// is, not resolved again); false: a received_at window (runs before the ledger).
	ByStoredAt bool `json:"by_stored_at,omitempty"`
	// CountWindow: when the collection's document count exceeds MaxPartitionRows,
	// count the window's documents and size the plan from that (the default
	// partitioning, where most windows are far smaller than the collection).
	CountWindow bool `json:"count_window,omitempty"`
}

// PlanResult is the resolved window and how many equal time slices of it to profile.
type PlanResult struct {
	Window batch.Window `json:"window"`
	// EstimatedRows is the row estimate the plan was sized from, EstimateMethod how
	// it was obtained.
	EstimatedRows  int64  `json:"estimated_rows"`
	EstimateMethod string `json:"estimate_method"`
	// Partitions is the number of slices (1: the exact single-pass path).
	Partitions       int `json:"partitions"`
	MaxPartitionRows int `json:"max_partition_rows"`
}

// PartitionWindows splits w into n equal time slices [start_i, start_{i+1}) that
// cover it exactly (the last one ends at w.End). n < 1 is treated as 1.
func PartitionWindows(w batch.Window, n int) []batch.Window {
	n = max(n, 1)
	out := make([]batch.Window, n)
	for i := range n {
		out[i] = PartitionWindow(w, n, i)
	}
	return out
}

// PartitionWindow is slice i of PartitionWindows(w, n), computed alone (a block
// of partitions needs only its own slices).
func PartitionWindow(w batch.Window, n, i int) batch.Window {
	n = max(n, 1)
	d := w.End.Sub(w.Start)
	s := w.Start.Add(time.Duration(int64(d) / int64(n) * int64(i)))
	e := w.Start.Add(time.Duration(int64(d) / int64(n) * int64(i+1)))
	if i == n-1 {
		e = w.End
	}
	return batch.Window{Start: s, End: e}
}

// PartitionInput is one partition of a run: a time slice of the window.
type PartitionInput struct {
	Run     string       `json:"run"`
	Dataset string       `json:"dataset"`
	Index   int          `json:"index"`
	Window  batch.Window `json:"window"`
	// Targets as JoinInput.Targets.
	Targets string `json:"targets,omitempty"`
	// ByStoredAt selects the slice's rows by stored_at (batch.FindStored), as the
	// ledger window they belong to; false: by received_at.
	ByStoredAt bool `json:"by_stored_at,omitempty"`
}

// PartitionResult is what a partition found; its profile is staged (StageProfile).
type PartitionResult struct {
	Index           int                       `json:"index"`
	Rows            int                       `json:"rows"`
	Skipped         int                       `json:"skipped,omitempty"`
	TargetsMatched  int                       `json:"targets_matched"`
	TargetsInDomain int                       `json:"targets_in_domain"`
	ProfileBytes    int                       `json:"profile_bytes"`
	ModelVersions   []batch.ModelVersionCount `json:"model_versions,omitempty"`
	// Worker is the identity of the worker that ran the partition.
	Worker string `json:"worker,omitempty"`
}

// MergeInput names the staged profiles of a run and its staged reference.
type MergeInput struct {
	Run        string         `json:"run"`
	Dataset    string         `json:"dataset"`
	Partitions int            `json:"partitions"`
	Reference  batch.StageRef `json:"reference"`
	Plan       PlanResult     `json:"plan"`
}
