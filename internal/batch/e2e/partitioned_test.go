package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/workflows"
)

// TestPartitionedMatchesSinglePass runs one window through the partitioned path
// (forced into 7 partitions by partition_rows = 1000 against 6,300 logged rows; the
// window is 36 h with rows in its first 24 h, so the last partitions are empty),
// then through the single-pass path, on embedded Temporal + FerretDB, and compares
// the two reports: categorical drift, regression ME/MAE/RMSE/R2, counts, the
// performance estimate and the segments (rows, verdict rule, regression, drift).
func TestPartitionedMatchesSinglePass(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	e := setup(t)
	est, err := estimate.Load(filepath.Join(filepath.Dir(batchtest.ModelPath()), "duration_estimator.json"), e.model)
	if err != nil {
		t.Fatal(err)
	}
	e.estimator = est
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	w := e.startWorker(t, workflows.TaskQueue, 500)
	defer w.Stop(ctx)
	win := batch.Window{Start: day2.Start, End: day2.End.Add(12 * time.Hour)}
	in := workflows.Input{Dataset: "taxi", WindowStart: win.Start.Format(time.RFC3339), WindowEnd: win.End.Format(time.RFC3339)}
	id := batch.WorkflowID("taxi", win)
	reportID := batch.ReportID("taxi", win)
	var lastRun client.WorkflowRun
	run := func(in workflows.Input) (workflows.Result, *report.Report, error) {
		r, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: workflows.TaskQueue,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		}, workflows.WorkflowType, in)
		if err != nil {
			t.Fatal(err)
		}
		lastRun = r
		var res workflows.Result
		if err := r.Get(ctx, &res); err != nil {
			return res, nil, err
		}
		doc := e.onlyReport(t, ctx, reportID)
		b, err := doc.ReportJSON()
		if err != nil {
			t.Fatal(err)
		}
		var rep report.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		return res, &rep, nil
	}

	t.Run("BadPartitionRows", func(t *testing.T) {
		bad := in
		bad.PartitionRows = -2 // -1 is workflows.ForceSinglePass
		_, _, err := run(bad)
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != batchapi.ErrBadInput {
			t.Fatalf("partition_rows -2: err = %v, want a %s error", err, batchapi.ErrBadInput)
		}
	})

	part := in
	part.PartitionRows, part.PartitionFanOut = 1000, 3
	pres, prep, err := run(part)
	if err != nil {
		t.Fatal(err)
	}
	e.checkStagingEmpty(t, ctx)
	// Nothing row-sized in the history: every payload stays small.
	checkPayloads(t, e.history(t, ctx, id, lastRun.GetRunID()))
	sres, srep, err := run(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("partitioned: %d partitions by %v, timings %v; single pass timings %v", pres.Partitions, pres.PartitionsByWorker, pres.TimingsMS, sres.TimingsMS)
	if pres.Partitions != 7 || prep.Computation == nil || prep.Computation.Path != report.PathPartitioned || prep.Computation.Partitions != 7 {
		t.Fatalf("partitioned run: partitions %d, computation %+v", pres.Partitions, prep.Computation)
	}
	if sres.Partitions != 0 || srep.Computation != nil {
		t.Fatalf("single-pass run: partitions %d, computation %+v", sres.Partitions, srep.Computation)
	}
	if pres.Rows.Current != 3000 || pres.Rows != sres.Rows {
		t.Fatalf("rows: partitioned %+v, single pass %+v", pres.Rows, sres.Rows)
	}
	if prep.CurrentRows != srep.CurrentRows || prep.ReferenceRows != srep.ReferenceRows {
		t.Fatalf("report rows %d/%d vs %d/%d", prep.CurrentRows, prep.ReferenceRows, srep.CurrentRows, srep.ReferenceRows)
	}
	for name, s := range srep.DataDrift.Columns {
		p, ok := prep.DataDrift.Columns[name]
		if !ok || p.StatTest != s.StatTest {
			t.Fatalf("column %s: %+v vs %+v", name, p, s)
		}
		d := math.Abs(p.Statistic - s.Statistic)
		if s.Type == "categorical" && d > 1e-12 {
			t.Errorf("%s %s: %v, single pass %v", name, s.StatTest, p.Statistic, s.Statistic)
		}
		if s.Type == "numerical" && d > 0.01*math.Abs(s.Statistic)+0.005 {
			t.Errorf("%s %s: %v, single pass %v", name, s.StatTest, p.Statistic, s.Statistic)
		}
		t.Logf("%-14s %-14s single %.6g partitioned %.6g", name, s.StatTest, s.Statistic, p.Statistic)
	}
	sr, pr := srep.Regression.Current, prep.Regression.Current
	if sr == nil || pr == nil || sr.N != pr.N {
		t.Fatalf("regression %+v vs %+v", pr, sr)
	}
	for _, c := range [][3]any{{"me", pr.ME, sr.ME}, {"mae", pr.MAE, sr.MAE}, {"rmse", pr.RMSE, sr.RMSE}, {"r2", pr.R2, sr.R2}} {
		g, w := c[1].(float64), c[2].(float64)
		if math.Abs(g-w) > 1e-9*math.Abs(w) {
			t.Errorf("%s = %.17g, single pass %.17g", c[0], g, w)
		}
	}
	for name, s := range srep.DataQuality.Current {
		if p := prep.DataQuality.Current[name]; p.Count != s.Count || p.Missing != s.Missing {
			t.Errorf("quality %s: %d/%d vs %d/%d", name, p.Count, p.Missing, s.Count, s.Missing)
		}
	}
	checkPartitionedEstimate(t, prep.PerformanceEstimate, srep.PerformanceEstimate)
	checkPartitionedSegments(t, prep.Segments, srep.Segments)
	n, err := batchtest.Count(ctx, e.db.Collection(mongodb.CollectionStaging), bson.D{{Key: "stage", Value: batchapi.StageProfile}})
	if err != nil || n != 0 {
		t.Errorf("%d profiles left in staging (%v)", n, err)
	}
}

func near(g, w, rel float64) bool {
	if math.IsNaN(w) {
		return math.IsNaN(g)
	}
	return math.Abs(g-w) <= rel*math.Abs(w)
}

// checkPartitionedEstimate: the estimate from the partitions' loss sums equals the
// single pass's (1e-9 relative; the counts and the reference band exactly).
func checkPartitionedEstimate(t *testing.T, g, w *report.PerformanceEstimate) {
	t.Helper()
	if g == nil || w == nil {
		t.Fatalf("performance_estimate: partitioned %v, single pass %v", g, w)
	}
	if g.Rows != w.Rows || g.SkippedRows != w.SkippedRows || g.UnknownZoneRows != w.UnknownZoneRows || g.PUDOUnknownRows != w.PUDOUnknownRows ||
		g.EstimatorVersion != w.EstimatorVersion || g.Sigma != w.Sigma || g.ReferenceBand != w.ReferenceBand {
		t.Errorf("performance_estimate %+v, single pass %+v", *g, *w)
	}
	for _, c := range [][3]any{{"rmse", g.RMSE, w.RMSE}, {"mae", g.MAE, w.MAE}, {"me", g.ME, w.ME}, {"band.rmse.lower", g.Band.RMSE.Lower, w.Band.RMSE.Lower}, {"band.me.upper", g.Band.ME.Upper, w.Band.ME.Upper}} {
		if !near(c[1].(float64), c[2].(float64), 1e-9) {
			t.Errorf("estimated %s = %.17g, single pass %.17g", c[0], c[1], c[2])
		}
	}
	t.Logf("estimate over %d rows: rmse %.6f mae %.6f me %.6f (single pass %.6f %.6f %.6f)", g.Rows, g.RMSE, g.MAE, g.ME, w.RMSE, w.MAE, w.ME)
}

// checkPartitionedSegments: every segment of the single pass is in the partitioned
// report with the same rows and too-small rule, its current regression rows, ME,
// MAE, RMSE, R2 equal (1e-9 relative), the reference side equal, categorical drift
// exact and numerical drift within the sketch bounds; the partitioned segments also
// carry their estimate (every window row has the estimator's inputs).
func checkPartitionedSegments(t *testing.T, got, want map[string]report.Segmentation) {
	t.Helper()
	if len(want) != 3 || len(got) != len(want) {
		t.Fatalf("segmentations: partitioned %d, single pass %d", len(got), len(want))
	}
	compared := 0
	for name, wseg := range want {
		gseg := got[name]
		if len(gseg) != len(wseg) {
			t.Errorf("%s: %d segments, single pass %d", name, len(gseg), len(wseg))
		}
		for v, w := range wseg {
			g := gseg[v]
			if g == nil || g.ReferenceRows != w.ReferenceRows || g.CurrentRows != w.CurrentRows || g.MinRows != w.MinRows ||
				(g.Verdict == report.VerdictTooSmall) != (w.Verdict == report.VerdictTooSmall) {
				t.Errorf("%s=%s: %+v, single pass %+v", name, v, g, w)
				continue
			}
			if w.Verdict == report.VerdictTooSmall {
				continue
			}
			compared++
			gr, wr := g.Regression.Current, w.Regression.Current
			if gr == nil || wr == nil || gr.Rows != wr.Rows {
				t.Errorf("%s=%s: regression current %+v, single pass %+v", name, v, gr, wr)
				continue
			}
			for _, c := range [][3]any{{"me", gr.ME, wr.ME}, {"mae", gr.MAE, wr.MAE}, {"rmse", gr.RMSE, wr.RMSE}, {"r2", gr.R2, wr.R2}} {
				if !near(c[1].(float64), c[2].(float64), 1e-9) {
					t.Errorf("%s=%s: %s = %.17g, single pass %.17g", name, v, c[0], c[1], c[2])
				}
			}
			if gref, wref := g.Regression.Reference, w.Regression.Reference; gref.Rows != wref.Rows || !near(gref.RMSE, wref.RMSE, 1e-12) {
				t.Errorf("%s=%s: regression reference %+v, single pass %+v", name, v, gref, wref)
			}
			for col, wc := range w.DataDrift.Columns {
				gc := g.DataDrift.Columns[col]
				d := math.Abs(gc.Statistic - wc.Statistic)
				if gc.StatTest != wc.StatTest || (wc.Type == "categorical" && d > 1e-12) || (wc.Type == "numerical" && d > 0.01*math.Abs(wc.Statistic)+0.005) {
					t.Errorf("%s=%s %s: %s %v, single pass %s %v", name, v, col, gc.StatTest, gc.Statistic, wc.StatTest, wc.Statistic)
				}
			}
			var pe report.PerformanceEstimate
			b, _ := json.Marshal(g.Estimated)
			if err := json.Unmarshal(b, &pe); err != nil || pe.Rows != g.CurrentRows || !(pe.RMSE > 0) {
				t.Errorf("%s=%s: estimated %s (%v), want %d rows", name, v, b, err, g.CurrentRows)
			}
			t.Logf("%s=%s: %d rows, rmse %.4f (single pass %.4f), estimated %.4f, verdict %s (single pass %s)", name, v, gr.Rows, gr.RMSE, wr.RMSE, pe.RMSE, g.Verdict, w.Verdict)
		}
	}
	if compared < 5 {
		t.Errorf("only %d segments above the minimum rows: the test compares too little", compared)
	}
}
