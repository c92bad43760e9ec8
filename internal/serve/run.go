package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
)

// Options configure Run.
type Options struct {
	Addr      string // listen address, e.g. 127.0.0.1:9696 (":0" picks a port)
	MongoURI  string // e.g. mongodb://127.0.0.1:27017
	ModelPath string // model artifact, e.g. models/duration_model.json
	// Model, when set, is used instead of loading ModelPath (a caller that needs the
	// model too loads it once).
	Model *model.Model

	HTTP  Config              // request knobs
	Store store.LoggerOptions // group-commit knobs

	// SpoolDir, when set, is the directory of the on-disk spool that takes the
	// predictions while the database is down (internal/spool); empty: no spool,
	// /predict answers 503 while the database is down. SpoolMaxBytes bounds it
	// (default spool.DefaultMaxBytes); when it is full /predict answers 503.
	SpoolDir      string
	SpoolMaxBytes int64
	// Registerer, when set, receives the gauges modelmon_spool_records and
	// modelmon_spool_bytes (the backlog of the spool).
	Registerer prometheus.Registerer

	// ReadHeaderTimeout, ReadTimeout and IdleTimeout of the http.Server;
	// defaults 5s, RequestTimeout+5s and 2m.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration

	// ShutdownTimeout bounds the graceful stop (in-flight requests, then the
	// flush of the prediction log); default 15s.
	ShutdownTimeout time.Duration

	Logger *slog.Logger

	// Middleware is Deps.Middleware: runs before the service's own.
	Middleware []func(http.Handler) http.Handler
	// OnRecord is Deps.OnRecord: called for every logged prediction.
	OnRecord func(Record)
	// Routes, when set, is called before serving to add routes (e.g. /metrics)
	// to the service's router; it may keep s (e.g. for s.Stats).
	Routes func(r chi.Router, s *Server)
	// OnListen, when set, is called with the bound address once the service
	// accepts connections.
	OnListen func(addr string)
}

// Run loads the model, connects to MongoDB, serves until ctx ends, and then stops
// gracefully: /readyz turns 503, in-flight requests finish (each waits for its
// batch's acknowledgement), the prediction log flushes what is still queued, and the
// client disconnects. The database may be down at start: /readyz says so until it
// answers.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 15 * time.Second
	}
	m := opts.Model
	if m == nil {
		var err error
		if m, err = model.Load(opts.ModelPath); err != nil {
			return fmt.Errorf("online: %w", err)
		}
	}
	client, err := mongodb.Connect(ctx, opts.MongoURI)
	if err != nil {
		return fmt.Errorf("online: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := client.Disconnect(dctx); err != nil {
			log.Warn("mongodb disconnect", "err", err)
		}
	}()
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := mongodb.Ping(pingCtx, client); err != nil {
		log.Warn("mongodb not reachable yet; /readyz answers 503 until it is", "mongodb", mongodb.RedactURI(opts.MongoURI), "err", err)
	}
	cancel()

	sopts := opts.Store
	if sopts.Logger == nil {
		sopts.Logger = log
	}
	var sp *spool.Spool
	if opts.SpoolDir != "" {
		sp, err = spool.Open(spool.Options{Dir: opts.SpoolDir, MaxBytes: opts.SpoolMaxBytes, Logger: log})
		if err != nil {
			return fmt.Errorf("online: %w", err)
		}
		defer func() {
			if err := sp.Close(); err != nil {
				log.Error("closing the spool", "err", err)
			}
		}()
		sopts.Spool = sp
		if opts.Registerer != nil {
			if err := RegisterSpoolMetrics(opts.Registerer, sp); err != nil {
				return fmt.Errorf("online: %w", err)
			}
		}
	}
	plog := store.NewLogger(mongodb.DataCollection(client), sopts)
	srv, err := New(opts.HTTP, Deps{
		Model:      m,
		Sink:       plog,
		Ping:       func(ctx context.Context) error { return mongodb.Ping(ctx, client) },
		Logger:     log,
		Spool:      sp,
		OnRecord:   opts.OnRecord,
		Middleware: opts.Middleware,
	})
	if err != nil {
		_ = plog.Close(context.Background())
		return err
	}
	if opts.Routes != nil {
		opts.Routes(srv.Router(), srv)
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		_ = plog.Close(context.Background())
		return fmt.Errorf("online: listen %s: %w", opts.Addr, err)
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 5 * time.Second
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = srv.cfg.RequestTimeout + 5*time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      srv.cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	so := plog.Options()
	log.Info("online service listening", "addr", ln.Addr().String(),
		"mongodb", mongodb.RedactURI(opts.MongoURI), "database", mongodb.Database, "collection", mongodb.CollectionData,
		"model", opts.ModelPath, "model_version", m.Version,
		"batch_size", so.BatchSize, "batch_delay", so.BatchDelay, "queue_size", so.QueueSize, "writers", so.Writers,
		"spool_dir", opts.SpoolDir, "max_concurrent", srv.cfg.MaxConcurrent, "ingest_token", srv.cfg.IngestToken != "")
	if opts.OnListen != nil {
		opts.OnListen(ln.Addr().String())
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: draining requests and flushing the prediction log")
	case err := <-serveErr:
		runErr = fmt.Errorf("online: serve: %w", err)
	}
	srv.SetDraining()
	sctx, scancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("online: shutdown: %w", err))
	}
	if err := plog.Close(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("online: flush prediction log: %w", err))
	}
	st := plog.Stats()
	log.Info("stopped", "records", st.Records, "batches", st.Batches, "duplicates", st.Duplicates, "failed", st.Failed,
		"spooled", st.Spooled, "drained", st.Drained, "spool_records", st.SpoolRecords)
	return runErr
}

// RegisterSpoolMetrics registers the gauges modelmon_spool_records and
// modelmon_spool_bytes: the spool's backlog (records not yet drained to the database).
func RegisterSpoolMetrics(reg prometheus.Registerer, sp *spool.Spool) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelmon_spool_records",
			Help: "Predictions in the on-disk spool not yet drained to the database."},
			func() float64 { return float64(sp.Stats().Records) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelmon_spool_bytes",
			Help: "Bytes of the on-disk spool's segment files."},
			func() float64 { return float64(sp.Stats().Bytes) }),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("spool metrics: %w", err)
		}
	}
	return nil
}

// Stats returns the prediction log's counters when the Sink is a *store.Logger (or
// has such a Stats method), zero otherwise.
func (s *Server) Stats() store.LoggerStats {
	if st, ok := s.deps.Sink.(interface{ Stats() store.LoggerStats }); ok {
		return st.Stats()
	}
	return store.LoggerStats{}
}
