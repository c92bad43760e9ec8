package serve

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
)

// Defaults of the command line.
const (
	DefaultAddr      = "127.0.0.1:9696"
	DefaultMongoURI  = "mongodb://127.0.0.1:27017"
	DefaultModelPath = "models/duration_model.json"
	DefaultSpoolDir  = "var/spool"
)

// Flags is the command line of the online service: every flag also reads an
// environment variable (the flag wins over the variable, the variable over the
// default).
type Flags struct {
	Options   Options
	LogLevel  string // debug, info, warn, error
	LogFormat string // text or json
	PprofAddr string // serve net/http/pprof there when set
}

// Register defines the flags on fs with defaults from getenv. A variable that does
// not parse is an error (the flags are still defined).
func (f *Flags) Register(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	str := func(p *string, name, env, def, usage string) {
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+env+")")
	}
	num := func(p *int, name, env string, def int, usage string) {
		if v := getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not an integer", env, v))
			} else {
				def = n
			}
		}
		fs.IntVar(p, name, def, usage+" (env "+env+")")
	}
	dur := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		if v := getenv(env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a duration such as 2ms", env, v))
			} else {
				def = d
			}
		}
		fs.DurationVar(p, name, def, usage+" (env "+env+")")
	}
	num64 := func(p *int64, name, env string, def int64, usage string) {
		if v := getenv(env); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not an integer", env, v))
			} else {
				def = n
			}
		}
		fs.Int64Var(p, name, def, usage+" (env "+env+")")
	}
	o := &f.Options
	str(&o.Addr, "addr", "ONLINE_ADDR", DefaultAddr, "HTTP listen address")
	str(&o.MongoURI, "mongodb", "MONGODB_ADDRESS", DefaultMongoURI, "MongoDB URI of the prediction log (credentials are never logged)")
	str(&o.ModelPath, "model", "MODEL_PATH", DefaultModelPath, "model artifact")
	num(&o.Store.BatchSize, "batch-size", "LOG_BATCH_SIZE", store.DefaultBatchSize, "most prediction records in one InsertMany")
	dur(&o.Store.BatchDelay, "batch-delay", "LOG_BATCH_DELAY", 0, "longest a batch waits for more records after its first (0: none; batches also grow under load by themselves)")
	num(&o.Store.QueueSize, "queue-size", "LOG_QUEUE_SIZE", store.DefaultQueueSize, "records that may wait for the database; beyond it /predict answers 503")
	num(&o.Store.Writers, "writers", "LOG_WRITERS", store.DefaultWriters, "InsertMany calls in flight at once")
	dur(&o.Store.WriteTimeout, "write-timeout", "LOG_WRITE_TIMEOUT", store.DefaultWriteTimeout, "bound on one InsertMany")
	dur(&o.HTTP.RequestTimeout, "request-timeout", "REQUEST_TIMEOUT", DefaultRequestTimeout, "bound on one request, database acknowledgement included")
	dur(&o.ShutdownTimeout, "shutdown-timeout", "SHUTDOWN_TIMEOUT", 15*time.Second, "bound on the graceful stop (in-flight requests and the log flush)")
	str(&o.SpoolDir, "spool-dir", "SPOOL_DIR", DefaultSpoolDir, "directory of the on-disk spool that keeps predictions while the database is down (empty: no spool, 503 instead)")
	num64(&o.SpoolMaxBytes, "spool-max-bytes", "SPOOL_MAX_BYTES", spool.DefaultMaxBytes, "bound on the spool; when full /predict answers 503")
	num(&o.HTTP.MaxConcurrent, "max-concurrent", "MAX_CONCURRENT", DefaultMaxConcurrent, "requests handled at once; beyond it 503 with Retry-After (negative: no cap)")
	dur(&o.ReadHeaderTimeout, "read-header-timeout", "READ_HEADER_TIMEOUT", 5*time.Second, "bound on reading a request's headers (slow clients are disconnected)")
	dur(&o.IdleTimeout, "idle-timeout", "IDLE_TIMEOUT", 2*time.Minute, "keep-alive connections idle longer are closed")
	str(&o.HTTP.IngestToken, "ingest-token", "INGEST_TOKEN", "", "when set, the live monitor's /iterate/{dataset} and /monitor/{dataset}/report require 'Authorization: Bearer <token>' (prefer the variable: flags show in ps)")
	str(&f.LogLevel, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	str(&f.LogFormat, "log-format", "LOG_FORMAT", "text", "log format: text or json")
	str(&f.PprofAddr, "pprof", "PPROF_ADDR", "", "serve net/http/pprof on this address (off when empty)")
	return errors.Join(errs...)
}

// Validate checks the values after parsing.
func (f *Flags) Validate() error {
	o := f.Options
	switch {
	case o.Addr == "":
		return errors.New("--addr is empty")
	case o.MongoURI == "":
		return errors.New("--mongodb is empty")
	case o.ModelPath == "":
		return errors.New("--model is empty")
	case o.Store.BatchSize < 1:
		return fmt.Errorf("--batch-size %d: want >= 1", o.Store.BatchSize)
	case o.Store.QueueSize < 1:
		return fmt.Errorf("--queue-size %d: want >= 1", o.Store.QueueSize)
	case o.Store.Writers < 1:
		return fmt.Errorf("--writers %d: want >= 1", o.Store.Writers)
	case o.SpoolDir != "" && o.SpoolMaxBytes < 1<<20:
		return fmt.Errorf("--spool-max-bytes %d: want >= 1 MiB", o.SpoolMaxBytes)
	case o.ReadHeaderTimeout <= 0 || o.IdleTimeout <= 0:
		return errors.New("--read-header-timeout and --idle-timeout must be positive")
	case o.Store.BatchDelay < 0 || o.Store.WriteTimeout <= 0 || o.HTTP.RequestTimeout <= 0 || o.ShutdownTimeout <= 0:
		return errors.New("durations must be positive (--batch-delay may be 0)")
	}
	if _, err := parseLevel(f.LogLevel); err != nil {
		return err
	}
	if f.LogFormat != "text" && f.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", f.LogFormat)
	}
	return nil
}

// NewLogger makes the slog.Logger that --log-level and --log-format ask for.
func (f *Flags) NewLogger(w io.Writer) (*slog.Logger, error) {
	lvl, err := parseLevel(f.LogLevel)
	if err != nil {
		return nil, err
	}
	ho := &slog.HandlerOptions{Level: lvl}
	if f.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return slog.New(slog.NewTextHandler(w, ho)), nil
}

// DefaultGCPercent is the GOGC that TuneGC sets. The service's live heap is small
// (the model and the driver's buffers) while every request allocates: the default
// GOGC=100 spends about 15% of the CPU of a /predict on the collector.
const DefaultGCPercent = 400

// TuneGC sets GOGC to DefaultGCPercent unless the GOGC variable is set.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
