package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
)

// Options configure Open and Run.
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
	// SpoolOnly (benchmarks only: bench/predictstack --store spool-only) logs the
	// predictions to the spool only, never to a database: MongoURI is not used,
	// SpoolDir is required, and /readyz reports the spool (see
	// store.LoggerOptions.SpoolOnly).
	SpoolOnly bool
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
	// Routes is Deps.Routes: the routes added to the service's own (the live
	// monitor's, /metrics), each in its group of the route tree.
	Routes Routes
	// OnListen, when set, is called with the bound address once the service
	// accepts connections.
	OnListen func(addr string)
}

// Run is Open then Serve: it loads the model, connects to MongoDB, serves until ctx
// ends, and then stops gracefully (see Serve). The database may be down at start:
// /readyz says so until it answers.
func Run(ctx context.Context, opts Options) error {
	svc, err := Open(ctx, opts)
	if err != nil {
		return err
	}
	return svc.Serve(ctx)
}

// Service is the online service assembled by Open, not yet listening: the model, the
// MongoDB client, the spool, the prediction log and the route tree. Serve runs it;
// Close releases it when it is not to be served.
type Service struct {
	opts   Options
	log    *slog.Logger
	model  *model.Model
	client *mongo.Client
	spool  *spool.Spool
	plog   *store.Logger
	srv    *Server
}

// Open assembles the service: it loads the model (unless Options.Model is set),
// connects to MongoDB (a database that does not answer yet is only logged), opens the
// spool, registers the spool gauges and builds the prediction log and the route tree.
// Every error of the assembly is returned here, before anything listens; what was
// opened is released then.
func Open(ctx context.Context, opts Options) (_ *Service, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 15 * time.Second
	}
	svc := &Service{opts: opts, log: log, model: opts.Model}
	if svc.model == nil {
		if svc.model, err = model.Load(opts.ModelPath); err != nil {
			return nil, fmt.Errorf("online: %w", err)
		}
	}
	defer func() {
		if err != nil {
			svc.release(context.Background())
		}
	}()
	if opts.SpoolOnly && opts.SpoolDir == "" {
		return nil, errors.New("online: spool-only needs a spool directory")
	}
	if !opts.SpoolOnly {
		if svc.client, err = mongodb.Connect(ctx, opts.MongoURI); err != nil {
			return nil, fmt.Errorf("online: %w", err)
		}
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := mongodb.Ping(pingCtx, svc.client); err != nil {
			log.Warn("mongodb not reachable yet; /readyz answers 503 until it is", "mongodb", mongodb.RedactURI(opts.MongoURI), "err", err)
		}
		cancel()
	}

	sopts := opts.Store
	if sopts.Logger == nil {
		sopts.Logger = log
	}
	if opts.SpoolDir != "" {
		if svc.spool, err = spool.Open(spool.Options{Dir: opts.SpoolDir, MaxBytes: opts.SpoolMaxBytes, Logger: log}); err != nil {
			return nil, fmt.Errorf("online: %w", err)
		}
		sopts.Spool = svc.spool
		sopts.SpoolOnly = opts.SpoolOnly
		if opts.Registerer != nil {
			if err := RegisterSpoolMetrics(opts.Registerer, svc.spool); err != nil {
				return nil, fmt.Errorf("online: %w", err)
			}
		}
	}
	var ping func(ctx context.Context) error
	if client := svc.client; client != nil {
		sopts.WriteConcern = mongodb.URIWriteConcern(opts.MongoURI)
		svc.plog = store.NewLogger(mongodb.DataCollection(client), sopts)
		ping = func(ctx context.Context) error { return mongodb.Ping(ctx, client) }
	} else {
		svc.plog = store.NewLogger(nil, sopts)
	}
	svc.srv, err = New(opts.HTTP, Deps{
		Model:      svc.model,
		Sink:       svc.plog,
		Ping:       ping,
		Logger:     log,
		Spool:      svc.spool,
		OnRecord:   opts.OnRecord,
		Middleware: opts.Middleware,
		Routes:     opts.Routes,
	})
	if err != nil {
		return nil, err
	}
	return svc, nil
}

// Stats are the prediction log's counters.
func (svc *Service) Stats() store.LoggerStats { return svc.plog.Stats() }

// Handler is the service's http.Handler (the route tree).
func (svc *Service) Handler() *Server { return svc.srv }

// Close releases a service that was opened and is not to be served: it flushes the
// prediction log, closes the spool and disconnects from MongoDB.
func (svc *Service) Close(ctx context.Context) error {
	return svc.release(ctx)
}

// release closes what Open opened, in the reverse order.
func (svc *Service) release(ctx context.Context) error {
	var err error
	if svc.plog != nil {
		if cerr := svc.plog.Close(ctx); cerr != nil {
			err = fmt.Errorf("online: flush prediction log: %w", cerr)
		}
	}
	svc.closeSpoolAndClient()
	return err
}

func (svc *Service) closeSpoolAndClient() {
	if svc.spool != nil {
		if err := svc.spool.Close(); err != nil {
			svc.log.Error("closing the spool", "err", err)
		}
	}
	if svc.client != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.client.Disconnect(dctx); err != nil {
			svc.log.Warn("mongodb disconnect", "err", err)
		}
	}
}

// Serve listens on Options.Addr and serves until ctx ends, and then stops gracefully:
// /readyz turns 503, in-flight requests finish (each waits for its batch's
// acknowledgement), the prediction log flushes what is still queued, the spool
// closes and the client disconnects. A service is served once.
func (svc *Service) Serve(ctx context.Context) error {
	opts, log, srv, plog := svc.opts, svc.log, svc.srv, svc.plog
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		_ = svc.release(context.Background())
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
		"model", opts.ModelPath, "model_version", svc.model.Version,
		"batch_size", so.BatchSize, "batch_delay", so.BatchDelay, "spool_batch_delay", so.SpoolBatchDelay, "queue_size", so.QueueSize, "writers", so.Writers,
		"spool_dir", opts.SpoolDir, "spool_only", opts.SpoolOnly, "max_concurrent", srv.cfg.MaxConcurrent, "ingest_token", srv.cfg.IngestToken != "")
	if opts.OnListen != nil {
		opts.OnListen(ln.Addr().String())
	}
	// The start-up's garbage (the model's, a monitoring reference's and
	// estimator's decoding) is collected and given back before serving: the first
	// heap goal under load is then GOGC% over the service's live heap, not over the
	// start-up's peak (with GOGC=400 that peak made the heap, and RSS, grow to 5x
	// of it during the first seconds of load).
	debug.FreeOSMemory()
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
	svc.closeSpoolAndClient()
	return runErr
}

// RegisterSpoolMetrics registers the gauges modelmon_spool_records and
// modelmon_spool_bytes (the spool's backlog: records not yet drained to the database)
// and the counters of what the spool lost or refused: corrupt frames skipped, torn
// tails truncated, failed fsyncs.
func RegisterSpoolMetrics(reg prometheus.Registerer, sp *spool.Spool) error {
	counter := func(name, help string, v func(spool.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(sp.Stats())) })
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelmon_spool_records",
			Help: "Predictions in the on-disk spool not yet drained to the database."},
			func() float64 { return float64(sp.Stats().Records) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "modelmon_spool_bytes",
			Help: "Bytes of the on-disk spool's segment files."},
			func() float64 { return float64(sp.Stats().Bytes) }),
		counter("modelmon_spool_corrupt_bytes_total", "Bytes of corrupt spool frames skipped (their records are lost).",
			func(s spool.Stats) int64 { return s.CorruptBytes }),
		counter("modelmon_spool_corrupt_frames_total", "Corrupt spool frames skipped (estimated from their sync markers).",
			func(s spool.Stats) int64 { return s.CorruptFrames }),
		counter("modelmon_spool_truncated_bytes_total", "Bytes of torn spool tails cut off at start (appends cut by a crash).",
			func(s spool.Stats) int64 { return s.TruncatedBytes }),
		counter("modelmon_spool_fsync_errors_total", "Failed fsyncs of the spool (their appends were answered with an error).",
			func(s spool.Stats) int64 { return s.SyncErrors }),
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
