// Command online serves the trip-duration model over HTTP and logs every prediction
// to MongoDB (database prediction_service, collection data) before it answers.
//
//	go run ./online                        # 127.0.0.1:9696, mongodb://127.0.0.1:27017
//	go run ./online --help                 # every flag and its environment variable
//
// See online/README.md for the API and internal/serve for the service.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelmon/modelmon/internal/envconf"
	"github.com/modelmon/modelmon/internal/onlineapp"
	"github.com/modelmon/modelmon/internal/serve"
)

func main() {
	serve.TuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main with its inputs as arguments: it serves until ctx ends (SIGINT or
// SIGTERM in main) and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	var f serve.Flags
	fs := flag.NewFlagSet("online", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binder, envErr := f.Register(fs, getenv)
	var monitorConfig string
	binder.String(&monitorConfig, envconf.MonitorConfig)
	var iterateMax int
	binder.Int(&iterateMax, envconf.IterateMaxRecords)
	if envErr == nil {
		envErr = binder.Err() // the variables bound here
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: online [flags]\n\nServes POST /predict, POST /iterate/{dataset}, GET /metrics, GET /monitor/{dataset}/report,\nGET /healthz and GET /readyz; logs every prediction to MongoDB and monitors drift live.")
		fmt.Fprintln(stderr)
		binder.PrintEnv(stderr)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "online: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if envErr != nil {
		fmt.Fprintln(stderr, "online:", envErr)
		return 2
	}
	if err := f.Validate(); err != nil {
		fmt.Fprintln(stderr, "online:", err)
		return 2
	}
	if iterateMax < 0 {
		fmt.Fprintf(stderr, "online: --iterate-max-records %d: want >= 0\n", iterateMax)
		return 2
	}
	log, err := f.NewLogger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "online:", err)
		return 2
	}
	slog.SetDefault(log)
	if f.PprofAddr != "" {
		go serve.ServePprof(ctx, f.PprofAddr, log)
	}
	opts := f.Options
	opts.Logger = log
	if err := onlineapp.Run(ctx, onlineapp.Options{Serve: opts, MonitorConfig: monitorConfig, IterateMaxRecords: iterateMax}); err != nil {
		log.Error("online stopped with an error", "err", err)
		return 1
	}
	return 0
}
