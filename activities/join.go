package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"go.temporal.io/sdk/activity"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/datadir"
	"github.com/modelmon/modelmon/internal/report"
)

type joinProgress struct {
	Done     []int `json:"done"`
	Matched  int   `json:"matched"`
	InDomain int   `json:"in_domain"`
}

type idChunk struct {
	seq int
	ids []string
}

// JoinTarget joins targets to the staged predictions by id, in Go: a hash table of
// the targets (the whole CSV, or the target collection's entries for the window's
// ids), probed with every staged row. It writes one target chunk per current chunk
// and never updates logged documents; rerunning it rewrites the same chunks.
func (a *Activities) JoinTarget(ctx context.Context, in batchapi.JoinInput) (*batchapi.JoinResult, error) {
	log := activity.GetLogger(ctx)
	ds, err := dataset(in.Dataset)
	if err != nil {
		return nil, err
	}
	var targetsPath string // the target file inside DATA_DIR, checked before any work
	if in.Targets != "" {
		if targetsPath, err = datadir.Resolve(a.DataDir, "targets", in.Targets); err != nil {
			return nil, badInput(err, "%v", err)
		}
	}
	res := &batchapi.JoinResult{Targets: batch.StageRef{Run: in.Run, Stage: batch.StageTarget, Chunks: in.Current.Chunks, Rows: in.Current.Rows}}
	var p joinProgress
	if resume(ctx, &p) {
		res.ResumedChunks = len(p.Done)
		log.Info("resuming join", "done_chunks", len(p.Done))
	}
	hb := startHeartbeat(ctx, joinProgress{Done: slices.Clone(p.Done), Matched: p.Matched, InDomain: p.InDomain})
	defer hb.stop()

	// The ids of the chunks still to do.
	st := a.staging()
	var chunks []idChunk
	err = st.Scan(ctx, in.Current, batch.ScanOptions{IDs: true, NoData: true, SkipSeqs: p.Done}, func(c batch.Chunk) error {
		if c.Seq >= in.Current.Chunks {
			return nil
		}
		ids, err := batch.DecodeIDs(c.IDs)
		if err != nil {
			return fmt.Errorf("stage current chunk %d: %w", c.Seq, err)
		}
		chunks = append(chunks, idChunk{seq: c.Seq, ids: ids})
		return nil
	})
	if err != nil {
		return nil, stagingErr(err)
	}
	if len(chunks)+len(p.Done) < in.Current.Chunks {
		return nil, stagingErr(fmt.Errorf("%w: %d of %d current chunks found", batch.ErrStageIncomplete, len(chunks)+len(p.Done), in.Current.Chunks))
	}
	slices.SortFunc(chunks, func(x, y idChunk) int { return x.seq - y.seq })

	var lookup func(ctx context.Context, ids []string) (map[string]float64, error)
	if in.Targets != "" {
		path := targetsPath
		res.Source = "csv:" + path
		targets, err := batch.ReadTargetsFile(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, badInput(err, "target file %s not found on worker %s (relative paths are resolved against DATA_DIR=%q)", path, a.hostname(), a.DataDir)
			}
			if errors.Is(err, batch.ErrBadTargets) {
				return nil, badInput(err, "%v (want id,value lines, as in target.csv)", err)
			}
			return nil, err
		}
		m := make(map[string]float64, len(targets))
		for _, t := range targets {
			m[t.ID] = t.Value
		}
		lookup = func(context.Context, []string) (map[string]float64, error) { return m, nil }
		log.Info("targets read from CSV", "path", path, "targets", len(m))
	} else {
		coll := a.DB.Collection(ds.TargetCollection)
		res.Source = "collection:" + ds.TargetCollection
		if a.TargetLookup == "in" {
			lookup = func(ctx context.Context, ids []string) (map[string]float64, error) {
				return batch.TargetsOf(ctx, a.DB, &ds, ids)
			}
		} else {
			want := make(map[string]struct{}, in.Current.Rows)
			for _, c := range chunks {
				for _, id := range c.ids {
					want[id] = struct{}{}
				}
			}
			m, err := batch.ScanTargets(ctx, a.DB, &ds, want)
			if err != nil {
				return nil, err
			}
			lookup = func(context.Context, []string) (map[string]float64, error) { return m, nil }
			log.Info("targets read from collection", "collection", coll.Name(), "matching", len(m))
		}
	}

	for _, c := range chunks {
		m, err := lookup(ctx, c.ids)
		if err != nil {
			return nil, err
		}
		t := &report.Dataset{Rows: len(c.ids), Target: make([]float64, len(c.ids)), TargetValid: make([]bool, len(c.ids))}
		for i, id := range c.ids {
			v, ok := m[id]
			if !ok {
				continue
			}
			p.Matched++
			t.Target[i] = v
			if ds.InDomain(v) {
				t.TargetValid[i] = true
				p.InDomain++
			}
		}
		if err := st.Put(ctx, in.Run, batch.StageTarget, c.seq, t.Rows, nil, batch.EncodeDataset(t)); err != nil {
			return nil, err
		}
		p.Done = append(p.Done, c.seq)
		hb.progress(joinProgress{Done: slices.Clone(p.Done), Matched: p.Matched, InDomain: p.InDomain})
	}
	res.Matched, res.InDomain = p.Matched, p.InDomain
	log.Info("targets joined", "source", res.Source, "rows", in.Current.Rows, "matched", p.Matched, "in_domain", p.InDomain)
	return res, nil
}
