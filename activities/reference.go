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
}

// ScoreReference reads the reference file, scores it with the worker's model (the
// dataset decides the filtering: for the taxi, the training filter) and stages it in
// stage "reference". A missing, unreadable or empty reference fails the run: no retry
// can fix it.
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
	var p scoreProgress
	if resume(ctx, &p) {
		log.Info("resuming reference staging", "chunk", p.Seq)
	}
	hb := startHeartbeat(ctx, p)
	defer hb.stop()

	segs, err := a.segmenters(&ds)
	if err != nil {
		return nil, err
	}
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
	st := a.staging()
	res := &batchapi.ScoreReferenceResult{
		Reference:     batch.StageRef{Run: in.Run, Stage: batch.StageReference, Chunks: chunks, Rows: d.Rows},
		Path:          path,
		ModelVersion:  a.Model.Version,
		ResumedChunks: p.Seq,
	}
	for seq := p.Seq; seq < chunks; seq++ {
		part := d.Slice(seq*rows, min((seq+1)*rows, d.Rows))
		if err := st.Put(ctx, in.Run, batch.StageReference, seq, part.Rows, nil, batch.EncodeDataset(part)); err != nil {
			return nil, err
		}
		hb.progress(scoreProgress{Seq: seq + 1, ChunkRows: rows})
	}
	log.Info("reference scored", "path", path, "rows", d.Rows, "chunks", chunks, "model_version", a.Model.Version)
	return res, nil
}
