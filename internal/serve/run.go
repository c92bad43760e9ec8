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

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/store"
)

// Options configure Run.
type Options struct {
	Addr      string // listen address, e.g. 127.0.0.1:9696 (":0" picks a port)
	MongoURI  string // e.g. mongodb://127.0.0.1:27017
	ModelPath string // model artifact, e.g. models/duration_model.json

	HTTP  Config              // request knobs
	Store store.LoggerOptions // group-commit knobs

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
	m, err := model.Load(opts.ModelPath)
	if err != nil {
		return fmt.Errorf("online: %w", err)
	}
	client, err := store.Connect(ctx, opts.MongoURI)
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
	if err := store.Ping(pingCtx, client); err != nil {
		log.Warn("mongodb not reachable yet; /readyz answers 503 until it is", "mongodb", store.RedactURI(opts.MongoURI), "err", err)
	}
	cancel()

	sopts := opts.Store
	if sopts.Logger == nil {
		sopts.Logger = log
	}
	plog := store.NewLogger(store.DataCollection(client), sopts)
	srv, err := New(opts.HTTP, Deps{
		Model:      m,
		Sink:       plog,
		Ping:       func(ctx context.Context) error { return store.Ping(ctx, client) },
		Logger:     log,
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
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       srv.cfg.RequestTimeout + 5*time.Second,
		WriteTimeout:      srv.cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	so := plog.Options()
	log.Info("online service listening", "addr", ln.Addr().String(),
		"mongodb", store.RedactURI(opts.MongoURI), "database", store.Database, "collection", store.CollectionData,
		"model", opts.ModelPath, "model_version", m.Version,
		"batch_size", so.BatchSize, "batch_delay", so.BatchDelay, "queue_size", so.QueueSize, "writers", so.Writers)
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
	log.Info("stopped", "records", st.Records, "batches", st.Batches, "duplicates", st.Duplicates, "failed", st.Failed)
	return runErr
}

// Stats returns the prediction log's counters when the Sink is a *store.Logger (or
// has such a Stats method), zero otherwise.
func (s *Server) Stats() store.LoggerStats {
	if st, ok := s.deps.Sink.(interface{ Stats() store.LoggerStats }); ok {
		return st.Stats()
	}
	return store.LoggerStats{}
}
