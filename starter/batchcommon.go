package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/envconf"
	"github.com/modelmon/modelmon/internal/mongodb"
)

// batchFlags are the connection settings shared by the batch commands (run,
// schedule, targets), bound from the envconf table: flags override the environment
// (c.getenv). The error names a variable that does not parse.
func batchFlags(c *cli, name, usage string) (*flag.FlagSet, *batch.Config, error) {
	var cfg batch.Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	b := envconf.NewBinder(fs, c.getenv)
	cfg.Bind(b, false)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: starter %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output())
		b.PrintEnv(fs.Output())
	}
	return fs, &cfg, b.Err()
}

// batchDialTemporal connects to Temporal with the CLI's slog logger.
func batchDialTemporal(ctx context.Context, cfg *batch.Config) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.Namespace,
		Logger:    tlog.NewStructuredLogger(slog.Default()),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
	}
	return c, nil
}

// batchOpenDB connects to MongoDB; close releases the client.
func batchOpenDB(ctx context.Context, cfg *batch.Config) (db *mongo.Database, close func(), err error) {
	mc, err := mongodb.Open(ctx, cfg.MongoURI)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (MONGODB_ADDRESS)", err)
	}
	name := cfg.Database
	if name == "" {
		name = mongodb.Database
	}
	return mc.Database(name), func() { _ = mc.Disconnect(context.WithoutCancel(ctx)) }, nil
}
