package report

import "time"

// Meta describes the run that produced a report: it is shown in the HTML report's
// header and summary and is not part of the JSON contract.
type Meta struct {
	Title        string
	Dataset      string
	WorkflowID   string
	RunID        string
	ModelVersion string
	WindowStart  time.Time
	WindowEnd    time.Time
	GeneratedAt  time.Time
}

// TrendPoint is one earlier run's key metrics, for the HTML report's trend charts.
type TrendPoint struct {
	WindowEnd time.Time
	RMSE      float64
	// EstimatedRMSE is the RMSE estimated without targets (0: none).
	EstimatedRMSE float64
	ShareDrifted  float64
	DatasetDrift  bool
	CurrentRows   int
}
