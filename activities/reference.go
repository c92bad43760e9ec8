package activities

import (
	"context"
	"errors"
	"fmt"
	"os"

	"go.temporal.io/sdk/activity"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/datadir"
)

type scoreProgress struct {
	Seq       int `json:"seq"`
	ChunkRows int `json:"chunk_rows"`
	// Entry is the reference cache entry the chunks were written for: an attempt
	// resumes only the same entry (the file may have changed in between).
	Entry string `json:"entry,omitempty"`
}

// ScoreReference returns the scored reference of a run: the reference file scored
// with the worker's model (the dataset decides the filtering: for the taxi, the
// training filter), staged once per (file content, model version, dataset config)
// in the reference cache (batch.RefCache) and reused by every later run. A hit
// checks every chunk of the entry against its checksum; a missing, corrupt or
// foreign entry is a miss, scored and stored again. A missing, unreadable or empty
// reference fails the run: no retry can fix it.
func (a *Activities) ScoreReference(ctx context.Context, in batchapi.ScoreReferenceInput) (*batchapi.ScoreReferenceResult, error) {
	log := activity.GetLogger(ctx)
	ds, err := dataset(in.Dataset)
	if err != nil {
		return nil, err
	}
	path := batch.ResolvePath(a.DataDir, ds.DefaultReference)
	if in.Reference != "" {
		if path, err = datadir.Resolve(a.DataDir, "reference", in.Reference); err != nil {
			return nil, badInput(err, "%v", err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, badInput(err, "reference file %s not found on worker %s (relative paths are resolved against DATA_DIR=%q)", path, a.hostname(), a.DataDir)
		}
		return nil, fmt.Errorf("reference %s: %w", path, err)
	}
	segs, err := a.segmenters(&ds)
	if err != nil {
		return nil, err
	}
	if a.Model == nil {
		return nil, errors.New("ScoreReference: the worker has no model")
	}
	key, err := ds.ReferenceKey(path, a.DataDir, a.Model.Version)
	if err != nil {
		return nil, badInput(err, "reference of %s: %v", ds.Name, err)
	}
	entry := key.ID()
	var p scoreProgress
	if resume(ctx, &p) && p.Entry == entry {
		log.Info("resuming reference staging", "chunk", p.Seq)
	} else {
		p = scoreProgress{}
	}
	hb := startHeartbeat(ctx, p)
	defer hb.stop()

	cache := batch.NewRefCache(a.DB)
	ref, err := cache.Lookup(ctx, key)
	if err == nil {
		log.Info("reference from the cache", "path", path, "entry", ref.Cache, "rows", ref.Rows, "model_version", a.Model.Version)
		return &batchapi.ScoreReferenceResult{Reference: ref, Path: path, ModelVersion: a.Model.Version, CacheHit: true, CacheEntry: ref.Cache}, nil
	}
	if !errors.Is(err, batch.ErrRefCacheMiss) {
		return nil, err
	}
	miss := err.Error()
	d, src, err := ds.LoadReference(ctx, path, a.Model)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reference %s: %w", path, err)
		}
		return nil, badInput(err, "reference file %s cannot be read as a %s reference: %v (point --reference at an intact file)", path, ds.Name, err)
	}
	if d.Rows == 0 {
		return nil, badInput(nil, "reference file %s has no usable rows for dataset %s (wrong file, or every row filtered out)", path, ds.Name)
	}
	if err := batch.LabelReference(d, src, segs); err != nil {
		return nil, badInput(err, "reference file %s: %v", path, err)
	}
	rows := a.chunkRows()
	if p.Seq > 0 && p.ChunkRows > 0 {
		rows = p.ChunkRows // keep the chunking of the attempt being resumed
	}
	chunks := (d.Rows + rows - 1) / rows
	for seq := p.Seq; seq < chunks; seq++ {
		part := d.Slice(seq*rows, min((seq+1)*rows, d.Rows))
		if err := cache.PutChunk(ctx, key, in.Run, seq, part.Rows, batch.EncodeDataset(part)); err != nil {
			return nil, err
		}
		hb.progress(scoreProgress{Seq: seq + 1, ChunkRows: rows, Entry: entry})
	}
	ref, own, err := cache.Commit(ctx, key, in.Run, path, chunks, d.Rows)
	if err != nil {
		return nil, err
	}
	if !own {
		miss += " (a concurrent run stored the entry first: its copy is used)"
	}
	log.Info("reference scored", "path", path, "rows", d.Rows, "chunks", chunks, "model_version", a.Model.Version, "entry", entry, "cache_miss", miss)
	return &batchapi.ScoreReferenceResult{
		Reference: ref, Path: path, ModelVersion: a.Model.Version, ResumedChunks: p.Seq,
		CacheEntry: entry, CacheMiss: miss,
	}, nil
}
