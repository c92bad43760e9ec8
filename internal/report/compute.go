package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/modelmon/modelmon/internal/drift"
	"github.com/modelmon/modelmon/internal/metrics"
)

// ErrEmpty is returned (wrapped) by Compute when a side has no rows.
var ErrEmpty = errors.New("empty dataset")

// begin checks what Compute and ComputeCounted need (a reference, a current
// window of curRows > 0 rows, valid drift options) and returns the report's
// shell and the drift options.
func begin(ctx context.Context, ref *Dataset, curRows int, cfg Config) (*Report, drift.Options, error) {
	if ref == nil || ref.Rows == 0 {
		return nil, drift.Options{}, fmt.Errorf("reference: %w: no rows", ErrEmpty)
	}
	if curRows == 0 {
		return nil, drift.Options{}, fmt.Errorf("current window: %w: no rows (nothing was logged in it)", ErrEmpty)
	}
	if err := ctx.Err(); err != nil {
		return nil, drift.Options{}, fmt.Errorf("compute report: %w", err)
	}
	opts, err := cfg.Drift.options()
	if err != nil {
		return nil, drift.Options{}, err
	}
	return &Report{
		ReferenceRows: ref.Rows,
		CurrentRows:   curRows,
		DataQuality:   QualityPair{Reference: map[string]ColumnQuality{}, Current: map[string]ColumnQuality{}},
		Distributions: map[string]Distribution{},
	}, opts, nil
}

// Compute builds the report of cur against ref: drift of every configured feature and
// of the prediction, regression performance where targets are known, data quality
// of every column, and the distributions the HTML report draws.
func Compute(ctx context.Context, ref, cur *Dataset, cfg Config) (*Report, error) {
	if cur == nil {
		return nil, fmt.Errorf("current window: %w: no rows (nothing was logged in it)", ErrEmpty)
	}
	r, opts, err := begin(ctx, ref, cur.Rows, cfg)
	if err != nil {
		return nil, err
	}

	numNames := slices.Clone(cfg.NumericalFeatures)
	refNum := map[string]NumColumn{}
	curNum := map[string]NumColumn{}
	for _, name := range cfg.NumericalFeatures {
		rc, cc := ref.Numerical[name], cur.Numerical[name]
		if rc == nil || cc == nil {
			return nil, fmt.Errorf("numerical column %q: not in both datasets", name)
		}
		refNum[name], curNum[name] = *rc, *cc
	}
	if ref.Prediction != nil && cur.Prediction != nil {
		numNames = append(numNames, PredictionColumn)
		refNum[PredictionColumn] = NumColumn{Values: ref.Prediction}
		curNum[PredictionColumn] = NumColumn{Values: cur.Prediction}
	}
	refCat := map[string]CatColumn{}
	curCat := map[string]CatColumn{}
	for _, name := range cfg.CategoricalFeatures {
		rc, cc := ref.Categorical[name], cur.Categorical[name]
		if rc == nil || cc == nil {
			return nil, fmt.Errorf("categorical column %q: not in both datasets", name)
		}
		refCat[name], curCat[name] = *rc, *cc
	}

	// Data quality and the drift tests' inputs.
	driftRef, driftCur := map[string]drift.Column{}, map[string]drift.Column{}
	var driftNames []string
	for _, name := range numNames {
		rc, cc := refNum[name], curNum[name]
		rq, err := referenceNumQuality(name, rc, cfg)
		if err != nil {
			return nil, err
		}
		cq, err := metrics.NumericQuality(cc, &rc)
		if err != nil {
			return nil, fmt.Errorf("current column %q: %w", name, err)
		}
		if pr, ok := cfg.PlausibleRanges[name]; ok {
			metrics.CountImplausible(&cq, cc, pr)
		}
		r.DataQuality.Reference[name], r.DataQuality.Current[name] = rq, cq
		rv, cv := presentNum(rc), presentNum(cc)
		if len(rv) == 0 || len(cv) == 0 {
			r.DataDrift.skip(name, "no values in one of the datasets")
			continue
		}
		driftNames = append(driftNames, name)
		driftRef[name] = drift.Column{Kind: drift.Numerical, Num: rv}
		driftCur[name] = drift.Column{Kind: drift.Numerical, Num: cv}
		r.Distributions[name] = numDistribution(rv, cv)
	}
	for _, name := range cfg.CategoricalFeatures {
		rc, cc := refCat[name], curCat[name]
		rq, err := metrics.CategoricalQuality(rc, nil)
		if err != nil {
			return nil, fmt.Errorf("reference column %q: %w", name, err)
		}
		cq, err := metrics.CategoricalQuality(cc, &rc)
		if err != nil {
			return nil, fmt.Errorf("current column %q: %w", name, err)
		}
		r.DataQuality.Reference[name], r.DataQuality.Current[name] = rq, cq
		rv, cv := presentCat(rc), presentCat(cc)
		if len(rv) == 0 || len(cv) == 0 {
			r.DataDrift.skip(name, "no values in one of the datasets")
			continue
		}
		driftNames = append(driftNames, name)
		driftRef[name] = drift.Column{Kind: drift.Categorical, Cat: rv}
		driftCur[name] = drift.Column{Kind: drift.Categorical, Cat: cv}
		r.Distributions[name] = catDistribution(rv, cv)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compute report: %w", err)
	}
	if err := r.decideDrift(driftNames, driftRef, driftCur, opts, cfg, cur.Rows); err != nil {
		return nil, err
	}

	if r.Regression.Reference, err = regression(ref, refNum, refCat, cfg); err != nil {
		return nil, fmt.Errorf("reference regression: %w", err)
	}
	if r.Regression.Current, err = regression(cur, curNum, curCat, cfg); err != nil {
		return nil, fmt.Errorf("current regression: %w", err)
	}
	return r, nil
}

// referenceNumQuality is the data quality of the reference column rc of name, its
// values outside cfg's plausible range counted (Compute and ComputeCounted).
func referenceNumQuality(name string, rc NumColumn, cfg Config) (metrics.ColumnQuality, error) {
	rq, err := metrics.NumericQuality(rc, nil)
	if err != nil {
		return rq, fmt.Errorf("reference column %q: %w", name, err)
	}
	if pr, ok := cfg.PlausibleRanges[name]; ok {
		metrics.CountImplausible(&rq, rc, pr)
	}
	return rq, nil
}

// decideDrift runs the drift tests of driftNames (none when the window has
// fewer than cfg.Drift.MinWindowRows rows) and fills r.DataDrift.
func (r *Report) decideDrift(driftNames []string, driftRef, driftCur map[string]drift.Column, opts drift.Options, cfg Config, curRows int) error {
	r.DataDrift.Method, r.DataDrift.MinWindowRows, r.DataDrift.EnoughData = opts.Method, cfg.Drift.MinWindowRows, true
	if opts.Method == drift.MethodCalibrated {
		r.DataDrift.Alpha = cmp.Or(opts.Alpha, drift.DefaultAlpha)
	}
	if curRows < cfg.Drift.MinWindowRows {
		driftNames = nil // not enough data: no verdict
		r.DataDrift.EnoughData = false
	}
	dd, err := dataDrift(driftNames, driftRef, driftCur, opts)
	if err != nil {
		return fmt.Errorf("data drift: %w", err)
	}
	for name, why := range dd.Skipped {
		r.DataDrift.skip(name, why)
	}
	r.DataDrift.DatasetDrift = dd.DatasetDrift
	r.DataDrift.ShareDrifted = dd.ShareDrifted
	r.DataDrift.Drifted = dd.Drifted
	r.DataDrift.DriftShare = opts.DriftShare
	if r.DataDrift.DriftShare == 0 {
		r.DataDrift.DriftShare = 0.5
	}
	r.DataDrift.Columns = make(map[string]ColumnDrift, len(dd.Columns))
	for _, c := range dd.Columns {
		r.DataDrift.Columns[c.Name] = ColumnDrift{
			Type: c.Type, StatTest: c.Test, Statistic: c.Statistic, PValue: c.PValue,
			Threshold: c.Threshold, Drifted: c.Drifted, ColumnCalibration: columnCalibration(c.Calibration),
		}
	}
	return nil
}

func (d *DataDrift) skip(name, why string) {
	if d.Skipped == nil {
		d.Skipped = map[string]string{}
	}
	d.Skipped[name] = why
}

func (o DriftOptions) options() (drift.Options, error) {
	opts := drift.Options{
		Method:      cmp.Or(o.Method, drift.MethodCalibrated),
		Alpha:       o.Alpha,
		DriftShare:  o.DriftShare,
		NumStattest: drift.ColumnOption{Test: o.NumStattest, Threshold: o.NumThreshold},
		CatStattest: drift.ColumnOption{Test: o.CatStattest, Threshold: o.CatThreshold},
	}
	if len(o.PerColumn) > 0 {
		opts.PerColumn = make(map[string]drift.ColumnOption, len(o.PerColumn))
		for name, c := range o.PerColumn {
			opts.PerColumn[name] = drift.ColumnOption{Test: c.StatTest, Threshold: c.Threshold, Alpha: c.Alpha}
		}
	}
	if err := opts.Validate(); err != nil {
		return drift.Options{}, fmt.Errorf("drift options: %w", err)
	}
	if o.MinWindowRows < 0 {
		return drift.Options{}, fmt.Errorf("drift options: min_window_rows %d < 0", o.MinWindowRows)
	}
	return opts, nil
}

// regression computes performance over the rows with a known target; nil when there are none.
func regression(d *Dataset, num map[string]NumColumn, cat map[string]CatColumn, cfg Config) (*Regression, error) {
	if d.Prediction == nil || d.Target == nil {
		return nil, nil
	}
	rows := make([]int, 0, d.Rows)
	for i := 0; i < d.Rows; i++ {
		if d.TargetValid == nil || d.TargetValid[i] {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	target := make([]float64, len(rows))
	pred := make([]float64, len(rows))
	for k, i := range rows {
		target[k], pred[k] = d.Target[i], d.Prediction[i]
	}
	// Error bias over the features complete on these rows.
	features := map[string]metrics.Feature{}
	for _, name := range cfg.NumericalFeatures {
		c := num[name]
		if v, ok := pick(c.Values, c.Valid, rows); ok {
			features[name] = metrics.Feature{Num: v}
		}
	}
	for _, name := range cfg.CategoricalFeatures {
		c := cat[name]
		if v, ok := pick(c.Values, c.Valid, rows); ok {
			features[name] = metrics.Feature{Cat: v}
		}
	}
	reg, err := metrics.ComputeRegression(target, pred, features)
	if err != nil {
		return nil, err
	}
	return &reg, nil
}

func pick[T any](values []T, valid []bool, rows []int) ([]T, bool) {
	out := make([]T, len(rows))
	for k, i := range rows {
		if valid != nil && !valid[i] {
			return nil, false
		}
		out[k] = values[i]
	}
	return out, true
}

func presentNum(c NumColumn) []float64 {
	if c.Valid == nil {
		return c.Values
	}
	out := make([]float64, 0, len(c.Values))
	for i, v := range c.Values {
		if c.Valid[i] {
			out = append(out, v)
		}
	}
	return out
}

func presentCat(c CatColumn) []string {
	if c.Valid == nil {
		return c.Values
	}
	out := make([]string, 0, len(c.Values))
	for i, v := range c.Values {
		if c.Valid[i] {
			out = append(out, v)
		}
	}
	return out
}

// Chart sizes of Distribution.
const (
	numBins       = 24
	maxCategories = 15
	// OtherCategory collects the categories beyond the most frequent ones.
	OtherCategory = "(other)"
)

// numDistribution bins both samples over [min, q99] of the pooled data (heavy tails,
// such as a 244,152-mile trip, would otherwise squash every bar into one); the last
// bin also holds everything above q99. When hi − lo overflows (1e308 − (−1e308)),
// edges and bin indices are computed on halves, which cannot.
func numDistribution(ref, cur []float64) Distribution {
	pooled := make([]float64, 0, len(ref)+len(cur))
	pooled = append(append(pooled, ref...), cur...)
	slices.Sort(pooled)
	edges, bin := numChart(pooled[0], metrics.QuantileSorted(0.99, pooled), pooled[len(pooled)-1])
	share := func(xs []float64) []float64 {
		counts := make([]float64, numBins)
		for _, x := range xs {
			counts[bin(x)]++
		}
		for i := range counts {
			counts[i] /= float64(len(xs))
		}
		return counts
	}
	return Distribution{Type: "numerical", Edges: edges, Reference: share(ref), Current: share(cur)}
}

// numChart returns the edges of the chart's bins from the pooled data's
// minimum lo, 99th percentile hi and maximum top, and the bin of a value.
func numChart(lo, hi, top float64) (edges []float64, bin func(x float64) int) {
	if hi <= lo {
		hi = top
	}
	if hi <= lo { // every value equal: one unit (or one part in 2^40 of it) wide
		w := max(1, math.Abs(lo)*0x1p-40)
		if hi = lo + w; math.IsInf(hi, 0) {
			lo, hi = lo-w, lo
		}
	}
	// x−lo over hi−lo, on halves when hi−lo overflows.
	div, sub, width := 1.0, lo, hi-lo
	if math.IsInf(width, 0) {
		div, sub, width = 2, lo/2, hi/2-lo/2
	}
	edges = make([]float64, numBins+1)
	for i := range edges {
		t := float64(i) / numBins
		edges[i] = lo*(1-t) + hi*t
		if i == 0 {
			edges[i] = lo
		} else if i == numBins {
			edges[i] = hi
		} else if w := hi - lo; !math.IsInf(w, 0) {
			edges[i] = lo + w*t // as before: exact for ordinary data
		}
	}
	return edges, func(x float64) int {
		f := math.Floor((x/div - sub) / width * numBins)
		if f < numBins {
			return max(int(f), 0)
		}
		return numBins - 1
	}
}

// catDistribution gives the shares of the most frequent categories of both samples,
// then the rest as OtherCategory.
func catDistribution(ref, cur []string) Distribution {
	return catShares(counts(ref), counts(cur), float64(len(ref)), float64(len(cur)))
}

// catShares is catDistribution from the category counts rc, cc of samples of
// nr and nc values.
func catShares(rc, cc map[string]float64, nr, nc float64) Distribution {
	type kv struct {
		k string
		n float64
	}
	all := make([]kv, 0, len(rc)+len(cc))
	seen := map[string]bool{}
	for _, m := range []map[string]float64{rc, cc} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				all = append(all, kv{k, rc[k]/nr + cc[k]/nc})
			}
		}
	}
	slices.SortFunc(all, func(a, b kv) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	d := Distribution{Type: "categorical"}
	var refTop, curTop float64
	for i, e := range all {
		if i == maxCategories {
			break
		}
		d.Categories = append(d.Categories, e.k)
		d.Reference = append(d.Reference, rc[e.k]/nr)
		d.Current = append(d.Current, cc[e.k]/nc)
		refTop += rc[e.k] / nr
		curTop += cc[e.k] / nc
	}
	if len(all) > maxCategories {
		d.Categories = append(d.Categories, OtherCategory)
		d.Reference = append(d.Reference, math.Max(0, 1-refTop))
		d.Current = append(d.Current, math.Max(0, 1-curTop))
	}
	return d
}

func counts(xs []string) map[string]float64 {
	m := make(map[string]float64)
	for _, x := range xs {
		m[x]++
	}
	return m
}
