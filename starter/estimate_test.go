package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

type miniTrip struct {
	Pickup  *time.Time `parquet:"lpep_pickup_datetime,timestamp(microsecond),optional"`
	Dropoff *time.Time `parquet:"lpep_dropoff_datetime,timestamp(microsecond),optional"`
	PU      *int64     `parquet:"PULocationID,optional"`
	DO      *int64     `parquet:"DOLocationID,optional"`
	Dist    *float64   `parquet:"trip_distance,optional"`
}

// miniMonth writes rows [from, from+n) of a real month as a small TLC file; with
// noTargets the dropoff times are left out.
func miniMonth(t *testing.T, month string, from, n int, noTargets bool) string {
	t.Helper()
	trips, err := taxi.ReadFile(context.Background(), filepath.Join("..", "data", "green_tripdata_"+month+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []miniTrip
	for _, tr := range trips[from : from+n] {
		r := miniTrip{PU: tr.PULocationID, DO: tr.DOLocationID, Dist: tr.TripDistance}
		if tr.Pickup != nil {
			p := tr.Pickup.Time
			r.Pickup = &p
		}
		if tr.Dropoff != nil && !noTargets {
			d := tr.Dropoff.Time
			r.Dropoff = &d
		}
		rows = append(rows, r)
	}
	path := filepath.Join(t.TempDir(), month+".parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	return path
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTrainEstimatorAndEstimate(t *testing.T) {
	ctx := context.Background()
	modelPath := filepath.Join("..", "models", "duration_model.json")
	ref := miniMonth(t, "2021-02", 0, 4000, false)
	cur := miniMonth(t, "2022-03", 1000, 3000, false)
	dir := t.TempDir()
	est := filepath.Join(dir, "est.json")
	if err := runTrainEstimator(ctx, testCLI(), []string{"--model-path", modelPath, "--reference", ref, "--out", est}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.json")
	if err := runEstimate(ctx, testCLI(), []string{"--model-path", modelPath, "--estimator", est, "--reference", ref, "--current", cur, "--json", out}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if k := keys(got); !reflect.DeepEqual(k, []string{"estimated", "realized", "rows"}) {
		t.Fatalf("top-level keys %v", k)
	}
	estd := got["estimated"].(map[string]any)
	if k := keys(estd); !reflect.DeepEqual(k, []string{"band", "mae", "me", "rmse"}) {
		t.Errorf("estimated keys %v", k)
	}
	band := estd["band"].(map[string]any)
	for _, metric := range []string{"rmse", "mae", "me"} {
		iv := band[metric].(map[string]any)
		v := estd[metric].(float64)
		if k := keys(iv); !reflect.DeepEqual(k, []string{"lower", "upper"}) || !(iv["lower"].(float64) < v && v < iv["upper"].(float64)) {
			t.Errorf("band %s: %v around %v", metric, iv, v)
		}
	}
	// realized: computed here independently over the rows of the training filter
	m, err := model.Load(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	trips, err := taxi.ReadFile(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ss, sa, se float64
	for i := range trips {
		tr := &trips[i]
		d, ok := tr.DurationMinutes()
		if !ok || d < 1 || d > 60 {
			continue
		}
		e := m.Predict(taxi.PUDO(*tr.PULocationID, *tr.DOLocationID), []float64{*tr.TripDistance}) - d
		n++
		ss += e * e
		sa += math.Abs(e)
		se += e
	}
	real := got["realized"].(map[string]any)
	if got["rows"].(float64) != float64(n) {
		t.Errorf("rows %v, want %d", got["rows"], n)
	}
	for metric, want := range map[string]float64{"rmse": math.Sqrt(ss / float64(n)), "mae": sa / float64(n), "me": se / float64(n)} {
		if math.Abs(real[metric].(float64)-want) > 1e-9 {
			t.Errorf("realized %s = %v, want %v", metric, real[metric], want)
		}
	}

	// Without durations: every row with inputs, no "realized".
	noT := miniMonth(t, "2022-03", 1000, 3000, true)
	if err := runEstimate(ctx, testCLI(), []string{"--model-path", modelPath, "--estimator", est, "--reference", ref, "--current", noT, "--json", out}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(out)
	got = nil
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if k := keys(got); !reflect.DeepEqual(k, []string{"estimated", "rows"}) || got["rows"].(float64) != 3000 {
		t.Errorf("without durations: keys %v rows %v", k, got["rows"])
	}

	// A reference without targets cannot train.
	if err := runTrainEstimator(ctx, testCLI(), []string{"--model-path", modelPath, "--reference", noT, "--out", filepath.Join(dir, "x.json")}); !errors.Is(err, estimate.ErrNoTargets) {
		t.Errorf("reference without targets: %v", err)
	}
	// An estimator for another model version is refused.
	m.Intercept++
	m.Version = ""
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other_model.json")
	if err := m.Save(other); err != nil {
		t.Fatal(err)
	}
	err = runEstimate(ctx, testCLI(), []string{"--model-path", other, "--estimator", est, "--reference", ref, "--current", cur})
	if !errors.Is(err, estimate.ErrModelMismatch) || !strings.Contains(err.Error(), "train-estimator") {
		t.Errorf("estimator of another model: %v", err)
	}
}

// testCLI is a cli with an empty environment and discarded output.
func testCLI() *cli {
	return &cli{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}
}
