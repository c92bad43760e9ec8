package report

// Report is the JSON contract of a monitoring report: `starter report --json` writes it,
// the batch workflow stores it in prediction_service.report and renders it as HTML.
type Report struct {
	ReferenceRows int                     `json:"reference_rows"`
	CurrentRows   int                     `json:"current_rows"`
	DataDrift     DataDrift               `json:"data_drift"`
	Regression    RegressionPair          `json:"regression"`
	DataQuality   QualityPair             `json:"data_quality"`
	Distributions map[string]Distribution `json:"distributions,omitempty"` // per column, for charts
}

// DataDrift is the dataset-level drift verdict and the per-column tests.
type DataDrift struct {
	DatasetDrift bool                   `json:"dataset_drift"`
	ShareDrifted float64                `json:"share_drifted_columns"`
	Drifted      int                    `json:"drifted_columns"`
	DriftShare   float64                `json:"drift_share"`
	Columns      map[string]ColumnDrift `json:"columns"`
}

// ColumnDrift is one column's drift test.
type ColumnDrift struct {
	Type      string   `json:"type"` // "numerical" or "categorical"
	StatTest  string   `json:"stattest"`
	Statistic float64  `json:"statistic"`
	PValue    *float64 `json:"p_value"` // null where the test has none
	Threshold float64  `json:"threshold"`
	Drifted   bool     `json:"drifted"`
}

// RegressionPair holds regression performance on reference and current data; a side
// is null when it has no targets.
type RegressionPair struct {
	Reference *Regression `json:"reference"`
	Current   *Regression `json:"current"`
}

// Regression is regression performance with error = prediction - target.
type Regression struct {
	N              int                    `json:"n"`
	ME             float64                `json:"me"`
	MAE            float64                `json:"mae"`
	MAPE           float64                `json:"mape"`
	RMSE           float64                `json:"rmse"`
	R2             float64                `json:"r2"`
	ErrorStd       float64                `json:"error_std"`
	MaxAbsError    float64                `json:"max_abs_error"`
	MAPESkipped    int                    `json:"mape_skipped_zero_targets"`
	ErrorQuantiles map[string]float64     `json:"error_quantiles"`
	Under          Group                  `json:"underestimation"`
	Majority       Group                  `json:"majority"`
	Over           Group                  `json:"overestimation"`
	ErrorBias      map[string]FeatureBias `json:"error_bias,omitempty"`
}

// Group is one error group (under-estimation, majority, over-estimation).
type Group struct {
	Count     int     `json:"count"`
	MeanError float64 `json:"mean_error"`
}

// FeatureBias compares a feature across the error groups.
type FeatureBias struct {
	Type     string  `json:"type"`
	Majority any     `json:"majority"`
	Under    any     `json:"underestimation"`
	Over     any     `json:"overestimation"`
	RangePct float64 `json:"range_pct,omitempty"`
}

// QualityPair holds per-column data quality of both datasets.
type QualityPair struct {
	Reference map[string]ColumnQuality `json:"reference"`
	Current   map[string]ColumnQuality `json:"current"`
}

// ColumnQuality is one column's data-quality summary; numerical fields are null for
// categorical columns and vice versa.
type ColumnQuality struct {
	Type            string   `json:"type"`
	Count           int      `json:"count"`
	Missing         int      `json:"missing"`
	MissingShare    float64  `json:"missing_share"`
	Min             *float64 `json:"min,omitempty"`
	Max             *float64 `json:"max,omitempty"`
	Mean            *float64 `json:"mean,omitempty"`
	Std             *float64 `json:"std,omitempty"`
	P25             *float64 `json:"p25,omitempty"`
	P50             *float64 `json:"p50,omitempty"`
	P75             *float64 `json:"p75,omitempty"`
	Unique          int      `json:"unique"`
	MostCommon      string   `json:"most_common"`
	MostCommonShare float64  `json:"most_common_share"`
	NewValues       int      `json:"new_values"`             // in current, not in reference
	NewExamples     []string `json:"new_examples,omitempty"` // at most 20
	UnusedValues    int      `json:"unused_values"`          // in reference, not in current
	OutOfRangeShare *float64 `json:"out_of_range_share,omitempty"`
}

// Distribution is what the HTML report draws for a column: shares per bin (numerical,
// Edges has len(bins)+1) or per category (the most frequent ones, then "other").
type Distribution struct {
	Type       string    `json:"type"`
	Edges      []float64 `json:"edges,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	Reference  []float64 `json:"reference"`
	Current    []float64 `json:"current"`
}
