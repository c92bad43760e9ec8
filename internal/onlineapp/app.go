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

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/monitor"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/serve"
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
}

// Run serves until ctx ends. A bad monitoring config or reference fails at start,
// before the service listens.
func Run(ctx context.Context, o Options) error {
	log := o.Serve.Logger
	if log == nil {
		log = slog.Default()
	}
	reg := o.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	var mon *monitor.Monitor
	if o.MonitorConfig != "" {
		cfg, err := monitor.LoadConfig(o.MonitorConfig)
		if err != nil {
			return fmt.Errorf("online: %w", err)
		}
		if o.Serve.Model == nil {
			if o.Serve.Model, err = model.Load(o.Serve.ModelPath); err != nil {
				return fmt.Errorf("online: %w", err)
			}
		}
		mon, err = monitor.New(ctx, cfg, reg, log, monitor.WithModel(o.Serve.Model))
		if err != nil {
			return fmt.Errorf("online: %w", err)
		}
		go mon.Run(ctx)
		if !hasDataset(mon, PredictDataset) {
			log.Warn("monitoring config has no dataset for /predict: predictions are not monitored live", "dataset", PredictDataset, "config", o.MonitorConfig)
		}
	}
	if o.Serve.Registerer == nil {
		o.Serve.Registerer = reg // the spool's gauges
	}
	httpMW, err := monitor.HTTPMetrics(reg)
	if err != nil {
		return fmt.Errorf("online: %w", err)
	}
	o.Serve.Middleware = append([]func(http.Handler) http.Handler{httpMW}, o.Serve.Middleware...)
	prevOnRecord := o.Serve.OnRecord
	if mon != nil && hasDataset(mon, PredictDataset) {
		o.Serve.OnRecord = func(rec serve.Record) {
			mon.Observe(PredictDataset, report.TaxiRow(&rec.Trip, rec.Prediction, nil))
			if prevOnRecord != nil {
				prevOnRecord(rec)
			}
		}
	}
	// The store's metrics read the logger's stats, which exist once serve.Run has
	// built the server; the write hook forwards to them from then on.
	var sm atomic.Pointer[monitor.StoreMetrics]
	prevOnWrite := o.Serve.Store.OnWrite
	o.Serve.Store.OnWrite = func(n int, d time.Duration) {
		if m := sm.Load(); m != nil {
			m.ObserveWrite(n, d)
		}
		if prevOnWrite != nil {
			prevOnWrite(n, d)
		}
	}
	prevRoutes := o.Serve.Routes
	var routesErr error
	o.Serve.Routes = func(r chi.Router, s *serve.Server) {
		if mon != nil {
			mon.Routes(r)
		}
		r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		m, err := monitor.NewStoreMetrics(reg, s.Stats)
		if err != nil {
			routesErr = err
		} else {
			sm.Store(m)
		}
		if prevRoutes != nil {
			prevRoutes(r, s)
		}
	}
	if err := serve.Run(ctx, o.Serve); err != nil {
		return err
	}
	return routesErr
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

func hasDataset(m *monitor.Monitor, name string) bool {
	for _, d := range m.Datasets() {
		if d == name {
			return true
		}
	}
	return false
}
