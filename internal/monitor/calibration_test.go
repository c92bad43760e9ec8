package monitor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCalibrationConfigErrors(t *testing.T) {
	ref := filepath.Join(repoRoot(t), "data/green_tripdata_2021-01.parquet")
	base := func(dataset, service string) string {
		return "datasets:\n  taxi:\n    column_mapping:\n      categorical_features: [PULocationID]\n      numerical_features: [trip_distance]\n" +
			"    reference_file: " + ref + "\n" + dataset +
			"service:\n  calculation_period_sec: 2\n  window_size: 5\n" + service
	}
	cases := []struct {
		name, yaml, key string
		line            int
		msg             string
	}{
		{"unknown method", base("    drift:\n      method: bayes\n", ""), "datasets.taxi.drift.method", 8, "unknown method"},
		{"alpha zero", base("    drift:\n      alpha: 0\n", ""), "datasets.taxi.drift.alpha", 8, "must be in (0, 1)"},
		{"alpha one", base("    drift:\n      alpha: 1\n", ""), "datasets.taxi.drift.alpha", 8, "must be in (0, 1)"},
		{"per-column alpha", base("    drift:\n      per_column:\n        trip_distance: {alpha: 1.5}\n", ""), "datasets.taxi.drift.per_column.trip_distance.alpha", 9, "must be in (0, 1)"},
		{"min_window_rows zero", base("    drift:\n      min_window_rows: 0\n", ""), "datasets.taxi.drift.min_window_rows", 8, "must be >= 1"},
		{"min_window_rows above window", base("    drift:\n      min_window_rows: 6\n", ""), "datasets.taxi.drift.min_window_rows", 8, "must be <= service.window_size"},
		{"window_minutes zero", base("", "  window_minutes: 0\n"), "service.window_minutes", 10, "must be > 0"},
		{"window_minutes negative", base("", "  window_minutes: -5\n"), "service.window_minutes", 10, "must be > 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "cfg.yaml", t.TempDir())
			if err == nil {
				t.Fatalf("no error for\n%s", tc.yaml)
			}
			var found bool
			for _, e := range unjoin(err) {
				var ce *ConfigError
				if errors.As(e, &ce) && ce.Key == tc.key && ce.Line == tc.line && strings.Contains(ce.Msg, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("want %s:%d %q, got: %v", tc.key, tc.line, tc.msg, err)
			}
		})
	}
	if _, err := ParseConfig([]byte(base("    drift: {method: fixed, alpha: 0.05, min_window_rows: 5}\n", "  window_minutes: 30\n")), "cfg.yaml", t.TempDir()); err != nil {
		t.Errorf("valid calibration keys: %v", err)
	}
}

// A reference smaller than the window, and a configured column the reference file
// lacks, are configuration errors at the key's line when the monitor starts.
func TestReferenceConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, service, csv, key, msg string
		line                         int
	}{
		{"reference smaller than window", "  window_size: 7\n", refCSV, "service.window_size", "larger than the reference", 12},
		{"column absent", "", strings.Replace(refCSV, "distance", "dist", 1), "datasets.rides.column_mapping.numerical_features[0]", "not in the reference", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "ref.csv"), []byte(tc.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			yaml := "datasets:\n  rides:\n    column_mapping:\n      categorical_features: [zone]\n      numerical_features: [distance]\n" +
				"      target: duration\n    reference_file: ref.csv\n" +
				"service:\n  calculation_period_sec: 1\n  min_reference_size: 0\n  use_reference: true\n" + tc.service
			if tc.service == "" {
				yaml += "  window_size: 4\n"
			}
			cfg, err := ParseConfig([]byte(yaml), filepath.Join(dir, "config.yaml"), dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(context.Background(), cfg, prometheus.NewRegistry(), quietLogger())
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || ce.Line != tc.line || !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("err = %v, want %s at line %d (%q)", err, tc.key, tc.line, tc.msg)
			}
		})
	}
}

// A time-bounded window compares only the records of the last window_minutes,
// reports "not enough data" below drift.min_window_rows and recomputes as records
// age out even when none arrive.
func TestTimeBoundedWindow(t *testing.T) {
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	now = func() time.Time { return clock }
	defer func() { now = time.Now }()
	cfg := smallConfig(t, refCSV, "    drift: {min_window_rows: 3}\n", "  window_size: 6\n  window_minutes: 10\n")
	m, _ := newTestMonitor(t, cfg)
	ctx := context.Background()
	if err := m.Compute(ctx, "rides"); !errors.Is(err, ErrNotReady) {
		t.Fatalf("empty window: %v, want ErrNotReady", err)
	}
	m.Observe("rides", row("a", 1, 10))
	m.Observe("rides", row("b", 2, 12))
	if err := m.Compute(ctx, "rides"); err != nil {
		t.Fatal(err)
	}
	rep, _ := m.Report("rides")
	if rep.CurrentRows != 2 || rep.DataDrift.EnoughData || rep.DataDrift.DatasetDrift || len(rep.DataDrift.Columns) != 0 {
		t.Errorf("2 rows < min_window_rows 3: rows %d enough %v drift %v columns %d", rep.CurrentRows, rep.DataDrift.EnoughData, rep.DataDrift.DatasetDrift, len(rep.DataDrift.Columns))
	}
	clock = clock.Add(6 * time.Minute)
	for _, z := range []string{"a", "c", "b"} {
		m.Observe("rides", row(z, 1.5, 11))
	}
	if err := m.Compute(ctx, "rides"); err != nil {
		t.Fatal(err)
	}
	rep, _ = m.Report("rides")
	if rep.CurrentRows != 5 || !rep.DataDrift.EnoughData || rep.DataDrift.Method != "calibrated" || len(rep.DataDrift.Columns) == 0 {
		t.Errorf("5 rows within 10 min: rows %d enough %v method %q columns %d", rep.CurrentRows, rep.DataDrift.EnoughData, rep.DataDrift.Method, len(rep.DataDrift.Columns))
	}
	clock = clock.Add(5 * time.Minute) // the first two rows are 11 minutes old
	if err := m.Compute(ctx, "rides"); err != nil {
		t.Fatal(err)
	}
	if rep, _ = m.Report("rides"); rep.CurrentRows != 3 {
		t.Errorf("after 11 minutes: %d rows, want the 3 recent ones", rep.CurrentRows)
	}
	clock = clock.Add(time.Hour)
	if err := m.Compute(ctx, "rides"); !errors.Is(err, ErrNotReady) {
		t.Errorf("all rows aged out: %v, want ErrNotReady", err)
	}
}

func TestGridRows(t *testing.T) {
	prev := 0
	for n := 1; n <= 20000; n++ {
		g := gridRows(n)
		if g > n || g < prev || float64(g) < float64(n)/1.05 {
			t.Fatalf("gridRows(%d) = %d (previous %d)", n, g, prev)
		}
		prev = g
	}
	distinct := map[int]bool{}
	for n := 1000; n <= 2000; n++ {
		distinct[gridRows(n)] = true
	}
	if len(distinct) > 17 {
		t.Errorf("%d grid sizes between 1000 and 2000, want about 16", len(distinct))
	}
}
