package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
	"github.com/modelmon/modelmon/internal/testutil"
)

// The "done when": with the shipped config.yaml (estimator enabled for
// taxi), POST /iterate/taxi with 10,000 records of 2022-01 (features and the
// model's prediction, no duration) makes GET /monitor/taxi/report carry
// report.performance_estimate for the window (its last window_size = 1,000 records),
// equal to estimate.Estimate over those records, and /metrics export the
// modelmon_estimated_* gauges with the same values.
func TestShippedConfigPerformanceEstimate(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and scores the reference month")
	}
	m, err := model.Load(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	est, err := estimate.Load("../models/duration_estimator.json", m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testutil.SyncBuffer
	done := make(chan int, 1)
	addr := freeAddr(t)
	go func() {
		done <- run(ctx, []string{"--online-addr", addr, "--model-path", modelPath, "--mongodb-address", ferret.URI}, env(nil), &logs)
	}()
	base := "http://" + addr
	waitHealthy(t, base, done)

	trips, err := taxi.ReadFile(ctx, filepath.Join("..", "data", "green_tripdata_2022-01.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	ds := report.TaxiDataset(trips, m)
	rng := rand.New(rand.NewPCG(2026, 12))
	const n = 10000
	recs := make([]map[string]any, n)
	erecs := make([]estimate.Record, n)
	for i := range recs {
		r := rng.IntN(ds.Rows)
		pu, _ := strconv.Atoi(ds.Categorical["PULocationID"].Values[r])
		do, _ := strconv.Atoi(ds.Categorical["DOLocationID"].Values[r])
		x, p := ds.Numerical[taxi.FeatureDistance].Values[r], ds.Prediction[r]
		recs[i] = map[string]any{"PULocationID": pu, "DOLocationID": do, "trip_distance": x, "prediction": p}
		erecs[i] = estimate.Record{PULocationID: int64(pu), DOLocationID: int64(do), TripDistance: x, Prediction: p}
	}
	for lo := 0; lo < n; lo += 2500 { // iterate_max_body_bytes: 1 MiB
		body, _ := json.Marshal(recs[lo : lo+2500])
		res, err := http.Post(base+"/iterate/taxi", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST /iterate/taxi: %d", res.StatusCode)
		}
	}
	const window = 1000 // service.window_size of config.yaml
	want, err := est.Estimate(erecs[n-window:])
	if err != nil {
		t.Fatal(err)
	}
	refBand := est.ReferenceBand(window)

	var got struct {
		ComputedAt string `json:"computed_at"`
		Report     struct {
			CurrentRows int                         `json:"current_rows"`
			Estimate    *report.PerformanceEstimate `json:"performance_estimate"`
		} `json:"report"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(base + "/monitor/taxi/report")
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == http.StatusOK {
			err = json.NewDecoder(res.Body).Decode(&got)
		}
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		// the window is full after the first body: wait for one computed after the last
		if e := got.Report.Estimate; e != nil && e.RMSE == want.RMSE {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no computation of the last window within 60 s (last estimate %+v, want %+v): %s", got.Report.Estimate, want, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	e := got.Report.Estimate
	t.Logf("2022-01 window of %d: estimated RMSE %.3f [%.3f, %.3f], MAE %.3f, ME %.3f; reference band %.3f-%.3f",
		e.Rows, e.RMSE, e.Band.RMSE.Lower, e.Band.RMSE.Upper, e.MAE, e.ME, e.ReferenceBand.RMSE.Lower, e.ReferenceBand.RMSE.Upper)
	if e.Result != want || e.ReferenceBand != refBand || e.SkippedRows != 0 || e.EstimatorVersion != est.Version || e.ModelVersion != m.Version {
		t.Errorf("report.performance_estimate = %+v, want %+v with reference band %+v, estimator %s, model %s", *e, want, refBand, est.Version, m.Version)
	}
	if e.Rows != window || got.Report.CurrentRows != window {
		t.Errorf("rows %d, current_rows %d, want %d", e.Rows, got.Report.CurrentRows, window)
	}

	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, line := range []string{
		`modelmon_estimated_rmse{dataset="taxi"} ` + f(want.RMSE),
		`modelmon_estimated_mae{dataset="taxi"} ` + f(want.MAE),
		`modelmon_estimated_me{dataset="taxi"} ` + f(want.ME),
		`modelmon_estimated_rows{dataset="taxi"} 1000`,
		`modelmon_estimated_rmse_lower{dataset="taxi"} ` + f(want.Band.RMSE.Lower),
		`modelmon_estimated_rmse_upper{dataset="taxi"} ` + f(want.Band.RMSE.Upper),
		`modelmon_reference_rmse_band_lower{dataset="taxi"} ` + f(refBand.RMSE.Lower),
		`modelmon_reference_rmse_band_upper{dataset="taxi"} ` + f(refBand.RMSE.Upper),
	} {
		if !strings.Contains(string(b), "\n"+line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, logs.String())
	}
}
