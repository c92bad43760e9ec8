package monitor

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// smallConfig writes a CSV reference and a config around it; extra is appended to
// the dataset block, service to the service block.
func smallConfig(t testing.TB, refCSV, dataset, service string) *Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ref.csv"), []byte(refCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := "datasets:\n  rides:\n    column_mapping:\n      categorical_features: [zone]\n      numerical_features: [distance]\n" +
		"      target: duration\n    reference_file: ref.csv\n" + dataset +
		"service:\n" + service
	if !strings.Contains(service, "window_size") {
		yaml += "  window_size: 4\n"
	}
	if !strings.Contains(service, "calculation_period_sec") {
		yaml += "  calculation_period_sec: 1\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const refCSV = "zone,distance,prediction,duration\n" +
	"a,1.0,10,11\nb,2.0,12,12\na,1.5,11,10\nc,3.0,15,16\nb,2.5,13,14\na,1.2,10,9\n"

func newTestMonitor(t *testing.T, cfg *Config, opts ...Option) (*Monitor, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(context.Background(), cfg, reg, quietLogger(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func row(zone string, dist, pred float64) report.Row {
	return report.Row{Num: map[string]float64{"distance": dist}, Cat: map[string]string{"zone": zone}, Prediction: pred}
}

// series returns the gathered series of one metric family: label string -> value.
func series(t testing.TB, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(ls, ",")] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func countSeries(t testing.TB, g prometheus.Gatherer) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	return n
}

// Real rides, loaded once per test binary.
var (
	ridesOnce sync.Map // path -> *ridesResult
	modelOnce = sync.OnceValues(func() (*model.Model, error) {
		return model.Load(filepath.Join("..", "..", "models", "duration_model.json"))
	})
)

type ridesResult struct {
	once  sync.Once
	trips []taxi.Trip
	err   error
}

// sampleRides returns n rides of a TLC month that pass the training filter, spread
// evenly over the month (every k-th), in file order.
func sampleRides(t testing.TB, month string, n int) []taxi.Trip {
	t.Helper()
	path := filepath.Join("..", "..", "data", "green_tripdata_"+month+".parquet")
	v, _ := ridesOnce.LoadOrStore(path, &ridesResult{})
	r := v.(*ridesResult)
	r.once.Do(func() {
		all, err := taxi.ReadFile(context.Background(), path)
		if err != nil {
			r.err = err
			return
		}
		for _, tr := range all {
			if tr.KeepForTraining() {
				r.trips = append(r.trips, tr)
			}
		}
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n >= len(r.trips) {
		return r.trips
	}
	out := make([]taxi.Trip, 0, n)
	step := float64(len(r.trips)) / float64(n)
	for i := range n {
		out = append(out, r.trips[int(float64(i)*step)])
	}
	return out
}

func testModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := modelOnce()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// taxiRow scores a ride and returns its Row with the duration as target.
func taxiRow(m *model.Model, tr *taxi.Trip) report.Row {
	dur, _ := tr.DurationMinutes()
	pred := m.Predict(taxi.PUDO(*tr.PULocationID, *tr.DOLocationID), []float64{*tr.TripDistance})
	return report.TaxiRow(tr, pred, &dur)
}
