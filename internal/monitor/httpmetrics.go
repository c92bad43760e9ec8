package monitor

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/store"
)

// HTTP metric names (service health).
const (
	MetricHTTPRequests        = "modelmon_http_requests_total"
	MetricHTTPDuration        = "modelmon_http_request_duration_seconds"
	MetricHTTPInFlight        = "modelmon_http_requests_in_flight"
	MetricStoreQueue          = "modelmon_store_queue_records"
	MetricStoreBatches        = "modelmon_store_batches_total"
	MetricStoreRecords        = "modelmon_store_records_total"
	MetricStoreFailed         = "modelmon_store_records_failed_total"
	MetricStoreDuplicates     = "modelmon_store_records_duplicate_total"
	MetricStoreOverloaded     = "modelmon_store_records_overloaded_total"
	MetricStoreMaxBatch       = "modelmon_store_max_batch_records"
	MetricStoreWriteBatchSize = "modelmon_store_write_batch_records"
	MetricStoreWriteDuration  = "modelmon_store_write_duration_seconds"
)

// HTTPDurationBuckets are the latency buckets of modelmon_http_request_duration_seconds:
// fine around the 50 ms p99 objective of /predict.
var HTTPDurationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// HTTPMetrics returns a chi middleware that counts requests
// (modelmon_http_requests_total{route, method, code}), times them
// (modelmon_http_request_duration_seconds{route, method}) and tracks those in flight,
// registered on reg. route is the chi route pattern (e.g. /iterate/{dataset}), or
// "unmatched" for requests no route matched, so URLs never become label values.
// Mount it with r.Use on the top-level chi router (first, so that it also counts the
// 500s of a panic-recovery middleware and the 503s of a timeout middleware), or wrap
// a chi router from outside: mw(router).
func HTTPMetrics(reg prometheus.Registerer) (func(http.Handler) http.Handler, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricHTTPRequests,
		Help: "HTTP requests served, by chi route pattern, method and status code."}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricHTTPDuration,
		Help: "HTTP request latency, by chi route pattern and method.", Buckets: HTTPDurationBuckets}, []string{"route", "method"})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricHTTPInFlight, Help: "HTTP requests being served."})
	for _, c := range []prometheus.Collector{requests, duration, inflight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("monitor: register http metrics: %w", err)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			inflight.Inc()
			rctx := chi.RouteContext(r.Context())
			if rctx == nil {
				// Wrapped around a router from outside: give the router the routing
				// context up front, so that its route pattern can be read afterwards.
				rctx = chi.NewRouteContext()
				if rt, ok := next.(chi.Routes); ok {
					rctx.Routes = rt
				}
				r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
			}
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				inflight.Dec()
				route := rctx.RoutePattern()
				if route == "" {
					route = "unmatched"
				}
				method := r.Method
				if !knownMethods[method] {
					method = "OTHER"
				}
				code := ww.Status()
				if code == 0 {
					code = http.StatusOK
				}
				if rec := recover(); rec != nil {
					code = http.StatusInternalServerError
					requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
					duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
					panic(rec)
				}
				requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
				duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
			}()
			next.ServeHTTP(ww, r)
		})
	}, nil
}

// StoreMetrics exports the prediction log's health: the backlog and cumulative
// counters of a store.Logger (read at scrape time from its Stats), and, when the
// writer reports each InsertMany through ObserveWrite, batch size and write latency
// histograms.
type StoreMetrics struct {
	stats     func() store.LoggerStats
	batchSize prometheus.Histogram
	writeDur  prometheus.Histogram

	queue, batches, records, failed, dups, overloaded, maxBatch *prometheus.Desc
}

// NewStoreMetrics registers the prediction-log metrics on reg; stats is typically
// (*store.Logger).Stats.
func NewStoreMetrics(reg prometheus.Registerer, stats func() store.LoggerStats) (*StoreMetrics, error) {
	s := &StoreMetrics{
		stats: stats,
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricStoreWriteBatchSize,
			Help: "Records per InsertMany of the prediction log.", Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
		writeDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricStoreWriteDuration,
			Help: "Latency of one InsertMany of the prediction log.", Buckets: HTTPDurationBuckets}),
		queue:      prometheus.NewDesc(MetricStoreQueue, "Prediction-log records waiting for a writer (the log backlog).", nil, nil),
		batches:    prometheus.NewDesc(MetricStoreBatches, "InsertMany calls made by the prediction log.", nil, nil),
		records:    prometheus.NewDesc(MetricStoreRecords, "Prediction-log records acknowledged by the database.", nil, nil),
		failed:     prometheus.NewDesc(MetricStoreFailed, "Prediction-log records the database refused or did not acknowledge.", nil, nil),
		dups:       prometheus.NewDesc(MetricStoreDuplicates, "Prediction-log records refused as duplicate ids.", nil, nil),
		overloaded: prometheus.NewDesc(MetricStoreOverloaded, "Prediction-log records refused because the queue was full.", nil, nil),
		maxBatch:   prometheus.NewDesc(MetricStoreMaxBatch, "The most records one InsertMany carried so far.", nil, nil),
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
	for _, d := range []*prometheus.Desc{s.queue, s.batches, s.records, s.failed, s.dups, s.overloaded, s.maxBatch} {
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
}
