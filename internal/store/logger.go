package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Errors of Logger.Log. A write that failed for another reason is returned wrapped
// (errors.Is(err, ErrWrite)).
var (
	// ErrDuplicateID: a document with the same _id is already stored (or was in
	// the same batch); this record was not written, the rest of its batch was.
	ErrDuplicateID = errors.New("store: duplicate id")
	// ErrOverloaded: the queue is full; nothing was written. Retry later.
	ErrOverloaded = errors.New("store: prediction log queue is full")
	// ErrClosed: Log was called after Close began; nothing was written.
	ErrClosed = errors.New("store: prediction log is closed")
	// ErrWrite: the database did not acknowledge the record (unreachable,
	// timeout, rejected document). The record may or may not have been written.
	ErrWrite = errors.New("store: write not acknowledged")
)

// LoggerOptions are the group-commit knobs. Zero values take the defaults.
type LoggerOptions struct {
	// BatchSize is the most records in one InsertMany (default 512).
	BatchSize int
	// BatchDelay is the longest a writer waits for more records after taking
	// the first one of a batch (Kafka's linger). Without it batches still form
	// while the previous InsertMany is in flight, and grow with the load; the
	// wait merges the requests that arrive just after, which pays when an
	// InsertMany has a fixed cost as high as FerretDB's. Default 0: no wait.
	BatchDelay time.Duration
	// QueueSize bounds the records waiting for a writer (default 8192); Log
	// fails fast with ErrOverloaded when it is full.
	QueueSize int
	// Writers is the number of InsertMany calls in flight at once (default 1:
	// SQLite, behind FerretDB, has one writer anyway, and more writers only
	// make smaller batches).
	Writers int
	// WriteTimeout bounds one InsertMany (default 10s).
	WriteTimeout time.Duration
	// Logger receives failures of whole batches; nil is slog.Default().
	Logger *slog.Logger
	// OnWrite, when set, is called after every InsertMany with its record count and
	// duration (for the write-latency and batch-size metrics); it must be fast.
	OnWrite func(records int, d time.Duration)
}

// Defaults of LoggerOptions.
const (
	DefaultBatchSize    = 512
	DefaultQueueSize    = 8192
	DefaultWriters      = 1
	DefaultWriteTimeout = 10 * time.Second
)

func (o *LoggerOptions) setDefaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Writers <= 0 {
		o.Writers = DefaultWriters
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.BatchDelay < 0 {
		o.BatchDelay = 0
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// LoggerStats are cumulative counters of a Logger.
type LoggerStats struct {
	Batches      int64 `json:"batches"`       // InsertMany calls made
	MultiBatches int64 `json:"multi_batches"` // InsertMany calls that carried more than one record
	MaxBatch     int64 `json:"max_batch"`     // the most records in one InsertMany
	Records      int64 `json:"records"`       // records acknowledged
	Duplicates   int64 `json:"duplicates"`    // records refused as ErrDuplicateID
	Failed       int64 `json:"failed"`        // records that got another error from the database
	Overloaded   int64 `json:"overloaded"`    // Log calls refused with ErrOverloaded
	Queued       int64 `json:"queued"`        // records waiting for a writer now
}

// Logger is a group-commit writer to one collection: Log queues a document and waits
// until the InsertMany (ordered=false) that carried it is acknowledged. Records of
// concurrent callers share one InsertMany; a record's own write error (such as a
// duplicate _id) is reported to its caller only. It is safe for concurrent use.
type Logger struct {
	coll  *mongo.Collection
	opts  LoggerOptions
	queue chan *pending

	mu     sync.RWMutex // guards closed and the close of queue
	closed bool

	writeCtx    context.Context // canceled when Close gives up
	cancelWrite context.CancelFunc
	done        chan struct{} // closed when every writer has returned

	batches, multi, maxBatch, records, dups, failed, overloaded atomic.Int64
}

type pending struct {
	doc  bson.Raw
	done chan error // buffered: the writer never blocks on a caller that gave up
}

// NewLogger starts the writers of a Logger on coll.
func NewLogger(coll *mongo.Collection, opts LoggerOptions) *Logger {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	l := &Logger{
		coll:        coll,
		opts:        opts,
		queue:       make(chan *pending, opts.QueueSize),
		writeCtx:    ctx,
		cancelWrite: cancel,
		done:        make(chan struct{}),
	}
	var wg sync.WaitGroup
	for range opts.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.writer()
		}()
	}
	go func() {
		wg.Wait()
		close(l.done)
	}()
	return l
}

// Options returns the options in force (defaults applied).
func (l *Logger) Options() LoggerOptions { return l.opts }

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

// Log writes doc (a bson.Marshaler such as *Prediction, a bson.Raw, or anything
// bson.Marshal accepts) and returns once the database acknowledged it: nil, or
// ErrDuplicateID, ErrOverloaded, ErrClosed, an ErrWrite, or ctx's error. When ctx ends
// while the batch is in flight the record may still be written.
func (l *Logger) Log(ctx context.Context, doc any) error {
	raw, err := encode(doc)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: log: %w", err)
	}
	p := pendingPool.Get().(*pending)
	p.doc = raw
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		pendingPool.Put(p)
		return ErrClosed
	}
	select {
	case l.queue <- p:
		l.mu.RUnlock()
	default:
		l.mu.RUnlock()
		pendingPool.Put(p)
		l.overloaded.Add(1)
		return ErrOverloaded
	}
	select {
	case err := <-p.done:
		p.doc = nil
		pendingPool.Put(p) // the writer is done with p
		return err
	case <-ctx.Done():
		// The writer still owns p and will send to its buffered channel:
		// leave p to the garbage collector.
		return fmt.Errorf("store: log: waiting for acknowledgement: %w", ctx.Err())
	}
}

func encode(doc any) (bson.Raw, error) {
	switch d := doc.(type) {
	case nil:
		return nil, errors.New("store: log: nil document")
	case bson.Raw:
		return d, nil
	case bson.Marshaler:
		b, err := d.MarshalBSON()
		if err != nil {
			return nil, fmt.Errorf("store: log: encode: %w", err)
		}
		return b, nil
	default:
		b, err := bson.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("store: log: encode: %w", err)
		}
		return b, nil
	}
}

// Close stops accepting records (Log returns ErrClosed), writes every queued record
// and waits for the writers. If ctx ends first, the writes in flight are canceled and
// Close returns ctx's error. Close is idempotent.
func (l *Logger) Close(ctx context.Context) error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
		l.cancelWrite()
		return nil
	case <-ctx.Done():
		l.cancelWrite()
		<-l.done
		return fmt.Errorf("store: close prediction log: %w", ctx.Err())
	}
}

// Stats returns the counters so far.
func (l *Logger) Stats() LoggerStats {
	return LoggerStats{
		Batches:      l.batches.Load(),
		MultiBatches: l.multi.Load(),
		MaxBatch:     l.maxBatch.Load(),
		Records:      l.records.Load(),
		Duplicates:   l.dups.Load(),
		Failed:       l.failed.Load(),
		Overloaded:   l.overloaded.Load(),
		Queued:       int64(len(l.queue)),
	}
}

// writer forms batches from the queue and writes them until the queue is closed and
// drained.
func (l *Logger) writer() {
	batch := make([]*pending, 0, l.opts.BatchSize)
	docs := make([]any, 0, l.opts.BatchSize)
	var timer *time.Timer
	for {
		p, ok := <-l.queue
		if !ok {
			return
		}
		batch = append(batch[:0], p)
		open := l.fill(&batch, &timer)
		docs = docs[:0]
		for _, p := range batch {
			docs = append(docs, p.doc)
		}
		l.write(batch, docs)
		clear(docs) // drop references to the written documents
		clear(batch)
		if !open {
			return
		}
	}
}

// fill adds queued records to batch, up to BatchSize, without waiting (or waiting up
// to BatchDelay when set). It reports false when the queue is closed and drained.
func (l *Logger) fill(batch *[]*pending, timer **time.Timer) bool {
	max := l.opts.BatchSize
	for len(*batch) < max {
		select {
		case p, ok := <-l.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, p)
			continue
		default:
		}
		break
	}
	if l.opts.BatchDelay <= 0 || len(*batch) >= max {
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(l.opts.BatchDelay)
	} else {
		(*timer).Reset(l.opts.BatchDelay)
	}
	defer (*timer).Stop()
	for len(*batch) < max {
		select {
		case p, ok := <-l.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, p)
		case <-(*timer).C:
			return true
		}
	}
	return true
}

// write inserts one batch and answers every caller in it.
func (l *Logger) write(batch []*pending, docs []any) {
	n := int64(len(batch))
	l.batches.Add(1)
	if n > 1 {
		l.multi.Add(1)
	}
	for {
		m := l.maxBatch.Load()
		if n <= m || l.maxBatch.CompareAndSwap(m, n) {
			break
		}
	}
	ctx, cancel := context.WithTimeout(l.writeCtx, l.opts.WriteTimeout)
	began := time.Now()
	_, err := l.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	cancel()
	if l.opts.OnWrite != nil {
		l.opts.OnWrite(len(docs), time.Since(began))
	}
	if err == nil {
		l.records.Add(n)
		for _, p := range batch {
			p.done <- nil
		}
		return
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		// Nothing is known per record: the whole batch failed (or its write
		// concern did).
		l.failed.Add(n)
		l.opts.Logger.Error("prediction log: batch not acknowledged", "records", n, "err", err)
		werr := fmt.Errorf("%w: batch of %d: %w", ErrWrite, n, err)
		for _, p := range batch {
			p.done <- werr
		}
		return
	}
	errs := make(map[int]error, len(bwe.WriteErrors))
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(batch) {
			continue
		}
		if isDuplicate(we) {
			errs[we.Index] = ErrDuplicateID
			l.dups.Add(1)
			continue
		}
		errs[we.Index] = fmt.Errorf("%w: code %d: %s", ErrWrite, we.Code, we.Message)
		l.failed.Add(1)
		l.opts.Logger.Error("prediction log: record rejected", "code", we.Code, "err", we.Message)
	}
	l.records.Add(n - int64(len(errs)))
	for i, p := range batch {
		p.done <- errs[i]
	}
}

func isDuplicate(we mongo.BulkWriteError) bool {
	switch we.Code {
	case 11000, 11001, 12582:
		return true
	}
	return false
}
