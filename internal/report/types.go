package report

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/modelmon/modelmon/internal/metrics"
)

// Report is the JSON contract of a monitoring report: `starter report --json` writes it,
// the batch workflow stores it in prediction_service.report and renders it as HTML.
type Report struct {
	ReferenceRows int                     `json:"reference_rows"`
	CurrentRows   int                     `json:"current_rows"`
	DataDrift     DataDrift               `json:"data_drift"`
	Regression    RegressionPair          `json:"regression"`
	DataQuality   QualityPair             `json:"data_quality"`
	Distributions map[string]Distribution `json:"distributions,omitempty"` // per column, for charts
	// Segments holds regression metrics and drift per segment (ComputeSegments),
	// by segmentation and segment value; absent when no segments are configured.
	Segments map[string]Segmentation `json:"segments,omitempty"`
	// PerformanceEstimate is the model's performance estimated without targets
	// (EstimatePerformance); absent when no estimator is configured.
	PerformanceEstimate *PerformanceEstimate `json:"performance_estimate,omitempty"`
	// Computation says how the report was computed (absent: the exact single-pass
	// path); see Computation.
	Computation *Computation `json:"computation,omitempty"`
}

// DataDrift is the dataset-level drift verdict and the per-column tests.
type DataDrift struct {
	DatasetDrift bool                   `json:"dataset_drift"`
	ShareDrifted float64                `json:"share_drifted_columns"`
	Drifted      int                    `json:"drifted_columns"`
	DriftShare   float64                `json:"drift_share"`
	Columns      map[string]ColumnDrift `json:"columns"`
	// Skipped names columns left out of the drift tests, with the reason.
	Skipped map[string]string `json:"skipped,omitempty"`
	// Method is how the verdicts were decided: "calibrated" or "fixed"; Alpha the
	// dataset verdict's false-alarm rate per window (calibrated method).
	Method string  `json:"method,omitempty"`
	Alpha  float64 `json:"alpha,omitempty"`
	// EnoughData is false when the window has fewer rows than MinWindowRows: no
	// column is tested and the dataset never drifts.
	EnoughData    bool `json:"enough_data"`
	MinWindowRows int  `json:"min_window_rows,omitempty"`
}

// ColumnDrift is one column's drift test.
type ColumnDrift struct {
	Type      string   `json:"type"` // "numerical" or "categorical"
	StatTest  string   `json:"stattest"`
	Statistic float64  `json:"statistic"`
	PValue    *float64 `json:"p_value"` // null where the test has none
	Threshold float64  `json:"threshold"`
	Drifted   bool     `json:"drifted"`
	ColumnCalibration
}

// ColumnCalibration is how a verdict was decided (Method and Rule "fixed" with the
// fixed method). Calibrated distance tests: Threshold is the larger of
// CalibratedThreshold (the 1 - Alpha quantile of the statistic under "no drift" at
// this window's size) and EffectThreshold (Evidently's FixedThreshold with the
// sampling noise NullMedian added in quadrature: the minimum effect), Rule names the
// larger one ("calibrated" or "fixed"), PValue is the Monte Carlo p-value. Calibrated
// p-value tests: Threshold = CalibratedThreshold = Alpha. See drift.Calibration.
type ColumnCalibration struct {
	Method              string  `json:"method,omitempty"`
	Rule                string  `json:"rule,omitempty"`
	Alpha               float64 `json:"alpha,omitempty"`
	CalibratedThreshold float64 `json:"calibrated_threshold,omitempty"`
	FixedThreshold      float64 `json:"fixed_threshold,omitempty"`
	NullMedian          float64 `json:"null_median,omitempty"`      // the statistic's median under "no drift"
	EffectThreshold     float64 `json:"effect_threshold,omitempty"` // sqrt(fixed_threshold^2 + null_median^2)
	CalibrationRows     int     `json:"calibration_rows,omitempty"` // simulated window size n*N/(n+N)
	Draws               int     `json:"draws,omitempty"`            // simulated windows
}

// RegressionPair holds regression performance on reference and current data; a side
// is null when it has no targets.
type RegressionPair struct {
	Reference *Regression `json:"reference"`
	Current   *Regression `json:"current"`
}

// Regression performance (error = prediction - target), error groups and bias:
// see internal/metrics.
type (
	Regression  = metrics.Regression
	Group       = metrics.Group
	FeatureBias = metrics.FeatureBias
)

// QualityPair holds per-column data quality of both datasets.
type QualityPair struct {
	Reference map[string]ColumnQuality `json:"reference"`
	Current   map[string]ColumnQuality `json:"current"`
}

// ColumnQuality is one column's data-quality summary: see internal/metrics.
type ColumnQuality = metrics.ColumnQuality

// Distribution is what the HTML report draws for a column: shares per bin (numerical,
// Edges has len(bins)+1) or per category (the most frequent ones, then "other").
type Distribution struct {
	Type       string    `json:"type"`
	Edges      []float64 `json:"edges,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	Reference  []float64 `json:"reference"`
	Current    []float64 `json:"current"`
}

// columnDriftJSON is ColumnDrift on the wire: JSON has no Inf (chi-square against a
// category absent from the reference gives an infinite statistic), so a non-finite
// statistic is written as null and read back as +Inf.
type columnDriftJSON struct {
	Type      string   `json:"type"`
	StatTest  string   `json:"stattest"`
	Statistic *float64 `json:"statistic"`
	PValue    *float64 `json:"p_value"`
	Threshold float64  `json:"threshold"`
	Drifted   bool     `json:"drifted"`
	ColumnCalibration
}

// MarshalJSON writes a non-finite statistic as null.
func (c ColumnDrift) MarshalJSON() ([]byte, error) {
	w := columnDriftJSON{Type: c.Type, StatTest: c.StatTest, PValue: c.PValue, Threshold: c.Threshold, Drifted: c.Drifted, ColumnCalibration: c.ColumnCalibration}
	if !math.IsNaN(c.Statistic) && !math.IsInf(c.Statistic, 0) {
		s := c.Statistic
		w.Statistic = &s
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a null statistic as +Inf.
func (c *ColumnDrift) UnmarshalJSON(b []byte) error {
	var w columnDriftJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode column drift: %w", err)
	}
	*c = ColumnDrift{Type: w.Type, StatTest: w.StatTest, Statistic: math.Inf(1), PValue: w.PValue, Threshold: w.Threshold, Drifted: w.Drifted, ColumnCalibration: w.ColumnCalibration}
	if w.Statistic != nil {
		c.Statistic = *w.Statistic
	}
	return nil
}
