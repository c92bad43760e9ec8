package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
)

func TestStampStoredAtAppendsOrReplaces(t *testing.T) {
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	t2 := t1.Add(time.Hour)
	doc, _ := bson.Marshal(bson.D{{Key: "_id", Value: "a"}, {Key: "x", Value: 1.5}})
	buf, once, err := store.StampStoredAt(nil, doc, t1)
	if err != nil {
		t.Fatal(err)
	}
	_, twice, err := store.StampStoredAt(buf, once, t2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		doc  bson.Raw
		want time.Time
	}{{once, t1}, {twice, t2}} {
		if err := c.doc.Validate(); err != nil {
			t.Fatal(err)
		}
		var got bson.D
		if err := bson.Unmarshal(c.doc, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Key != "_id" || got[1].Key != "x" || got[2].Key != mongodb.FieldStoredAt {
			t.Fatalf("fields %v", got)
		}
		if ts := got[2].Value.(bson.DateTime).Time().UTC(); !ts.Equal(c.want) {
			t.Errorf("stored_at %v, want %v", ts, c.want)
		}
	}
	if string(once) == string(twice) {
		t.Error("the second stamp did not replace the first")
	}
}

// TestStoredAtOfDrainedRecords: records logged while the database is down are
// spooled and, once it is back, inserted by the drainer with stored_at of the drain
// (after the restart), not of the failed write: a window over stored_at that closed
// during the outage never misses them. Records written directly carry the time of
// their InsertMany.
func TestStoredAtOfDrainedRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Stop() }()
	c, err := mongodb.Connect(ctx, db.URI)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	coll := mongodb.DataCollection(c)
	l := store.NewLogger(coll, store.LoggerOptions{Spool: sp, Logger: log, WriteTimeout: time.Second, DrainInterval: 100 * time.Millisecond})
	logN := func(prefix string, n int) {
		for i := range n {
			if err := l.Log(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("%s-%d", prefix, i)}, {Key: "received_at", Value: time.Now().UTC()}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := time.Now().Truncate(time.Millisecond)
	logN("up", 20)
	db.Stop()
	down := time.Now()
	logN("down", 20)
	if st := l.Stats(); st.Spooled == 0 {
		t.Fatalf("nothing spooled while the database was down: %+v", st)
	}
	time.Sleep(500 * time.Millisecond)
	if db, err = mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: db.Addr}); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now().Truncate(time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := l.Close(cctx); err != nil {
		t.Fatal(err)
	}
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for cur.Next(ctx) {
		n++
		id := cur.Current.Lookup("_id").StringValue()
		stored, ok := cur.Current.Lookup(mongodb.FieldStoredAt).TimeOK()
		received := cur.Current.Lookup("received_at").Time()
		if !ok {
			t.Errorf("%s has no stored_at", id)
			continue
		}
		switch {
		case id[:2] == "up" && (stored.Before(before) || stored.After(down)):
			t.Errorf("%s stored_at %v outside [%v, %v]", id, stored, before, down)
		case id[:4] == "down" && (stored.Before(restarted) || !received.Before(down.Add(time.Second))):
			t.Errorf("%s received %v, stored_at %v: want stored after the restart %v", id, received, stored, restarted)
		}
	}
	if n != 40 {
		t.Errorf("%d documents, want 40", n)
	}
}

// BenchmarkStampStoredAt stamps a batch of 512 prediction-sized documents (the
// writer's default batch), as the writer does before each InsertMany.
func BenchmarkStampStoredAt(b *testing.B) {
	p := &mongodb.Prediction{ID: "ride-000001", RideID: "ride-000001", PUDO: "74_75", Prediction: 12.5, ModelVersion: "sha256:0123456789abcdef", ReceivedAt: time.Now()}
	doc, err := p.MarshalBSON()
	if err != nil {
		b.Fatal(err)
	}
	docs := make([]bson.Raw, 512)
	for i := range docs {
		docs[i] = doc
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf := make([]byte, 0, 512*(len(doc)+20))
		for _, d := range docs {
			if buf, _, err = store.StampStoredAt(buf, d, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/512, "ns/doc")
}
