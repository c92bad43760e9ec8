package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/modelmon/modelmon/internal/replay"
	"github.com/modelmon/modelmon/internal/taxi"
)

func init() {
	register("replay", "replay a TLC month against POST /predict and write id,duration targets (the seed's send_data.py)", runReplay)
}

func runReplay(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	file := fs.String("file", "data/green_tripdata_2022-01.parquet", "TLC parquet month to replay")
	url := fs.String("url", "http://127.0.0.1:9696", "online service base URL")
	rate := fs.Float64("rate", 0, "requests per second (0: as fast as the concurrency allows)")
	conc := fs.Int("concurrency", 8, "requests in flight")
	limit := fs.Int("limit", 0, "send at most this many rides (0: all)")
	targets := fs.String("targets", "target.csv", "write id,duration of each answered ride with a nonzero duration here (empty: don't)")
	retries := fs.Int("retries", 5, "retries per ride on network errors and 5xx/429, with exponential backoff")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *conc < 1 {
		return errors.New("--concurrency must be >= 1")
	}
	trips, err := taxi.ReadFile(ctx, *file)
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < len(trips) {
		trips = trips[:*limit]
	}
	res, err := replay.Run(ctx, replay.Options{
		Trips: trips, URL: *url, Rate: *rate, Concurrency: *conc, TargetsPath: *targets,
		Retries: *retries, Progress: !*quiet,
	})
	if res != nil {
		fmt.Fprintf(c.stdout, "sent=%d ok=%d failed=%d p50=%s p99=%s elapsed=%s rate=%.0f/s targets=%s\n",
			res.Sent, res.OK, res.Failed, res.P50, res.P99, res.Elapsed.Round(time.Millisecond),
			float64(res.OK)/res.Elapsed.Seconds(), *targets)
	}
	return err
}
