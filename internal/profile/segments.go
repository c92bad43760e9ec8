package profile

import (
	"context"
	"errors"
	"fmt"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/report"
)

// Segments computes the report's segments from the segments' profiles of cur,
// with the definitions of report.ComputeSegmentsLabeled: per segmentation of
// refLabels (the label of every reference row, by segmentation name), the union
// of the reference's and the current segments; a segment with fewer than minRows
// rows (0: report.DefaultMinSegmentRows) on either side is too small and carries
// its row counts only; any other is the report of the segment's profile against
// the reference segment's rows (compare with compute: nil computes from the
// counts, as Report does for the whole window),
// and, when cur was estimated, carries the segment's estimate (Estimated, a
// *report.PerformanceEstimate). A segmentation the profile lacks is an error.
func Segments(ctx context.Context, ref *report.Dataset, refLabels map[string][]string, cur *Profile, cfg report.Config, minRows int, compute ComputeFunc) (map[string]report.Segmentation, error) {
	if minRows < 0 {
		return nil, fmt.Errorf("segments: minimum rows must be >= 1, got %d", minRows)
	}
	if minRows == 0 {
		minRows = report.DefaultMinSegmentRows
	}
	if ref == nil || cur == nil {
		return nil, fmt.Errorf("segments: %w: a dataset is missing", report.ErrEmpty)
	}
	out := make(map[string]report.Segmentation, len(refLabels))
	for name, refLab := range refLabels {
		curSeg, ok := cur.Segments[name]
		if !ok {
			return nil, fmt.Errorf("segments: the profile has no segmentation %q (it has %v: partitions profiled with other segments configured)", name, keys(cur.Segments))
		}
		if len(refLab) != ref.Rows {
			return nil, fmt.Errorf("segments: %q: %d labels for %d reference rows", name, len(refLab), ref.Rows)
		}
		refRows := report.GroupRows(refLab)
		res := report.Segmentation{}
		for _, v := range report.SegmentValues(refRows, curSeg) {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("segments: %w", err)
			}
			rr, cp := refRows[v], curSeg[v]
			s := &report.Segment{ReferenceRows: len(rr)}
			if cp != nil {
				s.CurrentRows = int(cp.Rows)
			}
			res[v] = s
			if s.ReferenceRows < minRows || s.CurrentRows < minRows {
				s.Verdict, s.MinRows = report.VerdictTooSmall, minRows
				continue
			}
			rep, err := compare(ctx, report.SubsetRows(ref, rr), cp, cfg, compute)
			if err != nil {
				return nil, fmt.Errorf("segment %s=%s: %w", name, v, err)
			}
			s.SetFrom(rep)
			pe, err := cp.PerformanceEstimate()
			if err != nil {
				return nil, fmt.Errorf("segment %s=%s: estimate: %w", name, v, err)
			}
			if pe != nil {
				s.Estimated = pe
			}
		}
		out[name] = res
	}
	return out, nil
}

// PerformanceEstimate is the report's performance_estimate from p's loss sums:
// report.EstimatePerformance's result for the same rows up to the order of
// summation, the reference band at the merged row count. nil when the rows were
// not estimated or none could be (as batch.AddEstimate leaves it out).
func (p *Profile) PerformanceEstimate() (*report.PerformanceEstimate, error) {
	e := p.Estimate
	if e == nil {
		return nil, nil
	}
	res, err := e.Reference.Result(e.Sums)
	if errors.Is(err, estimate.ErrEmptyWindow) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &report.PerformanceEstimate{
		Result: res, ReferenceBand: e.Reference.Band(res.Rows), SkippedRows: int(p.Rows - e.Sums.Rows),
		EstimatorVersion: e.EstimatorVersion, ModelVersion: e.ModelVersion,
	}, nil
}
