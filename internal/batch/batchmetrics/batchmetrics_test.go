package batchmetrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
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
# HELP modelmon_batch_windows Windows of the dataset with a result in the report collection, by the status of that result (a re-run replaces the result of its window, so a failed window that is re-run moves to completed); claimed ledger windows without a result count as claimed, or lost after LostAfter.
# TYPE modelmon_batch_windows gauge
modelmon_batch_windows{dataset="taxi",status="completed"} 2
modelmon_batch_windows{dataset="taxi",status="failed"} 1
modelmon_batch_windows{dataset="taxi",status="skipped"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "modelmon_batch_last_rmse", "modelmon_batch_last_share_drifted_columns", "modelmon_batch_windows"); err != nil {
		t.Fatal(err)
	}
	// A skipped window (a ledger window whose run failed for good) is counted.
	skipped := &batch.ResultDoc{ID: "d", Dataset: "taxi", Status: batch.StatusSkipped, Error: "compute report of taxi: overflow",
		WindowStart: day.Add(3 * time.Hour), WindowEnd: day.Add(4 * time.Hour)}
	if err := res.Upsert(ctx, skipped); err != nil {
		t.Fatal(err)
	}
	c.MinInterval = 0
	if got := testutil.ToFloat64(windowsGauge(c, "taxi", batch.StatusSkipped)); got != 1 {
		t.Errorf("skipped windows %v, want 1", got)
	}
	// Ledger claims: one with its result (d), one just claimed, one claimed 8 h ago,
	// both without a result.
	ledger := batch.NewLedger(db)
	for i, cl := range []batch.Claim{
		{Start: day.Add(3 * time.Hour), End: day.Add(4 * time.Hour), ClaimedAt: time.Now().Add(-9 * time.Hour)},
		{Start: day.Add(4 * time.Hour), End: day.Add(5 * time.Hour), ClaimedAt: time.Now()},
		{Start: day.Add(5 * time.Hour), End: day.Add(6 * time.Hour), ClaimedAt: time.Now().Add(-8 * time.Hour)},
	} {
		cl.ID, cl.Dataset, cl.Seq, cl.Run = batch.ClaimID("taxi", int64(i)), "taxi", int64(i), "r"
		if _, err := ledger.Coll.InsertOne(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}
	// d's window has a result document: its claim is not counted again.
	if err := res.Upsert(ctx, &batch.ResultDoc{ID: batch.ReportID("taxi", batch.Window{Start: day.Add(3 * time.Hour), End: day.Add(4 * time.Hour)}),
		Dataset: "taxi", Status: batch.StatusSkipped, WindowStart: day.Add(3 * time.Hour), WindowEnd: day.Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for st, want := range map[string]float64{StatusClaimed: 1, StatusLost: 1, batch.StatusSkipped: 2} {
		if got := testutil.ToFloat64(windowsGauge(c, "taxi", st)); got != want {
			t.Errorf("%s windows %v, want %v", st, got, want)
		}
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

// windowsGauge is a collector of the one series modelmon_batch_windows{dataset,status}.
func windowsGauge(c *Collector, dataset, status string) prometheus.Collector {
	return seriesOf{c: c, desc: c.windowsDesc, labels: []string{dataset, status}}
}

type seriesOf struct {
	c      *Collector
	desc   *prometheus.Desc
	labels []string
}

func (s seriesOf) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s seriesOf) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric, 64)
	go func() { s.c.Collect(all); close(all) }()
	for m := range all {
		if m.Desc() != s.desc {
			continue
		}
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			continue
		}
		ok := len(pb.GetLabel()) == len(s.labels)
		for i, l := range pb.GetLabel() {
			ok = ok && l.GetValue() == s.labels[i]
		}
		if ok {
			ch <- m
		}
	}
}
