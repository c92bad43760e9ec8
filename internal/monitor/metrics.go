package monitor

import (
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/estimate"
)

// Metric names. Label values are only configured dataset and column names, the
// configured stattests, and fixed words: garbage in records never creates a series.
const (
	MetricDriftScore        = "modelmon_drift_score"
	MetricDriftPValue       = "modelmon_drift_p_value"
	MetricDriftStatistic    = "modelmon_drift_statistic"
	MetricDriftThreshold    = "modelmon_drift_threshold"
	MetricColumnDrifted     = "modelmon_drift_column_drifted"
	MetricDatasetDrift      = "modelmon_dataset_drift"
	MetricDriftedColumns    = "modelmon_drifted_columns"
	MetricDriftedShare      = "modelmon_drifted_columns_ratio"
	MetricMissingRatio      = "modelmon_quality_missing_ratio"
	MetricNewCategories     = "modelmon_quality_new_categories"
	MetricOutOfRangeRatio   = "modelmon_quality_out_of_range_ratio"
	MetricImplausible       = "modelmon_quality_implausible_values"
	MetricRegressionRMSE    = "modelmon_regression_rmse"
	MetricRegressionMAE     = "modelmon_regression_mae"
	MetricRegressionME      = "modelmon_regression_mean_error"
	MetricRegressionRows    = "modelmon_regression_rows"
	MetricEstimatedRMSE     = "modelmon_estimated_rmse"
	MetricEstimatedMAE      = "modelmon_estimated_mae"
	MetricEstimatedME       = "modelmon_estimated_me"
	MetricEstimatedRows     = "modelmon_estimated_rows"
	MetricReferenceRMSEBand = "modelmon_reference_rmse_band"
	MetricWindowRows        = "modelmon_window_rows"
	MetricWindowFill        = "modelmon_window_fill_ratio"
	MetricReferenceRows     = "modelmon_reference_rows"
	MetricPeriod            = "modelmon_calculation_period_seconds"
	MetricLastTimestamp     = "modelmon_last_computation_timestamp_seconds"
	MetricLastDuration      = "modelmon_last_computation_duration_seconds"
	MetricComputations      = "modelmon_computations_total"
	MetricComputationErrors = "modelmon_computation_errors_total"
	MetricRecordsObserved   = "modelmon_records_observed_total"
	MetricRecordsNoPred     = "modelmon_records_without_prediction_total"
	MetricRecordsRejected   = "modelmon_iterate_rejected_requests_total"
	MetricUnknownDataset    = "modelmon_records_unknown_dataset_total"
	MetricReferenceMoving   = "modelmon_reference_moving"
	evidentlyPValue         = "evidently:data_drift:p_value"
	evidentlyNDrifted       = "evidently:data_drift:n_drifted_features"
	evidentlyShareDrifted   = "evidently:data_drift:share_drifted_features"
	evidentlyDatasetDrift   = "evidently:data_drift:dataset_drift"
)

// metricSet holds the monitor's metrics: client_golang counters and histograms for
// per-record and per-computation events, and a collector that exports the latest
// computation of every dataset (so series of a column vanish when a test stops
// applying to it, and nothing is stale).
type metricSet struct {
	m *Monitor

	observed, noPred, computed, failed, rejected *prometheus.CounterVec
	unknownDataset                               prometheus.Counter
	histograms                                   map[string]*prometheus.HistogramVec

	driftScore, pValue, statistic, threshold, colDrifted *prometheus.Desc
	datasetDrift, driftedCols, driftedShare              *prometheus.Desc
	missing, newCats, outOfRange, implausible            *prometheus.Desc
	rmse, mae, me, regRows                               *prometheus.Desc
	// performance estimate: value, band bounds ([0] lower, [1] upper) per metric
	estRMSE, estMAE, estME, estRows                                  *prometheus.Desc
	estBand                                                          [3][2]*prometheus.Desc // rmse, mae, me
	refRMSEBand                                                      [2]*prometheus.Desc
	windowRows, windowFill, refRows, period, lastTS, lastDur, moving *prometheus.Desc

	evidently                                    bool
	evPValue, evNDrifted, evShare, evDatasetDrft *prometheus.Desc
}

func newMetricSet(m *Monitor) (*metricSet, error) {
	ds := []string{"dataset"}
	col := []string{"dataset", "column"}
	test := []string{"dataset", "column", "stattest"}
	s := &metricSet{
		m: m,
		observed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRecordsObserved,
			Help: "Records added to the monitoring window (Observe and POST /iterate)."}, ds),
		noPred: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRecordsNoPred,
			Help: "Records received through POST /iterate without a prediction."}, ds),
		computed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricComputations,
			Help: "Successful computations of the window against the reference."}, ds),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricComputationErrors,
			Help: "Computations of the window that failed."}, ds),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRecordsRejected,
			Help: "POST /iterate requests refused, by reason (bad_request, too_large)."}, []string{"dataset", "reason"}),
		unknownDataset: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricUnknownDataset,
			Help: "Records passed to Observe for a dataset that is not configured (dropped)."}),
		histograms: map[string]*prometheus.HistogramVec{},

		driftScore: prometheus.NewDesc(MetricDriftScore, "Drift score of a column in the latest window, as Evidently defines it: the p-value for p-value tests (drift below the threshold), the distance otherwise (drift at or above it); column=\"prediction\" is prediction drift.", test, nil),
		statistic:  prometheus.NewDesc(MetricDriftStatistic, "Statistic of the column's drift test in the latest window (e.g. the KS distance; the distance itself for distance tests).", test, nil),
		pValue:     prometheus.NewDesc(MetricDriftPValue, "P-value of the column's drift test in the latest window (only for tests that have one).", test, nil),
		threshold:  prometheus.NewDesc(MetricDriftThreshold, "Threshold of the column's drift test: drift when a p-value is below it or a distance is at or above it.", test, nil),
		colDrifted: prometheus.NewDesc(MetricColumnDrifted, "1 if the column drifted in the latest window, else 0.", test, nil),

		datasetDrift: prometheus.NewDesc(MetricDatasetDrift, "1 if the share of drifted columns in the latest window reached drift_share, else 0.", ds, nil),
		driftedCols:  prometheus.NewDesc(MetricDriftedColumns, "Number of drifted columns in the latest window.", ds, nil),
		driftedShare: prometheus.NewDesc(MetricDriftedShare, "Share of drifted columns in the latest window (0-1).", ds, nil),

		missing:     prometheus.NewDesc(MetricMissingRatio, "Share of missing values of a column in the latest window (0-1).", col, nil),
		newCats:     prometheus.NewDesc(MetricNewCategories, "Distinct categories of a categorical column in the latest window that the reference does not have.", col, nil),
		outOfRange:  prometheus.NewDesc(MetricOutOfRangeRatio, "Share of a numerical column's values in the latest window outside the reference's [min, max] (0-1).", col, nil),
		implausible: prometheus.NewDesc(MetricImplausible, "Values of a numerical column in the latest window outside its configured plausible range (plausible_ranges); only columns with a range.", col, nil),

		rmse:    prometheus.NewDesc(MetricRegressionRMSE, "Root mean squared error of the predictions in the latest window with known targets, in the target's unit.", ds, nil),
		mae:     prometheus.NewDesc(MetricRegressionMAE, "Mean absolute error of the predictions in the latest window with known targets, in the target's unit.", ds, nil),
		me:      prometheus.NewDesc(MetricRegressionME, "Mean error (prediction - target) in the latest window with known targets, in the target's unit.", ds, nil),
		regRows: prometheus.NewDesc(MetricRegressionRows, "Rows of the latest window with a known target.", ds, nil),

		estRMSE: prometheus.NewDesc(MetricEstimatedRMSE, "Root mean squared error of the predictions in the latest window estimated without targets (performance estimator), in the target's unit.", ds, nil),
		estMAE:  prometheus.NewDesc(MetricEstimatedMAE, "Mean absolute error of the predictions in the latest window estimated without targets, in the target's unit.", ds, nil),
		estME:   prometheus.NewDesc(MetricEstimatedME, "Mean error (prediction - target) in the latest window estimated without targets, in the target's unit.", ds, nil),
		estRows: prometheus.NewDesc(MetricEstimatedRows, "Rows of the latest window the performance estimate is computed over.", ds, nil),

		windowRows: prometheus.NewDesc(MetricWindowRows, "Records in the window now.", ds, nil),
		windowFill: prometheus.NewDesc(MetricWindowFill, "Records in the window now divided by window_size (a window is computed once full).", ds, nil),
		refRows:    prometheus.NewDesc(MetricReferenceRows, "Rows of the reference the latest window was compared with.", ds, nil),
		period:     prometheus.NewDesc(MetricPeriod, "Configured calculation period (calculation_period_sec).", ds, nil),
		lastTS:     prometheus.NewDesc(MetricLastTimestamp, "Unix time of the start of the latest successful computation (0: none yet).", ds, nil),
		lastDur:    prometheus.NewDesc(MetricLastDuration, "Duration of the latest successful computation.", ds, nil),
		moving:     prometheus.NewDesc(MetricReferenceMoving, "1 if the latest window was compared with the previous window (moving_reference), 0 if with the fixed reference.", ds, nil),

		evidently: m.cfg.Service.EvidentlyMetricNames,
	}
	if s.evidently {
		s.evPValue = prometheus.NewDesc(evidentlyPValue, "Evidently-compatible drift score per feature (the p-value for p-value tests, the distance otherwise).", []string{"dataset_name", "feature", "feature_type"}, nil)
		s.evNDrifted = prometheus.NewDesc(evidentlyNDrifted, "Evidently-compatible number of drifted features.", []string{"dataset_name"}, nil)
		s.evShare = prometheus.NewDesc(evidentlyShareDrifted, "Evidently-compatible share of drifted features.", []string{"dataset_name"}, nil)
		s.evDatasetDrft = prometheus.NewDesc(evidentlyDatasetDrift, "Evidently-compatible dataset drift (1 or 0).", []string{"dataset_name"}, nil)
	}
	for i, metric := range []string{MetricEstimatedRMSE, MetricEstimatedMAE, MetricEstimatedME} {
		for j, bound := range []string{"lower", "upper"} {
			s.estBand[i][j] = prometheus.NewDesc(metric+"_"+bound, "The "+bound+" bound of "+metric+"'s band (the estimate ± 3 standard errors of the metric at the window's size), in the target's unit.", ds, nil)
		}
	}
	for j, bound := range []string{"lower", "upper"} {
		s.refRMSEBand[j] = prometheus.NewDesc(MetricReferenceRMSEBand+"_"+bound, "The "+bound+" bound of the band of the reference's realized RMSE at the size of the latest window (reference RMSE ± 3 standard errors), in the target's unit: an estimated RMSE outside it says the model's performance changed.", ds, nil)
	}
	for _, name := range m.cfg.DatasetNames() {
		dc := m.cfg.Datasets[name]
		metric, scale := dc.PredictionMetric()
		if _, ok := s.histograms[metric]; ok {
			continue
		}
		buckets := make([]float64, len(dc.PredictionBuckets))
		for i, b := range dc.PredictionBuckets {
			buckets[i] = b * scale
		}
		help := "Model predictions, observed per record."
		if dc.PredictionUnit != "" && scale != 1 {
			help = "Model predictions, observed per record, converted from " + dc.PredictionUnit + " to seconds."
		}
		s.histograms[metric] = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metric, Help: help, Buckets: buckets}, ds)
	}
	return s, nil
}

// bindDataset resolves the dataset's hot-path children once.
func (s *metricSet) bindDataset(d *dataset) {
	metric, scale := d.cfg.PredictionMetric()
	d.predHist = s.histograms[metric].WithLabelValues(d.name)
	d.predScale = scale
	d.observed = s.observed.WithLabelValues(d.name)
	d.noPredRows = s.noPred.WithLabelValues(d.name)
	d.computed = s.computed.WithLabelValues(d.name)
	d.failed = s.failed.WithLabelValues(d.name)
	for _, reason := range []string{"bad_request", "too_large"} {
		s.rejected.WithLabelValues(d.name, reason)
	}
}

func (s *metricSet) register(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{s.observed, s.noPred, s.computed, s.failed, s.rejected, s.unknownDataset, s}
	names := make([]string, 0, len(s.histograms))
	for n := range s.histograms {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		cs = append(cs, s.histograms[n])
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("monitor: register metrics: %w", err)
		}
	}
	return nil
}

// Describe implements prometheus.Collector.
func (s *metricSet) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.driftScore, s.pValue, s.statistic, s.threshold, s.colDrifted, s.datasetDrift,
		s.driftedCols, s.driftedShare, s.missing, s.newCats, s.outOfRange, s.implausible, s.rmse, s.mae, s.me, s.regRows,
		s.windowRows, s.windowFill, s.refRows, s.period, s.lastTS, s.lastDur, s.moving,
		s.estRMSE, s.estMAE, s.estME, s.estRows, s.refRMSEBand[0], s.refRMSEBand[1]} {
		ch <- d
	}
	for _, b := range s.estBand {
		ch <- b[0]
		ch <- b[1]
	}
	if s.evidently {
		ch <- s.evPValue
		ch <- s.evNDrifted
		ch <- s.evShare
		ch <- s.evDatasetDrft
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect implements prometheus.Collector: the window's fill now and the latest
// computation of every dataset.
func (s *metricSet) Collect(ch chan<- prometheus.Metric) {
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		if !math.IsNaN(v) { // ±Inf is a valid sample value (e.g. chi-square with a new category)
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
		}
	}
	for _, name := range s.m.names {
		d := s.m.datasets[name]
		d.mu.Lock()
		rows, capacity := d.window.n, d.window.capacity
		d.mu.Unlock()
		gauge(s.windowRows, float64(rows), name)
		gauge(s.windowFill, float64(rows)/float64(capacity), name)
		gauge(s.period, d.period.Seconds(), name)
		r := d.last.Load()
		if r == nil {
			gauge(s.lastTS, 0, name) // never computed: alerts see an old timestamp
			continue
		}
		gauge(s.refRows, float64(r.refRows), name)
		gauge(s.lastTS, float64(r.at.UnixNano())/1e9, name)
		gauge(s.lastDur, r.elapsed.Seconds(), name)
		gauge(s.moving, b2f(r.refKind != "fixed"), name)
		for _, c := range r.columns {
			gauge(s.driftScore, c.score, name, c.column, c.stattest)
			gauge(s.statistic, c.statistic, name, c.column, c.stattest)
			if c.pValue != nil {
				gauge(s.pValue, *c.pValue, name, c.column, c.stattest)
			}
			gauge(s.threshold, c.threshold, name, c.column, c.stattest)
			gauge(s.colDrifted, b2f(c.drifted), name, c.column, c.stattest)
		}
		if r.hasDatasetDrift {
			gauge(s.datasetDrift, b2f(r.datasetDrift), name)
			gauge(s.driftedCols, float64(r.drifted), name)
			gauge(s.driftedShare, r.share, name)
		}
		for _, q := range r.quality {
			if q.missingShare != nil {
				gauge(s.missing, *q.missingShare, name, q.column)
			}
			if q.newCategories != nil {
				gauge(s.newCats, float64(*q.newCategories), name, q.column)
			}
			if q.outOfRange != nil {
				gauge(s.outOfRange, *q.outOfRange, name, q.column)
			}
			if q.implausible != nil {
				gauge(s.implausible, float64(*q.implausible), name, q.column)
			}
		}
		if g := r.regression; g != nil {
			gauge(s.rmse, g.RMSE, name)
			gauge(s.mae, g.MAE, name)
			gauge(s.me, g.ME, name)
			gauge(s.regRows, float64(g.N), name)
		}
		if e := r.estimate; e != nil {
			gauge(s.estRMSE, e.RMSE, name)
			gauge(s.estMAE, e.MAE, name)
			gauge(s.estME, e.ME, name)
			gauge(s.estRows, float64(e.Rows), name)
			for i, b := range []estimate.Interval{e.Band.RMSE, e.Band.MAE, e.Band.ME} {
				gauge(s.estBand[i][0], b.Lower, name)
				gauge(s.estBand[i][1], b.Upper, name)
			}
			gauge(s.refRMSEBand[0], e.ReferenceBand.RMSE.Lower, name)
			gauge(s.refRMSEBand[1], e.ReferenceBand.RMSE.Upper, name)
		}
		if s.evidently && r.hasDatasetDrift {
			share := 0.0
			if r.features.tested > 0 {
				share = float64(r.features.drifted) / float64(r.features.tested)
			}
			for _, c := range r.columns {
				if c.feature {
					gauge(s.evPValue, c.score, name, c.column, c.typ)
				}
			}
			gauge(s.evNDrifted, float64(r.features.drifted), name)
			gauge(s.evShare, share, name)
			gauge(s.evDatasetDrft, b2f(r.features.tested > 0 && share >= d.driftShare(r)), name)
		}
	}
}

// driftShare is the dataset drift threshold on the share of drifted columns that
// the report applied.
func (d *dataset) driftShare(r *result) float64 {
	if r.report != nil && r.report.DataDrift.DriftShare > 0 {
		return r.report.DataDrift.DriftShare
	}
	if d.cfg.Drift.DriftShare > 0 {
		return d.cfg.Drift.DriftShare
	}
	return 0.5
}
