package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/taxi"
)

// RefCacheFormat and RefCacheVersion name the layout of a reference cache entry and
// the code that produced it. Bump RefCacheVersion whenever reading, filtering or
// scoring a reference changes (a dataset's LoadReference, report.TaxiDataset, the
// model's scoring code, EncodeDataset): the version is part of the key, so entries of
// another version are never read.
const (
	RefCacheFormat  = "modelmon.reference_cache"
	RefCacheVersion = 1
)

// RefKey is what a scored reference depends on. Its ID is the cache entry's _id.
type RefKey struct {
	Dataset string `json:"dataset" bson:"dataset"`
	// ReferenceSHA256 is the hex SHA-256 of the reference file's content (not its
	// path: a replaced file is another entry, a copied one the same).
	ReferenceSHA256 string `json:"reference_sha256" bson:"reference_sha256"`
	// ModelVersion is model.Model.Version (a hash of the artifact's content).
	ModelVersion string `json:"model_version" bson:"model_version"`
	// ConfigSHA256 hashes the dataset settings that shape the staged reference: its
	// staged columns, its segmentations and the content of their lookup files.
	ConfigSHA256 string `json:"config_sha256" bson:"config_sha256"`
}

// ID is the entry's _id: "<dataset>/v<RefCacheVersion>/" + the SHA-256 of the key.
func (k RefKey) ID() string {
	h := sha256.New()
	for _, s := range []string{RefCacheFormat, strconv.Itoa(RefCacheVersion), k.Dataset, k.ReferenceSHA256, k.ModelVersion, k.ConfigSHA256} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return k.Dataset + "/v" + strconv.Itoa(RefCacheVersion) + "/" + hex.EncodeToString(h.Sum(nil))[:32]
}

// ReferenceKey computes the cache key of scoring the reference file at path with the
// model of version modelVersion for dataset d (lookup files resolved against dir as
// Segmenters does).
func (d *Dataset) ReferenceKey(path, dir, modelVersion string) (RefKey, error) {
	sum, err := taxi.FileSHA256(path)
	if err != nil {
		return RefKey{}, err
	}
	cfg := d.StagingConfig()
	fp := struct {
		Numerical   []string            `json:"numerical"`
		Categorical []string            `json:"categorical"`
		Segments    []map[string]string `json:"segments"`
	}{Numerical: cfg.NumericalFeatures, Categorical: cfg.CategoricalFeatures}
	for _, s := range d.Segments {
		m := map[string]string{"name": s.Name, "column": s.Column, "lookup_key": s.LookupKey,
			"lookup_value": s.LookupValue, "hour_bands_of": s.HourBandsOf}
		if s.Lookup != "" {
			p := s.Lookup
			if dir != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			ls, err := taxi.FileSHA256(p)
			if err != nil {
				return RefKey{}, fmt.Errorf("segment %q: %w", s.Name, err)
			}
			m["lookup_sha256"] = ls
		}
		fp.Segments = append(fp.Segments, m)
	}
	b, err := json.Marshal(fp)
	if err != nil {
		return RefKey{}, err
	}
	c := sha256.Sum256(b)
	return RefKey{Dataset: d.Name, ReferenceSHA256: sum, ModelVersion: modelVersion, ConfigSHA256: hex.EncodeToString(c[:])}, nil
}

// refManifest is the document that makes a cache entry visible. It is inserted
// after every chunk of its writer is stored, so a manifest implies complete chunks.
type refManifest struct {
	ID            string    `bson:"_id"`
	Kind          string    `bson:"kind"` // "manifest"
	Format        string    `bson:"format"`
	FormatVersion int       `bson:"format_version"`
	Key           RefKey    `bson:"key"`
	Writer        string    `bson:"writer"` // the run whose chunks the entry uses
	Chunks        int       `bson:"chunks"`
	Rows          int       `bson:"rows"`
	SHA256        []string  `bson:"sha256"` // per chunk, of its data
	Path          string    `bson:"path"`   // where the writer read the file (informative)
	CreatedAt     time.Time `bson:"created_at"`
}

// refChunk is one chunk of an entry: the staging chunk layout plus the entry's key
// and the SHA-256 of its data.
type refChunk struct {
	ID     string `bson:"_id"` // "<entry>/<writer>/<seq>"
	Kind   string `bson:"kind"`
	Entry  string `bson:"entry"`
	Run    string `bson:"run"` // the writer
	Seq    int    `bson:"seq"`
	Rows   int    `bson:"rows"`
	Data   []byte `bson:"data"`
	SHA256 string `bson:"sha256"`
}

// RefCache is the reference cache (mongodb.CollectionReferenceCache): a scored
// reference is staged once per RefKey and read by every later run through a
// StageRef whose Cache names the entry. Entries are written without a transaction:
// a writer stores its own chunks (_id "<entry>/<writer>/<seq>", so two writers never
// touch each other's), then inserts the manifest with the entry's _id; the unique
// _id decides between concurrent writers, the loser uses the winner's entry and
// deletes its own chunks. A manifest whose chunks are missing, altered (SHA-256) or
// of another format is a miss: the next writer replaces it.
type RefCache struct {
	Coll *mongo.Collection
}

// NewRefCache returns the reference cache of db.
func NewRefCache(db *mongo.Database) RefCache {
	return RefCache{Coll: db.Collection(mongodb.CollectionReferenceCache)}
}

// ErrRefCacheMiss wraps the reason a lookup found no usable entry.
var ErrRefCacheMiss = errors.New("reference cache miss")

// Lookup returns the StageRef of the entry of key after checking every chunk
// (count, rows, SHA-256 of the data), or an error wrapping ErrRefCacheMiss that
// says why the entry is not usable.
func (c RefCache) Lookup(ctx context.Context, key RefKey) (StageRef, error) {
	m, err := c.manifest(ctx, key.ID())
	if err != nil {
		return StageRef{}, err
	}
	return c.verify(ctx, m, key)
}

func (c RefCache) manifest(ctx context.Context, id string) (*refManifest, error) {
	var m refManifest
	err := c.Coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("%w: no entry", ErrRefCacheMiss)
	}
	if err != nil {
		if isDecodeError(err) {
			return nil, fmt.Errorf("%w: unreadable manifest: %v", ErrRefCacheMiss, err)
		}
		return nil, fmt.Errorf("read reference cache entry %s: %w", id, err)
	}
	return &m, nil
}

// isDecodeError tells a manifest that does not decode (another layout: a miss)
// from a database error (retried).
func isDecodeError(err error) bool {
	var se mongo.ServerError
	return !errors.As(err, &se) && !mongo.IsNetworkError(err) && !mongo.IsTimeout(err) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func (c RefCache) verify(ctx context.Context, m *refManifest, key RefKey) (StageRef, error) {
	switch {
	case m.Format != RefCacheFormat || m.FormatVersion != RefCacheVersion:
		return StageRef{}, fmt.Errorf("%w: entry of format %q version %d (this worker writes %q version %d)", ErrRefCacheMiss, m.Format, m.FormatVersion, RefCacheFormat, RefCacheVersion)
	case m.Key != key:
		return StageRef{}, fmt.Errorf("%w: entry %s holds key %+v, want %+v", ErrRefCacheMiss, m.ID, m.Key, key)
	case m.Chunks < 1 || m.Rows < 1 || len(m.SHA256) != m.Chunks || m.Writer == "":
		return StageRef{}, fmt.Errorf("%w: entry %s has a malformed manifest (%d chunks, %d rows, %d checksums)", ErrRefCacheMiss, m.ID, m.Chunks, m.Rows, len(m.SHA256))
	}
	ref := StageRef{Run: m.Writer, Stage: StageReference, Chunks: m.Chunks, Rows: m.Rows, Cache: m.ID}
	seen := make([]bool, m.Chunks)
	rows := 0
	err := c.scan(ctx, ref, func(ch refChunk) error {
		if ch.Seq < 0 || ch.Seq >= m.Chunks {
			return nil
		}
		if seen[ch.Seq] {
			return fmt.Errorf("%w: entry %s has chunk %d twice", ErrRefCacheMiss, m.ID, ch.Seq)
		}
		seen[ch.Seq] = true
		if sum := sha256.Sum256(ch.Data); hex.EncodeToString(sum[:]) != m.SHA256[ch.Seq] {
			return fmt.Errorf("%w: entry %s chunk %d does not match its checksum", ErrRefCacheMiss, m.ID, ch.Seq)
		}
		rows += ch.Rows
		return nil
	})
	if err != nil {
		return StageRef{}, err
	}
	if i := slices.Index(seen, false); i >= 0 {
		return StageRef{}, fmt.Errorf("%w: entry %s misses chunk %d of %d", ErrRefCacheMiss, m.ID, i, m.Chunks)
	}
	if rows != m.Rows {
		return StageRef{}, fmt.Errorf("%w: entry %s chunks hold %d rows, its manifest says %d", ErrRefCacheMiss, m.ID, rows, m.Rows)
	}
	return ref, nil
}

// scan calls fn for every chunk of ref's writer in ref's entry.
func (c RefCache) scan(ctx context.Context, ref StageRef, fn func(refChunk) error) error {
	filter := bson.D{{Key: "entry", Value: ref.Cache}, {Key: "run", Value: ref.Run}, {Key: "kind", Value: "chunk"}}
	cur, err := c.Coll.Find(ctx, filter, options.Find().SetBatchSize(8))
	if err != nil {
		return fmt.Errorf("read reference cache entry %s: %w", ref.Cache, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var ch refChunk
		if err := cur.Decode(&ch); err != nil {
			return fmt.Errorf("%w: entry %s: undecodable chunk: %v", ErrRefCacheMiss, ref.Cache, err)
		}
		if err := fn(ch); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("read reference cache entry %s: %w", ref.Cache, err)
	}
	return nil
}

// PutChunk stores chunk seq of writer's copy of the entry of key (a rewrite replaces
// it: a retried writer resumes).
func (c RefCache) PutChunk(ctx context.Context, key RefKey, writer string, seq, rows int, data []byte) error {
	sum := sha256.Sum256(data)
	entry := key.ID()
	doc := refChunk{ID: entry + "/" + writer + "/" + strconv.Itoa(seq), Kind: "chunk", Entry: entry, Run: writer, Seq: seq, Rows: rows, Data: data, SHA256: hex.EncodeToString(sum[:])}
	if _, err := c.Coll.InsertOne(ctx, doc); err == nil {
		return nil
	} else if !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("reference cache chunk %d: insert: %w", seq, err)
	}
	if _, err := c.Coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, doc, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("reference cache chunk %d: replace: %w", seq, err)
	}
	return nil
}

// Commit makes writer's chunks (0..chunks-1, all stored) the entry of key and
// returns the StageRef runs read, and whether it is the writer's own. If another
// writer's valid entry is there (a concurrent run won), that one is returned and
// writer's chunks are deleted; an unusable entry (Lookup's miss) is replaced.
func (c RefCache) Commit(ctx context.Context, key RefKey, writer, path string, chunks, rows int) (StageRef, bool, error) {
	id := key.ID()
	sums := make([]string, chunks)
	got := 0
	err := c.scan(ctx, StageRef{Run: writer, Cache: id}, func(ch refChunk) error {
		if ch.Seq >= 0 && ch.Seq < chunks {
			sums[ch.Seq] = ch.SHA256
			got += ch.Rows
		}
		return nil
	})
	if err != nil {
		return StageRef{}, false, err
	}
	if i := slices.Index(sums, ""); i >= 0 || got != rows {
		return StageRef{}, false, fmt.Errorf("%w: reference cache: writer %s stored %d rows, chunk %d missing (want %d chunks, %d rows)", ErrStageIncomplete, writer, got, i, chunks, rows)
	}
	m := refManifest{ID: id, Kind: "manifest", Format: RefCacheFormat, FormatVersion: RefCacheVersion, Key: key,
		Writer: writer, Chunks: chunks, Rows: rows, SHA256: sums, Path: path, CreatedAt: time.Now().UTC()}
	own := StageRef{Run: writer, Stage: StageReference, Chunks: chunks, Rows: rows, Cache: id}
	for range 3 {
		_, err := c.Coll.InsertOne(ctx, m)
		if err == nil {
			return own, true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return StageRef{}, false, fmt.Errorf("reference cache entry %s: insert: %w", id, err)
		}
		old, err := c.manifest(ctx, id)
		if errors.Is(err, ErrRefCacheMiss) {
			// Undecodable: replace whatever is there.
			if _, err := c.Coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, m); err != nil {
				return StageRef{}, false, fmt.Errorf("reference cache entry %s: replace: %w", id, err)
			}
			return own, true, nil
		}
		if err != nil {
			return StageRef{}, false, err
		}
		if old.Writer == writer { // a retry of this writer's commit
			return own, true, nil
		}
		ref, verr := c.verify(ctx, old, key)
		if verr == nil {
			c.deleteWriter(ctx, id, writer)
			return ref, false, nil
		}
		if !errors.Is(verr, ErrRefCacheMiss) {
			return StageRef{}, false, verr
		}
		// The entry there is unusable: replace it, unless another writer did since.
		r, err := c.Coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "writer", Value: old.Writer}}, m)
		if err != nil {
			return StageRef{}, false, fmt.Errorf("reference cache entry %s: replace: %w", id, err)
		}
		if r.MatchedCount == 1 {
			c.deleteWriter(ctx, id, old.Writer)
			return own, true, nil
		}
	}
	return StageRef{}, false, fmt.Errorf("reference cache entry %s: replaced concurrently three times", id)
}

// deleteWriter removes a writer's chunks of an entry (best effort: an orphan chunk
// costs space, not correctness).
func (c RefCache) deleteWriter(ctx context.Context, entry, writer string) {
	_, _ = c.Coll.DeleteMany(ctx, bson.D{{Key: "entry", Value: entry}, {Key: "run", Value: writer}, {Key: "kind", Value: "chunk"}})
}

// readChunks reads the data of a cached stage by seq, checking each chunk's
// checksum (a changed chunk is ErrCorruptChunk, never data).
func (c RefCache) readChunks(ctx context.Context, ref StageRef) ([][]byte, error) {
	out := make([][]byte, ref.Chunks)
	err := c.scan(ctx, ref, func(ch refChunk) error {
		if ch.Seq < 0 || ch.Seq >= ref.Chunks {
			return nil
		}
		if sum := sha256.Sum256(ch.Data); hex.EncodeToString(sum[:]) != ch.SHA256 {
			return fmt.Errorf("%w: reference cache entry %s chunk %d does not match its checksum", ErrCorruptChunk, ref.Cache, ch.Seq)
		}
		out[ch.Seq] = ch.Data
		return nil
	})
	if errors.Is(err, ErrRefCacheMiss) {
		err = fmt.Errorf("%w: %w", ErrCorruptChunk, err)
	}
	return out, err
}
