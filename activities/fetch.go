package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/mongodb"
)

// fetchProgress is FetchPredictions' heartbeat: the resolved window and the chunks
// written so far (chunks 0..Seq-1 hold Rows rows).
type fetchProgress struct {
	Window batch.Window `json:"window"`
	Seq    int          `json:"seq"`
	Rows   int          `json:"rows"`
}

const maxModelVersions = 10

// FetchPredictions copies the dataset's logged predictions stored in the window
// (ByStoredAt: batch.StoredFilter; otherwise, for runs started before the window
// ledger, received_at in the window) into the staging stage "current", ChunkRows rows a chunk, heartbeating after
// each chunk. The scan needs no sort (a server-side sort of a large window costs
// FerretDB memory in proportion to the window): a retry reads the ids of the chunks
// its predecessor reported, scans the window again and stages only the other rows,
// from the next chunk on. Rewritten chunks replace what a crashed attempt left, so
// every logged row is staged exactly once.
func (a *Activities) FetchPredictions(ctx context.Context, in batchapi.FetchInput) (*batchapi.FetchResult, error) {
	log := activity.GetLogger(ctx)
	ds, err := dataset(in.Dataset)
	if err != nil {
		return nil, err
	}
	if in.Run == "" {
		return nil, badInput(nil, "FetchPredictions: run is empty")
	}
	var p fetchProgress
	resumed := resume(ctx, &p)
	if !resumed {
		w, err := a.results().ResolveWindow(ctx, in.Dataset, in.WindowStart, in.WindowEnd)
		if errors.Is(err, batch.ErrBadWindow) {
			return nil, badInput(err, "%v", err)
		}
		if err != nil {
			return nil, err
		}
		p = fetchProgress{Window: w}
	}
	res := &batchapi.FetchResult{Window: p.Window, ResumedFromChunk: p.Seq}
	res.Current = batch.StageRef{Run: in.Run, Stage: batch.StageCurrent}
	if !p.Window.End.After(p.Window.Start) {
		log.Info("window is empty: nothing to fetch", "window", p.Window.String())
		return res, nil
	}
	hb := startHeartbeat(ctx, p)
	defer hb.stop()

	st := a.staging()
	var done map[string]struct{} // ids staged by the attempt being resumed
	if p.Seq > 0 {
		done = make(map[string]struct{}, p.Rows)
		err := st.Scan(ctx, res.Current, batch.ScanOptions{IDs: true, NoData: true}, func(c batch.Chunk) error {
			if c.Seq >= p.Seq {
				return nil
			}
			ids, err := batch.DecodeIDs(c.IDs)
			if err != nil {
				return fmt.Errorf("stage current chunk %d: %w", c.Seq, err)
			}
			for _, id := range ids {
				done[id] = struct{}{}
			}
			return nil
		})
		if err != nil {
			return nil, stagingErr(err)
		}
		if len(done) != p.Rows {
			// The reported chunks are not all there: start over.
			log.Warn("staged chunks of the earlier attempt incomplete: fetching from scratch", "want_rows", p.Rows, "found", len(done))
			done, p.Seq, p.Rows = nil, 0, 0
			res.ResumedFromChunk = 0
		} else {
			log.Info("resuming fetch", "chunk", p.Seq, "rows", p.Rows)
		}
	}

	segs, err := a.segmenters(&ds)
	if err != nil {
		return nil, err
	}
	find := batch.FindLogged
	if in.ByStoredAt {
		find = batch.FindStored
	}
	cur, err := find(ctx, a.DB, &ds, p.Window)
	if err != nil {
		return nil, err
	}
	defer cur.Close(context.WithoutCancel(ctx))

	rows := a.chunkRows()
	b := batch.NewChunkBuilder(&ds, segs, rows)
	versions := map[string]int{}
	skipped, late := 0, 0
	var received batch.TimeRange
	countReceived := func(t time.Time) {
		received.Add(t)
		if !t.IsZero() && t.Before(p.Window.Start) {
			late++
		}
	}
	flush := func() error {
		if b.Rows() == 0 {
			return nil
		}
		if err := st.Put(ctx, in.Run, batch.StageCurrent, p.Seq, b.Rows(), batch.EncodeIDs(b.IDs), batch.EncodeDataset(b.Dataset())); err != nil {
			return err
		}
		p.Seq++
		p.Rows += b.Rows()
		hb.progress(p)
		b.Reset(rows)
		return nil
	}
	for cur.Next(ctx) {
		if done != nil {
			if id, ok := cur.Current.Lookup(mongodb.FieldID).StringValueOK(); ok {
				if _, staged := done[id]; staged {
					if v, ok := cur.Current.Lookup(mongodb.FieldModelVersion).StringValueOK(); ok && v != "" {
						versions[v]++
					}
					if t, ok := cur.Current.Lookup(mongodb.FieldReceivedAt).TimeOK(); ok {
						countReceived(t.UTC())
					}
					continue
				}
			}
		}
		l, ok := b.Add(cur.Current)
		if !ok {
			skipped++
			continue
		}
		countReceived(l.ReceivedAt)
		if l.ModelVersion != "" {
			versions[l.ModelVersion]++
		}
		if b.Rows() >= rows {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read logged predictions of %s in %s: %w", ds.Name, p.Window, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if activity.GetInfo(ctx).Attempt > 1 || resumed {
		// A crashed attempt may have written chunks past the new end.
		if err := st.DeleteFrom(ctx, in.Run, batch.StageCurrent, p.Seq); err != nil {
			return nil, err
		}
	}
	res.Current.Chunks, res.Current.Rows, res.Skipped = p.Seq, p.Rows, skipped
	res.ModelVersions = topVersions(versions)
	if in.ByStoredAt {
		res.Late = late
		if !received.Min.IsZero() {
			res.ReceivedAt = &received
		}
	}
	log.Info("fetched logged predictions", "dataset", ds.Name, "window", p.Window.String(), "rows", p.Rows, "chunks", p.Seq, "skipped", skipped, "late", late)
	return res, nil
}

func topVersions(m map[string]int) []batch.ModelVersionCount {
	out := make([]batch.ModelVersionCount, 0, len(m))
	for v, n := range m {
		out = append(out, batch.ModelVersionCount{Version: v, Rows: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rows != out[j].Rows {
			return out[i].Rows > out[j].Rows
		}
		return out[i].Version < out[j].Version
	})
	if len(out) > maxModelVersions {
		out = out[:maxModelVersions]
	}
	return out
}
