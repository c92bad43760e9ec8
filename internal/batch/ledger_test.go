package batch_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/mongodb"
)

var base = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// TestLedgerConcurrentOpenClaimsNeverOverlap: 8 runs claim open windows at once, 6
// times each, with ends that interleave: the claimed windows are contiguous and
// disjoint, and every run got either a ledger window or nothing.
func TestLedgerConcurrentOpenClaimsNeverOverlap(t *testing.T) {
	ctx := context.Background()
	_, db := batchtest.Mongo(t)
	l := batch.NewLedger(db)
	const runners, rounds = 8, 6
	var (
		mu  sync.Mutex
		got []batch.Claimed
		wg  sync.WaitGroup
	)
	for r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range rounds {
				end := base.Add(time.Duration(k*runners+r) * time.Minute)
				c, err := l.Claim(ctx, "taxi", fmt.Sprintf("wf-%d-%d/run", r, k), nil, end)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	claims, err := l.All(ctx, "taxi")
	if err != nil {
		t.Fatal(err)
	}
	ledger := 0
	for _, c := range got {
		switch c.Kind {
		case batch.KindLedger:
			ledger++
		case batch.KindEmpty:
			if c.Window.End.After(c.Window.Start) {
				t.Errorf("empty claim with a window %s", c.Window)
			}
		default:
			t.Errorf("open claim of kind %s", c.Kind)
		}
	}
	if ledger != len(claims) || ledger < 2 {
		t.Fatalf("%d ledger windows handed out, %d claims stored", ledger, len(claims))
	}
	for i, c := range claims {
		if c.Seq != int64(i) {
			t.Errorf("claim %d has seq %d", i, c.Seq)
		}
		if !c.End.After(c.Start) {
			t.Errorf("claim %d: empty window %s", i, c.Window())
		}
		if i > 0 && !c.Start.Equal(claims[i-1].End) {
			t.Errorf("claim %d starts at %s, the previous ends at %s", i, c.Start, claims[i-1].End)
		}
	}
	// The first window of a dataset without results: DefaultLookback before its end.
	if !claims[0].Start.Equal(claims[0].End.Add(-batch.DefaultLookback)) {
		t.Errorf("first window %s", claims[0].Window())
	}
	t.Logf("%d claims by %d runs: %d ledger windows, the rest empty", len(got), runners, ledger)
}

// TestLedgerExplicitWindows: the kinds of explicit windows, the bootstrap from the
// results written before the ledger, and a retried claim of the same run.
func TestLedgerExplicitWindows(t *testing.T) {
	ctx := context.Background()
	_, db := batchtest.Mongo(t)
	l := batch.NewLedger(db)
	// A result from before the ledger covers up to base.
	if err := l.Results.Upsert(ctx, &batch.ResultDoc{ID: "old", Dataset: "taxi", Status: batch.StatusCompleted,
		WindowStart: base.Add(-time.Hour), WindowEnd: base}); err != nil {
		t.Fatal(err)
	}
	at := func(h int) *time.Time { v := base.Add(time.Duration(h) * time.Hour); return &v }
	cases := []struct {
		name   string
		run    string
		start  *time.Time
		end    time.Time
		kind   string
		start2 time.Time
		seq    int64
	}{
		{"gap after the old results: ad hoc", "r1", at(1), *at(2), batch.KindAdhoc, *at(1), -1},
		{"open: starts where the old results end", "r2", nil, *at(2), batch.KindLedger, base, 0},
		{"retry of the same run: same window", "r2", nil, *at(5), batch.KindLedger, base, 0},
		{"explicit at the ledger end: appended", "r3", at(2), *at(3), batch.KindLedger, *at(2), 1},
		{"exactly a ledger window: rerun", "r4", at(0), *at(2), batch.KindRerun, base, 0},
		{"overlapping the ledger: ad hoc", "r5", at(1), *at(3), batch.KindAdhoc, *at(1), -1},
		{"open, nothing left", "r6", nil, *at(3), batch.KindEmpty, *at(3), -1},
		{"open", "r7", nil, *at(4), batch.KindLedger, *at(3), 2},
	}
	for _, c := range cases {
		got, err := l.Claim(ctx, "taxi", c.run, c.start, c.end)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.Kind != c.kind || !got.Window.Start.Equal(c.start2) || got.Seq != c.seq {
			t.Errorf("%s: got %s %s seq %d, want %s from %s seq %d", c.name, got.Kind, got.Window, got.Seq, c.kind, c.start2.Format(time.RFC3339), c.seq)
		}
	}
	if _, err := l.Claim(ctx, "taxi", "r8", at(5), *at(4)); err == nil {
		t.Error("a reversed window was claimed")
	}
	claims, err := l.All(ctx, "taxi")
	if err != nil || len(claims) != 3 {
		t.Fatalf("%d claims (%v), want 3", len(claims), err)
	}
}

// TestStoredFilterSelectsEachDocumentOnce: documents with a stored_at stamp (some
// received long before it: late) and documents from before the stamp are each
// selected by exactly one of consecutive windows, by stored_at when they have one.
func TestStoredFilterSelectsEachDocumentOnce(t *testing.T) {
	ctx := context.Background()
	_, db := batchtest.Mongo(t)
	coll := db.Collection(mongodb.CollectionData)
	var docs []any
	where := map[string]int{} // id -> the window (hour) it must be in
	for i := range 60 {
		id := fmt.Sprintf("d%02d", i)
		received := base.Add(time.Duration(i) * 5 * time.Minute) // 0 .. 5 h
		d := bson.D{{Key: "_id", Value: id}, {Key: "received_at", Value: received}}
		hour := int(received.Sub(base) / time.Hour)
		switch i % 3 {
		case 1: // stored 1 ms later
			d = append(d, bson.E{Key: "stored_at", Value: received.Add(time.Millisecond)})
		case 2: // late: stored 2 h after it was received
			stored := received.Add(2 * time.Hour)
			d = append(d, bson.E{Key: "stored_at", Value: stored})
			hour = int(stored.Sub(base) / time.Hour)
		}
		where[id] = hour
		docs = append(docs, d)
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for h := range 8 {
		w := batch.Window{Start: base.Add(time.Duration(h) * time.Hour), End: base.Add(time.Duration(h+1) * time.Hour)}
		cur, err := coll.Find(ctx, batch.StoredFilter(w))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for cur.Next(ctx) {
			id := cur.Current.Lookup("_id").StringValue()
			ids = append(ids, id)
			seen[id]++
			if where[id] != h {
				t.Errorf("%s selected by window %d, want %d", id, h, where[id])
			}
		}
		if err := cur.Err(); err != nil {
			t.Fatal(err)
		}
		sort.Strings(ids)
		t.Logf("window %d: %v", h, ids)
	}
	for id := range where {
		if seen[id] != 1 {
			t.Errorf("%s selected %d times", id, seen[id])
		}
	}
}
