package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOutageIsSpooledAndDrained stops the embedded FerretDB in the middle of a load of
// concurrent Log calls and starts it again on the same files: every record that Log
// acknowledged is in the collection exactly once after the drain.
func TestOutageIsSpooledAndDrained(t *testing.T) {
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
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	coll := mongodb.DataCollection(c)
	l := store.NewLogger(coll, store.LoggerOptions{Spool: sp, Logger: log, WriteTimeout: 2 * time.Second, DrainInterval: 100 * time.Millisecond})

	var (
		acked   sync.Map
		nAcked  atomic.Int64
		nFailed atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
		seq     atomic.Int64
	)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				id := fmt.Sprintf("outage-%d", seq.Add(1))
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := l.Log(rctx, bson.D{{Key: "_id", Value: id}, {Key: "v", Value: 1}})
				cancel()
				if err == nil {
					acked.Store(id, true)
					time.Sleep(time.Millisecond)
					nAcked.Add(1)
				} else {
					nFailed.Add(1)
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	before := nAcked.Load()
	db.Stop()
	time.Sleep(3 * time.Second)
	during := nAcked.Load()
	st := l.Stats()
	t.Logf("acknowledged before the outage %d, during %d; spooled %d, backlog %d records", before, during-before, st.Spooled, st.SpoolRecords)
	if st.Spooled == 0 || during <= before {
		t.Errorf("nothing spooled during the outage: %+v", st)
	}
	db, err = mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: db.Addr})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	stop.Store(true)
	wg.Wait()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := l.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if n := sp.Len(); n != 0 {
		t.Errorf("spool still holds %d records after Close", n)
	}
	st = l.Stats()
	t.Logf("acknowledged %d, failed %d; stats %+v", nAcked.Load(), nFailed.Load(), st)

	cur, err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^outage-"}}}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for cur.Next(ctx) {
		seen[cur.Current.Lookup("_id").StringValue()]++
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if seen[k.(string)] != 1 {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged %s stored %d times", k, seen[k.(string)])
			}
		}
		return true
	})
	if missing > 0 {
		t.Errorf("%d acknowledged records not stored exactly once", missing)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
	if !strings.Contains(logs.String(), "batch spooled") {
		t.Errorf("no spool log line:\n%s", logs.String())
	}
}

func TestSpoolFullIsOverloaded(t *testing.T) {
	ctx := context.Background()
	// A client to a closed port: every write fails.
	c, err := mongodb.Connect(ctx, "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200&connectTimeoutMS=200")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxBytes: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	l := store.NewLogger(mongodb.DataCollection(c), store.LoggerOptions{Spool: sp, Logger: slog.New(slog.DiscardHandler), WriteTimeout: time.Second})
	defer l.Close(ctx)
	if err := l.Log(ctx, bson.D{{Key: "_id", Value: "full-1"}, {Key: "pad", Value: strings.Repeat("x", 150)}}); err != nil {
		t.Fatalf("first record: %v (want spooled)", err)
	}
	err = l.Log(ctx, bson.D{{Key: "_id", Value: "full-2"}, {Key: "pad", Value: strings.Repeat("x", 150)}})
	if !errors.Is(err, store.ErrSpoolFull) || !errors.Is(err, store.ErrOverloaded) {
		t.Fatalf("second record: %v, want ErrSpoolFull", err)
	}
	if st := l.Stats(); st.SpoolRecords != 1 || st.SpoolFull != 1 || !st.DBDown {
		t.Errorf("stats %+v", st)
	}
}
