package monitor

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/report"
)

func benchMonitor(b testing.TB, window int) *Monitor {
	b.Helper()
	ref := filepath.Join(repoRoot(b), "data/green_tripdata_2021-01.parquet")
	y := fmt.Sprintf("datasets:\n  taxi:\n    column_mapping:\n      categorical_features: [PULocationID, DOLocationID]\n      numerical_features: [trip_distance]\n      target: duration\n"+
		"    reference_file: %s\n    adapter: taxi\n    prediction_unit: minutes\n"+
		"service:\n  calculation_period_sec: 10\n  window_size: %d\n  evidently_metric_names: true\n", ref, window)
	cfg, err := ParseConfig([]byte(y), "bench.yaml", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(context.Background(), cfg, prometheus.NewRegistry(), quietLogger(), WithModel(testModel(b)))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkObserve measures one record into a full 3,000-row window (the /predict
// hook): constant time, no allocation.
func BenchmarkObserve(b *testing.B) {
	for _, window := range []int{3000, 30000} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			m := benchMonitor(b, window)
			mod := testModel(b)
			rides := sampleRides(b, "2022-01", 1000)
			rows := make([]report.Row, len(rides))
			for i := range rides {
				rows[i] = taxiRow(mod, &rides[i])
			}
			for i := range window { // fill the window: steady state
				m.Observe("taxi", rows[i%len(rows)])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				m.Observe("taxi", rows[i%len(rows)])
			}
		})
	}
}

// BenchmarkObserveParallel is Observe from concurrent /predict handlers.
func BenchmarkObserveParallel(b *testing.B) {
	m := benchMonitor(b, 3000)
	mod := testModel(b)
	rides := sampleRides(b, "2022-01", 1000)
	rows := make([]report.Row, len(rides))
	for i := range rides {
		rows[i] = taxiRow(mod, &rides[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.Observe("taxi", rows[i%len(rows)])
			i++
		}
	})
}

// BenchmarkCompute measures one recomputation of a 3,000-row window of January 2022
// against the ~74k-row January 2021 reference (snapshot, report.Compute, export).
func BenchmarkCompute(b *testing.B) {
	m := benchMonitor(b, 3000)
	mod := testModel(b)
	for _, tr := range sampleRides(b, "2022-01", 3000) {
		m.Observe("taxi", taxiRow(mod, &tr))
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := m.Compute(ctx, "taxi"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	rep, _ := m.Report("taxi")
	b.ReportMetric(float64(rep.ReferenceRows), "ref_rows")
	b.ReportMetric(float64(rep.CurrentRows), "window_rows")
}

// BenchmarkObserveTrip is the /predict feed (ObserveTrip: no row built) next to
// Observe(report.TaxiRow(...)), which it replaces.
func BenchmarkObserveTrip(b *testing.B) {
	m := benchMonitor(b, 3000)
	mod := testModel(b)
	rides := sampleRides(b, "2022-01", 1000)
	preds := make([]float64, len(rides))
	for i := range rides {
		preds[i] = taxiRow(mod, &rides[i]).Prediction
	}
	b.Run("ObserveTrip", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.ObserveTrip("taxi", &rides[i%len(rides)], preds[i%len(rides)])
		}
	})
	b.Run("Observe+TaxiRow", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.Observe("taxi", report.TaxiRow(&rides[i%len(rides)], preds[i%len(rides)], nil))
		}
	})
}
