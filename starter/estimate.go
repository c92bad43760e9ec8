package main

import (
	"github.com/modelmon/modelmon/internal/envconf"

	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

func init() {
	register("train-estimator", "fit the performance estimator (DLE nanny trees) of a model on a labelled reference month", runTrainEstimator)
	register("estimate", "estimate RMSE, MAE and ME of a TLC month without its durations (and show the realized values)", runEstimate)
}

func runTrainEstimator(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("train-estimator", flag.ContinueOnError)
	b := envconf.NewBinder(fs, c.getenv)
	var modelPath string
	b.String(&modelPath, envconf.ModelPathVar)
	if err := b.Err(); err != nil {
		return err
	}
	refPath := fs.String("reference", "data/green_tripdata_2021-02.parquet", "labelled reference TLC month the model did not train on")
	out := fs.String("out", envconf.EstimatorPath, "where to write the estimator artifact")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	m, err := model.Load(modelPath)
	if err != nil {
		return err
	}
	start := time.Now()
	e, err := estimate.TrainTaxi(ctx, m, *refPath, estimate.DefaultParams)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := e.Save(*out); err != nil {
		return err
	}
	r := e.Reference
	fmt.Fprintf(c.stdout, "estimator_version=%s\nmodel_version=%s\nreference=%s\nrows=%d\nreference_rmse=%.6f\nreference_mae=%.6f\nreference_me=%.6f\nseconds=%.1f\nsaved=%s\n",
		e.Version, e.ModelVersion, r.File, r.Rows, r.RMSE, r.MAE, r.ME, elapsed.Seconds(), *out)
	return nil
}

// estimateJSON is the --json output of starter estimate.
type estimateJSON struct {
	Rows      int               `json:"rows"`
	Estimated estimatedJSON     `json:"estimated"`
	Realized  *estimate.Metrics `json:"realized,omitempty"`
}

type estimatedJSON struct {
	estimate.Metrics
	Band estimate.Bands `json:"band"`
}

func runEstimate(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("estimate", flag.ContinueOnError)
	refPath := fs.String("reference", "data/green_tripdata_2021-02.parquet",
		"labelled reference TLC month; the --estimator artifact is used when it was trained on this file, otherwise an estimator is trained on it in memory")
	curPath := fs.String("current", "", "TLC month to estimate (required); its durations, if any, only give the realized values")
	b := envconf.NewBinder(fs, c.getenv)
	var modelPath string
	b.String(&modelPath, envconf.ModelPathVar)
	if err := b.Err(); err != nil {
		return err
	}
	estPath := fs.String("estimator", envconf.EstimatorPath, "estimator artifact (made by starter train-estimator)")
	jsonOut := fs.String("json", "", "write the result JSON here (- for stdout)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *curPath == "" {
		return errors.New("--current is required")
	}
	m, err := model.Load(modelPath)
	if err != nil {
		return err
	}
	est, err := loadOrTrainEstimator(ctx, m, *estPath, *refPath)
	if err != nil {
		return err
	}
	trips, err := taxi.ReadFile(ctx, *curPath)
	if err != nil {
		return err
	}
	// With durations: the rows of the training filter, where the realized metrics
	// are defined. Without: every row with the model's inputs.
	recs, y := estimate.Labelled(m, trips)
	labelled := len(recs) > 0
	if !labelled {
		recs = estimate.Unlabelled(m, trips)
	}
	res, err := est.Estimate(recs)
	if err != nil {
		return fmt.Errorf("estimate %s: %w", *curPath, err)
	}
	out := estimateJSON{Rows: res.Rows, Estimated: estimatedJSON{Metrics: res.Metrics, Band: res.Band}}
	if labelled {
		r := estimate.Realized(recs, y)
		out.Realized = &r
	}
	ref := est.Reference
	w := c.stdout
	if *jsonOut == "-" {
		w = c.stderr
	}
	fmt.Fprintf(w, "model_version=%s estimator_version=%s\n", m.Version, est.Version)
	fmt.Fprintf(w, "reference %s: rows=%d rmse=%.3f mae=%.3f me=%.3f\n", ref.File, ref.Rows, ref.RMSE, ref.MAE, ref.ME)
	fmt.Fprintf(w, "current %s: rows=%d (zone unknown to the reference %d, PU_DO unknown to the model %d)\n",
		*curPath, res.Rows, res.UnknownZoneRows, res.PUDOUnknownRows)
	fmt.Fprintf(w, "%-9s %8s %19s %8s %19s %8s %19s\n", "", "rmse", "band", "mae", "band", "me", "band")
	fmt.Fprintf(w, "%-9s %8.3f [%8.3f, %8.3f] %8.3f [%8.3f, %8.3f] %8.3f [%8.3f, %8.3f]\n", "estimated",
		res.RMSE, res.Band.RMSE.Lower, res.Band.RMSE.Upper, res.MAE, res.Band.MAE.Lower, res.Band.MAE.Upper,
		res.ME, res.Band.ME.Lower, res.Band.ME.Upper)
	if out.Realized != nil {
		r := out.Realized
		fmt.Fprintf(w, "%-9s %8.3f %19s %8.3f %19s %8.3f\n", "realized", r.RMSE, "", r.MAE, "", r.ME)
	} else {
		fmt.Fprintln(w, "realized: the file has no durations")
	}
	return c.writeJSON(*jsonOut, "estimate", out)
}

// loadOrTrainEstimator loads the estimator artifact when it was trained on the
// reference file (same content); an artifact for another model version is an
// error. A missing artifact, or one trained on another reference, gives way to an
// estimator trained on the reference in memory.
func loadOrTrainEstimator(ctx context.Context, m *model.Model, estPath, refPath string) (*estimate.Estimator, error) {
	sum, err := estimate.FileSHA256(refPath)
	if err != nil {
		return nil, err
	}
	e, err := estimate.Load(estPath, m)
	switch {
	case err == nil && e.Reference.SHA256 == sum:
		return e, nil
	case err == nil:
		slog.Info("estimator artifact was trained on another reference; training on this one in memory",
			"estimator", estPath, "artifact_reference", e.Reference.File, "reference", refPath)
	case errors.Is(err, fs.ErrNotExist):
		slog.Info("no estimator artifact; training on the reference in memory", "estimator", estPath, "reference", refPath)
	default:
		return nil, err
	}
	return estimate.TrainTaxi(ctx, m, refPath, estimate.DefaultParams)
}
