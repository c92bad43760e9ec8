// Command predictstack runs the online service against an embedded FerretDB (SQLite
// backend) in a temporary directory, in one process: the stack the /predict
// benchmark measures (bench/README.md). It takes the online service's flags, except
// that --mongodb-address is replaced by the embedded server.
//
//	go run ./bench/predictstack                       # service on 127.0.0.1:9696
//	go run ./bench/predictstack --pprof-addr 127.0.0.1:6060
//
// Two benchmark modes measure the service without the database's cost:
//
//	--store spool-only   the service exactly as above, but the prediction log writes
//	                     every batch to the durable on-disk spool only (fsynced group
//	                     commit, duplicate check; no database, nothing drained): what
//	                     the service does when the store is fast.
//	--bare               not the service: a bare net/http handler that decodes the
//	                     ride with encoding/json, predicts with the same model and
//	                     answers the same JSON (no validation, no log, no metrics):
//	                     the ceiling of a Go JSON handler on this machine.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-chi/chi/v5"

	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/onlineapp"
	"github.com/modelmon/modelmon/internal/serve"
)

func main() {
	serve.TuneGC(os.Getenv)
	var f serve.Flags
	fs := flag.NewFlagSet("predictstack", flag.ContinueOnError)
	_, envErr := f.Register(fs, os.Getenv)
	dir := fs.String("dir", "", "directory of the embedded FerretDB's SQLite files (default: a new temporary directory, removed at exit)")
	ferretAddr := fs.String("ferret-addr", "127.0.0.1:0", "listen address of the embedded FerretDB")
	ferretSync := fs.String("ferret-sync", "full", "SQLite synchronous pragma of the embedded FerretDB: full (SQLite's default: an fsync at every commit) or normal (WAL: fsync at checkpoints only; survives a crash of the process, not of the machine)")
	fs.StringVar(&monitorConfig, "monitor-config", "", "live-monitoring config (e.g. config.yaml): run the online command with live monitoring; empty: the bare service")
	ferretLog := fs.Bool("ferret-log", false, "pass FerretDB's logs to the log (costly: FerretDB formats every SQL statement it runs)")
	storeMode := fs.String("store", "ferretdb", "prediction log: ferretdb (the embedded FerretDB, with the spool if --spool-dir is set) or spool-only (BENCHMARK MODE: the durable on-disk spool only, no database; the spool in --dir or a new temporary directory, never --spool-dir)")
	bare := fs.Bool("bare", false, "BENCHMARK CEILING: serve a bare net/http JSON handler for POST /predict instead of the service (no validation, no log, no metrics)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if envErr != nil {
		fmt.Fprintln(os.Stderr, "predictstack:", envErr)
		os.Exit(2)
	}
	if err := f.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "predictstack:", err)
		os.Exit(2)
	}
	log, err := f.NewLogger(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "predictstack:", err)
		os.Exit(2)
	}
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err2 error
	switch {
	case *bare:
		if f.PprofAddr != "" {
			go serve.ServePprof(ctx, f.PprofAddr, log)
		}
		err2 = runBare(ctx, f, log)
	case *storeMode == "spool-only":
		err2 = runSpoolOnly(ctx, f, *dir, log)
	case *storeMode == "ferretdb":
		err2 = run(ctx, f, *dir, *ferretAddr, *ferretSync, *ferretLog, log)
	default:
		fmt.Fprintf(os.Stderr, "predictstack: --store %q: want ferretdb or spool-only\n", *storeMode)
		os.Exit(2)
	}
	if err := err2; err != nil {
		log.Error("predictstack", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f serve.Flags, dir, ferretAddr, ferretSync string, ferretLog bool, log *slog.Logger) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "predictstack-")
		if err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	var flog *slog.Logger // nil: discarded
	if ferretLog {
		flog = log.With("component", "ferretdb")
	}
	srv, err := mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: ferretAddr, Logger: flog,
		Pragmas: []string{"synchronous(" + ferretSync + ")"}})
	if err != nil {
		return err
	}
	defer srv.Stop()
	log.Info("embedded FerretDB", "addr", srv.Addr, "dir", dir, "synchronous", ferretSync)
	if f.PprofAddr != "" {
		go serve.ServePprof(ctx, f.PprofAddr, log)
	}
	opts := f.Options
	opts.MongoURI = srv.URI
	return serveStack(ctx, opts, log)
}

// runSpoolOnly serves the service with a prediction log on the spool only.
func runSpoolOnly(ctx context.Context, f serve.Flags, dir string, log *slog.Logger) error {
	opts := f.Options
	// Never the service's own spool (--spool-dir, default var/spool): its records
	// would be drained to a real database by the next real start.
	if dir == "" {
		d, err := os.MkdirTemp("", "predictstack-spool-")
		if err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	opts.SpoolDir = dir
	opts.SpoolOnly = true
	opts.MongoURI = ""
	log.Warn("BENCHMARK MODE --store spool-only: predictions are logged to the on-disk spool only, never to a database", "spool_dir", opts.SpoolDir)
	if f.PprofAddr != "" {
		go serve.ServePprof(ctx, f.PprofAddr, log)
	}
	return serveStack(ctx, opts, log)
}

// serveStack runs the service (or the online command, with --monitor-config) with
// GET /debug/stats.
func serveStack(ctx context.Context, opts serve.Options, log *slog.Logger) error {
	opts.Logger = log
	// GET /debug/stats: the prediction log's counters (records, InsertMany calls,
	// largest batch), to read the batch sizes of a benchmark.
	opts.Routes.Extra = func(r chi.Router, s *serve.Server) {
		r.Get("/debug/stats", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.Stats())
		})
	}
	if monitorConfig != "" {
		// The live monitor on: the online command exactly (onlineapp), for the
		// "monitoring costs less than 15%" comparison.
		return onlineapp.Run(ctx, onlineapp.Options{Serve: opts, MonitorConfig: monitorConfig})
	}
	return serve.Run(ctx, opts)
}

// monitorConfig is --monitor-config: empty runs the bare service (the spine's figure).
var monitorConfig string
