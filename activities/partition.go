package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/datadir"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/profile"
	"github.com/modelmon/modelmon/internal/report"
)

// EstimateMethod names how PlanPartitions estimates a window's rows;
// EstimateMethodCount is the exact count of the window (PlanInput.CountWindow).
const (
	EstimateMethod      = "document count of the log collection from $collStats (an upper bound of the window's rows)"
	EstimateMethodCount = "count of the window's documents (the collection's count exceeded the partition size)"
)

// collectionCount is the collection's document count from its metadata: the
// $collStats count stage (O(1) on MongoDB; 15 ms for 20,000 documents on FerretDB,
// whose estimatedDocumentCount reads every document: 620 ms), with
// estimatedDocumentCount as the fallback.
func collectionCount(ctx context.Context, coll *mongo.Collection) (int64, error) {
	cur, err := coll.Aggregate(ctx, bson.A{bson.D{{Key: "$collStats", Value: bson.D{{Key: "count", Value: bson.D{}}}}}})
	if err == nil {
		var out []struct {
			Count int64 `bson:"count"`
		}
		if err = cur.All(ctx, &out); err == nil && len(out) > 0 {
			var n int64
			for _, o := range out { // one document per shard on a sharded cluster
				n += o.Count
			}
			return n, nil
		}
	}
	n, err2 := coll.EstimatedDocumentCount(ctx)
	if err2 != nil {
		return 0, fmt.Errorf("count the documents of %s: $collStats: %v; estimatedDocumentCount: %w", coll.Name(), err, err2)
	}
	return n, nil
}

// PlanPartitions resolves the run's window (as FetchPredictions does) and sizes its
// partitions from a cheap estimate: the log collection's document count from its
// metadata (collectionCount; no document is read), an upper bound of the window's
// rows. Partitions = ceil(estimate / MaxPartitionRows) equal time slices of the
// window; more than batchapi.MaxPartitions (after counting the window itself) is
// bad input, never larger partitions than asked for. (A count of the window
// itself would be exact but reads every document on FerretDB; on MongoDB with the
// received_at index a countDocuments of the window is the better estimate.)
func (a *Activities) PlanPartitions(ctx context.Context, in batchapi.PlanInput) (*batchapi.PlanResult, error) {
	ds, err := dataset(in.Dataset)
	if err != nil {
		return nil, err
	}
	if in.MaxPartitionRows < 1 {
		return nil, badInput(nil, "PlanPartitions: max_partition_rows = %d, want >= 1", in.MaxPartitionRows)
	}
	var w batch.Window
	switch {
	case in.ByStoredAt && in.WindowStart != nil: // claimed on the ledger: taken as is
		w = batch.Window{Start: *in.WindowStart, End: in.WindowEnd}
	default:
		w, err = a.results().ResolveWindow(ctx, in.Dataset, in.WindowStart, in.WindowEnd)
		if errors.Is(err, batch.ErrBadWindow) {
			return nil, badInput(err, "%v", err)
		}
		if err != nil {
			return nil, err
		}
	}
	res := &batchapi.PlanResult{Window: w, MaxPartitionRows: in.MaxPartitionRows, EstimateMethod: EstimateMethod}
	if !w.End.After(w.Start) {
		return res, nil
	}
	n, err := collectionCount(ctx, a.DB.Collection(ds.Collection))
	if err != nil {
		return nil, err
	}
	perPart := int64(in.MaxPartitionRows)
	if (in.CountWindow && n > perPart) || (n+perPart-1)/perPart > batchapi.MaxPartitions {
		// The collection holds more than a partition (or more rows than
		// MaxPartitions partitions hold): count the window itself.
		// MongoDB counts index keys (batch_stored_at, batch_received_at); FerretDB
		// reads every document (one pass of the log, as the single pass's fetch).
		filter := batch.StoredFilter(w)
		if !in.ByStoredAt {
			filter = bson.D{{Key: mongodb.FieldReceivedAt, Value: bson.D{{Key: "$gte", Value: w.Start}, {Key: "$lt", Value: w.End}}}}
		}
		if n, err = a.DB.Collection(ds.Collection).CountDocuments(ctx, filter); err != nil {
			return nil, fmt.Errorf("count the documents of %s in %s: %w", ds.Name, w, err)
		}
		res.EstimateMethod = EstimateMethodCount
	}
	res.EstimatedRows = n
	p := (n + perPart - 1) / perPart
	if p > batchapi.MaxPartitions {
		return nil, badInput(nil, "PlanPartitions: the window %s holds %d rows: %d partitions of partition_rows %d, more than batchapi.MaxPartitions (%d); set partition_rows to at least %d",
			w, n, p, perPart, batchapi.MaxPartitions, (n+batchapi.MaxPartitions-1)/batchapi.MaxPartitions)
	}
	res.Partitions = int(max(p, 1))
	activity.GetLogger(ctx).Info("partitions planned", "window", w.String(), "estimated_rows", n, "partitions", res.Partitions)
	return res, nil
}

// ProfilePartition streams the logged rows of one time slice of the window (a
// cursor, ChunkRows rows at a time), labels each row with its segments, joins
// their targets and stages the slice's profile (internal/profile: the segments'
// sub-profiles, and with an Estimator the rows' predicted losses summed) as chunk
// Index of stage batchapi.StageProfile: a retry starts over and replaces it, so a
// partition is counted once. Memory: with per-
// chunk target lookup (TargetLookup "in", or a target CSV) one chunk of rows;
// with the default "scan" (one pass over the target collection, the fast way on
// FerretDB) the slice's rows, bounded by the planned partition size.
func (a *Activities) ProfilePartition(ctx context.Context, in batchapi.PartitionInput) (*batchapi.PartitionResult, error) {
	log := activity.GetLogger(ctx)
	ds, err := dataset(in.Dataset)
	if err != nil {
		return nil, err
	}
	if in.Run == "" || in.Index < 0 || !in.Window.End.After(in.Window.Start) {
		return nil, badInput(nil, "ProfilePartition: run %q, index %d, window %s", in.Run, in.Index, in.Window)
	}
	segs, err := a.segmenters(&ds)
	if err != nil {
		return nil, err
	}
	res := &batchapi.PartitionResult{Index: in.Index, Worker: fmt.Sprintf("%s/%d", a.hostname(), os.Getpid())}
	hb := startHeartbeat(ctx, "reading")
	defer hb.stop()

	var lookup func(ctx context.Context, ids []string) (map[string]float64, error)
	perChunk := true
	switch {
	case in.Targets != "":
		path, err := datadir.Resolve(a.DataDir, "targets", in.Targets)
		if err != nil {
			return nil, badInput(err, "%v", err)
		}
		targets, err := batch.ReadTargetsFile(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, batch.ErrBadTargets) {
				return nil, badInput(err, "target file %s: %v", path, err)
			}
			return nil, err
		}
		m := make(map[string]float64, len(targets))
		for _, t := range targets {
			m[t.ID] = t.Value
		}
		lookup = func(context.Context, []string) (map[string]float64, error) { return m, nil }
	case a.TargetLookup == "in":
		lookup = func(ctx context.Context, ids []string) (map[string]float64, error) {
			return batch.TargetsOf(ctx, a.DB, &ds, ids)
		}
	default:
		perChunk = false
	}

	p := profile.New(ds.Report)
	versions := map[string]int{}
	type pending struct {
		d   *report.Dataset
		ids []string
	}
	var held []pending
	add := func(ctx context.Context, d *report.Dataset, ids []string, m map[string]float64) error {
		d.Target, d.TargetValid = make([]float64, d.Rows), make([]bool, d.Rows)
		for i, id := range ids {
			v, ok := m[id]
			if !ok {
				continue
			}
			res.TargetsMatched++
			d.Target[i] = v
			if ds.InDomain(v) {
				d.TargetValid[i] = true
				res.TargetsInDomain++
			}
		}
		if err := p.AddLabeled(d, ds.Report, batch.TakeSegmentLabels(d, segs), a.Estimator); err != nil {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("profile partition %d of %s: %v", in.Index, ds.Name, err), batchapi.ErrComputeFailed, err)
		}
		return nil
	}

	find := batch.FindLogged
	if in.ByStoredAt {
		find = batch.FindStored
	}
	cur, err := find(ctx, a.DB, &ds, in.Window)
	if err != nil {
		return nil, err
	}
	defer cur.Close(context.WithoutCancel(ctx))
	rows := a.chunkRows()
	b := batch.NewChunkBuilder(&ds, segs, rows)
	flush := func() error {
		if b.Rows() == 0 {
			return nil
		}
		d, ids := b.Dataset(), b.IDs
		res.Rows += b.Rows()
		b.Reset(rows)
		hb.progress(fmt.Sprintf("read %d rows", res.Rows))
		if !perChunk {
			held = append(held, pending{d, ids})
			return nil
		}
		m, err := lookup(ctx, ids)
		if err != nil {
			return err
		}
		return add(ctx, d, ids, m)
	}
	for cur.Next(ctx) {
		l, ok := b.Add(cur.Current)
		if !ok {
			res.Skipped++
			continue
		}
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
		return nil, fmt.Errorf("read logged predictions of %s in %s: %w", ds.Name, in.Window, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if !perChunk && len(held) > 0 {
		want := make(map[string]struct{}, res.Rows)
		for _, h := range held {
			for _, id := range h.ids {
				want[id] = struct{}{}
			}
		}
		hb.progress("scanning targets")
		m, err := batch.ScanTargets(ctx, a.DB, &ds, want)
		if err != nil {
			return nil, err
		}
		for k := range held {
			if err := add(ctx, held[k].d, held[k].ids, m); err != nil {
				return nil, err
			}
			held[k] = pending{}
		}
	}
	doc, err := p.Marshal()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrComputeFailed, err)
	}
	if err := a.staging().Put(ctx, in.Run, batchapi.StageProfile, in.Index, res.Rows, nil, doc); err != nil {
		return nil, err
	}
	res.ProfileBytes = len(doc)
	res.ModelVersions = topVersions(versions)
	log.Info("partition profiled", "dataset", ds.Name, "partition", in.Index, "window", in.Window.String(),
		"rows", res.Rows, "targets_in_domain", res.TargetsInDomain, "profile_bytes", len(doc))
	return res, nil
}

// MergeProfiles reads the run's partition profiles in one pass over the staging
// (one profile in memory at a time besides the merged one), checks that each of
// partitions 0..Partitions-1 is there exactly once, merges them and computes the
// report from the merged profile against the staged reference (profile.Report),
// its segments (profile.Segments) and performance estimate, then stages the
// report as ComputeMetrics does.
func (a *Activities) MergeProfiles(ctx context.Context, in batchapi.MergeInput) (*batchapi.ComputeResult, error) {
	log := activity.GetLogger(ctx)
	ds, err := dataset(in.Dataset)
	if err != nil {
		return nil, err
	}
	if in.Partitions < 1 {
		return nil, badInput(nil, "MergeProfiles: partitions = %d, want >= 1", in.Partitions)
	}
	segs, err := a.segmenters(&ds)
	if err != nil {
		return nil, err
	}
	hb := startHeartbeat(ctx, "merging")
	defer hb.stop()
	t0 := time.Now()
	st := a.staging()
	merged := profile.New(ds.Report)
	seen := make([]bool, in.Partitions)
	err = st.Scan(ctx, batch.StageRef{Run: in.Run, Stage: batchapi.StageProfile}, batch.ScanOptions{}, func(c batch.Chunk) error {
		if c.Seq < 0 || c.Seq >= in.Partitions {
			return nil
		}
		if seen[c.Seq] {
			return fmt.Errorf("%w: partition %d staged twice", batch.ErrCorruptChunk, c.Seq)
		}
		seen[c.Seq] = true
		p, err := profile.Unmarshal(c.Data)
		if err != nil {
			return fmt.Errorf("%w: partition %d: %w", batch.ErrCorruptChunk, c.Seq, err)
		}
		if err := merged.Merge(p); err != nil {
			return fmt.Errorf("%w: partition %d: %w", batch.ErrCorruptChunk, c.Seq, err)
		}
		return nil
	})
	if err != nil {
		return nil, stagingErr(err)
	}
	for i, ok := range seen {
		if !ok {
			return nil, stagingErr(fmt.Errorf("%w: profile of partition %d of %d not found", batch.ErrStageIncomplete, i, in.Partitions))
		}
	}
	ref, err := st.ReadDataset(ctx, in.Reference, ds.StagingConfig())
	if err != nil {
		return nil, stagingErr(err)
	}
	refLabels := batch.TakeSegmentLabels(ref, segs)
	t1 := time.Now()
	hb.progress("computing")
	r, err := profile.Report(ctx, ref, merged, ds.Report)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("compute report: %w", err)
		}
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("compute report of %s from %d partitions: %v", ds.Name, in.Partitions, err), batchapi.ErrComputeFailed, err)
	}
	tSeg := time.Now()
	if len(segs) > 0 && merged.Rows > 0 {
		hb.progress("computing segments")
		r.Segments, err = profile.Segments(ctx, ref, refLabels, merged, ds.Report, ds.MinSegmentRows, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("compute segments: %w", err)
			}
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("compute segments of %s from %d partitions: %v", ds.Name, in.Partitions, err), batchapi.ErrComputeFailed, err)
		}
	}
	segMS := time.Since(tSeg).Milliseconds()
	if r.PerformanceEstimate, err = merged.PerformanceEstimate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("estimate the performance of %s from %d partitions: %v", ds.Name, in.Partitions, err), batchapi.ErrComputeFailed, err)
	}
	r.Computation.Partitions = in.Partitions
	r.Computation.MaxPartitionRows = in.Plan.MaxPartitionRows
	r.Computation.EstimatedRows = in.Plan.EstimatedRows
	r.Computation.EstimateMethod = in.Plan.EstimateMethod
	res, err := stageReport(ctx, st, in.Run, ds.Name, r, t0, t1)
	if err != nil {
		return nil, err
	}
	log.Info("report computed from partition profiles", "partitions", in.Partitions, "current_rows", merged.Rows,
		"dataset_drift", res.Summary.DatasetDrift, "load_ms", res.LoadMS, "compute_ms", res.ComputeMS,
		"segmentations", len(r.Segments), "segments_ms", segMS)
	return res, nil
}
