package main

import (
	"github.com/modelmon/modelmon/internal/envconf"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/reporthtml"
	"github.com/modelmon/modelmon/internal/taxi"
)

func init() {
	register("report", "compute a monitoring report of a TLC month against a reference, offline (no Temporal)", runReport)
}

func runReport(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	refPath := fs.String("reference", "data/green_tripdata_2021-01.parquet", "reference TLC parquet month")
	curPath := fs.String("current", "", "current TLC parquet month (required)")
	b := envconf.NewBinder(fs, c.getenv)
	var modelPath string
	b.String(&modelPath, envconf.ModelPathVar)
	if err := b.Err(); err != nil {
		return err
	}
	numTest := fs.String("num-stattest", "", "drift test for numerical columns (default: Evidently's choice)")
	catTest := fs.String("cat-stattest", "", "drift test for categorical columns (default: Evidently's choice)")
	driftShare := fs.Float64("drift-share", 0.5, "share of drifted columns that means dataset drift")
	driftMethod := fs.String("drift-method", "calibrated", "drift verdicts: calibrated (thresholds for the window's size, false-alarm rate --alpha) or fixed (Evidently's)")
	alpha := fs.Float64("alpha", 0.01, "false-alarm rate of the dataset drift verdict per window (--drift-method calibrated)")
	jsonOut := fs.String("json", "", "write the report JSON here (- for stdout)")
	htmlOut := fs.String("html", "", "write the HTML report here")
	segFlags := addSegmentFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *curPath == "" {
		return errors.New("--current is required")
	}
	if err := segFlags.load(); err != nil {
		return err
	}
	m, err := model.Load(modelPath)
	if err != nil {
		return err
	}
	cfg := report.TaxiConfig()
	cfg.Drift = report.DriftOptions{NumStattest: *numTest, CatStattest: *catTest, DriftShare: *driftShare, Method: *driftMethod, Alpha: *alpha}
	ref, err := taxi.ReadFile(ctx, *refPath)
	if err != nil {
		return err
	}
	cur, err := taxi.ReadFile(ctx, *curPath)
	if err != nil {
		return err
	}
	refData, curData := report.TaxiDataset(ref, m), report.TaxiDataset(cur, m)
	r, err := report.Compute(ctx, refData, curData, cfg)
	if err != nil {
		return err
	}
	if r.Segments, err = segFlags.compute(ctx, refData, curData, report.TaxiSegmentSource(ref), report.TaxiSegmentSource(cur), cfg); err != nil {
		return err
	}
	if err := c.writeJSON(*jsonOut, "report", r); err != nil {
		return err
	}
	if *htmlOut != "" {
		meta := report.Meta{
			Title:        "Offline report: " + filepath.Base(*curPath) + " vs " + filepath.Base(*refPath),
			Dataset:      "taxi",
			ModelVersion: m.Version,
			GeneratedAt:  time.Now().UTC(),
		}
		if err := writeHTML(*htmlOut, r, meta); err != nil {
			return err
		}
	}
	if *jsonOut != "-" {
		printSummary(c.stdout, r)
		printSegments(c.stdout, r.Segments, segFlags.names())
	}
	return nil
}

func writeHTML(path string, r *report.Report, meta report.Meta) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	if err := reporthtml.Render(f, r, meta, nil); err != nil {
		f.Close()
		return fmt.Errorf("render html: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

func printSummary(w io.Writer, r *report.Report) {
	fmt.Fprintf(w, "reference_rows=%d current_rows=%d\n", r.ReferenceRows, r.CurrentRows)
	fmt.Fprintf(w, "dataset_drift=%v drifted_columns=%d share=%.3f\n", r.DataDrift.DatasetDrift, r.DataDrift.Drifted, r.DataDrift.ShareDrifted)
	for name, c := range r.DataDrift.Columns {
		fmt.Fprintf(w, "  %-14s %-13s statistic=%.6g threshold=%.6g rule=%s drifted=%v\n", name, c.StatTest, c.Statistic, c.Threshold, c.Rule, c.Drifted)
	}
	if r.Regression.Reference != nil && r.Regression.Current != nil {
		fmt.Fprintf(w, "rmse reference=%.4f current=%.4f\n", r.Regression.Reference.RMSE, r.Regression.Current.RMSE)
	}
}
