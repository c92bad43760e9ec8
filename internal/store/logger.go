package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/modelmon/modelmon/internal/spool"
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
	// ErrSpoolFull: the database did not take the record and the spool is full;
	// nothing was written. It is an ErrOverloaded (errors.Is).
	ErrSpoolFull = fmt.Errorf("%w: database unavailable and spool full", ErrOverloaded)
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
	// SpoolBatchDelay replaces BatchDelay for the batches that go to the spool
	// (SpoolOnly, or while the database is down). There every batch costs an
	// fsync (~170 µs and ~80 µs of CPU on the benchmark machine), and a short
	// wait for the requests that follow pays: bench/README.md measures it.
	// Default 0: none (the service's default is envconf.LogSpoolBatchDelay's).
	SpoolBatchDelay time.Duration
	// QueueSize bounds the records waiting for a writer (default 8192); Log
	// fails fast with ErrOverloaded when it is full.
	QueueSize int
	// Writers is the number of InsertMany calls in flight at once (default 1:
	// SQLite, behind FerretDB, has one writer anyway, and more writers only
	// make smaller batches).
	Writers int
	// WriteTimeout bounds one InsertMany (default 10s).
	WriteTimeout time.Duration
	// WriteConcern is the write concern of the collection's client
	// (mongodb.URIWriteConcern of its URI), which the Logger's insert commands
	// send as InsertMany would; nil sends none: the server's default.
	WriteConcern *writeconcern.WriteConcern
	// Logger receives failures of whole batches; nil is slog.Default().
	Logger *slog.Logger
	// OnWrite, when set, is called after every InsertMany with its record count and
	// duration (for the write-latency and batch-size metrics); it must be fast.
	OnWrite func(records int, d time.Duration)
	// Spool, when set, takes the batches the database does not acknowledge (it
	// is unreachable, times out, or fails the whole batch): their callers get nil
	// once the records are durable in the spool, and a background drainer
	// inserts them when the database answers again. While the database is known
	// to be down batches go to the spool at once. The caller opens and closes the
	// spool; Close drains what it can before returning.
	//
	// Duplicate ids: a record whose _id is already in the spool, or among the
	// RecentIDs last ids this process had acknowledged, gets ErrDuplicateID as it
	// would from the database, also while the database is down. What cannot be
	// checked then (ids stored by other processes, or by this one before its
	// recent ids) is found at drain: a spooled record whose id is already stored is
	// not stored again; it is counted as DrainDuplicates when the stored document
	// is the same record (an earlier write or drain did reach the database) and as
	// DrainConflicts, logged with its id at error level, when it is another record:
	// that one was acknowledged and is not stored.
	Spool *spool.Spool
	// RecentIDs is how many acknowledged ids a Logger with a Spool remembers for the
	// duplicate check above (default DefaultRecentIDs: 6 MB, outside the Go heap; negative: none).
	RecentIDs int
	// DrainInterval is how often the drainer looks at the spool (default
	// 500ms); it backs off up to 10s while the database stays down.
	DrainInterval time.Duration
	// SpoolOnly (benchmarks only; requires Spool) writes every batch to the spool
	// and never to the database: no InsertMany, no drainer, the collection may be
	// nil. The group commit, the duplicate check and the spool's fsync are the
	// same as while the database is down. It measures the service with a store
	// that costs no more than a durable append (bench/predictstack --store
	// spool-only); the records stay in the spool.
	SpoolOnly bool
}

// Defaults of LoggerOptions.
const (
	DefaultBatchSize     = 512
	DefaultQueueSize     = 8192
	DefaultWriters       = 1
	DefaultWriteTimeout  = 10 * time.Second
	DefaultDrainInterval = 500 * time.Millisecond
	maxDrainInterval     = 10 * time.Second
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
	if o.SpoolBatchDelay < 0 {
		o.SpoolBatchDelay = 0
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DrainInterval <= 0 {
		o.DrainInterval = DefaultDrainInterval
	}
	if o.RecentIDs == 0 {
		o.RecentIDs = DefaultRecentIDs
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

	Spooled      int64 `json:"spooled"`       // records written to the spool instead of the database
	Drained      int64 `json:"drained"`       // spooled records since inserted by the drainer
	SpoolRecords int64 `json:"spool_records"` // backlog: records in the spool now
	SpoolBytes   int64 `json:"spool_bytes"`   // backlog: bytes of the spool's files now
	SpoolFull    int64 `json:"spool_full"`    // records refused with ErrSpoolFull
	DBDown       bool  `json:"db_down"`       // the last write to the database failed

	// Spooled records not stored at drain because their id was stored already:
	DrainDuplicates int64 `json:"drain_duplicates"` // the same record (an earlier write or drain reached the database)
	DrainConflicts  int64 `json:"drain_conflicts"`  // another record with that id (acknowledged, and not stored)
	DrainUnverified int64 `json:"drain_unverified"` // not compared (the lookup failed); logged as possible conflicts
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

	dbDown                      atomic.Bool
	spooled, drained, spoolFull atomic.Int64
	ids                         *idIndex // with a spool: the duplicate check while spooling
	drainDups, drainConflicts   atomic.Int64
	drainUnverified             atomic.Int64
	drainStop, drainDone        chan struct{}
	drainMu                     sync.Mutex
	drainClosed                 bool
}

type pending struct {
	doc   bson.Raw
	done  chan error  // buffered: the writer never blocks on a caller that gave up
	timer *time.Timer // LogWithin's bound, made at its first use and reused with p
}

// NewLogger starts the writers of a Logger on coll.
func NewLogger(coll *mongo.Collection, opts LoggerOptions) *Logger {
	opts.setDefaults()
	if opts.SpoolOnly && opts.Spool == nil {
		panic("store: NewLogger: SpoolOnly without a Spool")
	}
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
	if opts.Spool != nil {
		l.ids = newIDIndex(opts.RecentIDs)
		l.indexSpool()
		l.drainStop, l.drainDone = make(chan struct{}), make(chan struct{})
		if opts.SpoolOnly {
			close(l.drainDone)
		} else {
			go l.drainer()
		}
	}
	return l
}

// indexSpool adds the ids of the records already in the spool (from a previous run)
// to the duplicate check.
func (l *Logger) indexSpool() {
	n := 0
	l.ids.mu.Lock()
	defer l.ids.mu.Unlock()
	err := l.opts.Spool.Scan(func(rec []byte) error {
		if h, ok := l.ids.hashID(rec); ok {
			l.ids.addSpooledLocked(h)
			n++
		}
		return nil
	})
	if err != nil {
		l.opts.Logger.Error("prediction log: reading the spool's ids failed; duplicates of spooled records are found only at drain", "indexed", n, "err", err)
		return
	}
	if n > 0 {
		l.opts.Logger.Info("prediction log: ids of the spooled records indexed for the duplicate check", "records", n)
	}
}

// Options returns the options in force (defaults applied).
func (l *Logger) Options() LoggerOptions { return l.opts }

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

// Log writes doc (a bson.Marshaler such as *Prediction, a bson.Raw, or anything
// bson.Marshal accepts) and returns once the database acknowledged it: nil, or
// ErrDuplicateID, ErrOverloaded, ErrClosed, an ErrWrite, or ctx's error. When ctx ends
// while the batch is in flight the record may still be written.
func (l *Logger) Log(ctx context.Context, doc any) error {
	return l.log(ctx, doc, 0)
}

// ErrAckTimeout is LogWithin's error when its bound passes before the
// acknowledgement; it wraps context.DeadlineExceeded.
var ErrAckTimeout = fmt.Errorf("store: log: no acknowledgement within the caller's bound: %w", context.DeadlineExceeded)

// LogWithin is Log with its wait bounded by d as well as by ctx: what
// context.WithTimeout(ctx, d) gives Log, without a new context, timer and
// registration in ctx per call (the /predict handler's deadline; ~2.4 µs of its
// CPU, bench/README.md). d <= 0 means no bound. A call that ran out of time gets
// an error wrapping ErrAckTimeout and context.DeadlineExceeded; its record may
// still be written.
func (l *Logger) LogWithin(ctx context.Context, doc any, d time.Duration) error {
	return l.log(ctx, doc, d)
}

func (l *Logger) log(ctx context.Context, doc any, d time.Duration) error {
	raw, bufp, err := encodePooled(doc)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		putDocBuf(bufp)
		return fmt.Errorf("store: log: %w", err)
	}
	p := pendingPool.Get().(*pending)
	p.doc = raw
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		p.doc = nil
		pendingPool.Put(p)
		putDocBuf(bufp)
		return ErrClosed
	}
	select {
	case l.queue <- p:
		l.mu.RUnlock()
	default:
		l.mu.RUnlock()
		p.doc = nil
		pendingPool.Put(p)
		putDocBuf(bufp)
		l.overloaded.Add(1)
		return ErrOverloaded
	}
	var expired <-chan time.Time
	if d > 0 {
		if p.timer == nil {
			p.timer = time.NewTimer(d)
		} else {
			p.timer.Reset(d) // stopped when p was put back: nothing stale in its channel
		}
		expired = p.timer.C
	}
	select {
	case err := <-p.done:
		// The writer is done with p and its document: it answers a record
		// only after its last use of the bytes (the InsertMany, the spool's
		// copy, the id's hash).
		if p.timer != nil {
			p.timer.Stop()
		}
		p.doc = nil
		pendingPool.Put(p)
		putDocBuf(bufp)
		return err
	case <-ctx.Done():
		// The writer still owns p and its document and will send to p's
		// buffered channel: leave both to the garbage collector.
		return fmt.Errorf("store: log: waiting for acknowledgement: %w", ctx.Err())
	case <-expired:
		return fmt.Errorf("store: log: waiting for acknowledgement: %w", ErrAckTimeout)
	}
}

// bsonAppender is a document that appends its own BSON (*mongodb.Prediction).
type bsonAppender interface {
	AppendBSON(dst []byte) ([]byte, error)
}

// docBufPool holds the buffers of the documents being logged.
var docBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// encodePooled encodes doc; a bsonAppender is encoded into a pooled buffer, which
// it returns for putDocBuf once the document is no longer used.
func encodePooled(doc any) (bson.Raw, *[]byte, error) {
	a, ok := doc.(bsonAppender)
	if !ok {
		raw, err := encode(doc)
		return raw, nil, err
	}
	bufp := docBufPool.Get().(*[]byte)
	b, err := a.AppendBSON((*bufp)[:0])
	if err != nil {
		docBufPool.Put(bufp)
		return nil, nil, fmt.Errorf("store: log: encode: %w", err)
	}
	*bufp = b
	return bson.Raw(b), bufp, nil
}

func putDocBuf(bufp *[]byte) {
	if bufp != nil && cap(*bufp) <= 64<<10 {
		docBufPool.Put(bufp)
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
	var err error
	select {
	case <-l.done:
	case <-ctx.Done():
		l.cancelWrite() // with a spool, the canceled batches are spooled
		<-l.done
		err = fmt.Errorf("store: close prediction log: %w", ctx.Err())
	}
	l.cancelWrite()
	if l.opts.Spool != nil {
		l.closeDrainer(ctx)
	}
	return err
}

// closeDrainer stops the background drainer and drains once more within ctx; what is
// left stays in the spool for the next start.
func (l *Logger) closeDrainer(ctx context.Context) {
	l.drainMu.Lock()
	if !l.drainClosed {
		l.drainClosed = true
		close(l.drainStop)
	}
	l.drainMu.Unlock()
	<-l.drainDone
	if l.opts.SpoolOnly || l.opts.Spool.Len() == 0 {
		return
	}
	n, err := l.opts.Spool.Drain(ctx, l.opts.BatchSize, l.insertIdempotent)
	st := l.opts.Spool.Stats()
	if err != nil {
		l.opts.Logger.Warn("prediction log: spool not fully drained at stop; the rest is sent at the next start",
			"drained", n, "spool_records", st.Records, "spool_bytes", st.Bytes, "err", err)
		return
	}
	l.opts.Logger.Info("prediction log: spool drained at stop", "drained", n)
}

// drainer inserts the spooled records while the logger runs.
func (l *Logger) drainer() {
	defer close(l.drainDone)
	wait := l.opts.DrainInterval
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-l.drainStop:
			return
		case <-t.C:
		}
		if l.opts.Spool.Len() > 0 {
			before := l.opts.Spool.Stats().Records
			n, err := l.opts.Spool.Drain(l.writeCtx, l.opts.BatchSize, l.insertIdempotent)
			switch {
			case err != nil:
				wait = min(2*wait, maxDrainInterval)
				l.opts.Logger.Warn("prediction log: spool drain failed; retrying", "drained", n,
					"spool_records", l.opts.Spool.Len(), "retry_in", wait, "err", err)
			default:
				wait = l.opts.DrainInterval
				if n > 0 {
					l.opts.Logger.Info("prediction log: spool drained", "records", n, "backlog_before", before,
						"spool_records", l.opts.Spool.Len())
				}
			}
		}
		t.Reset(wait)
	}
}

// insertIdempotent inserts spooled records. A duplicate id means the id is stored
// already: by the write that failed or an earlier drain (the same record), or by
// another process (another record, acknowledged by this one: counted and logged).
func (l *Logger) insertIdempotent(ctx context.Context, recs [][]byte) error {
	docs := make([]any, len(recs))
	for i, r := range recs {
		docs[i] = bson.Raw(r)
	}
	stampAll(docs, time.Now()) // stored now, not when the write that failed began
	wctx, cancel := context.WithTimeout(ctx, l.opts.WriteTimeout)
	began := time.Now()
	_, err := insertMany(wctx, l.coll, l.opts.WriteConcern, docs, nil)
	cancel()
	if l.opts.OnWrite != nil {
		l.opts.OnWrite(len(docs), time.Since(began))
	}
	if err != nil {
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
			l.dbDown.Store(true)
			return fmt.Errorf("%w: drain batch of %d: %w", ErrWrite, len(recs), err)
		}
		var dups []bson.Raw
		for _, we := range bwe.WriteErrors {
			if we.Index < 0 || we.Index >= len(recs) {
				continue
			}
			if isDuplicate(we) {
				dups = append(dups, recs[we.Index])
				continue
			}
			// The database refuses this document for good: retrying would block the
			// spool forever.
			l.failed.Add(1)
			l.opts.Logger.Error("prediction log: spooled record rejected by the database; dropped", "id", idString(recs[we.Index]), "code", we.Code, "err", we.Message)
		}
		if len(dups) > 0 {
			// An id this process acknowledged (an earlier drain, or a write) is
			// this record: a spooled id is never acknowledged again. The others
			// are compared with the stored documents.
			unknown := dups[:0]
			l.ids.mu.Lock()
			for _, d := range dups {
				if h, ok := l.ids.hashID(d); ok {
					if l.ids.recentLocked(h) {
						continue
					}
				}
				unknown = append(unknown, d)
			}
			l.ids.mu.Unlock()
			l.drainDups.Add(int64(len(dups) - len(unknown)))
			if len(unknown) > 0 {
				l.checkDrainDuplicates(ctx, unknown)
			}
		}
	}
	l.dbDown.Store(false)
	l.drained.Add(int64(len(recs)))
	// The ids are in the database now: from the spool's index to the recent ones.
	l.ids.mu.Lock()
	for _, r := range recs {
		if h, ok := l.ids.hashID(r); ok {
			l.ids.removeSpooledLocked(h)
			l.ids.addRecentLocked(h)
		}
	}
	l.ids.mu.Unlock()
	return nil
}

// checkDrainDuplicates compares spooled records refused as duplicates at drain with
// the stored documents of their ids (one query), and counts and logs them.
func (l *Logger) checkDrainDuplicates(ctx context.Context, dups []bson.Raw) {
	ids := make(bson.A, len(dups))
	for i, d := range dups {
		ids[i] = d.Lookup("_id")
	}
	stored := map[string]bson.Raw{}
	fctx, cancel := context.WithTimeout(ctx, l.opts.WriteTimeout)
	defer cancel()
	cur, err := l.coll.Find(fctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err == nil {
		for cur.Next(fctx) {
			doc := bson.Raw(bytes.Clone(cur.Current))
			stored[idString(doc)] = doc
		}
		err = cur.Err()
		_ = cur.Close(fctx)
	}
	if err != nil {
		l.drainUnverified.Add(int64(len(dups)))
		l.opts.Logger.Error("prediction log: spooled records not stored, their ids are stored already; the stored documents could not be compared (possible conflicts)",
			"records", len(dups), "ids", idList(dups), "err", err)
		return
	}
	var same int
	var conflicts []bson.Raw
	for _, d := range dups {
		if s, ok := stored[idString(d)]; ok && bytes.Equal(s, d) {
			same++
		} else {
			conflicts = append(conflicts, d)
		}
	}
	l.drainDups.Add(int64(same))
	if same > 0 {
		l.opts.Logger.Info("prediction log: spooled records already stored (an earlier write or drain reached the database)", "records", same)
	}
	if len(conflicts) > 0 {
		l.drainConflicts.Add(int64(len(conflicts)))
		l.opts.Logger.Error("prediction log: spooled records acknowledged while the database was down are not stored: another record with the same id was stored meanwhile (by another process)",
			"records", len(conflicts), "ids", idList(conflicts))
	}
}

// idString is doc's _id for logs and lookups ("" without one).
func idString(doc bson.Raw) string {
	v, err := doc.LookupErr("_id")
	if err != nil {
		return ""
	}
	if s, ok := v.StringValueOK(); ok {
		return s
	}
	return v.String()
}

// idList is up to 20 ids of docs, for a log line.
func idList(docs []bson.Raw) []string {
	out := make([]string, 0, min(len(docs), 20))
	for _, d := range docs[:min(len(docs), 20)] {
		out = append(out, idString(d))
	}
	return out
}

// spoolBatch writes a batch that the database did not take to the spool and answers
// its callers. A record whose id is in the spool already, was acknowledged recently,
// or comes twice in the batch gets ErrDuplicateID and is not spooled.
func (l *Logger) spoolBatch(batch []*pending, cause error) {
	recs := make([][]byte, 0, len(batch))
	keep := make([]*pending, 0, len(batch))
	var hashes []uint64
	l.ids.mu.Lock()
	for _, p := range batch {
		h, ok := l.ids.hashID(p.doc)
		if ok && l.ids.knownLocked(h) {
			l.dups.Add(1)
			p.done <- ErrDuplicateID
			continue
		}
		if ok {
			l.ids.addSpooledLocked(h) // reserved: a second record of the batch is a duplicate
			hashes = append(hashes, h)
		}
		recs = append(recs, p.doc)
		keep = append(keep, p)
	}
	l.ids.mu.Unlock()
	if len(keep) == 0 {
		return
	}
	err := l.opts.Spool.Append(recs)
	n := int64(len(keep))
	if err == nil {
		l.spooled.Add(n)
		if cause != nil {
			l.opts.Logger.Warn("prediction log: database write failed; batch spooled", "records", n,
				"spool_records", l.opts.Spool.Len(), "err", cause)
		}
		for _, p := range keep {
			p.done <- nil
		}
		return
	}
	l.ids.mu.Lock()
	for _, h := range hashes {
		l.ids.removeSpooledLocked(h)
	}
	l.ids.mu.Unlock()
	switch {
	case errors.Is(err, spool.ErrFull):
		l.spoolFull.Add(n)
		err = ErrSpoolFull
	default:
		l.failed.Add(n)
		err = fmt.Errorf("%w: spool: %w", ErrWrite, err)
	}
	l.opts.Logger.Error("prediction log: batch neither in the database nor in the spool", "records", n, "err", err, "cause", cause)
	for _, p := range keep {
		p.done <- err
	}
}

// Stats returns the counters so far.
func (l *Logger) Stats() LoggerStats {
	st := LoggerStats{
		Batches:      l.batches.Load(),
		MultiBatches: l.multi.Load(),
		MaxBatch:     l.maxBatch.Load(),
		Records:      l.records.Load(),
		Duplicates:   l.dups.Load(),
		Failed:       l.failed.Load(),
		Overloaded:   l.overloaded.Load(),
		Queued:       int64(len(l.queue)),
	}
	if l.opts.Spool != nil {
		sp := l.opts.Spool.Stats()
		st.Spooled, st.Drained, st.SpoolFull = l.spooled.Load(), l.drained.Load(), l.spoolFull.Load()
		st.SpoolRecords, st.SpoolBytes = sp.Records, sp.Bytes
		st.DBDown = l.dbDown.Load()
		st.DrainDuplicates, st.DrainConflicts, st.DrainUnverified = l.drainDups.Load(), l.drainConflicts.Load(), l.drainUnverified.Load()
	}
	return st
}

// writer forms batches from the queue and writes them until the queue is closed and
// drained.
func (l *Logger) writer() {
	batch := make([]*pending, 0, l.opts.BatchSize)
	w := &writeBufs{docs: make([]any, 0, l.opts.BatchSize)}
	var timer *time.Timer
	for {
		p, ok := <-l.queue
		if !ok {
			return
		}
		batch = append(batch[:0], p)
		open := l.fill(&batch, &timer)
		l.write(batch, w)
		clear(w.docs[:cap(w.docs)]) // drop references to the written documents
		clear(batch)
		if !open {
			return
		}
	}
}

// fill adds queued records to batch, up to BatchSize, without waiting (or waiting up
// to BatchDelay, or SpoolBatchDelay for a batch that goes to the spool, when set).
// It reports false when the queue is closed and drained.
func (l *Logger) fill(batch *[]*pending, timer **time.Timer) bool {
	max := l.opts.BatchSize
	delay := l.opts.BatchDelay
	if l.toSpool() {
		delay = l.opts.SpoolBatchDelay
	}
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
	if delay <= 0 || len(*batch) >= max {
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(delay)
	} else {
		(*timer).Reset(delay)
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

// writeBufs are a writer's buffers, reused from batch to batch: the documents of an
// InsertMany and their stamped copies (the driver has copied them into its wire
// message when InsertMany returns).
type writeBufs struct {
	docs    []any
	stamped []byte
	cmd     []byte // the insert command (insertMany)
}

// write inserts one batch and answers every caller in it.
func (l *Logger) write(batch []*pending, w *writeBufs) {
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
	if l.toSpool() {
		// The database is known to be down: do not wait for it. The drainer
		// finds out when it is back.
		l.spoolBatch(batch, nil)
		return
	}
	if l.opts.Spool != nil && !l.ids.spoolEmpty() {
		// A record whose id waits in the spool would be stored before the
		// spooled one, which was acknowledged first: refuse it as the database
		// will once the spool is drained.
		batch = l.refuseSpooled(batch)
		if len(batch) == 0 {
			return
		}
		n = int64(len(batch))
	}
	ctx, cancel := context.WithTimeout(l.writeCtx, l.opts.WriteTimeout)
	began := time.Now()
	// mongodb.FieldStoredAt; the spool keeps the unstamped p.doc.
	docs := w.docs[:0]
	docs, w.stamped = stampBatch(docs, w.stamped[:0], batch, began)
	w.docs = docs
	var err error
	w.cmd, err = insertMany(ctx, l.coll, l.opts.WriteConcern, docs, w.cmd)
	cancel()
	if l.opts.OnWrite != nil {
		l.opts.OnWrite(len(docs), time.Since(began))
	}
	if err == nil {
		l.records.Add(n)
		l.rememberAcked(batch, nil)
		for _, p := range batch {
			p.done <- nil
		}
		return
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		// Nothing is known per record: the whole batch failed (or its write
		// concern did).
		if l.opts.Spool != nil {
			l.dbDown.Store(true)
			l.spoolBatch(batch, err)
			return
		}
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
	l.rememberAcked(batch, errs)
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

// toSpool reports whether the next batch goes to the spool: SpoolOnly, or the
// database known to be down.
func (l *Logger) toSpool() bool {
	return l.opts.Spool != nil && (l.opts.SpoolOnly || l.dbDown.Load())
}

// refuseSpooled answers ErrDuplicateID to the records of batch whose id is in the
// spool and returns the others (batch filtered in place).
func (l *Logger) refuseSpooled(batch []*pending) []*pending {
	kept := 0
	for _, p := range batch {
		if h, ok := l.ids.hashID(p.doc); ok && l.ids.spoolHas(h) {
			l.dups.Add(1)
			p.done <- ErrDuplicateID
			continue
		}
		batch[kept] = p
		kept++
	}
	clear(batch[kept:])
	return batch[:kept]
}

// rememberAcked adds the ids of the records of batch the database acknowledged (no
// entry in errs) to the recent ids of the duplicate check.
func (l *Logger) rememberAcked(batch []*pending, errs map[int]error) {
	if l.ids == nil || l.opts.RecentIDs <= 0 {
		return
	}
	l.ids.mu.Lock()
	defer l.ids.mu.Unlock()
	for i, p := range batch {
		if errs[i] != nil {
			continue
		}
		if h, ok := l.ids.hashID(p.doc); ok {
			l.ids.addRecentLocked(h)
		}
	}
}
