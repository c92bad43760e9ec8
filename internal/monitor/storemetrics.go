package monitor

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/httpmetrics"
	"github.com/modelmon/modelmon/internal/store"
)

// Prediction-log metric names (service health).
const (
	MetricStoreQueue          = "modelmon_store_queue_records"
	MetricStoreBatches        = "modelmon_store_batches_total"
	MetricStoreRecords        = "modelmon_store_records_total"
	MetricStoreFailed         = "modelmon_store_records_failed_total"
	MetricStoreDuplicates     = "modelmon_store_records_duplicate_total"
	MetricStoreOverloaded     = "modelmon_store_records_overloaded_total"
	MetricStoreMaxBatch       = "modelmon_store_max_batch_records"
	MetricStoreWriteBatchSize = "modelmon_store_write_batch_records"
	MetricStoreWriteDuration  = "modelmon_store_write_duration_seconds"
	MetricStoreDrainConflicts = "modelmon_store_drain_conflicts_total"
)

// StoreMetrics exports the prediction log's health: the backlog and cumulative
// counters of a store.Logger (read at scrape time from its Stats), and, when the
// writer reports each InsertMany through ObserveWrite, batch size and write latency
// histograms.
type StoreMetrics struct {
	stats     func() store.LoggerStats
	batchSize prometheus.Histogram
	writeDur  prometheus.Histogram

	queue, batches, records, failed, dups, overloaded, maxBatch, conflicts *prometheus.Desc
}

// NewStoreMetrics registers the prediction-log metrics on reg; stats is typically
// (*store.Logger).Stats.
func NewStoreMetrics(reg prometheus.Registerer, stats func() store.LoggerStats) (*StoreMetrics, error) {
	s := &StoreMetrics{
		stats: stats,
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricStoreWriteBatchSize,
			Help: "Records per InsertMany of the prediction log.", Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
		writeDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricStoreWriteDuration,
			Help: "Latency of one InsertMany of the prediction log.", Buckets: httpmetrics.DurationBuckets}),
		queue:      prometheus.NewDesc(MetricStoreQueue, "Prediction-log records waiting for a writer (the log backlog).", nil, nil),
		batches:    prometheus.NewDesc(MetricStoreBatches, "InsertMany calls made by the prediction log.", nil, nil),
		records:    prometheus.NewDesc(MetricStoreRecords, "Prediction-log records acknowledged by the database.", nil, nil),
		failed:     prometheus.NewDesc(MetricStoreFailed, "Prediction-log records the database refused or did not acknowledge.", nil, nil),
		dups:       prometheus.NewDesc(MetricStoreDuplicates, "Prediction-log records refused as duplicate ids.", nil, nil),
		overloaded: prometheus.NewDesc(MetricStoreOverloaded, "Prediction-log records refused because the queue was full.", nil, nil),
		maxBatch:   prometheus.NewDesc(MetricStoreMaxBatch, "The most records one InsertMany carried so far.", nil, nil),
		conflicts: prometheus.NewDesc(MetricStoreDrainConflicts,
			"Spooled records acknowledged while the database was down and not stored at drain: their id was stored meanwhile, by another record or unverified.", nil, nil),
	}
	for _, c := range []prometheus.Collector{s.batchSize, s.writeDur, s} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("monitor: register store metrics: %w", err)
		}
	}
	return s, nil
}

// ObserveWrite records one InsertMany of n records that took d.
func (s *StoreMetrics) ObserveWrite(n int, d time.Duration) {
	s.batchSize.Observe(float64(n))
	s.writeDur.Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (s *StoreMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.queue, s.batches, s.records, s.failed, s.dups, s.overloaded, s.maxBatch, s.conflicts} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *StoreMetrics) Collect(ch chan<- prometheus.Metric) {
	if s.stats == nil {
		return
	}
	st := s.stats()
	ch <- prometheus.MustNewConstMetric(s.queue, prometheus.GaugeValue, float64(st.Queued))
	ch <- prometheus.MustNewConstMetric(s.batches, prometheus.CounterValue, float64(st.Batches))
	ch <- prometheus.MustNewConstMetric(s.records, prometheus.CounterValue, float64(st.Records))
	ch <- prometheus.MustNewConstMetric(s.failed, prometheus.CounterValue, float64(st.Failed))
	ch <- prometheus.MustNewConstMetric(s.dups, prometheus.CounterValue, float64(st.Duplicates))
	ch <- prometheus.MustNewConstMetric(s.overloaded, prometheus.CounterValue, float64(st.Overloaded))
	ch <- prometheus.MustNewConstMetric(s.maxBatch, prometheus.GaugeValue, float64(st.MaxBatch))
	ch <- prometheus.MustNewConstMetric(s.conflicts, prometheus.CounterValue, float64(st.DrainConflicts+st.DrainUnverified))
}
