package report

// Computation paths of Report.Computation.
const (
	// PathSinglePass: every row of the window in one worker's memory; every
	// statistic exact.
	PathSinglePass = "single-pass"
	// PathPartitioned: the window split into time partitions, each summarised
	// into a mergeable profile (internal/profile), the report computed from the
	// merged profile.
	PathPartitioned = "partitioned"
)

// Computation says how a report was computed and which bounds apply. A report
// without it was computed by the exact single-pass path.
type Computation struct {
	Path string `json:"path"`
	// Partitions is the number of partition profiles merged (partitioned path).
	Partitions int `json:"partitions,omitempty"`
	// MaxPartitionRows is the planned row bound of one partition.
	MaxPartitionRows int `json:"max_partition_rows,omitempty"`
	// EstimatedRows is the estimate the partitions were sized from, and
	// EstimateMethod how it was obtained.
	EstimatedRows  int64  `json:"estimated_rows,omitempty"`
	EstimateMethod string `json:"estimate_method,omitempty"`
	// SketchAlpha is the relative accuracy of the quantile sketches.
	SketchAlpha float64 `json:"sketch_alpha,omitempty"`
	// Bounds states, per statistic family, what is exact and what is bounded.
	Bounds map[string]string `json:"bounds,omitempty"`
}
