package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

// computeReport is report.Compute; a variable so that tests can count calls.
var computeReport = report.Compute

// Monitor keeps, per configured dataset, a sliding window of the most recent
// records and recomputes drift, data quality and regression metrics of the window
// against the dataset's reference every calculation period (Run). Records come from
// Observe (in-process, e.g. after each /predict) and POST /iterate/{dataset}.
// It is safe for concurrent use.
type Monitor struct {
	cfg      *Config
	log      *slog.Logger
	names    []string
	datasets map[string]*dataset
	met      *metricSet
}

// Option configures New.
type Option func(*options)

type options struct {
	model   *model.Model
	loaders map[string]ReferenceLoader
}

// WithModel gives the model that scores the reference of datasets with the taxi
// adapter (the model the service serves); it takes precedence over model_file.
func WithModel(m *model.Model) Option { return func(o *options) { o.model = m } }

// WithReferenceLoader replaces the reference loader of one dataset (for a model
// whose reference rows need scoring or feature extraction of its own).
func WithReferenceLoader(dataset string, l ReferenceLoader) Option {
	return func(o *options) { o.loaders[dataset] = l }
}

// dataset is the state of one monitored dataset.
type dataset struct {
	name     string
	cfg      *DatasetConfig
	rcfg     report.Config
	numNames []string
	catNames []string
	cols     map[string][]colRef // the fields /iterate reads, by name
	period   time.Duration
	minRef   int
	// windowAge > 0 bounds the window by time (service.window_minutes).
	windowAge time.Duration
	// est estimates the window's performance without targets (nil: no estimator).
	est *estimate.Estimator

	mu         sync.Mutex // guards the rings and seq; held briefly (no computation)
	window     *ring
	prev       *ring // moving reference: the rows evicted from window; nil otherwise
	collect    *ring // reference being collected from the stream; nil once complete
	collecting bool  // records go to collect
	seq        uint64

	computeMu   sync.Mutex // serializes computations; guards the fields below
	fileRef     *report.Dataset
	ref         *report.Dataset
	computedSeq uint64
	cur         *snapshot
	prevSnap    *snapshot

	last atomic.Pointer[result] // latest computation, read by the collector

	// hot-path metrics, resolved once
	predHist   prometheus.Observer
	predScale  float64
	observed   prometheus.Counter
	noPredRows prometheus.Counter
	computed   prometheus.Counter
	failed     prometheus.Counter
}

// New builds a Monitor from a configuration that LoadConfig validated: it loads (and,
// for the taxi adapter, scores) every dataset's reference once, and registers the
// metrics on reg (a service's own registry, not the global one). Datasets that share
// a reference file and columns share one loaded reference. It does not start the
// periodic computations: see Run.
func New(ctx context.Context, cfg *Config, reg prometheus.Registerer, logger *slog.Logger, opts ...Option) (*Monitor, error) {
	if cfg == nil {
		return nil, errors.New("monitor: nil config")
	}
	if reg == nil {
		return nil, errors.New("monitor: nil prometheus registerer")
	}
	if logger == nil {
		logger = slog.Default()
	}
	o := options{loaders: map[string]ReferenceLoader{}}
	for _, opt := range opts {
		opt(&o)
	}
	for name := range o.loaders {
		if _, ok := cfg.Datasets[name]; !ok {
			return nil, fmt.Errorf("monitor: WithReferenceLoader: no dataset %q in %s", name, cfg.File)
		}
	}
	m := &Monitor{cfg: cfg, log: logger, names: cfg.DatasetNames(), datasets: map[string]*dataset{}}
	met, err := newMetricSet(m)
	if err != nil {
		return nil, err
	}
	m.met = met

	cache := map[string]*report.Dataset{}
	for _, name := range m.names {
		dc := cfg.Datasets[name]
		d := &dataset{
			name: name, cfg: dc, rcfg: dc.ReportConfig(),
			numNames: slices.Clone(dc.ColumnMapping.NumericalFeatures),
			catNames: slices.Clone(dc.ColumnMapping.CategoricalFeatures),
			period:   cfg.CalculationPeriod(),
			minRef:   cfg.Service.MinReferenceSize,
		}
		d.cols = d.iterateColumns()
		w := cfg.Service.WindowSize
		d.window = newRing(w, len(d.numNames), len(d.catNames))
		if cfg.Service.WindowMinutes > 0 {
			d.window.ts = make([]int64, w)
			d.windowAge = time.Duration(cfg.Service.WindowMinutes * float64(time.Minute))
		}
		d.cur = newSnapshot(d.numNames, d.catNames, w)
		if cfg.Service.MovingReference {
			d.prev = newRing(w, len(d.numNames), len(d.catNames))
			d.prevSnap = newSnapshot(d.numNames, d.catNames, w)
		}
		if dc.Estimator != "" {
			est, err := m.loadEstimator(name, &o)
			if err != nil {
				return nil, err
			}
			d.est = est
		}
		refRows := 0
		if cfg.UsesReference() {
			ref, err := m.loadReference(ctx, name, dc, &o, cache)
			if err != nil {
				return nil, cfg.missingColumnError(name, err)
			}
			if err := cfg.checkReferenceSize(name, ref); err != nil {
				return nil, err
			}
			d.fileRef, d.ref, refRows = ref, ref, ref.Rows
		}
		if cfg.UsesReference() && refRows == 0 && d.minRef == 0 {
			return nil, fmt.Errorf("monitor: dataset %s: reference %s has no rows (set service.min_reference_size to collect them from the stream)", name, cfg.ReferencePath(name))
		}
		if need := d.minRef - refRows; need > 0 {
			d.collect = newRing(need, len(d.numNames), len(d.catNames))
			d.collecting = true
			d.ref = nil
			logger.Info("monitor: collecting reference rows from the stream", "dataset", name, "reference_rows", refRows, "min_reference_size", d.minRef, "to_collect", need)
		}
		met.bindDataset(d)
		m.datasets[name] = d
	}
	if err := met.register(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// loadEstimator loads a dataset's estimator artifact once, bound to the served model
// (WithModel, else model_file): an artifact trained for another model version, or
// an unreadable one, is a ConfigError naming the estimator key.
func (m *Monitor) loadEstimator(name string, o *options) (*estimate.Estimator, error) {
	key := "datasets." + name + ".estimator"
	cfgErr := func(err error) error {
		return &ConfigError{File: m.cfg.File, Line: m.cfg.lines[key], Key: key, Msg: err.Error(), Err: err}
	}
	mod := o.model
	if mod == nil {
		mp := m.cfg.ModelPath(name)
		if mp == "" {
			return nil, cfgErr(fmt.Errorf("the estimator is bound to the served model: set datasets.%s.model_file or pass monitor.WithModel", name))
		}
		var err error
		if mod, err = model.Load(mp); err != nil {
			return nil, fmt.Errorf("monitor: dataset %s: %w", name, err)
		}
	}
	path := m.cfg.EstimatorPath(name)
	est, err := estimate.Load(path, mod)
	if err != nil {
		return nil, cfgErr(err)
	}
	m.log.Info("monitor: performance estimator loaded", "dataset", name, "file", path,
		"estimator_version", est.Version, "model_version", est.ModelVersion, "reference_rows", est.Reference.Rows)
	return est, nil
}

func (m *Monitor) loadReference(ctx context.Context, name string, dc *DatasetConfig, o *options, cache map[string]*report.Dataset) (*report.Dataset, error) {
	path := m.cfg.ReferencePath(name)
	load, custom := o.loaders[name]
	key := ""
	if !custom {
		key = strings.Join([]string{dc.Adapter, path, strings.Join(dc.ColumnMapping.NumericalFeatures, ","),
			strings.Join(dc.ColumnMapping.CategoricalFeatures, ","), dc.PredictionColumn(), dc.TargetColumn(),
			dc.DataFormat.Separator, fmt.Sprint(dc.DataFormat.Header != nil && !*dc.DataFormat.Header)}, "\x00")
		if dc.Adapter == AdapterTaxi && o.model == nil {
			key += "\x00" + m.cfg.ModelPath(name)
		}
		if ref, ok := cache[key]; ok {
			return ref, nil
		}
		switch dc.Adapter {
		case AdapterTaxi:
			mod := o.model
			if mod == nil {
				mp := m.cfg.ModelPath(name)
				if mp == "" {
					return nil, fmt.Errorf("monitor: dataset %s: adapter taxi scores its reference with a model: set datasets.%s.model_file in %s or pass monitor.WithModel", name, name, m.cfg.File)
				}
				var err error
				if mod, err = model.Load(mp); err != nil {
					return nil, fmt.Errorf("monitor: dataset %s: %w", name, err)
				}
			}
			load = TaxiReference(mod)
		default:
			load = ColumnsReference
		}
	}
	start := time.Now()
	ref, err := load(ctx, path, dc)
	if err != nil {
		return nil, fmt.Errorf("monitor: dataset %s: %w", name, err)
	}
	if err := checkReference(ref, dc); err != nil {
		return nil, fmt.Errorf("monitor: dataset %s: reference %s: %w", name, path, err)
	}
	if ref.Prediction == nil && dc.HasMonitor(MonitorNumTargetDrift) {
		m.log.Warn("monitor: the reference has no predictions: prediction drift is not computed", "dataset", name, "file", path, "prediction_column", dc.PredictionColumn())
	}
	m.log.Info("monitor: reference loaded", "dataset", name, "file", path, "adapter", dc.Adapter, "rows", ref.Rows, "elapsed", time.Since(start).Round(time.Millisecond))
	if key != "" {
		cache[key] = ref
	}
	return ref, nil
}

// checkReference verifies that a loaded reference has every configured column with
// one value per row.
func checkReference(ref *report.Dataset, dc *DatasetConfig) error {
	if ref == nil {
		return errors.New("no dataset")
	}
	for _, n := range dc.ColumnMapping.NumericalFeatures {
		c := ref.Numerical[n]
		if c == nil || len(c.Values) != ref.Rows || (c.Valid != nil && len(c.Valid) != ref.Rows) {
			return fmt.Errorf("numerical column %q missing or not %d rows long", n, ref.Rows)
		}
	}
	for _, n := range dc.ColumnMapping.CategoricalFeatures {
		c := ref.Categorical[n]
		if c == nil || len(c.Values) != ref.Rows || (c.Valid != nil && len(c.Valid) != ref.Rows) {
			return fmt.Errorf("categorical column %q missing or not %d rows long", n, ref.Rows)
		}
	}
	if (ref.Prediction != nil && len(ref.Prediction) != ref.Rows) || (ref.Target != nil && len(ref.Target) != ref.Rows) {
		return fmt.Errorf("prediction or target not %d rows long", ref.Rows)
	}
	return nil
}

// Config returns the configuration the monitor runs with (read-only).
func (m *Monitor) Config() *Config { return m.cfg }

// Datasets returns the monitored dataset names, sorted.
func (m *Monitor) Datasets() []string { return slices.Clone(m.names) }

// Observe adds one record (features, the model's prediction and, if known, the
// target) to a dataset's window. It costs O(columns): a short lock and copies into
// preallocated ring slots; it never waits for a computation. Missing or non-finite
// values are missing values. Records for an unknown dataset are counted and dropped.
func (m *Monitor) Observe(name string, row report.Row) {
	m.observe(name,
		func(n string) (float64, bool) { v, ok := row.Num[n]; return v, ok },
		func(n string) (string, bool) { v, ok := row.Cat[n]; return v, ok },
		row.Prediction, row.Target)
}

// ObserveTrip is Observe(name, report.TaxiRow(t, prediction, nil)) without building
// the row (its two maps and strings): the live monitor's feed from /predict.
func (m *Monitor) ObserveTrip(name string, t *taxi.Trip, prediction float64) {
	m.observe(name,
		func(n string) (float64, bool) { return report.TaxiNum(t, n) },
		func(n string) (string, bool) { return report.TaxiCat(t, n) },
		prediction, nil)
}

// observe adds one record whose columns num and cat read by name.
func (m *Monitor) observe(name string, num func(string) (float64, bool), cat func(string) (string, bool), prediction float64, target *float64) {
	d, ok := m.datasets[name]
	if !ok {
		m.met.unknownDataset.Inc()
		return
	}
	d.mu.Lock()
	r := d.target()
	s := r.begin()
	for i, n := range d.numNames {
		v, ok := num(n)
		r.setNum(i, s, v, ok)
	}
	for i, n := range d.catNames {
		v, ok := cat(n)
		r.setCat(i, s, v, ok)
	}
	r.setPrediction(s, prediction, true)
	if target != nil {
		r.setTarget(s, *target, true)
	} else {
		r.setTarget(s, 0, false)
	}
	d.commit(r)
	d.mu.Unlock()
	d.observed.Inc()
	if finite(prediction) {
		d.predHist.Observe(prediction * d.predScale)
	}
}

// observeRecords adds decoded /iterate records, taking the lock for one block (at
// most 256 records) at a time so that a large body never holds up /predict for long.
func (d *dataset) observeRecords(recs *iterRecords) {
	nn, nc := len(d.numNames), len(d.catNames)
	for _, b := range recs.blocks {
		d.mu.Lock()
		for k := 0; k < b.n; k++ {
			r := d.target()
			s := r.begin()
			for j := 0; j < nn; j++ {
				r.setNum(j, s, b.num[k*nn+j], b.numOK[k*nn+j])
			}
			for j := 0; j < nc; j++ {
				r.setCat(j, s, b.cat[k*nc+j], b.catOK[k*nc+j])
			}
			r.setPrediction(s, b.pred[k], b.predOK[k])
			r.setTarget(s, b.tgt[k], b.tgtOK[k])
			d.commit(r)
		}
		d.mu.Unlock()
	}
	d.observed.Add(float64(recs.n))
	for _, b := range recs.blocks {
		for k := 0; k < b.n; k++ {
			if b.predOK[k] && finite(b.pred[k]) {
				d.predHist.Observe(b.pred[k] * d.predScale)
			} else {
				d.noPredRows.Inc()
			}
		}
	}
}

// target returns the ring the next record goes to: the reference being collected,
// else the window (moving its oldest row to the previous-window ring first when the
// reference moves). Called with d.mu held.
func (d *dataset) target() *ring {
	if d.collecting {
		return d.collect
	}
	if d.prev != nil && d.window.full() {
		d.window.pushOldestInto(d.prev)
	}
	return d.window
}

func (d *dataset) commit(r *ring) {
	r.commit()
	d.seq++
	if d.collecting && r == d.collect && r.full() {
		d.collecting = false
	}
}

// Run recomputes every dataset's window each calculation period until ctx is done;
// it returns after the computations in progress end. Datasets are computed
// independently (one goroutine each). A window is computed once it is full and only
// if records arrived since the last computation.
func (m *Monitor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, name := range m.names {
		d := m.datasets[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d.period)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					_ = m.compute(ctx, d, false)
				}
			}
		}()
	}
	wg.Wait()
}

// Compute recomputes one dataset's window now, even if no record arrived since the
// last computation. It returns ErrNotReady while the window is not full or the
// reference is still being collected.
func (m *Monitor) Compute(ctx context.Context, name string) error {
	d, ok := m.datasets[name]
	if !ok {
		return fmt.Errorf("monitor: %w: %q", ErrUnknownDataset, name)
	}
	return m.compute(ctx, d, true)
}

// Errors of Compute.
var (
	ErrUnknownDataset = errors.New("unknown dataset")
	ErrNotReady       = errors.New("window not full or reference not collected yet")
)

// movingMin is how many rows the previous window needs to become the reference:
// min_reference_size, or the whole window when that is 0.
func (d *dataset) movingMin() int {
	if d.minRef > 0 {
		return d.minRef
	}
	return d.window.capacity
}

// computeTimeout bounds one computation.
func (d *dataset) computeTimeout() time.Duration { return max(30*time.Second, 3*d.period) }

func (m *Monitor) compute(ctx context.Context, d *dataset, force bool) error {
	d.computeMu.Lock()
	defer d.computeMu.Unlock()

	d.mu.Lock()
	if !force && d.seq == d.computedSeq && d.windowAge == 0 {
		d.mu.Unlock()
		return nil
	}
	var collected *report.Dataset
	if d.collect != nil && !d.collecting {
		collected = d.collect.dataset(d.numNames, d.catNames)
		d.collect = nil
	}
	if collected != nil {
		d.ref = collected
		if d.fileRef != nil && d.fileRef.Rows > 0 {
			d.ref = report.Concat(d.fileRef, collected)
		}
		m.log.Info("monitor: reference complete", "dataset", d.name, "rows", d.ref.Rows, "collected", collected.Rows)
	}
	win, ready := d.currentWindow()
	if !ready || d.ref == nil {
		d.mu.Unlock()
		return ErrNotReady
	}
	cur := d.cur.fill(win)
	noPred := d.cur.rowsWithoutPrediction
	ref, refKind := d.ref, "fixed"
	if d.prev != nil && d.prev.n >= d.movingMin() {
		ref, refKind = d.prevSnap.fill(d.prev), "previous window"
	}
	seq := d.seq
	d.mu.Unlock()

	if noPred > 0 && noPred < cur.Rows {
		m.log.Warn("monitor: some records of the window have no prediction: prediction drift skipped", "dataset", d.name, "rows_without_prediction", noPred)
	}
	ctx, cancel := context.WithTimeout(ctx, d.computeTimeout())
	defer cancel()
	start := time.Now()
	rep, err := computeReport(ctx, ref, cur, d.rcfg)
	elapsed := time.Since(start)
	if err != nil {
		d.failed.Inc()
		m.log.Error("monitor: computation failed", "dataset", d.name, "err", err)
		return fmt.Errorf("monitor: dataset %s: %w", d.name, err)
	}
	if d.est != nil {
		rep.PerformanceEstimate = m.estimate(d, cur)
	}
	elapsed = time.Since(start)
	// The report is encoded once here, so that GET /monitor/{dataset}/report
	// serves bytes that are known to encode: a report that would not (none
	// should: its numbers are finite or null) is a failed computation, and the
	// previous report stays served.
	body, err := encodeReport(d.name, start, rep)
	if err != nil {
		d.failed.Inc()
		m.log.Error("monitor: encode report", "dataset", d.name, "err", err)
		return fmt.Errorf("monitor: dataset %s: %w", d.name, err)
	}
	d.computedSeq = seq
	res := summarize(d, rep, start, elapsed, refKind)
	res.body = body
	d.last.Store(res)
	d.computed.Inc()
	m.log.Debug("monitor: window computed", "dataset", d.name, "rows", cur.Rows, "reference_rows", ref.Rows,
		"reference", refKind, "dataset_drift", rep.DataDrift.DatasetDrift, "share_drifted", rep.DataDrift.ShareDrifted, "elapsed", elapsed)
	return nil
}

// estimate estimates the window's performance; a window without an estimable row
// (no distance or prediction) or an estimator error leaves it out of the report.
func (m *Monitor) estimate(d *dataset, cur *report.Dataset) *report.PerformanceEstimate {
	pe, err := report.EstimatePerformance(d.est, cur)
	switch {
	case errors.Is(err, estimate.ErrEmptyWindow):
		m.log.Debug("monitor: no estimable record in the window", "dataset", d.name, "rows", cur.Rows)
		return nil
	case err != nil:
		m.log.Warn("monitor: performance estimate failed", "dataset", d.name, "err", err)
		return nil
	}
	return pe
}

// Report returns the latest computed report of a dataset (nil before the first
// computation). The report is shared: do not modify it.
func (m *Monitor) Report(name string) (*report.Report, time.Time) {
	d, ok := m.datasets[name]
	if !ok {
		return nil, time.Time{}
	}
	r := d.last.Load()
	if r == nil {
		return nil, time.Time{}
	}
	return r.report, r.at
}

// dataset copies a ring (oldest first) into a new Dataset.
func (r *ring) dataset(numNames, catNames []string) *report.Dataset {
	s := newSnapshot(numNames, catNames, r.capacity)
	ds := s.fill(r)
	if s.rowsWithoutPrediction > 0 {
		ds.Prediction = nil
	}
	return ds
}

// result is what one computation exports.
type result struct {
	at       time.Time
	elapsed  time.Duration
	refKind  string
	refRows  int
	curRows  int
	report   *report.Report
	columns  []columnResult
	features struct{ tested, drifted int } // features only (Evidently's view)

	hasDatasetDrift bool
	datasetDrift    bool
	share           float64
	drifted         int

	quality    []qualityResult
	regression *report.Regression
	estimate   *report.PerformanceEstimate

	body []byte // the GET /monitor/{dataset}/report answer (encodeReport)
}

// encodeReport is the body of GET /monitor/{dataset}/report.
func encodeReport(name string, at time.Time, rep *report.Report) ([]byte, error) {
	b, err := json.Marshal(map[string]any{"dataset": name, "computed_at": at.UTC().Format(time.RFC3339Nano), "report": rep})
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return append(b, '\n'), nil
}

type columnResult struct {
	column    string // label: configured name
	feature   bool   // false: the prediction
	typ       string // "num" or "cat"
	stattest  string
	score     float64 // compared with threshold: the p-value, or the distance
	statistic float64
	pValue    *float64
	threshold float64
	drifted   bool
}

type qualityResult struct {
	column        string
	missingShare  *float64
	newCategories *int
	outOfRange    *float64
	implausible   *int
}

func summarize(d *dataset, rep *report.Report, at time.Time, elapsed time.Duration, refKind string) *result {
	res := &result{at: at, elapsed: elapsed, refKind: refKind, refRows: rep.ReferenceRows, curRows: rep.CurrentRows, report: rep}
	drift := d.cfg.HasMonitor(MonitorDataDrift)
	addCol := func(key, label string, feature bool) {
		cd, ok := rep.DataDrift.Columns[key]
		if !ok {
			return
		}
		typ := "num"
		if cd.Type == "categorical" || cd.Type == "cat" {
			typ = "cat"
		}
		score := cd.Statistic // Evidently's drift score: the p-value of p-value tests
		if cd.PValue != nil && isPValueTest(cd.StatTest) {
			score = *cd.PValue // (a calibrated distance test's p-value is not its score)
		}
		res.columns = append(res.columns, columnResult{
			column: label, feature: feature, typ: typ, stattest: cd.StatTest, score: score,
			statistic: cd.Statistic, pValue: cd.PValue, threshold: cd.Threshold, drifted: cd.Drifted,
		})
		if feature {
			res.features.tested++
			if cd.Drifted {
				res.features.drifted++
			}
		}
	}
	if drift {
		for _, n := range d.numNames {
			addCol(n, n, true)
		}
		for _, n := range d.catNames {
			addCol(n, n, true)
		}
		res.hasDatasetDrift = true
		res.datasetDrift = rep.DataDrift.DatasetDrift
		res.share = rep.DataDrift.ShareDrifted
		res.drifted = rep.DataDrift.Drifted
	}
	if d.cfg.HasMonitor(MonitorNumTargetDrift) {
		addCol(report.PredictionColumn, d.cfg.PredictionColumn(), false)
	}
	if d.cfg.HasMonitor(MonitorDataQuality) {
		for _, n := range slices.Concat(d.numNames, d.catNames) {
			q, ok := rep.DataQuality.Current[n]
			if !ok {
				continue
			}
			qr := qualityResult{column: n, missingShare: q.MissingShare}
			if q.MissingShare == nil && q.Rows > 0 {
				ms := float64(q.Missing) / float64(q.Rows)
				qr.missingShare = &ms
			}
			if slices.Contains(d.catNames, n) {
				qr.newCategories = q.NewCount
			} else {
				qr.outOfRange, qr.implausible = q.OutOfRangeShare, q.Implausible
				if qr.outOfRange == nil && q.OutOfRangeCount != nil && q.Count > 0 {
					v := float64(*q.OutOfRangeCount) / float64(q.Count)
					qr.outOfRange = &v
				}
			}
			res.quality = append(res.quality, qr)
		}
	}
	if d.cfg.HasMonitor(MonitorRegression) && rep.Regression.Current != nil && rep.Regression.Current.N > 0 {
		res.regression = rep.Regression.Current
	}
	res.estimate = rep.PerformanceEstimate
	return res
}
