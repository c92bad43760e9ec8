package batch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/report"
)

// Stage names of the staging collection.
const (
	StageCurrent   = "current"   // logged predictions of the window (with ids)
	StageTarget    = "target"    // targets aligned row by row with StageCurrent
	StageReference = "reference" // the scored reference
	StageReport    = "report"    // the computed report, JSON (one chunk)
)

// StagingTTL is how long a staged chunk lives at most: a run deletes its chunks when
// it saves its result; the TTL index removes what a failed run left behind.
const StagingTTL = 72 * time.Hour

// StageRef locates one stage of a run in the staging collection. It is what the
// activities pass through Temporal instead of the data.
type StageRef struct {
	Run    string `json:"run"`
	Stage  string `json:"stage"`
	Chunks int    `json:"chunks"`
	Rows   int    `json:"rows"`
	// Cache, when set, is the reference cache entry (RefCache) that holds the stage:
	// its chunks are those Run wrote there, not the run's staging, and no run's
	// cleanup deletes them.
	Cache string `json:"cache,omitempty"`
}

// chunkDoc is one document of mongodb.CollectionStaging.
type chunkDoc struct {
	ID        string    `bson:"_id"`
	Run       string    `bson:"run"`
	Stage     string    `bson:"stage"`
	Seq       int       `bson:"seq"`
	Rows      int       `bson:"rows"`
	IDs       []byte    `bson:"ids,omitempty"`
	Data      []byte    `bson:"data"`
	CreatedAt time.Time `bson:"created_at"`
}

// Staging reads and writes chunks of the staging collection.
type Staging struct {
	Coll *mongo.Collection
}

// NewStaging returns the staging collection of db.
func NewStaging(db *mongo.Database) Staging {
	return Staging{Coll: db.Collection(mongodb.CollectionStaging)}
}

func chunkID(run, stage string, seq int) string {
	return run + "/" + stage + "/" + strconv.Itoa(seq)
}

// Put stores chunk seq of a stage. Writing the same chunk again replaces it, so a
// retried activity never duplicates data. The first write is an insert (cheap on
// every backend); only a rewrite pays for a replace.
func (s Staging) Put(ctx context.Context, run, stage string, seq, rows int, ids, data []byte) error {
	doc := chunkDoc{
		ID: chunkID(run, stage, seq), Run: run, Stage: stage, Seq: seq, Rows: rows,
		IDs: ids, Data: data, CreatedAt: time.Now().UTC(),
	}
	_, err := s.Coll.InsertOne(ctx, doc)
	if err == nil {
		return nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("stage %s chunk %d: insert: %w", stage, seq, err)
	}
	_, err = s.Coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, doc, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("stage %s chunk %d: replace: %w", stage, seq, err)
	}
	return nil
}

// Chunk is one staged chunk as read back.
type Chunk struct {
	Seq  int
	Rows int
	IDs  []byte // encoded ids (EncodeIDs) when requested and present
	Data []byte // encoded data when requested
}

// ScanOptions select what Scan reads.
type ScanOptions struct {
	IDs      bool  // read the ids
	NoData   bool  // skip the data
	SkipSeqs []int // chunks to leave out (already processed)
}

// Scan calls fn for every chunk of a stage, in no particular order. It streams: at
// most one batch of chunks is in memory.
func (s Staging) Scan(ctx context.Context, ref StageRef, o ScanOptions, fn func(Chunk) error) error {
	filter := bson.D{{Key: "run", Value: ref.Run}, {Key: "stage", Value: ref.Stage}}
	if len(o.SkipSeqs) > 0 {
		filter = append(filter, bson.E{Key: "seq", Value: bson.D{{Key: "$nin", Value: o.SkipSeqs}}})
	}
	proj := bson.D{{Key: "seq", Value: 1}, {Key: "rows", Value: 1}}
	if o.IDs {
		proj = append(proj, bson.E{Key: "ids", Value: 1})
	}
	if !o.NoData {
		proj = append(proj, bson.E{Key: "data", Value: 1})
	}
	cur, err := s.Coll.Find(ctx, filter, options.Find().SetProjection(proj).SetBatchSize(8))
	if err != nil {
		return fmt.Errorf("read stage %s: %w", ref.Stage, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d chunkDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("read stage %s: decode: %w", ref.Stage, err)
		}
		if err := fn(Chunk{Seq: d.Seq, Rows: d.Rows, IDs: d.IDs, Data: d.Data}); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read stage %s: %w", ref.Stage, err)
	}
	return nil
}

// ErrStageIncomplete is returned when a stage has fewer chunks than its StageRef says
// (for example its staging was cleaned up while the run was still going on).
var ErrStageIncomplete = errors.New("staged data incomplete")

// ReadDataset reads a whole stage into one dataset with cfg's columns, chunks in seq
// order.
func (s Staging) ReadDataset(ctx context.Context, ref StageRef, cfg report.Config) (*report.Dataset, error) {
	out, err := s.ReadDatasets(ctx, []StageRef{ref}, []report.Config{cfg})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ReadDatasets reads several stages of one run with a single query (one pass over
// the staging collection on backends without indexes), each into a dataset with the
// columns of its config.
func (s Staging) ReadDatasets(ctx context.Context, refs []StageRef, cfgs []report.Config) ([]*report.Dataset, error) {
	var cached []int
	var rest []int
	for i, r := range refs {
		if r.Cache != "" {
			cached = append(cached, i)
		} else {
			rest = append(rest, i)
		}
	}
	if len(cached) > 0 {
		out := make([]*report.Dataset, len(refs))
		for _, i := range cached {
			d, err := s.readCached(ctx, refs[i], cfgs[i])
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		if len(rest) > 0 {
			rr, rc := make([]StageRef, len(rest)), make([]report.Config, len(rest))
			for k, i := range rest {
				rr[k], rc[k] = refs[i], cfgs[i]
			}
			ds, err := s.readStaged(ctx, rr, rc)
			if err != nil {
				return nil, err
			}
			for k, i := range rest {
				out[i] = ds[k]
			}
		}
		return out, nil
	}
	return s.readStaged(ctx, refs, cfgs)
}

// readCached reads a stage held by the reference cache.
func (s Staging) readCached(ctx context.Context, ref StageRef, cfg report.Config) (*report.Dataset, error) {
	chunks, err := RefCache{Coll: s.Coll.Database().Collection(mongodb.CollectionReferenceCache)}.readChunks(ctx, ref)
	if err != nil {
		return nil, err
	}
	d := report.NewDataset(cfg)
	d.Grow(ref.Rows)
	for i, b := range chunks {
		if b == nil {
			return nil, fmt.Errorf("%w: reference cache entry %s misses chunk %d of %d", ErrStageIncomplete, ref.Cache, i, ref.Chunks)
		}
		p, err := DecodeDataset(b)
		if err != nil {
			return nil, fmt.Errorf("reference cache entry %s chunk %d: %w", ref.Cache, i, err)
		}
		d.AppendDataset(p)
		chunks[i] = nil
	}
	return d, nil
}

func (s Staging) readStaged(ctx context.Context, refs []StageRef, cfgs []report.Config) ([]*report.Dataset, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	run := refs[0].Run
	parts := map[string][]*report.Dataset{}
	var stages bson.A
	for _, r := range refs {
		if r.Run != run {
			return nil, fmt.Errorf("ReadDatasets: stages of runs %s and %s", run, r.Run)
		}
		parts[r.Stage] = make([]*report.Dataset, r.Chunks)
		stages = append(stages, r.Stage)
	}
	filter := bson.D{{Key: "run", Value: run}, {Key: "stage", Value: bson.D{{Key: "$in", Value: stages}}}}
	proj := bson.D{{Key: "stage", Value: 1}, {Key: "seq", Value: 1}, {Key: "data", Value: 1}}
	cur, err := s.Coll.Find(ctx, filter, options.Find().SetProjection(proj).SetBatchSize(8))
	if err != nil {
		return nil, fmt.Errorf("read staged data of run %s: %w", run, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var c chunkDoc
		if err := cur.Decode(&c); err != nil {
			return nil, fmt.Errorf("read staged data of run %s: decode: %w", run, err)
		}
		p := parts[c.Stage]
		if c.Seq < 0 || c.Seq >= len(p) {
			continue // stale chunk of an earlier attempt
		}
		d, err := DecodeDataset(c.Data)
		if err != nil {
			return nil, fmt.Errorf("stage %s chunk %d: %w", c.Stage, c.Seq, err)
		}
		p[c.Seq] = d
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read staged data of run %s: %w", run, err)
	}
	out := make([]*report.Dataset, len(refs))
	for k, r := range refs {
		d := report.NewDataset(cfgs[k])
		d.Grow(r.Rows)
		for i, p := range parts[r.Stage] {
			if p == nil {
				return nil, fmt.Errorf("%w: stage %s of run %s misses chunk %d of %d", ErrStageIncomplete, r.Stage, run, i, r.Chunks)
			}
			d.AppendDataset(p)
			parts[r.Stage][i] = nil
		}
		out[k] = d
	}
	return out, nil
}

// Get reads one chunk's data.
func (s Staging) Get(ctx context.Context, run, stage string, seq int) ([]byte, error) {
	var d chunkDoc
	err := s.Coll.FindOne(ctx, bson.D{{Key: "_id", Value: chunkID(run, stage, seq)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("%w: stage %s chunk %d of run %s not found", ErrStageIncomplete, stage, seq, run)
	}
	if err != nil {
		return nil, fmt.Errorf("read stage %s chunk %d: %w", stage, seq, err)
	}
	return d.Data, nil
}

// DeleteFrom deletes the chunks of a stage with seq >= from: leftovers of an earlier
// attempt that wrote more chunks.
func (s Staging) DeleteFrom(ctx context.Context, run, stage string, from int) error {
	_, err := s.Coll.DeleteMany(ctx, bson.D{{Key: "run", Value: run}, {Key: "stage", Value: stage}, {Key: "seq", Value: bson.D{{Key: "$gte", Value: from}}}})
	if err != nil {
		return fmt.Errorf("delete stale chunks of stage %s: %w", stage, err)
	}
	return nil
}

// DeleteRun deletes everything a run staged.
func (s Staging) DeleteRun(ctx context.Context, run string) (int64, error) {
	res, err := s.Coll.DeleteMany(ctx, bson.D{{Key: "run", Value: run}})
	if err != nil {
		return 0, fmt.Errorf("delete staging of run %s: %w", run, err)
	}
	return res.DeletedCount, nil
}
