package activities

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/report"
)

// Issue 15: logged records with poison values (a 1e200-mile ride and its 3e195-minute
// prediction, ±1e300) in the window: ComputeMetrics (with the performance estimate)
// and SaveHTMLReport succeed (on embedded FerretDB and the real reference), and data
// quality counts the distances outside the plausible range.
func TestPoisonRecordsDoNotFailTheBatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 300, 10_000)
	poison, err := batchtest.Rides(ctx, batchtest.DataPath("green_tripdata_2022-01.parquet"), testModel, "poison", 1000, 3, day)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []struct{ dist, pred float64 }{{1e200, 3e195}, {1e300, -1e300}, {-1e300, 1e300}} {
		d := v.dist
		poison[i].Trip.TripDistance, poison[i].Prediction = &d, v.pred
	}
	if err := batchtest.InsertRides(ctx, f.a.DB.Collection(mongodb.CollectionData), poison, testModel.Version); err != nil {
		t.Fatal(err)
	}
	cur := f.fetch(t)
	if cur.Current.Rows != 303 {
		t.Fatalf("fetched %d rows, want 303", cur.Current.Rows)
	}
	if err := batchtest.WriteTargetsCSV(filepath.Join(f.a.DataDir, "target.csv"), batchtest.Targets(append(f.rides, poison...)), false); err != nil {
		t.Fatal(err)
	}
	join := mustRun[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur.Current, Targets: "target.csv"})
	ref := mustRun[batchapi.ScoreReferenceResult](t, f.newEnv(), f.a.ScoreReference, batchapi.ScoreReferenceInput{Run: runKey, Dataset: "taxi"})
	if f.a.Estimator, err = estimate.Load(filepath.Join(filepath.Dir(batchtest.ModelPath()), "duration_estimator.json"), testModel); err != nil {
		t.Fatal(err)
	}
	cm := mustRun[batchapi.ComputeResult](t, f.newEnv(), f.a.ComputeMetrics, batchapi.ComputeInput{Run: runKey, Dataset: "taxi", Reference: ref.Reference, Current: cur.Current, Targets: join.Targets})
	r, _, err := f.a.readReport(ctx, cm.Report)
	if err != nil {
		t.Fatal(err)
	}
	q := r.DataQuality.Current["trip_distance"]
	if q.Implausible == nil || *q.Implausible != 3 || q.PlausibleRange == nil || *q.PlausibleRange != report.TaxiDistanceRange {
		t.Errorf("trip_distance: implausible %v in %v, want 3", q.Implausible, q.PlausibleRange)
	}
	if r.PerformanceEstimate == nil {
		t.Error("no performance estimate")
	}
	if reg := r.Regression.Current; reg == nil || reg.N < 3 {
		t.Errorf("regression of the window %+v", reg)
	} else {
		t.Logf("regression with poison predictions: rmse %v, r2 %v, overflow %q", reg.RMSE, reg.R2, reg.Overflow)
	}
	html := mustRun[batchapi.SaveHTMLResult](t, f.newEnv(), f.a.SaveHTMLReport, batchapi.SaveHTMLInput{Run: runKey, Dataset: "taxi", Window: day, Report: cm.Report,
		Summary: cm.Summary, WorkflowID: "wf", RunID: "run", ModelVersion: ref.ModelVersion, GeneratedAt: day.End})
	if html.Path == "" {
		t.Errorf("html %+v", html)
	}
}
