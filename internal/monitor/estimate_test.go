package monitor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
)

const estimatorFile = "../../models/duration_estimator.json"

// estimateConfig is a dataset with the estimator's columns, a small CSV reference
// and the shipped estimator artifact.
func estimateConfig(t *testing.T, columns, windowSize string) *Config {
	t.Helper()
	dir := t.TempDir()
	ref := "PULocationID,DOLocationID,trip_distance,prediction,duration\n74,75,1.2,7,8\n41,42,2.5,12,11\n7,129,0.8,5,6\n74,41,3.1,14,15\n42,74,1.9,9,8\n75,75,0.7,5,4\n166,41,2.2,11,13\n41,74,4.0,17,19\n"
	abs, err := filepath.Abs(estimatorFile)
	if err != nil {
		t.Fatal(err)
	}
	yaml := "datasets:\n  rides:\n    column_mapping:\n" + columns +
		"      target: duration\n    reference_file: ref.csv\n    estimator: " + abs + "\n" +
		"service:\n  window_size: " + windowSize + "\n  calculation_period_sec: 1\n"
	for name, body := range map[string]string{"ref.csv": ref, "config.yaml": yaml} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := LoadConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const taxiColumns = "      categorical_features: [PULocationID, DOLocationID]\n      numerical_features: [trip_distance]\n"

func servedModel(t *testing.T) *model.Model {
	t.Helper()
	m, err := model.Load("../../models/duration_model.json")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// An estimator trained for another model version is a configuration error naming
// the key and its line; so is a dataset without the estimator's columns.
func TestEstimatorConfigErrors(t *testing.T) {
	cfg := estimateConfig(t, taxiColumns, "10")
	other := *servedModel(t)
	other.Version = "sha256:0000000000000000"
	_, err := New(context.Background(), cfg, prometheus.NewRegistry(), quietLogger(), WithModel(&other))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "datasets.rides.estimator" || ce.Line != 8 || !errors.Is(err, estimate.ErrModelMismatch) {
		t.Fatalf("New with another model version: %v, want a ConfigError at datasets.rides.estimator line 8 wrapping ErrModelMismatch", err)
	}

	dir := t.TempDir()
	yaml := "datasets:\n  rides:\n    column_mapping:\n      numerical_features: [distance]\n    reference_file: ref.csv\n    estimator: nowhere.json\nservice:\n  window_size: 4\n  calculation_period_sec: 1\n"
	os.WriteFile(filepath.Join(dir, "ref.csv"), []byte("distance,prediction\n1,2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(yaml), 0o644)
	_, err = LoadConfig(filepath.Join(dir, "config.yaml"))
	for _, want := range []string{"nowhere.json: no such file", `categorical feature "PULocationID"`, `categorical feature "DOLocationID"`, `numerical feature "trip_distance"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config error %v lacks %q", err, want)
		}
	}
	if err != nil && !strings.Contains(err.Error(), "config.yaml:6: datasets.rides.estimator") {
		t.Errorf("config error %v does not name datasets.rides.estimator at line 6", err)
	}
}

// Each computation estimates the window: the report's performance_estimate and the
// gauges equal estimate.Estimate over the window's records with a distance and a
// prediction (a non-numeric zone is zone 0, unknown).
func TestWindowPerformanceEstimate(t *testing.T) {
	mod := servedModel(t)
	est, err := estimate.Load(estimatorFile, mod)
	if err != nil {
		t.Fatal(err)
	}
	cfg := estimateConfig(t, taxiColumns, "6")
	m, reg := newTestMonitor(t, cfg, WithModel(mod))
	rows := []struct {
		pu, do string
		dist   float64
		hasD   bool
		pred   float64
	}{
		{"1", "1", 9, true, 30}, // evicted: the window holds the last 6
		{"74", "75", 1.2, true, 7.5}, {"41", "42", 3.4, true, 14}, {"x", "129", 0.5, true, 4},
		{"7", "7", 0, false, 9}, {"166", "41", 12.5, true, 35}, {"255", "256", 2, true, 10},
	}
	var want []estimate.Record
	for i, r := range rows {
		rw := report.Row{Num: map[string]float64{}, Cat: map[string]string{"PULocationID": r.pu, "DOLocationID": r.do}, Prediction: r.pred}
		if r.hasD {
			rw.Num["trip_distance"] = r.dist
		}
		m.Observe("rides", rw)
		if i > 0 && r.hasD {
			pu := int64(0)
			if r.pu != "x" {
				pu = int64(mustAtoi(t, r.pu))
			}
			want = append(want, estimate.Record{PULocationID: pu, DOLocationID: int64(mustAtoi(t, r.do)), TripDistance: r.dist, Prediction: r.pred})
		}
	}
	if err := m.Compute(context.Background(), "rides"); err != nil {
		t.Fatal(err)
	}
	res, err := est.Estimate(want)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := m.Report("rides")
	pe := rep.PerformanceEstimate
	if pe == nil || pe.Result != res || pe.SkippedRows != 1 || pe.ReferenceBand != est.ReferenceBand(5) || pe.UnknownZoneRows < 1 {
		t.Fatalf("performance_estimate %+v, want %+v, 1 skipped row, reference band %+v, an unknown zone", pe, res, est.ReferenceBand(5))
	}
	for name, v := range map[string]float64{
		MetricEstimatedRMSE: res.RMSE, MetricEstimatedMAE: res.MAE, MetricEstimatedME: res.ME, MetricEstimatedRows: 5,
		MetricEstimatedRMSE + "_lower": res.Band.RMSE.Lower, MetricEstimatedME + "_upper": res.Band.ME.Upper,
		MetricReferenceRMSEBand + "_upper": est.ReferenceBand(5).RMSE.Upper,
	} {
		if got := series(t, reg, name); got["dataset=rides"] != v || len(got) != 1 {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
