package httpmetrics

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names. Dashboards and alerts use them: do not rename.
const (
	MetricRequests = "modelmon_http_requests_total"
	MetricDuration = "modelmon_http_request_duration_seconds"
	MetricInFlight = "modelmon_http_requests_in_flight"
)

// DurationBuckets are the latency buckets of modelmon_http_request_duration_seconds:
// fine around the 50 ms p99 objective of /predict.
var DurationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Unmatched is the route label of a request that no route matched.
const Unmatched = "unmatched"

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// New returns a chi middleware that counts requests
// (modelmon_http_requests_total{route, method, code}), times them
// (modelmon_http_request_duration_seconds{route, method}) and tracks those in flight
// (modelmon_http_requests_in_flight), registered on reg. route is the chi route
// pattern, chi.RouteContext(r.Context()).RoutePattern() (e.g. /iterate/{dataset}),
// or "unmatched" for requests no route matched, so URLs never become label values;
// a method outside the standard ones is "OTHER".
//
// Mount it with r.Use on the top-level chi router, first, so that it also counts the
// 500s of a panic-recovery middleware and the 503s of a timeout or concurrency cap,
// or wrap a chi router from outside: mw(router).
func New(reg prometheus.Registerer) (func(http.Handler) http.Handler, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRequests,
		Help: "HTTP requests served, by chi route pattern, method and status code."}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricDuration,
		Help: "HTTP request latency, by chi route pattern and method.", Buckets: DurationBuckets}, []string{"route", "method"})
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricInFlight, Help: "HTTP requests being served."})
	for _, c := range []prometheus.Collector{requests, duration, inflight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("httpmetrics: register: %w", err)
		}
	}
	// The children of a (route, method, code), resolved once: WithLabelValues
	// hashes the label values and takes the vector's lock at every call.
	type key struct {
		route, method string
		code          int
	}
	type child struct {
		requests prometheus.Counter
		duration prometheus.Observer
	}
	var (
		mu       sync.RWMutex
		children = map[key]child{}
	)
	observe := func(route, method string, code int, d time.Duration) {
		k := key{route, method, code}
		mu.RLock()
		c, ok := children[k]
		mu.RUnlock()
		if !ok {
			c = child{requests.WithLabelValues(route, method, strconv.Itoa(code)), duration.WithLabelValues(route, method)}
			mu.Lock()
			children[k] = c
			mu.Unlock()
		}
		c.requests.Inc()
		c.duration.Observe(d.Seconds())
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
					route = Unmatched
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
					observe(route, method, http.StatusInternalServerError, time.Since(start))
					panic(rec)
				}
				observe(route, method, code, time.Since(start))
			}()
			next.ServeHTTP(ww, r)
		})
	}, nil
}
