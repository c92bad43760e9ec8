package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
)

// SpoolOnly (the benchmark mode): concurrent *mongodb.Prediction records, encoded
// into pooled buffers, all land in the spool, each exactly once and intact (a
// buffer given back to the pool too early would show as a record with another
// record's bytes); a reused id is refused; nothing needs a database.
func TestSpoolOnlyPooledRecordsIntact(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	sp := openSpool(t, log)
	l := store.NewLogger(nil, store.LoggerOptions{Spool: sp, SpoolOnly: true, Logger: log})
	const workers, each = 16, 200
	received := time.Date(2021, 2, 1, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("w%02d-%04d", w, i)
				// The id's length varies, so that records of different sizes share
				// the pool's buffers.
				if i%3 == 0 {
					id += "-padded-to-a-longer-id"
				}
				d := float64(i) / 10
				p := &mongodb.Prediction{ID: id, RideID: id, PUDO: "1_2", TripDistance: &d,
					Prediction: float64(w*1000 + i), ModelVersion: "v", ReceivedAt: received}
				if err := l.Log(ctx, p); err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	dup := &mongodb.Prediction{ID: "w00-0001", RideID: "w00-0001", PUDO: "1_2", ModelVersion: "v", ReceivedAt: received}
	if err := l.Log(ctx, dup); !errors.Is(err, store.ErrDuplicateID) {
		t.Fatalf("reused id: %v, want ErrDuplicateID", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.Close(cctx); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Spooled != workers*each || st.Records != 0 || st.Duplicates != 1 {
		t.Fatalf("stats %+v: want %d spooled, 0 records, 1 duplicate", st, workers*each)
	}
	seen := map[string]bool{}
	err := sp.Scan(func(rec []byte) error {
		var p mongodb.Prediction
		if err := bson.Unmarshal(rec, &p); err != nil {
			return err
		}
		var w, i int
		if _, err := fmt.Sscanf(p.ID, "w%02d-%04d", &w, &i); err != nil {
			return fmt.Errorf("record id %q: %w", p.ID, err)
		}
		if p.RideID != p.ID || p.Prediction != float64(w*1000+i) || p.TripDistance == nil || *p.TripDistance != float64(i)/10 || seen[p.ID] {
			return fmt.Errorf("record %q is not its own (or seen twice): %+v", p.ID, p)
		}
		seen[p.ID] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != workers*each {
		t.Fatalf("%d records in the spool, want %d", len(seen), workers*each)
	}
}

// LogWithin bounds the wait as context.WithTimeout would: past the bound the caller
// gets ErrAckTimeout (a context.DeadlineExceeded) while the batch waits; within it the
// acknowledgement, also after a pooled waiter's timer was stopped and reused (no stale
// expiry), and the record that timed out is still written.
func TestLogWithinBoundsTheWait(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	sp := openSpool(t, log)
	rec := smallRecord

	// The batch waits 1s for company; the caller 100ms.
	slow := store.NewLogger(nil, store.LoggerOptions{Spool: sp, SpoolOnly: true, Logger: log, SpoolBatchDelay: time.Second})
	start := time.Now()
	err := slow.LogWithin(ctx, rec("late"), 100*time.Millisecond)
	if !errors.Is(err, store.ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LogWithin past its bound: %v, want ErrAckTimeout", err)
	}
	if el := time.Since(start); el < 100*time.Millisecond || el > 900*time.Millisecond {
		t.Errorf("LogWithin gave up after %v, want 100ms", el)
	}
	if err := slow.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := sp.Stats().Records; n != 1 {
		t.Errorf("spool holds %d records after the timed-out call, want 1 (it may still be written)", n)
	}

	fast := store.NewLogger(nil, store.LoggerOptions{Spool: sp, SpoolOnly: true, Logger: log})
	defer fast.Close(ctx)
	for i := range 50 {
		if err := fast.LogWithin(ctx, rec(fmt.Sprintf("a%d", i)), 30*time.Millisecond); err != nil {
			t.Fatalf("LogWithin within its bound: %v", err)
		}
	}
	time.Sleep(60 * time.Millisecond) // past every bound above: a timer not stopped would have fired
	for i := range 50 {
		if err := fast.LogWithin(ctx, rec(fmt.Sprintf("b%d", i)), 10*time.Second); err != nil {
			t.Fatalf("LogWithin with a reused waiter: %v", err)
		}
	}
	if err := fast.LogWithin(ctx, rec("a0"), time.Second); !errors.Is(err, store.ErrDuplicateID) {
		t.Errorf("reused id: %v, want ErrDuplicateID", err)
	}
}

// A batch that goes to the spool waits SpoolBatchDelay, not BatchDelay, for the
// records that follow its first.
func TestSpoolBatchDelay(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	run := func(o store.LoggerOptions) (store.LoggerStats, time.Duration) {
		o.Spool, o.SpoolOnly, o.Logger = openSpool(t, log), true, log
		l := store.NewLogger(nil, o)
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * 10 * time.Millisecond) // 0, 10, .. 40 ms
				if err := l.Log(ctx, smallRecord(fmt.Sprint(i))); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return l.Stats(), el
	}
	// The spool's wait (200ms) spans the five records: one batch.
	if st, _ := run(store.LoggerOptions{SpoolBatchDelay: 200 * time.Millisecond}); st.Batches != 1 || st.MaxBatch != 5 {
		t.Errorf("SpoolBatchDelay 200ms: %d batches, largest %d; want 1 of 5", st.Batches, st.MaxBatch)
	}
	// BatchDelay is the database's: the spool's batches do not wait 2s.
	st, el := run(store.LoggerOptions{BatchDelay: 2 * time.Second})
	if st.Batches < 2 || el > time.Second {
		t.Errorf("BatchDelay 2s, no SpoolBatchDelay: %d batches in %v; want several, at once", st.Batches, el)
	}
}

// openSpool opens a spool in a new temporary directory, closed at the test's end.
func openSpool(t *testing.T, log *slog.Logger) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// smallRecord is a prediction record with only its id and the required fields.
func smallRecord(id string) *mongodb.Prediction {
	return &mongodb.Prediction{ID: id, RideID: id, PUDO: "1_2", ModelVersion: "v", ReceivedAt: time.Unix(0, 0).UTC()}
}
