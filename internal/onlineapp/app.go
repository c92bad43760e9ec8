package onlineapp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelmon/modelmon/internal/httpmetrics"
	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/monitor"
	"github.com/modelmon/modelmon/internal/serve"
	"github.com/modelmon/modelmon/internal/store"
)

// PredictDataset is the monitored dataset that /predict feeds in-process.
const PredictDataset = "taxi"

// Options configure Run: the service's options plus the live-monitoring config.
type Options struct {
	Serve serve.Options
	// MonitorConfig is the path of the monitoring config (config.yaml); empty: no live
	// monitoring, /metrics still serves the service's own metrics.
	MonitorConfig string
	// Registry receives every metric; nil: a new registry with the Go, process and
	// build-info collectors.
	Registry *prometheus.Registry
	// IterateMaxRecords, when > 0, bounds the records of a POST /iterate body in
	// place of the config's service.iterate_max_records (ITERATE_MAX_RECORDS).
	IterateMaxRecords int
}

// Run serves until ctx ends. Everything is assembled before the service listens, and
// any error of the assembly (a bad monitoring config or reference, a metric that does
// not register, a model that does not load) is returned then: the live monitor, the
// metrics, then the service (serve.Open) with the monitor's routes and /metrics in
// its route tree.
func Run(ctx context.Context, o Options) error {
	log := o.Serve.Logger
	if log == nil {
		log = slog.Default()
	}
	reg := o.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	so := o.Serve
	var mon *monitor.Monitor
	if o.MonitorConfig != "" {
		cfg, err := monitor.LoadConfig(o.MonitorConfig)
		if err != nil {
			return fmt.Errorf("online: %w", err)
		}
		if o.IterateMaxRecords > 0 {
			cfg.Service.IterateMaxRecords = o.IterateMaxRecords
		}
		if so.Model == nil {
			if so.Model, err = model.Load(so.ModelPath); err != nil {
				return fmt.Errorf("online: %w", err)
			}
		}
		mon, err = monitor.New(ctx, cfg, reg, log, monitor.WithModel(so.Model))
		if err != nil {
			return fmt.Errorf("online: %w", err)
		}
		if !hasDataset(mon, PredictDataset) {
			log.Warn("monitoring config has no dataset for /predict: predictions are not monitored live", "dataset", PredictDataset, "config", o.MonitorConfig)
		} else if so.HTTP.PlausibleRanges == nil {
			so.HTTP.PlausibleRanges = predictRanges(cfg.Datasets[PredictDataset])
		}
	}

	// Metrics: HTTP (outermost middleware), the prediction log, the spool (serve.Open).
	httpMW, err := httpmetrics.New(reg)
	if err != nil {
		return fmt.Errorf("online: %w", err)
	}
	so.Middleware = append([]func(http.Handler) http.Handler{httpMW}, so.Middleware...)
	// The prediction log's counters exist once serve.Open has built it; until then
	// (no scrape can come before the service listens) they read as zero.
	var svcp atomic.Pointer[serve.Service]
	sm, err := monitor.NewStoreMetrics(reg, func() store.LoggerStats {
		if svc := svcp.Load(); svc != nil {
			return svc.Stats()
		}
		return store.LoggerStats{}
	})
	if err != nil {
		return fmt.Errorf("online: %w", err)
	}
	prevOnWrite := so.Store.OnWrite
	so.Store.OnWrite = func(n int, d time.Duration) {
		sm.ObserveWrite(n, d)
		if prevOnWrite != nil {
			prevOnWrite(n, d)
		}
	}
	if so.Registerer == nil {
		so.Registerer = reg // the spool's gauges
	}
	if so.Routes.Metrics == nil {
		so.Routes.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	}

	// The live monitor: fed in-process by /predict, and by /iterate/{dataset}.
	if mon != nil {
		if hasDataset(mon, PredictDataset) {
			prevOnRecord := so.OnRecord
			so.OnRecord = func(rec serve.Record) {
				mon.ObserveTrip(PredictDataset, &rec.Trip, rec.Prediction) // report.TaxiRow's columns, no row built
				if prevOnRecord != nil {
					prevOnRecord(rec)
				}
			}
		}
	}
	// The monitor's routes are always in the tree (behind the token): without live
	// monitoring they answer 404.
	prevIngest := so.Routes.Ingest
	so.Routes.Ingest = func(r chi.Router) {
		if mon != nil {
			mon.Routes(r)
		} else {
			off := func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"error":"live monitoring is off (no monitoring config)"}` + "\n"))
			}
			r.Post("/iterate/{dataset}", off)
			r.Get("/monitor/{dataset}/report", off)
		}
		if prevIngest != nil {
			prevIngest(r)
		}
	}

	svc, err := serve.Open(ctx, so)
	if err != nil {
		return err
	}
	svcp.Store(svc)
	if mon != nil {
		go mon.Run(ctx)
	}
	return svc.Serve(ctx)
}

// NewRegistry is a registry with the Go, process and build-info collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return reg
}

// predictRanges are the plausible ranges of the /predict dataset's features (the
// prediction's range, if any, is not an input).
func predictRanges(d *monitor.DatasetConfig) map[string]metrics.Range {
	rs := d.Ranges()
	delete(rs, d.PredictionColumn())
	if len(rs) == 0 {
		return nil
	}
	return rs
}

func hasDataset(m *monitor.Monitor, name string) bool {
	for _, d := range m.Datasets() {
		if d == name {
			return true
		}
	}
	return false
}
