package activities

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/mongodb"
)

// TestClaimWindowThenFetchByStoredAt: an open claim takes the window after the
// fixture's day (the ledger starts where the results end), a second claim of the same
// run returns it again, and FetchPredictions over it stages the rides stored in it:
// rides received on the day but stored the next day are there, counted late, with
// the received_at range; the documents without stored_at received that day are not.
func TestClaimWindowThenFetchByStoredAt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 20, 100)
	if err := batch.NewResults(f.a.DB).Upsert(ctx, &batch.ResultDoc{ID: "taxi/day", Dataset: "taxi", Status: batch.StatusCompleted,
		WindowStart: day.Start, WindowEnd: day.End}); err != nil {
		t.Fatal(err)
	}
	// 5 rides of the day were stored late, 1 h into the next day.
	late := day.End.Add(time.Hour)
	coll := f.a.DB.Collection(mongodb.CollectionData)
	for _, r := range f.rides[:5] {
		if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: mongodb.FieldStoredAt, Value: late}}}}); err != nil {
			t.Fatal(err)
		}
	}
	end := day.End.Add(12 * time.Hour)
	in := batchapi.ClaimInput{Run: runKey, Dataset: "taxi", WindowEnd: end}
	c := mustRun[batchapi.ClaimResult](t, f.env, f.a.ClaimWindow, in)
	if c.Kind != batch.KindLedger || c.Seq != 0 || !c.Window.Start.Equal(day.End) || !c.Window.End.Equal(end) {
		t.Fatalf("claim %+v", c)
	}
	in.WindowEnd = end.Add(time.Hour) // a retry of the same run: the same window
	if again := mustRun[batchapi.ClaimResult](t, f.newEnv(), f.a.ClaimWindow, in); again.Window != c.Window || again.Seq != 0 {
		t.Errorf("retried claim %+v, want %+v", again, c)
	}
	res := mustRun[batchapi.FetchResult](t, f.newEnv(), f.a.FetchPredictions, batchapi.FetchInput{
		Run: runKey, Dataset: "taxi", WindowStart: &c.Window.Start, WindowEnd: c.Window.End, ByStoredAt: true})
	// The 5 late rides plus the fixture's 5 rides received after the day (no stored_at).
	if res.Current.Rows != 10 || res.Late != 5 || res.ReceivedAt == nil ||
		!res.ReceivedAt.Min.Equal(f.rides[0].ReceivedAt) || res.ReceivedAt.Max.Before(day.End) {
		t.Errorf("fetch %+v (received %+v)", res, res.ReceivedAt)
	}
	// The same window by received_at (runs from before the ledger) misses them.
	old := mustRun[batchapi.FetchResult](t, f.newEnv(), f.a.FetchPredictions, batchapi.FetchInput{
		Run: runKey + "-old", Dataset: "taxi", WindowStart: &c.Window.Start, WindowEnd: c.Window.End})
	if old.Current.Rows != 5 || old.Late != 0 {
		t.Errorf("fetch by received_at %+v", old)
	}
	_, err := run[batchapi.ClaimResult](t, f.newEnv(), f.a.ClaimWindow, batchapi.ClaimInput{Run: "x", Dataset: "bus", WindowEnd: end})
	wantBadInput(t, err, "unknown dataset")
}
