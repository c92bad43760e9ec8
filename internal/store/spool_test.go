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

// TestDuplicateWhileSpooling: while the database is down, a duplicate of a spooled id
// or of an id this process stored gets ErrDuplicateID (the 409 of /predict), as
// when the database is up. A record whose id another process stored before the
// outage cannot be checked then: it is acknowledged, and the drain counts and logs
// it as a conflict (never silently) and stores nothing over the stored one.
func TestDuplicateWhileSpooling(t *testing.T) {
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
	log := slog.New(slog.NewTextHandler(&logs, nil))
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	coll := mongodb.DataCollection(c)
	l := store.NewLogger(coll, store.LoggerOptions{Spool: sp, Logger: log, WriteTimeout: time.Second, DrainInterval: 100 * time.Millisecond})
	doc := func(id string, v int) bson.D { return bson.D{{Key: "_id", Value: id}, {Key: "v", Value: v}} }

	if err := l.Log(ctx, doc("dup-acked", 1)); err != nil {
		t.Fatal(err)
	}
	// Another process stores an id before the outage.
	if _, err := coll.InsertOne(ctx, doc("dup-other", 1)); err != nil {
		t.Fatal(err)
	}
	// A write that reached the database although its batch failed, and was spooled.
	same, _ := bson.Marshal(doc("dup-same", 1))
	if _, err := coll.InsertOne(ctx, bson.Raw(same)); err != nil {
		t.Fatal(err)
	}
	db.Stop()
	if err := sp.Append([][]byte{same}); err != nil {
		t.Fatal(err)
	}

	if err := l.Log(ctx, doc("dup-spooled", 1)); err != nil {
		t.Fatalf("first record while down: %v (want spooled)", err)
	}
	if !l.Stats().DBDown || sp.Len() != 2 {
		t.Fatalf("not spooled: %+v", l.Stats())
	}
	for _, id := range []string{"dup-spooled", "dup-acked"} {
		if err := l.Log(ctx, doc(id, 2)); !errors.Is(err, store.ErrDuplicateID) {
			t.Errorf("%s again while the database is down: %v, want ErrDuplicateID", id, err)
		}
	}
	// Two concurrent records with one new id: one is spooled, the other is refused.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = l.Log(ctx, doc("dup-pair", i)) }()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), store.ErrDuplicateID) {
		t.Errorf("same id twice while down: %v", errs)
	}
	// Not checkable while down: answered nil, found at drain.
	if err := l.Log(ctx, doc("dup-other", 2)); err != nil {
		t.Errorf("dup-other while down: %v (it cannot be checked then)", err)
	}

	db, err = mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: db.Addr})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for sp.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := sp.Len(); n != 0 {
		t.Fatalf("spool not drained: %d", n)
	}
	// Up again: the database answers for the ids.
	if err := l.Log(ctx, doc("dup-spooled", 3)); !errors.Is(err, store.ErrDuplicateID) {
		t.Errorf("dup-spooled with the database up: %v", err)
	}
	st := l.Stats()
	t.Logf("stats %+v", st)
	if st.DrainConflicts != 1 || st.DrainDuplicates != 1 || st.DrainUnverified != 0 || st.Duplicates != 4 {
		t.Errorf("stats %+v: want 1 drain conflict, 1 drain duplicate, 4 duplicates refused", st)
	}
	if !strings.Contains(logs.String(), "another record with the same id was stored") || !strings.Contains(logs.String(), "dup-other") {
		t.Errorf("no conflict log line naming dup-other:\n%s", logs.String())
	}
	want := map[string]int32{"dup-acked": 1, "dup-other": 1, "dup-spooled": 1, "dup-same": 1}
	cur, err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^dup-"}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	pairs := 0
	for cur.Next(ctx) {
		id := cur.Current.Lookup("_id").StringValue()
		if id == "dup-pair" {
			pairs++
			continue
		}
		got[id] = cur.Current.Lookup("v").Int32()
	}
	if pairs != 1 || len(got) != len(want) {
		t.Errorf("stored %v and %d dup-pair, want %v and 1", got, pairs, want)
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s stored with v=%d, want %d (the first one)", id, got[id], v)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.Close(cctx); err != nil {
		t.Fatal(err)
	}
}

// TestSpooledIDsSurviveRestart: a new Logger on a spool left by a previous process
// refuses the ids in it while the database is still down.
func TestSpooledIDsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	c, err := mongodb.Connect(ctx, "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200&connectTimeoutMS=200")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	open := func() (*spool.Spool, *store.Logger) {
		sp, err := spool.Open(spool.Options{Dir: dir, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return sp, store.NewLogger(mongodb.DataCollection(c), store.LoggerOptions{Spool: sp, Logger: quiet, WriteTimeout: 300 * time.Millisecond})
	}
	sp, l := open()
	if err := l.Log(ctx, bson.D{{Key: "_id", Value: "restart-1"}}); err != nil {
		t.Fatalf("spooled: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	_ = l.Close(cctx)
	cancel()
	sp.Close()

	sp, l = open()
	defer sp.Close()
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = l.Close(cctx)
		cancel()
	}()
	if err := l.Log(ctx, bson.D{{Key: "_id", Value: "restart-1"}}); !errors.Is(err, store.ErrDuplicateID) {
		t.Errorf("spooled id after a restart: %v, want ErrDuplicateID", err)
	}
	if err := l.Log(ctx, bson.D{{Key: "_id", Value: "restart-2"}}); err != nil {
		t.Errorf("new id after a restart: %v", err)
	}
}
