// Command devstack runs the whole system in one process on embedded parts, with no
// Docker and no download: FerretDB (MongoDB wire protocol, SQLite under --data-dir),
// a Temporal server (file-backed SQLite) with its Web UI, the online service with
// live monitoring, the batch worker, and Prometheus when its binary is on PATH. It
// creates or updates the hourly schedule, replays real rides, triggers one batch run
// per replayed month and prints what each found and every URL. Ctrl-C stops it all;
// a second start reuses --data-dir.
//
//	go run ./deploy/devstack                     # 2021-02 (little drift), then 2022-01 (drift)
//	go run ./deploy/devstack --all-months        # every month in data/, in order
//	go run ./deploy/devstack --replay-limit 2000 --exit-after-demo   # short mode (tests)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o Options
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	b := o.Register(fs, os.Getenv)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: devstack [flags]\n\nRuns the whole system on embedded parts (see the package doc).\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output())
		b.PrintEnv(fs.Output())
	}
	if err := b.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(2)
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			return
		}
		os.Exit(2)
	}
	level := slog.LevelInfo
	if o.Verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, o, os.Stdout, logger); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}
