package batchmetrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/mongotest"
)

func TestCollectorReadsLatestCompletedRun(t *testing.T) {
	ctx := context.Background()
	srv, err := mongotest.Start(ctx, mongotest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	db := client.Database("batchmetrics_test")
	res := batch.NewResults(db)
	day := time.Date(2022, 1, 10, 0, 0, 0, 0, time.UTC)
	rmse1, rmse2 := 6.1, 6.9
	docs := []*batch.ResultDoc{
		{ID: "a", Dataset: "taxi", Status: batch.StatusCompleted, WindowStart: day, WindowEnd: day.Add(time.Hour), Summary: &batch.Summary{RMSE: &rmse1, ShareDrifted: 0.25, CurrentRows: 100}},
		{ID: "b", Dataset: "taxi", Status: batch.StatusCompleted, WindowStart: day.Add(time.Hour), WindowEnd: day.Add(2 * time.Hour), Summary: &batch.Summary{RMSE: &rmse2, ShareDrifted: 0.75, DatasetDrift: true, CurrentRows: 120}},
		{ID: "c", Dataset: "taxi", Status: batch.StatusFailed, WindowStart: day.Add(2 * time.Hour), WindowEnd: day.Add(3 * time.Hour)},
	}
	for _, d := range docs {
		if err := res.Upsert(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	c := New(db, nil)
	want := `
# HELP modelmon_batch_last_rmse RMSE (minutes) of the latest completed batch run with targets.
# TYPE modelmon_batch_last_rmse gauge
modelmon_batch_last_rmse{dataset="taxi"} 6.9
# HELP modelmon_batch_last_share_drifted_columns Share of drifted columns in the latest completed batch run.
# TYPE modelmon_batch_last_share_drifted_columns gauge
modelmon_batch_last_share_drifted_columns{dataset="taxi"} 0.75
# HELP modelmon_batch_windows Windows of the dataset with a result in the report collection, by the status of that result (a re-run replaces the result of its window, so a failed window that is re-run moves to completed).
# TYPE modelmon_batch_windows gauge
modelmon_batch_windows{dataset="taxi",status="completed"} 2
modelmon_batch_windows{dataset="taxi",status="failed"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "modelmon_batch_last_rmse", "modelmon_batch_last_share_drifted_columns", "modelmon_batch_windows"); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(New(db, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}
