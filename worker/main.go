// Command worker runs the batch-monitoring Temporal worker: the BatchMonitoring
// workflow and its six activities on the task queue "batch-monitoring".
//
//	go run ./worker [--temporal-address 127.0.0.1:7233] [--mongodb-address mongodb://127.0.0.1:27017] ...
//
// Every flag has an environment variable (go run ./worker --help lists them).
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

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchmetrics"
	"github.com/modelmon/modelmon/internal/envconf"
	"github.com/modelmon/modelmon/worker/batchworker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// run is main with its inputs as arguments: it runs the worker until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var cfg batch.Config
	var metricsAddr, logLevel, logFormat string
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	b := envconf.NewBinder(fs, getenv)
	cfg.Bind(b, true)
	b.String(&metricsAddr, envconf.MetricsAddr)
	b.String(&logLevel, envconf.LogLevel)
	b.String(&logFormat, envconf.LogFormat)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: worker [flags]\n\nRuns the BatchMonitoring workflow and its activities.")
		fmt.Fprintln(fs.Output())
		b.PrintEnv(fs.Output())
	}
	if err := b.Err(); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := envconf.NewLogger(stderr, logLevel, logFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.Namespace,
		Logger:    tlog.NewStructuredLogger(logger),
	})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
	}
	defer c.Close()
	w, err := batchworker.Start(ctx, c, cfg, batchworker.Options{Logger: logger})
	if err != nil {
		return err
	}
	if metricsAddr != "" {
		addr, err := batchmetrics.Serve(ctx, metricsAddr, w.Activities.DB, logger)
		if err != nil {
			w.Stop(context.Background())
			return err
		}
		logger.Info("worker metrics", "url", "http://"+addr+"/metrics")
	}
	<-ctx.Done()
	logger.Info("stopping worker")
	w.Stop(context.Background())
	return nil
}
