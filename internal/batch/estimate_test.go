package batch

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
)

// AddEstimate puts estimate.Estimate over the window's rows (those with a distance
// and a prediction) into the report; the summary and the trend point carry its RMSE.
func TestAddEstimateSummaryAndTrend(t *testing.T) {
	m, err := model.Load("../../models/duration_model.json")
	if err != nil {
		t.Fatal(err)
	}
	est, err := estimate.Load("../../models/duration_estimator.json", m)
	if err != nil {
		t.Fatal(err)
	}
	cur := report.NewDataset(report.TaxiConfig())
	rows := []estimate.Record{
		{PULocationID: 74, DOLocationID: 75, TripDistance: 1.2, Prediction: 7.5},
		{PULocationID: 41, DOLocationID: 42, TripDistance: 3.4, Prediction: 14},
		{PULocationID: 166, DOLocationID: 41, TripDistance: 12.5, Prediction: 35},
	}
	for _, r := range rows {
		cur.Append(report.Row{Num: map[string]float64{"trip_distance": r.TripDistance},
			Cat: map[string]string{"PULocationID": itoa(r.PULocationID), "DOLocationID": itoa(r.DOLocationID)}, Prediction: r.Prediction})
	}
	cur.Append(report.Row{Cat: map[string]string{"PULocationID": "7", "DOLocationID": "7"}, Prediction: 9}) // no distance
	var r report.Report
	if err := AddEstimate(&r, nil, cur); err != nil || r.PerformanceEstimate != nil {
		t.Fatalf("no estimator: %v %+v", err, r.PerformanceEstimate)
	}
	if err := AddEstimate(&r, est, cur); err != nil {
		t.Fatal(err)
	}
	want, _ := est.Estimate(rows)
	if pe := r.PerformanceEstimate; pe == nil || pe.Result != want || pe.SkippedRows != 1 {
		t.Fatalf("estimate %+v, want %+v and 1 skipped row", pe, want)
	}
	s := SummaryOf(&r)
	if s.EstimatedRMSE == nil || *s.EstimatedRMSE != want.RMSE || s.RMSE != nil {
		t.Errorf("summary %+v", s)
	}
	if p := TrendPointOf(time.Unix(0, 0), s); p.EstimatedRMSE != want.RMSE || p.RMSE != 0 {
		t.Errorf("trend point %+v", p)
	}

	// A window without estimable rows leaves the report without an estimate; a
	// dataset without the estimator's columns is an error.
	r.PerformanceEstimate = nil
	empty := report.NewDataset(report.TaxiConfig())
	if err := AddEstimate(&r, est, empty); err != nil || r.PerformanceEstimate != nil {
		t.Errorf("empty window: %v %+v", err, r.PerformanceEstimate)
	}
	other := report.NewDataset(report.Config{NumericalFeatures: []string{"x"}})
	if err := AddEstimate(&r, est, other); err == nil || !strings.Contains(err.Error(), "PULocationID") || errors.Is(err, estimate.ErrEmptyWindow) {
		t.Errorf("dataset without the columns: %v", err)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
