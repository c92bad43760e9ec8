package activities

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/report"
)

// TestJoin62kTargets joins 62,000 staged predictions with 62,000 targets (a month of
// green-taxi rides) on FerretDB, from a CSV and from the target collection.
func TestJoin62kTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB load test")
	}
	const n = 62_000
	ctx := context.Background()
	f := newFixture(t, 1, DefaultChunkRows)
	st := batch.NewStaging(f.a.DB)
	targets := make([]batch.Target, n)
	chunks := 0
	for from := 0; from < n; from += DefaultChunkRows {
		to := min(from+DefaultChunkRows, n)
		ids := make([]string, 0, to-from)
		d := report.NewDataset(batch.Taxi().Report)
		for i := from; i < to; i++ {
			id := fmt.Sprintf("%08x-6f1e-4d5e-9a57-1f0e9c3a3d11", i)
			ids = append(ids, id)
			targets[i] = batch.Target{ID: id, Value: float64(i%70) + 0.5}
			d.Append(report.Row{Num: map[string]float64{"trip_distance": 1}, Cat: map[string]string{"PULocationID": "1", "DOLocationID": "2"}, Prediction: 10})
		}
		d.Target, d.TargetValid = nil, nil
		if err := st.Put(ctx, runKey, batch.StageCurrent, chunks, len(ids), batch.EncodeIDs(ids), batch.EncodeDataset(d)); err != nil {
			t.Fatal(err)
		}
		chunks++
	}
	cur := batch.StageRef{Run: runKey, Stage: batch.StageCurrent, Chunks: chunks, Rows: n}
	if err := batchtest.WriteTargetsCSV(filepath.Join(f.a.DataDir, "target.csv"), targets, false); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	res := mustRun[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur, Targets: "target.csv"})
	t.Logf("join of %d rows with a %d-line CSV: %s", n, n, time.Since(t0).Round(time.Millisecond))
	if res.Matched != n {
		t.Fatalf("%+v", res)
	}
	t0 = time.Now()
	if _, err := batch.UploadTargets(ctx, f.a.DB.Collection(mongodb.CollectionTarget), mongodb.FieldTargetDuration, targets, 1000, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("upload of %d targets (starter targets): %s", n, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	res = mustRun[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Current: cur})
	el := time.Since(t0)
	t.Logf("join of %d rows with the %d-document target collection: %s", n, n, el.Round(time.Millisecond))
	if res.Matched != n {
		t.Fatalf("%+v", res)
	}
	if el > time.Minute && os.Getenv("CI") == "" {
		t.Errorf("join took %s", el)
	}
}
