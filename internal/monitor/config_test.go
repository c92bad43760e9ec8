package monitor

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/testutil"
)

func repoRoot(t testing.TB) string { return testutil.RepoRoot(t) }

// seedDir lays the seed's config.yaml out as the seed service had it: the reference
// under ./datasets next to the config.
func seedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata/monitor/seed_config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "datasets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(repoRoot(t), "data/green_tripdata_2021-01.parquet"), filepath.Join(dir, "datasets/green_tripdata_2021-01.parquet")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSeedConfigParses(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(seedDir(t), "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Service
	if s.WindowSize != 5 || s.CalculationPeriodSec != 2 || s.MinReferenceSize != 30 || s.MovingReference || !cfg.UsesReference() || s.DatasetsPath != "datasets" {
		t.Errorf("service = %+v", s)
	}
	d := cfg.Datasets["taxi"]
	if d == nil {
		t.Fatal("no taxi dataset")
	}
	if got := strings.Join(d.ColumnMapping.CategoricalFeatures, ","); got != "PULocationID,DOLocationID" {
		t.Errorf("categorical = %s", got)
	}
	if got := strings.Join(d.Monitors, ","); got != "data_drift,data_quality,regression_performance,num_target_drift" {
		t.Errorf("monitors = %s", got)
	}
	if d.Adapter != AdapterColumns || d.PredictionColumn() != "prediction" || d.TargetColumn() != "target" {
		t.Errorf("defaults: adapter %q prediction %q target %q", d.Adapter, d.PredictionColumn(), d.TargetColumn())
	}
	if *d.DataFormat.Header != true || d.DataFormat.Separator != "," {
		t.Errorf("data_format = %+v", d.DataFormat)
	}
}

// The seed file verbatim, where it is kept, parses but has no reference next to it:
// the only error names the key and its line.
func TestSeedConfigVerbatimMissingReference(t *testing.T) {
	_, err := LoadConfig(filepath.Join(repoRoot(t), "testdata/monitor/seed_config.yaml"))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ConfigError", err)
	}
	if ce.Key != "datasets.taxi.reference_file" || ce.Line != 14 || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v (key %q line %d)", err, ce.Key, ce.Line)
	}
}

func TestRepoConfig(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(repoRoot(t), "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Datasets["taxi"]
	if d.Adapter != AdapterTaxi || cfg.Service.WindowSize < 1000 || cfg.CalculationPeriod().Seconds() != 10 || !cfg.Service.EvidentlyMetricNames {
		t.Errorf("config = %+v %+v", cfg.Service, d)
	}
	if name, scale := d.PredictionMetric(); name != "modelmon_prediction_seconds" || scale != 60 {
		t.Errorf("prediction metric %s x%v", name, scale)
	}
	// The live monitor and the batch (report.TaxiConfig) use one plausible range.
	if got, want := d.ReportConfig().PlausibleRanges, report.TaxiConfig().PlausibleRanges; !maps.Equal(got, want) || len(got) == 0 {
		t.Errorf("plausible ranges: config.yaml %v, report.TaxiConfig %v", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	root := repoRoot(t)
	ref := filepath.Join(root, "data/green_tripdata_2021-01.parquet")
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
		{"unknown service key", base("", "  windw_size: 3\n"), "service.windw_size", 10, "unknown key"},
		{"unknown dataset key", base("    monitor: [data_drift]\n", ""), "datasets.taxi.monitor", 7, "unknown key"},
		{"wrong type", base("", "  min_reference_size: lots\n"), "service.min_reference_size", 10, "cannot unmarshal"},
		{"window_size zero", strings.Replace(base("", ""), "window_size: 5", "window_size: 0", 1), "service.window_size", 9, "must be > 0"},
		{"negative period", strings.Replace(base("", ""), "calculation_period_sec: 2", "calculation_period_sec: -1", 1), "service.calculation_period_sec", 8, "must be > 0"},
		{"unknown stattest", base("    drift:\n      cat_stattest: jensen\n", ""), "datasets.taxi.drift.cat_stattest", 8, "unknown stattest"},
		{"unknown per-column stattest", base("    drift:\n      per_column:\n        trip_distance: {stattest: kss}\n", ""), "datasets.taxi.drift.per_column.trip_distance.stattest", 9, "unknown stattest"},
		{"per-column unknown column", base("    drift:\n      per_column:\n        fare: {stattest: ks}\n", ""), "datasets.taxi.drift.per_column.fare", 9, "not a configured feature"},
		{"unknown monitor", base("    monitors: [data_drift, concept_drift]\n", ""), "datasets.taxi.monitors[1]", 7, "unknown monitor"},
		{"unsupported monitor", base("    monitors: [classification_performance]\n", ""), "datasets.taxi.monitors[0]", 7, "not supported"},
		{"missing reference", strings.Replace(base("", ""), ref, "/nonexistent/ref.parquet", 1), "datasets.taxi.reference_file", 6, "no such file"},
		{"unknown adapter", base("    adapter: bikes\n", ""), "datasets.taxi.adapter", 7, "unknown adapter"},
		{"duplicate column", strings.Replace(base("", ""), "[trip_distance]", "[PULocationID]", 1), "datasets.taxi.column_mapping.categorical_features[0]", 4, "already named"},
		{"bad drift share", base("    drift: {drift_share: 2}\n", ""), "datasets.taxi.drift.drift_share", 7, "must be in [0, 1]"},
		{"range of an unknown column", base("    plausible_ranges:\n      fare: {min: 0, max: 1}\n", ""), "datasets.taxi.plausible_ranges.fare", 8, "not a numerical feature"},
		{"range of a categorical column", base("    plausible_ranges:\n      PULocationID: {min: 1, max: 265}\n", ""), "datasets.taxi.plausible_ranges.PULocationID", 8, "not a numerical feature"},
		{"range without max", base("    plausible_ranges:\n      trip_distance: {min: 0}\n", ""), "datasets.taxi.plausible_ranges.trip_distance", 8, "want both min and max"},
		{"range min above max", base("    plausible_ranges:\n      trip_distance: {min: 10, max: 1}\n", ""), "datasets.taxi.plausible_ranges.trip_distance", 8, "min 10 > max 1"},
		{"range not a number", base("    plausible_ranges:\n      trip_distance: {min: 0, max: far}\n", ""), "datasets.taxi.plausible_ranges.trip_distance", 8, "cannot unmarshal"},
		{"moving reference too big", base("", "  moving_reference: true\n  min_reference_size: 30\n"), "service.min_reference_size", 11, "must be <= window_size"},
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
			if !strings.Contains(err.Error(), "cfg.yaml:") || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("message does not name the file and key: %v", err)
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// Without reference_file the reference is <datasets_path>/<dataset>/reference.csv
// (the Evidently example's layout).
func TestDatasetsPathDefault(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "refs/rides"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "refs/rides/reference.csv"), []byte(refCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	y := "datasets:\n  rides:\n    column_mapping:\n      categorical_features: [zone]\n      numerical_features: [distance]\n" +
		"service:\n  datasets_path: refs\n  window_size: 2\n  calculation_period_sec: 1\n"
	cfg, err := ParseConfig([]byte(y), "c.yaml", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ReferencePath("rides"); got != filepath.Join(dir, "refs/rides/reference.csv") {
		t.Errorf("reference path %s", got)
	}
	_, err = ParseConfig([]byte(strings.Replace(y, "refs", "nowhere", 1)), "c.yaml", dir)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "service.datasets_path" || ce.Line != 7 {
		t.Errorf("missing default reference: %v", err)
	}
}

// A per-column test of the prediction column reaches the report under its name there.
func TestPredictionPerColumnTest(t *testing.T) {
	cfg := smallConfig(t, refCSV, "    drift:\n      method: fixed\n      per_column:\n        prediction: {stattest: wasserstein, threshold: 0.3}\n        zone: {stattest: psi}\n", "")
	rc := cfg.Datasets["rides"].ReportConfig()
	if rc.Drift.PerColumn["prediction"].StatTest != "wasserstein" || rc.Drift.PerColumn["zone"].StatTest != "psi" {
		t.Errorf("report config %+v", rc.Drift)
	}
	m, reg := newTestMonitor(t, cfg)
	for i := range 4 {
		m.Observe("rides", row("a", float64(i), 10+float64(i)))
	}
	if err := m.Compute(context.Background(), "rides"); err != nil {
		t.Fatal(err)
	}
	if got := series(t, reg, MetricDriftThreshold); got["column=prediction,dataset=rides,stattest=wasserstein"] != 0.3 {
		t.Errorf("prediction test: %v", got)
	}
	_, err := ParseConfig([]byte("datasets:\n  a:\n    column_mapping:\n      numerical_features: [x]\n    drift:\n      per_column:\n        x: {stattest: chisquare}\n"+
		"service:\n  window_size: 1\n  calculation_period_sec: 1\n  use_reference: false\n  min_reference_size: 1\n"), "c.yaml", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `c.yaml:7: datasets.a.drift.per_column.x.stattest: stattest "chisquare" does not apply to numerical columns`) {
		t.Errorf("err = %v", err)
	}
}
