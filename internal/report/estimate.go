package report

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/modelmon/modelmon/internal/estimate"
)

// Columns the performance estimator reads from a Dataset (the taxi model's inputs).
const (
	EstimatePUColumn       = "PULocationID"
	EstimateDOColumn       = "DOLocationID"
	EstimateDistanceColumn = "trip_distance"
)

// PerformanceEstimate is the estimated performance of the model over a window
// (estimate.Result: rows, rmse, mae, me, band, sigma, unknown-zone counts) with the
// band of the reference's realized metrics at the same number of rows: an estimate
// outside ReferenceBand says the model's performance has changed. Values are in the
// target's unit.
type PerformanceEstimate struct {
	estimate.Result
	ReferenceBand estimate.Bands `json:"reference_band"`
	// SkippedRows of the window have no trip_distance or no prediction and are not
	// estimated.
	SkippedRows      int    `json:"skipped_rows"`
	EstimatorVersion string `json:"estimator_version"`
	ModelVersion     string `json:"model_version"`
}

// EstimateRecords returns the estimator's records of a dataset's rows: the rows with
// a trip_distance and a prediction; a missing or non-numeric zone id is passed as 0
// (an unknown zone, counted by the estimator). skipped counts the other rows.
func EstimateRecords(d *Dataset) (recs []estimate.Record, skipped int, err error) {
	recs, _, skipped, err = EstimateRecordRows(d)
	return recs, skipped, err
}

// EstimateRecordRows is EstimateRecords with, for each record, the index of its row
// in d.
func EstimateRecordRows(d *Dataset) (recs []estimate.Record, rows []int, skipped int, err error) {
	pu, do := d.Categorical[EstimatePUColumn], d.Categorical[EstimateDOColumn]
	dist := d.Numerical[EstimateDistanceColumn]
	if pu == nil || do == nil || dist == nil {
		return nil, nil, 0, fmt.Errorf("estimate: the data needs the columns %s, %s and %s", EstimatePUColumn, EstimateDOColumn, EstimateDistanceColumn)
	}
	if d.Prediction == nil {
		return nil, nil, d.Rows, nil
	}
	recs, rows = make([]estimate.Record, 0, d.Rows), make([]int, 0, d.Rows)
	for i := 0; i < d.Rows; i++ {
		x, p := dist.Values[i], d.Prediction[i]
		if (dist.Valid != nil && !dist.Valid[i]) || !finite(x) || !finite(p) {
			skipped++
			continue
		}
		recs = append(recs, estimate.Record{
			PULocationID: zoneID(pu, i), DOLocationID: zoneID(do, i), TripDistance: x, Prediction: p,
		})
		rows = append(rows, i)
	}
	return recs, rows, skipped, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func zoneID(c *CatColumn, i int) int64 {
	if c.Valid != nil && !c.Valid[i] {
		return 0
	}
	s := c.Values[i]
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		return id
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return 0
}

// EstimatePerformance estimates the model's performance over the dataset's rows
// (EstimateRecords). A dataset without an estimable row is estimate.ErrEmptyWindow.
func EstimatePerformance(est *estimate.Estimator, d *Dataset) (*PerformanceEstimate, error) {
	if est == nil {
		return nil, errors.New("estimate: no estimator")
	}
	recs, skipped, err := EstimateRecords(d)
	if err != nil {
		return nil, err
	}
	res, err := est.Estimate(recs)
	if err != nil {
		return nil, err
	}
	return &PerformanceEstimate{
		Result: res, ReferenceBand: est.ReferenceBand(res.Rows), SkippedRows: skipped,
		EstimatorVersion: est.Version, ModelVersion: est.ModelVersion,
	}, nil
}
