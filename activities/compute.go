package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/report"
)

// ComputeMetrics reads the staged reference and current data (with the joined
// targets), computes the report with the dataset's report config and stages its JSON.
func (a *Activities) ComputeMetrics(ctx context.Context, in batchapi.ComputeInput) (*batchapi.ComputeResult, error) {
	log := activity.GetLogger(ctx)
	ds, err := dataset(in.Dataset)
	if err != nil {
		return nil, err
	}
	hb := startHeartbeat(ctx, "loading")
	defer hb.stop()
	segs, err := a.segmenters(&ds)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	st := a.staging()
	refs := []batch.StageRef{in.Reference, in.Current}
	cfgs := []report.Config{ds.StagingConfig(), ds.StagingConfig()}
	if in.Targets.Chunks > 0 {
		refs, cfgs = append(refs, in.Targets), append(cfgs, report.Config{})
	}
	sets, err := st.ReadDatasets(ctx, refs, cfgs)
	if err != nil {
		return nil, stagingErr(err)
	}
	ref, cur := sets[0], sets[1]
	refLabels, curLabels := batch.TakeSegmentLabels(ref, segs), batch.TakeSegmentLabels(cur, segs)
	cur.Target, cur.TargetValid = nil, nil
	if len(sets) == 3 {
		if err := batch.SetTargets(cur, sets[2]); err != nil {
			return nil, stagingErr(err)
		}
	}
	t1 := time.Now()
	hb.progress("computing")
	r, err := a.compute()(ctx, ref, cur, ds.Report)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("compute report: %w", err)
		}
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("compute report of %s: %v", ds.Name, err), batchapi.ErrComputeFailed, err)
	}
	tSeg := time.Now()
	if len(segs) > 0 && cur.Rows > 0 {
		hb.progress("computing segments")
		r.Segments, err = report.ComputeSegmentsLabeled(ctx, ref, cur, refLabels, curLabels, ds.Report, report.SegmentOptions{MinRows: ds.MinSegmentRows})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("compute segments: %w", err)
			}
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("compute segments of %s: %v", ds.Name, err), batchapi.ErrComputeFailed, err)
		}
	}
	segMS := time.Since(tSeg).Milliseconds()
	if err := batch.AddEstimate(r, a.Estimator, cur); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("estimate the performance of %s: %v", ds.Name, err), batchapi.ErrComputeFailed, err)
	}
	res, err := stageReport(ctx, st, in.Run, ds.Name, r, t0, t1)
	if err != nil {
		return nil, err
	}
	log.Info("report computed", "reference_rows", ref.Rows, "current_rows", cur.Rows,
		"dataset_drift", res.Summary.DatasetDrift, "load_ms", res.LoadMS, "compute_ms", res.ComputeMS,
		"segmentations", len(r.Segments), "segments_ms", segMS)
	return res, nil
}

// readReport reads a staged report.
func (a *Activities) readReport(ctx context.Context, ref batch.StageRef) (*report.Report, []byte, error) {
	b, err := a.staging().Get(ctx, ref.Run, ref.Stage, 0)
	if err != nil {
		return nil, nil, stagingErr(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, stagingErr(fmt.Errorf("%w: staged report: %w", batch.ErrCorruptChunk, err))
	}
	return &r, b, nil
}

// stageReport encodes r and stages it as the run's report (one chunk: a retry
// replaces it). t0..t1 was the loading; the computing ran from t1 to now.
func stageReport(ctx context.Context, st batch.Staging, run, dataset string, r *report.Report, t0, t1 time.Time) (*batchapi.ComputeResult, error) {
	t2 := time.Now()
	b, err := json.Marshal(r)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("encode report of %s: %v", dataset, err), batchapi.ErrComputeFailed, err)
	}
	if err := st.Put(ctx, run, batch.StageReport, 0, 1, nil, b); err != nil {
		return nil, err
	}
	return &batchapi.ComputeResult{
		Report:      batch.StageRef{Run: run, Stage: batch.StageReport, Chunks: 1, Rows: 1},
		Summary:     batch.SummaryOf(r),
		ReportBytes: len(b),
		LoadMS:      t1.Sub(t0).Milliseconds(),
		ComputeMS:   t2.Sub(t1).Milliseconds(),
	}, nil
}
