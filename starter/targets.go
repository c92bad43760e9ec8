package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/mongodb"
)

func init() {
	register("targets", "upload a target CSV (id,duration lines) into the target collection", runTargets)
}

func runTargets(ctx context.Context, c *cli, args []string) error {
	fs, cfg, envErr := batchFlags(c, "targets", "targets --file target.csv")
	if envErr != nil {
		return envErr
	}
	file := fs.String("file", "target.csv", "target CSV: id,value lines, header optional (send_data.py's target.csv)")
	batchSize := fs.Int("batch", 1000, "documents per InsertMany")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	targets, err := batch.ReadTargetsFile(*file)
	if err != nil {
		return err
	}
	db, closeDB, err := batchOpenDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	t0 := time.Now()
	st, err := batch.UploadTargets(ctx, db.Collection(mongodb.CollectionTarget), mongodb.FieldTargetDuration, targets, *batchSize,
		func(s batch.UploadStats) {
			fmt.Fprintf(c.stderr, "\r%d/%d uploaded", s.Inserted+s.Duplicates, len(targets))
		})
	fmt.Fprintln(c.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "file=%s\ntargets=%d\ninserted=%d\nalready_present=%d\nseconds=%.1f\n",
		*file, len(targets), st.Inserted, st.Duplicates, time.Since(t0).Seconds())
	return nil
}
