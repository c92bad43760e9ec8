package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/store"
	"github.com/modelmon/modelmon/internal/taxi"
)

func ptr[T any](v T) *T { return &v }

func samplePrediction(id string) mongodb.Prediction {
	p := mongodb.Prediction{
		ID: id, RideID: id,
		PUDO: "130_205", PUDOKnown: true, Prediction: 17.25, ModelVersion: "sha256:test",
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
	}
	pick, _ := taxi.ParseLocalTime("2021-02-01 00:34:03")
	p.SetTrip(&taxi.Trip{
		VendorID: ptr[int64](2), Pickup: &pick, StoreAndFwdFlag: ptr("N"),
		PULocationID: ptr[int64](130), DOLocationID: ptr[int64](205), TripDistance: ptr(3.66),
		FareAmount: ptr(14.0),
	})
	return p
}

var collSeq atomic.Int64

// coll gives every run of a test its own collection in the prediction database.
func coll(t *testing.T) *mongo.Collection {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return client.Database(mongodb.Database).Collection(fmt.Sprintf("t_%s_%d", name, collSeq.Add(1)))
}

func TestLoggerGroupsConcurrentRecords(t *testing.T) {
	c := coll(t)
	l := store.NewLogger(c, store.LoggerOptions{BatchDelay: 5 * time.Millisecond})
	ctx := context.Background()
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := samplePrediction(fmt.Sprintf("g-%d", i))
			errs <- l.Log(ctx, &p)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := l.Stats()
	if st.Records != n || st.MultiBatches == 0 || st.Batches >= n {
		t.Errorf("stats %+v: want %d records in fewer batches, some with more than one record", st, n)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := c.CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("%d documents stored, want %d", got, n)
	}
	if err := l.Log(ctx, bson.D{{Key: "_id", Value: "late"}}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Log after Close: %v, want ErrClosed", err)
	}
	if err := l.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLoggerDuplicateFailsOnlyItsRecord(t *testing.T) {
	c := coll(t)
	ctx := context.Background()
	// A long batch delay puts all the concurrent records in one InsertMany.
	l := store.NewLogger(c, store.LoggerOptions{BatchDelay: 500 * time.Millisecond})
	defer l.Close(ctx)
	first := samplePrediction("dup")
	if err := l.Log(ctx, &first); err != nil {
		t.Fatal(err)
	}
	before := l.Stats()
	ids := []string{"n1", "dup", "n2", "n3", "n4"}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := samplePrediction(id)
			errs[i] = l.Log(ctx, &p)
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id == "dup" {
			if !errors.Is(errs[i], store.ErrDuplicateID) {
				t.Errorf("duplicate: %v, want ErrDuplicateID", errs[i])
			}
		} else if errs[i] != nil {
			t.Errorf("%s: %v", id, errs[i])
		}
	}
	after := l.Stats()
	if after.MultiBatches == before.MultiBatches {
		t.Errorf("the records did not share a batch: %+v", after)
	}
	if after.Duplicates != 1 || after.Records != 5 {
		t.Errorf("stats %+v: want 1 duplicate, 5 records", after)
	}
	n, err := c.CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("%d documents, want 5", n)
	}
	// A duplicate inside one batch: the first wins, the second is refused.
	var twin [2]error
	for i := range twin {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := samplePrediction("twin")
			twin[i] = l.Log(ctx, &p)
		}()
	}
	wg.Wait()
	if (twin[0] == nil) == (twin[1] == nil) || !errors.Is(errors.Join(twin[0], twin[1]), store.ErrDuplicateID) {
		t.Errorf("same id twice in a batch: %v, %v; want one nil and one ErrDuplicateID", twin[0], twin[1])
	}
}

func TestLoggerCloseFlushesQueued(t *testing.T) {
	c := coll(t)
	ctx := context.Background()
	l := store.NewLogger(c, store.LoggerOptions{BatchSize: 7, BatchDelay: 50 * time.Millisecond})
	const n = 60
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := samplePrediction(fmt.Sprintf("c-%d", i))
			errs <- l.Log(ctx, &p)
		}()
	}
	// Close while most records still wait in the queue.
	time.Sleep(20 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := l.Close(cctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrClosed): // arrived after Close began: not written
		default:
			t.Errorf("Log: %v", err)
		}
	}
	got, err := c.CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if int(got) != ok || ok == 0 {
		t.Errorf("%d acknowledged, %d stored", ok, got)
	}
	if st := l.Stats(); st.MaxBatch > 7 {
		t.Errorf("batch of %d records, BatchSize is 7", st.MaxBatch)
	}
}

func TestLoggerUnreachableDatabase(t *testing.T) {
	// A real driver against a port where nothing listens: every write fails
	// after the server-selection timeout; the queue bound refuses the excess.
	c, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:1/").
		SetServerSelectionTimeout(300 * time.Millisecond).SetConnectTimeout(200 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	l := store.NewLogger(c.Database(mongodb.Database).Collection("x"), store.LoggerOptions{QueueSize: 2, BatchSize: 1})
	ctx := context.Background()
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := samplePrediction(fmt.Sprintf("u-%d", i))
			errs <- l.Log(ctx, &p)
		}()
	}
	wg.Wait()
	close(errs)
	var write, over int
	for err := range errs {
		switch {
		case errors.Is(err, store.ErrWrite):
			write++
		case errors.Is(err, store.ErrOverloaded):
			over++
		default:
			t.Errorf("Log: %v, want ErrWrite or ErrOverloaded", err)
		}
	}
	if write == 0 || over == 0 {
		t.Errorf("%d write errors, %d overloaded; want both", write, over)
	}
	// A caller whose context ends stops waiting.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	p := samplePrediction("late")
	if err := l.Log(tctx, &p); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, store.ErrOverloaded) {
		t.Errorf("Log with an expiring context: %v", err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLogAcceptsRawAndStructs(t *testing.T) {
	c := coll(t)
	ctx := context.Background()
	l := store.NewLogger(c, store.LoggerOptions{})
	defer l.Close(ctx)
	raw, _ := bson.Marshal(bson.D{{Key: "_id", Value: "raw"}})
	if err := l.Log(ctx, bson.Raw(raw)); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(ctx, mongodb.Target{ID: "t1", Duration: 12.5}); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(ctx, nil); err == nil {
		t.Error("nil document accepted")
	}
	var tg mongodb.Target
	if err := c.FindOne(ctx, bson.D{{Key: mongodb.FieldTargetID, Value: "t1"}}).Decode(&tg); err != nil || tg.Duration != 12.5 {
		t.Errorf("target %+v, %v", tg, err)
	}
}
