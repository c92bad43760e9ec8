package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/modelmon/modelmon/internal/drift"
	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/report"
)

// Config is the monitoring configuration. It reads the seed Evidently service's
// config.yaml unchanged (datasets.<name>.{column_mapping, data_format, monitors,
// reference_file} and service.{calculation_period_sec, min_reference_size,
// moving_reference, datasets_path, use_reference, window_size}) and extends it with
// the keys documented on DatasetConfig and ServiceConfig. Unknown keys are errors.
type Config struct {
	Datasets map[string]*DatasetConfig `yaml:"datasets"`
	Service  ServiceConfig             `yaml:"service"`

	// File is the name errors are reported under; Dir resolves relative paths.
	File string `yaml:"-"`
	Dir  string `yaml:"-"`

	lines map[string]int // key path ("service.window_size") -> line
}

// ServiceConfig holds the service-wide settings (the seed's `service:` block).
type ServiceConfig struct {
	// CalculationPeriodSec is how often each dataset's window is recomputed (> 0;
	// fractions allowed). The seed's service ignored it; here it is honoured.
	CalculationPeriodSec float64 `yaml:"calculation_period_sec"`
	// MinReferenceSize is the fewest reference rows drift is computed against. With
	// use_reference, a reference file with fewer rows is topped up with the first
	// production records; without, the first MinReferenceSize records are the
	// reference; with moving_reference, the previous window replaces the reference
	// only once it has this many rows.
	MinReferenceSize int `yaml:"min_reference_size"`
	// MovingReference: the reference follows the stream. Records evicted from the
	// window go to a second ring of window_size rows ("the previous window"); once it
	// holds min_reference_size rows (the whole window when min_reference_size is 0)
	// it replaces the reference at each computation. Memory: two windows.
	MovingReference bool `yaml:"moving_reference"`
	// DatasetsPath is where a dataset without reference_file keeps its reference:
	// <datasets_path>/<dataset>/reference.csv (the Evidently example's layout).
	DatasetsPath string `yaml:"datasets_path"`
	// UseReference (default true): the reference is read from reference_file. When
	// false, the reference is collected from the stream (min_reference_size rows).
	UseReference *bool `yaml:"use_reference"`
	// WindowSize is the number of most recent records compared with the reference
	// (> 0). A window is computed once it is full, as in the seed.
	WindowSize int `yaml:"window_size"`
	// WindowMinutes (> 0) also bounds the window by time: only the records of the
	// last WindowMinutes minutes (at most window_size of them) are compared, and the
	// window is computed every period once it holds a record; below the dataset's
	// drift.min_window_rows it is reported as not enough data. 0: the window is the
	// last window_size records, computed once full.
	WindowMinutes float64 `yaml:"window_minutes"`

	// EvidentlyMetricNames also exports the seed's evidently:data_drift:* series so
	// that dashboards written for the Evidently service keep working.
	EvidentlyMetricNames bool `yaml:"evidently_metric_names"`
	// IterateMaxBodyBytes bounds a POST /iterate body (default 1 MiB).
	IterateMaxBodyBytes int64 `yaml:"iterate_max_body_bytes"`
	// IterateMaxRecords bounds the records of a POST /iterate body (default
	// DefaultIterateMaxRecords); the online service's ITERATE_MAX_RECORDS, when
	// set, takes its place.
	IterateMaxRecords int `yaml:"iterate_max_records"`
}

// DatasetConfig describes one monitored dataset (the seed's `datasets.<name>`).
type DatasetConfig struct {
	ColumnMapping ColumnMapping `yaml:"column_mapping"`
	// DataFormat applies to a CSV reference file.
	DataFormat DataFormat `yaml:"data_format"`
	// Monitors select the exported metric groups: data_drift, data_quality,
	// regression_performance (needs targets), num_target_drift (prediction drift).
	// Default: all four.
	Monitors []string `yaml:"monitors"`
	// ReferenceFile is a parquet (or .csv) file, relative to the config file's
	// directory. Default: <datasets_path>/<dataset>/reference.csv.
	ReferenceFile string `yaml:"reference_file"`

	// Adapter turns reference_file into rows: "columns" (default; columns read by
	// name, predictions from the prediction column when present) or "taxi" (a TLC
	// green-taxi month: rides passing the training filter, scored with the model,
	// duration in minutes as the target).
	Adapter string `yaml:"adapter"`
	// ModelFile is the model that scores a taxi reference, relative to the config
	// file (unless the service passes its model with WithModel).
	ModelFile string `yaml:"model_file"`
	// Estimator is a performance estimator artifact (models/duration_estimator.json,
	// made by `starter train-estimator`), relative to the config file: each computed
	// window then also carries the model's RMSE, MAE and ME estimated without targets
	// (report.performance_estimate, modelmon_estimated_* gauges). It reads the
	// PULocationID, DOLocationID and trip_distance features and the prediction, and
	// must have been trained for the served model. Empty: no estimate.
	Estimator string `yaml:"estimator"`
	// Drift chooses the drift tests and verdicts: method (calibrated, the default, or
	// fixed), alpha (the dataset verdict's false-alarm rate per window, default
	// 0.01), min_window_rows, drift_share, num_stattest, num_threshold, cat_stattest,
	// cat_threshold, per_column.<column>.{stattest, threshold, alpha}. Zero values
	// pick Evidently's default tests.
	Drift report.DriftOptions `yaml:"drift"`
	// PredictionUnit is the unit of the model's output. It names the histogram of
	// predictions: modelmon_prediction_<unit>, in base units as Prometheus wants
	// (minutes, hours and days are exported as modelmon_prediction_seconds);
	// without a unit, modelmon_prediction. PredictionBuckets are its upper bounds,
	// in PredictionUnit.
	PredictionUnit    string    `yaml:"prediction_unit"`
	PredictionBuckets []float64 `yaml:"prediction_buckets"`

	// PlausibleRanges bound the values of numerical columns that are measurements at
	// all, per column: plausible_ranges: {trip_distance: {min: 0, max: 1000000}}
	// (both ends required, inclusive). A value outside is counted in the window's
	// data quality (implausible_count, modelmon_data_quality_implausible_values);
	// the online service refuses a /predict ride with such a value (400 naming the
	// field and the range). Columns without a range take any finite value.
	PlausibleRanges map[string]PlausibleRange `yaml:"plausible_ranges"`

	// Segments cut the dataset into segments (e.g. pickup borough, pickup hour
	// band), each reported with its own metrics and drift; MinSegmentRows (default
	// report.DefaultMinSegmentRows) is the fewest rows of a segment with a verdict.
	// See segments.go for the keys and checks.
	Segments       []report.SegmentSpec `yaml:"segments"`
	MinSegmentRows int                  `yaml:"min_segment_rows"`
	segmenters     []*report.Segmenter
}

// PlausibleRange is one column's plausible_ranges entry.
type PlausibleRange struct {
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

// Ranges returns the dataset's plausible ranges by column (validated: both ends
// set), keyed as in the config.
func (d *DatasetConfig) Ranges() map[string]metrics.Range {
	if len(d.PlausibleRanges) == 0 {
		return nil
	}
	out := make(map[string]metrics.Range, len(d.PlausibleRanges))
	for col, r := range d.PlausibleRanges {
		if r.Min != nil && r.Max != nil {
			out[col] = metrics.Range{Min: *r.Min, Max: *r.Max}
		}
	}
	return out
}

// ColumnMapping names the columns, as Evidently's ColumnMapping.
type ColumnMapping struct {
	CategoricalFeatures []string `yaml:"categorical_features"`
	NumericalFeatures   []string `yaml:"numerical_features"`
	// Prediction is the model output's column (default "prediction").
	Prediction *string `yaml:"prediction"`
	// Target is the true value's column (default "target").
	Target *string `yaml:"target"`
}

// DataFormat is how a CSV reference file is read.
type DataFormat struct {
	Header    *bool  `yaml:"header"`    // default true
	Separator string `yaml:"separator"` // default ","
}

// Monitor names accepted in `monitors`.
const (
	MonitorDataDrift      = "data_drift"
	MonitorDataQuality    = "data_quality"
	MonitorRegression     = "regression_performance"
	MonitorNumTargetDrift = "num_target_drift"
)

var (
	supportedMonitors   = []string{MonitorDataDrift, MonitorDataQuality, MonitorRegression, MonitorNumTargetDrift}
	unsupportedMonitors = []string{"cat_target_drift", "classification_performance", "prob_classification_performance"}
)

// Adapters accepted in `adapter`.
const (
	AdapterColumns = "columns"
	AdapterTaxi    = "taxi"
)

// DefaultIterateMaxBodyBytes bounds a POST /iterate body.
const DefaultIterateMaxBodyBytes = 1 << 20

// DefaultIterateMaxRecords bounds the records of a POST /iterate body: 1 MiB of
// records of ~50 bytes.
const DefaultIterateMaxRecords = 20000

// ConfigError is one problem in a configuration file, located by key and line.
type ConfigError struct {
	File string
	Line int    // 0: unknown
	Key  string // dotted path, e.g. "service.window_size"; "" for the whole file
	Msg  string
	Err  error // the underlying error, if any
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// LoadConfig reads and validates a configuration file; relative paths in it are
// resolved against its directory. See ParseConfig.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("monitor config: %w", err)
	}
	return ParseConfig(b, path, filepath.Dir(path))
}

// ParseConfig decodes a configuration (strictly: unknown keys and wrong types are
// errors), applies defaults and validates it, checking that reference and model files
// exist (relative to dir). Every error is a *ConfigError naming the key and line; all
// problems found are joined into one error.
func ParseConfig(data []byte, file, dir string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &ConfigError{File: file, Msg: err.Error(), Err: err}
	}
	if len(root.Content) == 0 {
		return nil, &ConfigError{File: file, Msg: "empty configuration"}
	}
	idx := newLineIndex(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, idx.rewrite(file, err)
	}
	c.File, c.Dir, c.lines = file, dir, idx.byPath
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// CalculationPeriod is service.calculation_period_sec as a duration.
func (c *Config) CalculationPeriod() time.Duration {
	return time.Duration(c.Service.CalculationPeriodSec * float64(time.Second))
}

// UsesReference reports service.use_reference (default true).
func (c *Config) UsesReference() bool {
	return c.Service.UseReference == nil || *c.Service.UseReference
}

// DatasetNames returns the dataset names, sorted.
func (c *Config) DatasetNames() []string {
	names := make([]string, 0, len(c.Datasets))
	for n := range c.Datasets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// PredictionColumn is the dataset's prediction column name.
func (d *DatasetConfig) PredictionColumn() string {
	if d.ColumnMapping.Prediction == nil {
		return report.PredictionColumn
	}
	return *d.ColumnMapping.Prediction
}

// TargetColumn is the dataset's target column name.
func (d *DatasetConfig) TargetColumn() string {
	if d.ColumnMapping.Target == nil {
		return "target"
	}
	return *d.ColumnMapping.Target
}

// HasMonitor reports whether the dataset exports the named metric group.
func (d *DatasetConfig) HasMonitor(name string) bool { return slices.Contains(d.Monitors, name) }

// ReportConfig is the report.Config that report.Compute is called with: the
// prediction column's per-column drift test is keyed by report.PredictionColumn.
func (d *DatasetConfig) ReportConfig() report.Config {
	drift := d.Drift
	if len(drift.PerColumn) > 0 {
		drift.PerColumn = make(map[string]report.ColumnTest, len(d.Drift.PerColumn))
		for col, t := range d.Drift.PerColumn {
			if col == d.PredictionColumn() {
				col = report.PredictionColumn
			}
			drift.PerColumn[col] = t
		}
	}
	ranges := d.Ranges()
	if r, ok := ranges[d.PredictionColumn()]; ok && d.PredictionColumn() != report.PredictionColumn {
		delete(ranges, d.PredictionColumn())
		ranges[report.PredictionColumn] = r
	}
	return report.Config{
		NumericalFeatures:   slices.Clone(d.ColumnMapping.NumericalFeatures),
		CategoricalFeatures: slices.Clone(d.ColumnMapping.CategoricalFeatures),
		Drift:               drift,
		PlausibleRanges:     ranges,
	}
}

func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// ReferencePath is the dataset's reference file, resolved.
func (c *Config) ReferencePath(name string) string {
	d := c.Datasets[name]
	if d.ReferenceFile != "" {
		return c.resolve(d.ReferenceFile)
	}
	return c.resolve(filepath.Join(c.Service.DatasetsPath, name, "reference.csv"))
}

// EstimatorPath is the dataset's estimator artifact, resolved ("" if none).
func (c *Config) EstimatorPath(name string) string { return c.resolve(c.Datasets[name].Estimator) }

// ModelPath is the dataset's model file, resolved ("" if none).
func (c *Config) ModelPath(name string) string { return c.resolve(c.Datasets[name].ModelFile) }

func (c *Config) errf(key, format string, args ...any) error {
	line := c.lines[key]
	for k := key; line == 0 && k != ""; {
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
		line = c.lines[k]
	}
	return &ConfigError{File: c.File, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

var (
	datasetNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	unitRE        = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

func (c *Config) validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	s := &c.Service
	if _, ok := c.lines["service"]; !ok {
		add(c.errf("service", "missing"))
	}
	if s.WindowSize <= 0 {
		add(c.errf("service.window_size", "must be > 0, got %d", s.WindowSize))
	}
	if !(s.CalculationPeriodSec > 0) || math.IsInf(s.CalculationPeriodSec, 0) {
		add(c.errf("service.calculation_period_sec", "must be > 0, got %v", s.CalculationPeriodSec))
	}
	if s.MinReferenceSize < 0 {
		add(c.errf("service.min_reference_size", "must be >= 0, got %d", s.MinReferenceSize))
	}
	if !c.UsesReference() && s.MinReferenceSize < 1 {
		add(c.errf("service.min_reference_size", "must be >= 1 when use_reference is false (the reference is collected from the stream)"))
	}
	if s.MovingReference && s.WindowSize > 0 && s.MinReferenceSize > s.WindowSize {
		add(c.errf("service.min_reference_size", "with moving_reference the reference is the previous window, so it must be <= window_size (%d), got %d", s.WindowSize, s.MinReferenceSize))
	}
	errs = append(errs, c.validateWindow()...)
	if s.IterateMaxBodyBytes < 0 {
		add(c.errf("service.iterate_max_body_bytes", "must be >= 0, got %d", s.IterateMaxBodyBytes))
	}
	if s.IterateMaxBodyBytes == 0 {
		s.IterateMaxBodyBytes = DefaultIterateMaxBodyBytes
	}
	if s.IterateMaxRecords < 0 {
		add(c.errf("service.iterate_max_records", "must be >= 0, got %d", s.IterateMaxRecords))
	}
	if s.IterateMaxRecords == 0 {
		s.IterateMaxRecords = DefaultIterateMaxRecords
	}
	if len(c.Datasets) == 0 {
		add(c.errf("datasets", "at least one dataset is needed"))
	}
	units := map[string][]float64{}
	for _, name := range c.DatasetNames() {
		d := c.Datasets[name]
		p := "datasets." + name
		if d == nil {
			add(c.errf(p, "empty dataset"))
			continue
		}
		if !datasetNameRE.MatchString(name) {
			add(c.errf(p, "dataset name must match %s (it is a URL path segment and a label value)", datasetNameRE))
		}
		errs = append(errs, c.validateDataset(name, d, units)...)
	}
	return errors.Join(errs...)
}

func (c *Config) validateDataset(name string, d *DatasetConfig, units map[string][]float64) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	p := "datasets." + name
	cm := &d.ColumnMapping
	seen := map[string]string{}
	check := func(key, col string) {
		if col == "" {
			add(c.errf(key, "empty column name"))
			return
		}
		if prev, ok := seen[col]; ok {
			add(c.errf(key, "column %q is already named by %s", col, prev))
			return
		}
		seen[col] = key
	}
	for i, col := range cm.NumericalFeatures {
		check(fmt.Sprintf("%s.column_mapping.numerical_features[%d]", p, i), col)
	}
	for i, col := range cm.CategoricalFeatures {
		check(fmt.Sprintf("%s.column_mapping.categorical_features[%d]", p, i), col)
	}
	if len(cm.NumericalFeatures)+len(cm.CategoricalFeatures) == 0 {
		add(c.errf(p+".column_mapping", "no numerical_features nor categorical_features"))
	}
	if _, ok := seen[report.PredictionColumn]; ok {
		add(c.errf(seen[report.PredictionColumn], "a feature cannot be named %q: the prediction's drift is reported under that name", report.PredictionColumn))
	}
	check(p+".column_mapping.prediction", d.PredictionColumn())
	check(p+".column_mapping.target", d.TargetColumn())

	if d.Monitors == nil {
		d.Monitors = slices.Clone(supportedMonitors)
	}
	if len(d.Monitors) == 0 {
		add(c.errf(p+".monitors", "empty: name at least one of %s", strings.Join(supportedMonitors, ", ")))
	}
	for i, m := range d.Monitors {
		key := fmt.Sprintf("%s.monitors[%d]", p, i)
		switch {
		case slices.Contains(supportedMonitors, m):
		case slices.Contains(unsupportedMonitors, m):
			add(c.errf(key, "monitor %q is not supported (this service monitors regression models): use %s", m, strings.Join(supportedMonitors, ", ")))
		default:
			add(c.errf(key, "unknown monitor %q: use %s", m, strings.Join(supportedMonitors, ", ")))
		}
	}

	dr := &d.Drift
	if dr.DriftShare < 0 || dr.DriftShare > 1 || math.IsNaN(dr.DriftShare) {
		add(c.errf(p+".drift.drift_share", "must be in [0, 1], got %v", dr.DriftShare))
	}
	checkTest := func(key, test string, kind drift.Kind) {
		if test == "" {
			return
		}
		info, ok := drift.Info(test)
		switch {
		case !ok:
			add(c.errf(key, "unknown stattest %q: use one of %s", test, strings.Join(drift.Tests(), ", ")))
		case kind == drift.Numerical && !info.Numerical:
			add(c.errf(key, "stattest %q does not apply to numerical columns", test))
		case kind == drift.Categorical && !info.Categorical:
			add(c.errf(key, "stattest %q does not apply to categorical columns", test))
		}
	}
	checkThreshold := func(key string, t float64) {
		if t < 0 || math.IsNaN(t) || math.IsInf(t, 0) {
			add(c.errf(key, "must be a finite number >= 0, got %v", t))
		}
	}
	errs = append(errs, c.validateCalibration(p, dr)...)
	checkTest(p+".drift.num_stattest", dr.NumStattest, drift.Numerical)
	checkTest(p+".drift.cat_stattest", dr.CatStattest, drift.Categorical)
	checkThreshold(p+".drift.num_threshold", dr.NumThreshold)
	checkThreshold(p+".drift.cat_threshold", dr.CatThreshold)
	for col, ct := range dr.PerColumn {
		key := p + ".drift.per_column." + col
		if _, ok := seen[col]; !ok || col == d.TargetColumn() {
			add(c.errf(key, "column %q is not a configured feature nor the prediction column", col))
		}
		kind := drift.Numerical
		if slices.Contains(cm.CategoricalFeatures, col) {
			kind = drift.Categorical
		}
		checkTest(key+".stattest", ct.StatTest, kind)
		checkThreshold(key+".threshold", ct.Threshold)
	}

	for _, col := range slices.Sorted(maps.Keys(d.PlausibleRanges)) {
		key := p + ".plausible_ranges." + col
		r := d.PlausibleRanges[col]
		if !slices.Contains(cm.NumericalFeatures, col) && col != d.PredictionColumn() {
			add(c.errf(key, "column %q is not a numerical feature nor the prediction column", col))
			continue
		}
		if r.Min == nil || r.Max == nil {
			add(c.errf(key, "want both min and max, e.g. {min: 0, max: 1000}"))
			continue
		}
		if err := (metrics.Range{Min: *r.Min, Max: *r.Max}).Validate(); err != nil {
			add(c.errf(key, "%v", err))
		}
	}

	switch d.Adapter {
	case "", AdapterColumns:
		d.Adapter = AdapterColumns
	case AdapterTaxi:
		for i, col := range cm.NumericalFeatures {
			if col != "trip_distance" {
				add(c.errf(fmt.Sprintf("%s.column_mapping.numerical_features[%d]", p, i), "adapter taxi provides trip_distance only, not %q", col))
			}
		}
		for i, col := range cm.CategoricalFeatures {
			if col != "PULocationID" && col != "DOLocationID" {
				add(c.errf(fmt.Sprintf("%s.column_mapping.categorical_features[%d]", p, i), "adapter taxi provides PULocationID and DOLocationID only, not %q", col))
			}
		}
	default:
		add(c.errf(p+".adapter", "unknown adapter %q: use %s or %s", d.Adapter, AdapterColumns, AdapterTaxi))
	}
	if d.ModelFile != "" {
		if d.Adapter != AdapterTaxi {
			add(c.errf(p+".model_file", "only the taxi adapter scores its reference with a model"))
		} else if _, err := os.Stat(c.resolve(d.ModelFile)); err != nil {
			add(&ConfigError{File: c.File, Line: c.lines[p+".model_file"], Key: p + ".model_file", Msg: err.Error(), Err: err})
		}
	}

	if d.Estimator != "" {
		key := p + ".estimator"
		if _, err := os.Stat(c.resolve(d.Estimator)); err != nil {
			add(&ConfigError{File: c.File, Line: c.lines[key], Key: key, Msg: err.Error(), Err: err})
		}
		for _, col := range []string{report.EstimatePUColumn, report.EstimateDOColumn} {
			if !slices.Contains(cm.CategoricalFeatures, col) {
				add(c.errf(key, "the estimator reads the categorical feature %q: add it to column_mapping.categorical_features", col))
			}
		}
		if !slices.Contains(cm.NumericalFeatures, report.EstimateDistanceColumn) {
			add(c.errf(key, "the estimator reads the numerical feature %q: add it to column_mapping.numerical_features", report.EstimateDistanceColumn))
		}
	}

	if c.UsesReference() {
		key := p + ".reference_file"
		if d.ReferenceFile == "" {
			key = "service.datasets_path"
		}
		ref := c.ReferencePath(name)
		if st, err := os.Stat(ref); err != nil {
			add(&ConfigError{File: c.File, Line: c.lineOf(key, p), Key: key, Msg: "reference file: " + err.Error(), Err: err})
		} else if st.IsDir() {
			add(c.errf(key, "reference file %s is a directory", ref))
		}
		ext := strings.ToLower(filepath.Ext(ref))
		if ext != ".parquet" && ext != ".csv" {
			add(c.errf(key, "reference file %s: want a .parquet or .csv file", ref))
		}
		if d.Adapter == AdapterTaxi && ext != ".parquet" {
			add(c.errf(key, "adapter taxi reads a TLC parquet month, not %s", ref))
		}
	}
	sep := d.DataFormat.Separator
	if sep != "" && len([]rune(sep)) != 1 {
		add(c.errf(p+".data_format.separator", "must be one character, got %q", sep))
	}

	if d.PredictionUnit != "" && !unitRE.MatchString(d.PredictionUnit) {
		add(c.errf(p+".prediction_unit", "must match %s (it becomes part of a metric name), got %q", unitRE, d.PredictionUnit))
	}
	if d.PredictionBuckets == nil {
		d.PredictionBuckets = defaultBuckets(d.PredictionUnit)
	}
	if len(d.PredictionBuckets) == 0 {
		add(c.errf(p+".prediction_buckets", "empty"))
	}
	for i, b := range d.PredictionBuckets {
		if math.IsNaN(b) || math.IsInf(b, 0) || (i > 0 && b <= d.PredictionBuckets[i-1]) {
			add(c.errf(fmt.Sprintf("%s.prediction_buckets[%d]", p, i), "buckets must be finite and strictly increasing"))
			break
		}
	}
	metric, scale := d.PredictionMetric()
	scaled := make([]float64, len(d.PredictionBuckets))
	for i, b := range d.PredictionBuckets {
		scaled[i] = b * scale
	}
	if prev, ok := units[metric]; ok && !slices.Equal(prev, scaled) {
		add(c.errf(p+".prediction_buckets", "datasets whose predictions share the histogram %s need the same buckets", metric))
	} else {
		units[metric] = scaled
	}
	return append(errs, c.validateSegments(name, d)...)
}

func (c *Config) lineOf(keys ...string) int {
	for _, k := range keys {
		if l := c.lines[k]; l > 0 {
			return l
		}
	}
	return 0
}

// timeUnits converts time units to the base unit, seconds.
var timeUnits = map[string]float64{"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}

// PredictionMetric is the name of the dataset's prediction histogram and the factor
// that converts a prediction to its unit.
func (d *DatasetConfig) PredictionMetric() (name string, scale float64) {
	if d.PredictionUnit == "" {
		return "modelmon_prediction", 1
	}
	if f, ok := timeUnits[d.PredictionUnit]; ok {
		return "modelmon_prediction_seconds", f
	}
	return "modelmon_prediction_" + d.PredictionUnit, 1
}

func defaultBuckets(unit string) []float64 {
	if unit == "minutes" {
		return []float64{1, 2.5, 5, 7.5, 10, 12.5, 15, 20, 25, 30, 40, 50, 60, 90}
	}
	return []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000}
}

// lineIndex maps key paths to lines and back, to name the key of a decoder error.
type lineIndex struct {
	byPath map[string]int
	byLine map[int]string
}

func newLineIndex(root *yaml.Node) *lineIndex {
	idx := &lineIndex{byPath: map[string]int{}, byLine: map[int]string{}}
	idx.walk(root, "")
	return idx
}

func (idx *lineIndex) set(path string, line int) {
	if _, ok := idx.byPath[path]; !ok {
		idx.byPath[path] = line
	}
	if _, ok := idx.byLine[line]; !ok && path != "" {
		idx.byLine[line] = path
	}
}

func (idx *lineIndex) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			idx.walk(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			idx.set(p, k.Line)
			idx.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			idx.set(p, c.Line)
			idx.walk(c, p)
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			idx.walk(n.Alias, path)
		}
	default:
		idx.set(path, n.Line)
	}
}

var (
	yamlLineRE    = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnknownRE = regexp.MustCompile(`^field (\S+) not found in type`)
)

// rewrite turns a decoder error into ConfigErrors that name the key at each line.
func (idx *lineIndex) rewrite(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return &ConfigError{File: file, Msg: err.Error(), Err: err}
	}
	var errs []error
	for _, e := range te.Errors {
		ce := &ConfigError{File: file, Msg: e, Err: err}
		if m := yamlLineRE.FindStringSubmatch(e); m != nil {
			ce.Line, _ = strconv.Atoi(m[1])
			ce.Key = idx.byLine[ce.Line]
			ce.Msg = m[2]
			if u := yamlUnknownRE.FindStringSubmatch(m[2]); u != nil {
				ce.Msg = "unknown key " + strconv.Quote(u[1])
			}
		}
		errs = append(errs, ce)
	}
	return errors.Join(errs...)
}
