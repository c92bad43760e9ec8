package main

import (
	"github.com/modelmon/modelmon/internal/envconf"

	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/modelmon/modelmon/internal/taxi"
)

func init() {
	register("train", "fit the trip-duration model on a TLC month and save the artifact", runTrain)
}

func runTrain(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	trainPath := fs.String("train", "data/green_tripdata_2021-01.parquet", "TLC parquet month to fit on")
	validatePath := fs.String("validate", "data/green_tripdata_2021-02.parquet", "TLC parquet month to measure on (empty: none)")
	out := fs.String("out", envconf.ModelPath, "where to write the model artifact")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	m, err := taxi.Train(ctx, *trainPath, *validatePath)
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "model_version=%s\nrows=%d\ncategories=%d\ntrain_rmse=%.6f\n",
		m.Version, m.Training.Rows, len(m.CategoryCoef), m.Training.RMSE)
	if *validatePath != "" {
		fmt.Fprintf(c.stdout, "validation_rows=%d\nvalidation_rmse=%.6f\n", m.Training.ValidationRows, m.Training.ValidationRMSE)
	}
	fmt.Fprintf(c.stdout, "saved=%s\n", *out)
	return nil
}
