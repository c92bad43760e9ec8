package serve

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/modelmon/modelmon/internal/envconf"
)

// Flags is the command line of the online service: every flag is a setting of the
// envconf table and also reads its environment variable (the flag wins over the
// variable, the variable over the default).
type Flags struct {
	Options   Options
	LogLevel  string // debug, info, warn, error
	LogFormat string // text or json
	PprofAddr string // serve net/http/pprof there when set
}

// Register binds the settings of the online service (the envconf table) onto fs,
// with defaults from getenv. A variable that does not parse is an error naming it
// (the flags are still defined). It returns the binder, whose PrintEnv writes the
// environment part of --help.
func (f *Flags) Register(fs *flag.FlagSet, getenv func(string) string) (*envconf.Binder, error) {
	b := envconf.NewBinder(fs, getenv)
	o := &f.Options
	b.String(&o.Addr, envconf.OnlineAddr)
	b.String(&o.MongoURI, envconf.MongoDBAddress)
	b.String(&o.ModelPath, envconf.ModelPathVar)
	b.Int(&o.Store.BatchSize, envconf.LogBatchSize)
	b.Duration(&o.Store.BatchDelay, envconf.LogBatchDelay)
	b.Duration(&o.Store.SpoolBatchDelay, envconf.LogSpoolBatchDelay)
	b.Int(&o.Store.QueueSize, envconf.LogQueueSize)
	b.Int(&o.Store.Writers, envconf.LogWriters)
	b.Duration(&o.Store.WriteTimeout, envconf.LogWriteTimeout)
	b.Duration(&o.HTTP.RequestTimeout, envconf.RequestTimeout)
	b.Duration(&o.ShutdownTimeout, envconf.ShutdownTimeout)
	b.String(&o.SpoolDir, envconf.SpoolDir)
	b.Int64(&o.SpoolMaxBytes, envconf.SpoolMaxBytes)
	b.Int(&o.HTTP.MaxConcurrent, envconf.MaxConcurrent)
	b.Duration(&o.ReadHeaderTimeout, envconf.ReadHeaderTimeout)
	b.Duration(&o.IdleTimeout, envconf.IdleTimeout)
	b.String(&o.HTTP.IngestToken, envconf.IngestToken)
	b.String(&f.LogLevel, envconf.LogLevel)
	b.String(&f.LogFormat, envconf.LogFormat)
	b.String(&f.PprofAddr, envconf.PprofAddr)
	return b, b.Err()
}

// Validate checks the values after parsing.
func (f *Flags) Validate() error {
	o := f.Options
	switch {
	case o.Addr == "":
		return errors.New("--online-addr is empty")
	case o.MongoURI == "":
		return errors.New("--mongodb-address is empty")
	case o.ModelPath == "":
		return errors.New("--model-path is empty")
	case o.Store.BatchSize < 1:
		return fmt.Errorf("--log-batch-size %d: want >= 1", o.Store.BatchSize)
	case o.Store.QueueSize < 1:
		return fmt.Errorf("--log-queue-size %d: want >= 1", o.Store.QueueSize)
	case o.Store.Writers < 1:
		return fmt.Errorf("--log-writers %d: want >= 1", o.Store.Writers)
	case o.SpoolDir != "" && o.SpoolMaxBytes < 1<<20:
		return fmt.Errorf("--spool-max-bytes %d: want >= 1 MiB", o.SpoolMaxBytes)
	case o.ReadHeaderTimeout <= 0 || o.IdleTimeout <= 0:
		return errors.New("--read-header-timeout and --idle-timeout must be positive")
	case o.Store.BatchDelay < 0 || o.Store.SpoolBatchDelay < 0 || o.Store.WriteTimeout <= 0 || o.HTTP.RequestTimeout <= 0 || o.ShutdownTimeout <= 0:
		return errors.New("durations must be positive (--log-batch-delay and --log-spool-batch-delay may be 0)")
	}
	_, err := envconf.NewLogger(io.Discard, f.LogLevel, f.LogFormat)
	return err
}

// NewLogger makes the slog.Logger that --log-level and --log-format ask for.
func (f *Flags) NewLogger(w io.Writer) (*slog.Logger, error) {
	return envconf.NewLogger(w, f.LogLevel, f.LogFormat)
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
