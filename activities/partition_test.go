package activities

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/sdk/temporal"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/profile"
	"github.com/modelmon/modelmon/internal/report"
)

func wantStagingLost(t *testing.T, err error, contains string) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != batchapi.ErrStagingLost || !ae.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable %s", err, batchapi.ErrStagingLost)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("error %q does not mention %q", err, contains)
	}
}

// TestPartitionActivities: plan, two partitions (one retried), merge; then a
// missing partition and a profile of another format version fail the merge with a
// clear, non-retryable error instead of a wrong number.
func TestPartitionActivities(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 250, 100)
	if _, err := batch.UploadTargets(ctx, f.a.DB.Collection(mongodb.CollectionTarget), mongodb.FieldTargetDuration, batchtest.Targets(f.rides), 1000, nil); err != nil {
		t.Fatal(err)
	}
	start := day.Start
	plan := mustRun[batchapi.PlanResult](t, f.env, f.a.PlanPartitions, batchapi.PlanInput{Run: runKey, Dataset: "taxi", WindowStart: &start, WindowEnd: day.End, MaxPartitionRows: 100})
	// 257 logged documents (250 rides, 5 after the window, 2 without a usable
	// prediction): the collection count bounds the window's rows from above.
	if plan.Window != day || plan.EstimatedRows != 257 || plan.Partitions != 3 {
		t.Fatalf("plan %+v", plan)
	}
	_, err := run[batchapi.PlanResult](t, f.newEnv(), f.a.PlanPartitions, batchapi.PlanInput{Run: runKey, Dataset: "taxi", WindowStart: &start, WindowEnd: day.End})
	wantBadInput(t, err, "max_partition_rows = 0")
	// The default partitioning counts the window when the collection holds more than
	// a partition: 252 documents received in the window (the 250 rides and the 2
	// without a usable prediction) fit in one partition of 255, the collection's 257
	// would not.
	counted := mustRun[batchapi.PlanResult](t, f.newEnv(), f.a.PlanPartitions, batchapi.PlanInput{Run: runKey, Dataset: "taxi", WindowStart: &start, WindowEnd: day.End, MaxPartitionRows: 255, CountWindow: true})
	if counted.EstimatedRows != 252 || counted.Partitions != 1 || counted.EstimateMethod != EstimateMethodCount {
		t.Errorf("counted plan %+v", counted)
	}
	small := mustRun[batchapi.PlanResult](t, f.newEnv(), f.a.PlanPartitions, batchapi.PlanInput{Run: runKey, Dataset: "taxi", WindowStart: &start, WindowEnd: day.End, MaxPartitionRows: 1000, CountWindow: true})
	if small.EstimatedRows != 257 || small.Partitions != 1 || small.EstimateMethod != EstimateMethod {
		t.Errorf("plan of a collection smaller than a partition %+v", small)
	}

	ref := mustRun[batchapi.ScoreReferenceResult](t, f.newEnv(), f.a.ScoreReference, batchapi.ScoreReferenceInput{Run: runKey, Dataset: "taxi"})
	est, err2 := estimate.Load(filepath.Join(filepath.Dir(batchtest.ModelPath()), "duration_estimator.json"), testModel)
	if err2 != nil {
		t.Fatal(err2)
	}
	f.a.Estimator = est
	parts := batchapi.PartitionWindows(day, 2)
	rows, inDomain := 0, 0
	for i, w := range parts {
		in := batchapi.PartitionInput{Run: runKey, Dataset: "taxi", Index: i, Window: w}
		r := mustRun[batchapi.PartitionResult](t, f.newEnv(), f.a.ProfilePartition, in)
		if i == 0 { // a retry replaces the profile it wrote
			r = mustRun[batchapi.PartitionResult](t, f.newEnv(), f.a.ProfilePartition, in)
			if r.Skipped != 2 {
				t.Errorf("partition 0 skipped %d, want the 2 documents without a prediction", r.Skipped)
			}
		}
		if r.Rows == 0 || r.TargetsMatched != r.Rows || r.ProfileBytes == 0 {
			t.Errorf("partition %d: %+v", i, r)
		}
		rows += r.Rows
		inDomain += r.TargetsInDomain
	}
	if rows != 250 {
		t.Fatalf("partitions hold %d rows, want 250", rows)
	}
	n, err := batchtest.Count(ctx, f.a.DB.Collection(mongodb.CollectionStaging), bson.D{{Key: "stage", Value: batchapi.StageProfile}})
	if err != nil || n != 2 {
		t.Fatalf("%d staged profiles (%v), want 2", n, err)
	}
	_, err = run[batchapi.PartitionResult](t, f.newEnv(), f.a.ProfilePartition, batchapi.PartitionInput{Run: runKey, Dataset: "taxi", Index: 0, Window: batch.Window{Start: day.Start, End: day.Start}})
	wantBadInput(t, err, "ProfilePartition")

	mres := mustRun[batchapi.ComputeResult](t, f.newEnv(), f.a.MergeProfiles, batchapi.MergeInput{Run: runKey, Dataset: "taxi", Partitions: 2, Reference: ref.Reference, Plan: *plan})
	r, rb, err := f.a.readReport(ctx, mres.Report)
	if err != nil {
		t.Fatal(err)
	}
	// The estimate of the merged profiles is the estimate of the window's rides,
	// and every segmentation counts the window's rows (the fixture's 250 rides make
	// small segments: the e2e test compares the metrics with the single pass).
	checkEstimate(t, rb, est, f.rides, &mres.Summary)
	if len(r.Segments) != 3 {
		t.Fatalf("segments %v, want pickup_borough, dropoff_borough, pickup_hour_band", r.Segments)
	}
	for name, seg := range r.Segments {
		n := 0
		for v, s := range seg {
			n += s.CurrentRows
			if s.Verdict != report.VerdictTooSmall && (s.Regression == nil || s.Regression.Current == nil || s.Estimated == nil) {
				t.Errorf("%s=%s: %+v", name, v, s)
			}
		}
		if n != 250 {
			t.Errorf("segments of %s count %d rows, want 250", name, n)
		}
	}
	if r.CurrentRows != 250 || r.Computation == nil || r.Computation.Path != report.PathPartitioned || r.Computation.Partitions != 2 || r.Computation.EstimatedRows != 257 {
		t.Fatalf("report rows %d, computation %+v", r.CurrentRows, r.Computation)
	}
	if r.Regression.Current == nil || r.Regression.Current.N != inDomain || mres.Summary.TargetRows != inDomain {
		t.Fatalf("regression %+v, summary %+v, want %d target rows", r.Regression.Current, mres.Summary, inDomain)
	}
	// The report computed from the merged profile's counts equals the one
	// computed on the rows rebuilt from it (profile.ReportFromSample, the
	// former path), field by field.
	ds, err := batch.Lookup("taxi")
	if err != nil {
		t.Fatal(err)
	}
	st := batch.NewStaging(f.a.DB)
	merged := profile.New(ds.Report)
	for i := range parts {
		b, err := st.Get(ctx, runKey, batchapi.StageProfile, i)
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := merged.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	refDS, err := st.ReadDataset(ctx, ref.Reference, ds.StagingConfig())
	if err != nil {
		t.Fatal(err)
	}
	oracle, err := profile.ReportFromSample(ctx, refDS, merged, ds.Report, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"data_drift", r.DataDrift, oracle.DataDrift},
		{"distributions", r.Distributions, oracle.Distributions},
		{"data_quality", r.DataQuality, oracle.DataQuality},
		{"regression", r.Regression, oracle.Regression},
	} {
		g, _ := json.Marshal(c.got)
		w, _ := json.Marshal(c.want)
		if string(g) != string(w) {
			t.Errorf("%s from counts:\n%s\nfrom the expanded rows:\n%s", c.name, g, w)
		}
	}
	if len(r.DataDrift.Columns) == 0 || len(r.Distributions) == 0 {
		t.Fatalf("report without drift columns or distributions: %+v", r.DataDrift)
	}

	// A partition the merge expects is missing.
	_, err = run[batchapi.ComputeResult](t, f.newEnv(), f.a.MergeProfiles, batchapi.MergeInput{Run: runKey, Dataset: "taxi", Partitions: 3, Reference: ref.Reference, Plan: *plan})
	wantStagingLost(t, err, "partition 2 of 3 not found")
	// A profile written by an older format version.
	b, err := batch.NewStaging(f.a.DB).Get(ctx, runKey, batchapi.StageProfile, 1)
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(string(b), `"format_version":2`, `"format_version":1`, 1)
	if err := batch.NewStaging(f.a.DB).Put(ctx, runKey, batchapi.StageProfile, 2, 1, nil, []byte(old)); err != nil {
		t.Fatal(err)
	}
	_, err = run[batchapi.ComputeResult](t, f.newEnv(), f.a.MergeProfiles, batchapi.MergeInput{Run: runKey, Dataset: "taxi", Partitions: 3, Reference: ref.Reference, Plan: *plan})
	wantStagingLost(t, err, "format \"modelmon-profile\" version 1, this build reads \"modelmon-profile\" version 2")
	// A partition profiled by a worker without the estimator does not merge with
	// estimated ones: the report would estimate part of the window.
	f.a.Estimator = nil
	mustRun[batchapi.PartitionResult](t, f.newEnv(), f.a.ProfilePartition, batchapi.PartitionInput{Run: runKey, Dataset: "taxi", Index: 2, Window: parts[1]})
	_, err = run[batchapi.ComputeResult](t, f.newEnv(), f.a.MergeProfiles, batchapi.MergeInput{Run: runKey, Dataset: "taxi", Partitions: 3, Reference: ref.Reference, Plan: *plan})
	wantStagingLost(t, err, "ESTIMATOR_PATH")
}

func TestPartitionWindowsCoverTheWindow(t *testing.T) {
	w := batch.Window{Start: day.Start, End: day.Start.Add(7*time.Hour + 3*time.Nanosecond)}
	for _, n := range []int{0, 1, 3, 7, 1000} {
		ps := batchapi.PartitionWindows(w, n)
		if len(ps) != max(n, 1) || ps[0].Start != w.Start || ps[len(ps)-1].End != w.End {
			t.Fatalf("n=%d: %d slices from %s to %s", n, len(ps), ps[0].Start, ps[len(ps)-1].End)
		}
		for i := 1; i < len(ps); i++ {
			if ps[i].Start != ps[i-1].End || !ps[i].End.After(ps[i].Start) {
				t.Fatalf("n=%d: slice %d %s does not follow %s", n, i, ps[i], ps[i-1])
			}
		}
	}
}
