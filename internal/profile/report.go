package profile

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/modelmon/modelmon/internal/drift"
	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/report"
)

// Sample rebuilds, column by column, a dataset with the distribution p
// summarises, for code that needs values (report.Compute; Report uses Counted
// instead, and ReportFromSample, the tests' oracle, uses Sample): every categorical column is the exact multiset of its
// values (sorted; rows are not aligned across columns), every numerical column
// and the prediction the exact multiset while its summary is exact, otherwise
// each sketch bucket's representative repeated by its count (within α = 0.5%
// relative of the values it stands for). Missing values come last, marked
// invalid. It has no targets. Cost: 8 bytes a row per numerical column, 16 per
// categorical column (strings shared), 1 per column with missing values.
func (p *Profile) Sample(cfg report.Config) *report.Dataset {
	n := int(p.Rows)
	d := &report.Dataset{Rows: n, Numerical: map[string]*report.NumColumn{}, Categorical: map[string]*report.CatColumn{}}
	for _, name := range cfg.NumericalFeatures {
		d.Numerical[name] = expandNum(p.Num[name], n)
	}
	for _, name := range cfg.CategoricalFeatures {
		s := p.Cat[name]
		c := &report.CatColumn{Values: make([]string, 0, n)}
		counts := s.Counts()
		for _, k := range slices.Sorted(maps.Keys(counts)) {
			for range counts[k] {
				c.Values = append(c.Values, k)
			}
		}
		c.Valid = validTail(len(c.Values), n)
		c.Values = c.Values[:n]
		d.Categorical[name] = c
	}
	if p.PredictionRows == p.Rows && n > 0 {
		d.Prediction = expandNum(p.Num[report.PredictionColumn], n).Values
	}
	return d
}

// expandNum writes the summary's values, then NaN for the missing rows.
func expandNum(s *metrics.NumSummary, n int) *report.NumColumn {
	c := &report.NumColumn{Values: make([]float64, 0, n)}
	s.Expand(func(v float64, k int64) {
		for range k {
			c.Values = append(c.Values, v)
		}
	})
	c.Valid = validTail(len(c.Values), n)
	for len(c.Values) < n {
		c.Values = append(c.Values, math.NaN())
	}
	return c
}

// Counted returns the current side of a report as p holds it, for
// report.ComputeCounted: per numerical column and for the prediction the
// summary's values with their counts (NumSummary.Expand: the exact values
// while the summary is exact, else the sketch buckets' representatives),
// per categorical column the categories with their counts, sorted by key.
// The same distribution as Sample, in O(distinct values + buckets +
// categories) memory instead of O(rows).
func (p *Profile) Counted(cfg report.Config) *report.CountedDataset {
	d := &report.CountedDataset{Rows: int(p.Rows), Numerical: map[string]report.CountedNum{}, Categorical: map[string]report.CountedCat{}}
	for _, name := range cfg.NumericalFeatures {
		d.Numerical[name] = countedNum(p.Num[name])
	}
	for _, name := range cfg.CategoricalFeatures {
		counts := p.Cat[name].Counts()
		c := report.CountedCat{Values: slices.Sorted(maps.Keys(counts))}
		c.Counts = make([]int64, len(c.Values))
		for i, k := range c.Values {
			c.Counts[i] = counts[k]
		}
		d.Categorical[name] = c
	}
	if p.PredictionRows == p.Rows && p.Rows > 0 {
		c := countedNum(p.Num[report.PredictionColumn])
		d.Prediction = &c
	}
	return d
}

func countedNum(s *metrics.NumSummary) report.CountedNum {
	c := report.CountedNum{Values: []float64{}, Counts: []int64{}}
	s.Expand(func(v float64, k int64) {
		c.Values = append(c.Values, v)
		c.Counts = append(c.Counts, k)
	})
	return c
}

// validTail is nil if present == n, else present trues then false up to n.
func validTail(present, n int) []bool {
	if present >= n {
		return nil
	}
	v := make([]bool, n)
	for i := range present {
		v[i] = true
	}
	return v
}

// Bounds states, per statistic family, what a report from a merged profile
// guarantees (see metrics.NumSummary for the sketch's bounds), and what the
// merge holds in memory.
func Bounds() map[string]string {
	return map[string]string{
		"categorical":          "exact: counts, chi-square, Jensen-Shannon, PSI and every categorical test equal the single-pass values",
		"regression":           "me, mae, rmse, mape, r2, error_std, max_abs_error exact up to rounding (1e-9 relative); error quantiles and the under/over groups from the error sketch (0.5% relative); error_bias not computed",
		"numerical":            "count, missing, mean, std, min, max exact up to rounding; while a column has <= 512 distinct values every statistic is exact, beyond that quantiles within 0.5% relative, K-S, Wasserstein and the other drift tests computed on the sketch's bucket representatives with their counts",
		"segments":             "per segment, from the segment's profile against the reference segment's rows, with the bounds above: rows, the too-small rule and regression exact, drift on the segment's sketches with their counts; estimated metrics from summed per-row losses (1e-9 relative)",
		"performance_estimate": "rows, mae, rmse, me and their bands from summed per-row predicted losses: the single pass's values up to the order of summation (1e-9 relative)",
		"memory": "the current side is read from the merged profile as (value, count) pairs: per column its distinct values (<= 512) or sketch buckets, and its categories; memory independent of the window's rows. Drift tests without a counted form (" +
			strings.Join(uncountedTests(), ", ") + ") expand their column to one value per row (8 bytes a row, 16 for categories): such columns are named under \"expanded\"",
	}
}

// uncountedTests are the drift tests that expand a counted column.
func uncountedTests() []string {
	var out []string
	for _, t := range drift.Tests() {
		if !drift.Counted(t) {
			out = append(out, t)
		}
	}
	return out
}

// Report computes the report of the merged profile cur against the reference
// dataset ref: drift and charts by report.ComputeCounted on cur.Counted (the
// current side as (value, count) pairs: memory independent of the window's
// rows), regression and data quality of the current side from the summaries
// (exact up to rounding where the single pass is: counts, moments, min and
// max). ref is the scored reference, read whole (its rows are bounded by the
// reference file, not by the window). The report equals ReportFromSample's up
// to floating-point rounding.
func Report(ctx context.Context, ref *report.Dataset, cur *Profile, cfg report.Config) (*report.Report, error) {
	return compare(ctx, ref, cur, cfg, nil)
}

// ReportFromSample is the report of cur computed by compute (report.Compute
// when nil) on cur.Sample, the rows rebuilt from the summaries: memory
// O(rows). It is the reference Report is tested against.
func ReportFromSample(ctx context.Context, ref *report.Dataset, cur *Profile, cfg report.Config, compute ComputeFunc) (*report.Report, error) {
	if compute == nil {
		compute = report.Compute
	}
	return compare(ctx, ref, cur, cfg, compute)
}

// ComputeFunc computes the report of two datasets.
type ComputeFunc func(ctx context.Context, ref, cur *report.Dataset, cfg report.Config) (*report.Report, error)

// compare is the report of the profile cur against the reference rows ref
// (Report, and a segment's report in Segments): with compute nil from cur's
// (value, count) pairs, else by compute on the rows rebuilt from cur.
func compare(ctx context.Context, ref *report.Dataset, cur *Profile, cfg report.Config, compute ComputeFunc) (*report.Report, error) {
	refP, err := FromDataset(ref, cfg)
	if err != nil {
		return nil, fmt.Errorf("reference profile: %w", err)
	}
	if compute != nil {
		r, err := compute(ctx, ref, cur.Sample(cfg), cfg)
		if err != nil {
			return nil, err
		}
		return finish(r, cur, refP, slices.Collect(maps.Keys(r.DataQuality.Current)))
	}
	if s := cur.Num[report.PredictionColumn]; cur.PredictionRows > 0 && s != nil && s.NonFinite() > 0 && ref.Prediction != nil && cur.Rows >= int64(cfg.Drift.MinWindowRows) {
		// As Compute on the expanded rows (Sample writes them as NaN): drift of
		// a prediction with non-finite values is refused, not computed without them.
		return nil, fmt.Errorf("data drift: column %q: %d non-finite values: %w", report.PredictionColumn, s.NonFinite(), drift.ErrNonFinite)
	}
	r, err := report.ComputeCounted(ctx, ref, cur.Counted(cfg), cfg)
	if err != nil {
		return nil, err
	}
	names := slices.Concat(cfg.NumericalFeatures, cfg.CategoricalFeatures)
	if ref.Prediction != nil && cur.PredictionRows == cur.Rows && cur.Rows > 0 {
		names = append(names, report.PredictionColumn)
	}
	return finish(r, cur, refP, names)
}

// finish sets the current side's data quality of the named columns and its
// regression from the summaries, and the computation's path and bounds.
func finish(r *report.Report, cur, refP *Profile, names []string) (*report.Report, error) {
	for _, name := range names {
		if s := cur.Num[name]; s != nil {
			r.DataQuality.Current[name] = metrics.NumericQualityFromSummary(s, refP.Num[name])
		} else if s := cur.Cat[name]; s != nil {
			r.DataQuality.Current[name] = metrics.CategoricalQualityFromSummary(s, refP.Cat[name])
		}
	}
	r.Regression.Current = nil
	if cur.Regression.N() > 0 {
		reg, err := metrics.RegressionFromSummaries(cur.Regression, nil)
		if err != nil {
			return nil, fmt.Errorf("current regression: %w", err)
		}
		r.Regression.Current = &reg
	}
	bounds := Bounds()
	var expanded []string
	for _, name := range slices.Sorted(maps.Keys(r.DataDrift.Columns)) {
		if t := r.DataDrift.Columns[name].StatTest; !drift.Counted(t) {
			expanded = append(expanded, fmt.Sprintf("%s (%s)", name, t))
		}
	}
	if len(expanded) > 0 {
		bounds["expanded"] = fmt.Sprintf("drift of %s computed on the current side expanded to one value per row (no counted form): memory O(%d rows)",
			strings.Join(expanded, ", "), cur.Rows)
	}
	r.Computation = &report.Computation{Path: report.PathPartitioned, SketchAlpha: metrics.DefaultAlpha, Bounds: bounds}
	return r, nil
}
