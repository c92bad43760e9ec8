package report

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelmon/modelmon/internal/metrics"
)

// DefaultMinSegmentRows is the fewest rows a segment needs, on each side, to be
// reported with metrics and a drift verdict.
const DefaultMinSegmentRows = 100

// Segment verdicts. A segment with fewer than the minimum rows on either side is
// VerdictTooSmall and carries its row counts only: no metric, no drift verdict.
const (
	VerdictTooSmall = "too_small"
	VerdictDrift    = "drift"
	VerdictNoDrift  = "no_drift"
)

// Segmentation is one segmentation's result, by segment value:
// segments.<segmentation>.<value> in the report JSON.
type Segmentation map[string]*Segment

// Segment is the report of one segment (e.g. pickup_borough = Queens): the rows of
// the current window and of the reference in that segment, compared with each other
// exactly as the whole datasets are (Compute on the two subsets).
type Segment struct {
	// Verdict is VerdictDrift or VerdictNoDrift (the segment's DataDrift.DatasetDrift),
	// or VerdictTooSmall.
	Verdict       string `json:"verdict"`
	ReferenceRows int    `json:"reference_rows"`
	CurrentRows   int    `json:"current_rows"`
	// MinRows is the minimum that a too-small segment missed (0 otherwise).
	MinRows int `json:"min_rows,omitempty"`
	// Regression is realized performance where targets are known: the definitions
	// of the report's regression block (metrics.ComputeRegression), a side null
	// when it has no targets.
	Regression *SegmentRegressionPair `json:"regression,omitempty"`
	// DataDrift is the segment's drift, the same tests as the report's data_drift,
	// current segment against reference segment.
	DataDrift *DataDrift `json:"data_drift,omitempty"`
	// Estimated is the estimated performance of the segment's current rows (set by
	// SegmentOptions.Estimate; internal/estimate's result), nil when not estimated.
	Estimated any `json:"estimated,omitempty"`
}

// SegmentRegressionPair holds a segment's regression metrics on both sides.
type SegmentRegressionPair struct {
	Reference *SegmentRegression `json:"reference"`
	Current   *SegmentRegression `json:"current"`
}

// SegmentRegression is the headline of metrics.Regression for a segment (error =
// prediction - target): Rows is metrics.Regression.N; undefined values are NaN
// (JSON null).
type SegmentRegression struct {
	Rows int     `json:"rows"`
	ME   float64 `json:"me"`
	MAE  float64 `json:"mae"`
	RMSE float64 `json:"rmse"`
	R2   float64 `json:"r2"`
}

// MarshalJSON writes NaN as null.
func (r SegmentRegression) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Rows int      `json:"rows"`
		ME   *float64 `json:"me"`
		MAE  *float64 `json:"mae"`
		RMSE *float64 `json:"rmse"`
		R2   *float64 `json:"r2"`
	}{r.Rows, finiteOrNil(r.ME), finiteOrNil(r.MAE), finiteOrNil(r.RMSE), finiteOrNil(r.R2)})
}

// UnmarshalJSON reads null as NaN.
func (r *SegmentRegression) UnmarshalJSON(b []byte) error {
	var w struct {
		Rows int      `json:"rows"`
		ME   *float64 `json:"me"`
		MAE  *float64 `json:"mae"`
		RMSE *float64 `json:"rmse"`
		R2   *float64 `json:"r2"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode segment regression: %w", err)
	}
	*r = SegmentRegression{Rows: w.Rows, ME: nanIfNil(w.ME), MAE: nanIfNil(w.MAE), RMSE: nanIfNil(w.RMSE), R2: nanIfNil(w.R2)}
	return nil
}

func finiteOrNil(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func nanIfNil(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func segmentRegression(r *metrics.Regression) *SegmentRegression {
	if r == nil {
		return nil
	}
	return &SegmentRegression{Rows: r.N, ME: r.ME, MAE: r.MAE, RMSE: r.RMSE, R2: r.R2}
}

// SegmentOptions tune ComputeSegments.
type SegmentOptions struct {
	// MinRows is the fewest rows a segment needs on each side (default
	// DefaultMinSegmentRows).
	MinRows int
	// Estimate, if set, estimates the performance of a segment's current rows (no
	// targets needed); it is called for every segment that is not too small and its
	// result is stored in Segment.Estimated.
	Estimate func(ctx context.Context, cur *Dataset) (any, error)
}

// ComputeSegments reports every segment of every segmenter: ref and cur are cut by
// each row's segment (Segmenter.Assign with refSrc and curSrc) and each pair of
// subsets that has at least opts.MinRows rows on both sides is compared by Compute
// with cfg; smaller segments are VerdictTooSmall. A segment present on one side only
// is listed too (with 0 rows on the other, hence too small).
func ComputeSegments(ctx context.Context, ref, cur *Dataset, refSrc, curSrc SegmentSource, segs []*Segmenter, cfg Config, opts SegmentOptions) (map[string]Segmentation, error) {
	if ref == nil || cur == nil {
		return nil, fmt.Errorf("segments: %w: a dataset is missing", ErrEmpty)
	}
	refLabels := make(map[string][]string, len(segs))
	curLabels := make(map[string][]string, len(segs))
	for _, sg := range segs {
		if _, dup := refLabels[sg.Name()]; dup {
			return nil, fmt.Errorf("segments: %q is named twice", sg.Name())
		}
		var err error
		if refLabels[sg.Name()], err = sg.Assign(ref, refSrc); err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
		if curLabels[sg.Name()], err = sg.Assign(cur, curSrc); err != nil {
			return nil, fmt.Errorf("current: %w", err)
		}
	}
	return ComputeSegmentsLabeled(ctx, ref, cur, refLabels, curLabels, cfg, opts)
}

// ComputeSegmentsLabeled is ComputeSegments for rows already labelled: refLabels and
// curLabels hold, per segmentation name, the segment of every row of ref and cur
// (Segmenter.Assign or LabelOf). Both must name the same segmentations.
func ComputeSegmentsLabeled(ctx context.Context, ref, cur *Dataset, refLabels, curLabels map[string][]string, cfg Config, opts SegmentOptions) (map[string]Segmentation, error) {
	if opts.MinRows < 0 {
		return nil, fmt.Errorf("segments: minimum rows must be >= 1, got %d", opts.MinRows)
	}
	if opts.MinRows == 0 {
		opts.MinRows = DefaultMinSegmentRows
	}
	if ref == nil || cur == nil {
		return nil, fmt.Errorf("segments: %w: a dataset is missing", ErrEmpty)
	}
	out := make(map[string]Segmentation, len(curLabels))
	for name, curLab := range curLabels {
		refLab, ok := refLabels[name]
		if !ok {
			return nil, fmt.Errorf("segments: %q has no reference labels", name)
		}
		if len(refLab) != ref.Rows || len(curLab) != cur.Rows {
			return nil, fmt.Errorf("segments: %q: %d / %d labels for %d / %d rows", name, len(refLab), len(curLab), ref.Rows, cur.Rows)
		}
		refRows, curRows := GroupRows(refLab), GroupRows(curLab)
		res := Segmentation{}
		for _, v := range SegmentValues(refRows, curRows) {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("segments: %w", err)
			}
			rr, cr := refRows[v], curRows[v]
			s := &Segment{ReferenceRows: len(rr), CurrentRows: len(cr)}
			res[v] = s
			if len(rr) < opts.MinRows || len(cr) < opts.MinRows {
				s.Verdict, s.MinRows = VerdictTooSmall, opts.MinRows
				continue
			}
			subCur := SubsetRows(cur, cr)
			rep, err := Compute(ctx, SubsetRows(ref, rr), subCur, cfg)
			if err != nil {
				return nil, fmt.Errorf("segment %s=%s: %w", name, v, err)
			}
			s.SetFrom(rep)
			if opts.Estimate != nil {
				if s.Estimated, err = opts.Estimate(ctx, subCur); err != nil {
					return nil, fmt.Errorf("segment %s=%s: estimate: %w", name, v, err)
				}
			}
		}
		out[name] = res
	}
	return out, nil
}

// SetFrom sets the segment's verdict, drift and regression from the report of its
// two subsets (current segment against reference segment).
func (s *Segment) SetFrom(rep *Report) {
	s.DataDrift = &rep.DataDrift
	s.Verdict = VerdictNoDrift
	if rep.DataDrift.DatasetDrift {
		s.Verdict = VerdictDrift
	}
	if rep.Regression.Reference != nil || rep.Regression.Current != nil {
		s.Regression = &SegmentRegressionPair{
			Reference: segmentRegression(rep.Regression.Reference),
			Current:   segmentRegression(rep.Regression.Current),
		}
	}
}

// GroupRows groups row indices (increasing) by label.
func GroupRows(labels []string) map[string][]int {
	g := map[string][]int{}
	for i, l := range labels {
		g[l] = append(g[l], i)
	}
	return g
}

// SegmentValues is the union of both sides' segments (the keys of a and b),
// sorted by SortSegmentValues: UnknownSegment last.
func SegmentValues[A, B any](a map[string]A, b map[string]B) []string {
	vs := make([]string, 0, len(a)+len(b))
	for v := range a {
		vs = append(vs, v)
	}
	for v := range b {
		if _, ok := a[v]; !ok {
			vs = append(vs, v)
		}
	}
	SortSegmentValues(vs)
	return vs
}

// SortSegmentValues sorts segment values for display: hour bands in time order,
// other values alphabetically, UnknownSegment last.
func SortSegmentValues(vs []string) {
	rank := func(v string) int {
		if v == UnknownSegment {
			return len(HourBands) + 1
		}
		for i, b := range HourBands {
			if b.Name == v {
				return i
			}
		}
		return len(HourBands)
	}
	slices.SortFunc(vs, func(x, y string) int {
		if rx, ry := rank(x), rank(y); rx != ry {
			return rx - ry
		}
		return strings.Compare(x, y)
	})
}

// SubsetRows is the Dataset of d's rows (indices in increasing order).
func SubsetRows(d *Dataset, rows []int) *Dataset {
	s := &Dataset{
		Rows:        len(rows),
		Numerical:   make(map[string]*NumColumn, len(d.Numerical)),
		Categorical: make(map[string]*CatColumn, len(d.Categorical)),
		Prediction:  pickAll(d.Prediction, rows),
		Target:      pickAll(d.Target, rows),
		TargetValid: pickAll(d.TargetValid, rows),
	}
	for name, c := range d.Numerical {
		s.Numerical[name] = &NumColumn{Values: pickAll(c.Values, rows), Valid: pickAll(c.Valid, rows)}
	}
	for name, c := range d.Categorical {
		s.Categorical[name] = &CatColumn{Values: pickAll(c.Values, rows), Valid: pickAll(c.Valid, rows)}
	}
	return s
}

// pickAll returns xs at rows; nil stays nil.
func pickAll[T any](xs []T, rows []int) []T {
	if xs == nil {
		return nil
	}
	out := make([]T, len(rows))
	for k, i := range rows {
		out[k] = xs[i]
	}
	return out
}
