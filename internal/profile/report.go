package profile

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/report"
)

// Sample rebuilds, column by column, a dataset with the distribution p
// summarises, for code that needs values (the drift tests and the charts of
// report.Compute): every categorical column is the exact multiset of its
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
// guarantees (see metrics.NumSummary for the sketch's bounds).
func Bounds() map[string]string {
	return map[string]string{
		"categorical": "exact: counts, chi-square, Jensen-Shannon, PSI and every categorical test equal the single-pass values",
		"regression":  "me, mae, rmse, mape, r2, error_std, max_abs_error exact up to rounding (1e-9 relative); error quantiles and the under/over groups from the error sketch (0.5% relative); error_bias not computed",
		"numerical":   "count, missing, mean, std, min, max exact up to rounding; while a column has <= 512 distinct values every statistic is exact, beyond that quantiles within 0.5% relative, K-S, Wasserstein and the other drift tests computed on the sketch's bucket representatives",

		"segments":             "per segment, from the segment's profile against the reference segment's rows, with the bounds above: rows, the too-small rule and regression exact, drift on the segment's sketches; estimated metrics from summed per-row losses (1e-9 relative)",
		"performance_estimate": "rows, mae, rmse, me and their bands from summed per-row predicted losses: the single pass's values up to the order of summation (1e-9 relative)",
	}
}

// Report computes the report of the merged profile cur against the reference
// dataset ref: drift and charts by compute (report.Compute) on cur.Sample,
// then regression and data quality of the current side replaced by their
// values from the summaries (exact up to rounding where the single pass is:
// counts, moments, min and max). ref is the scored reference, read whole
// (its rows are bounded by the reference file, not by the window).
func Report(ctx context.Context, ref *report.Dataset, cur *Profile, cfg report.Config,
	compute func(ctx context.Context, ref, cur *report.Dataset, cfg report.Config) (*report.Report, error),
) (*report.Report, error) {
	r, err := compare(ctx, ref, cur, cfg, compute)
	if err != nil {
		return nil, err
	}
	r.Computation = &report.Computation{Path: report.PathPartitioned, SketchAlpha: metrics.DefaultAlpha, Bounds: Bounds()}
	return r, nil
}

// ComputeFunc computes the report of two datasets (nil: report.Compute).
type ComputeFunc func(ctx context.Context, ref, cur *report.Dataset, cfg report.Config) (*report.Report, error)

// compare is the report of the profile cur against the reference rows ref
// (Report without its computation block; also a segment's report, Segments).
func compare(ctx context.Context, ref *report.Dataset, cur *Profile, cfg report.Config, compute ComputeFunc) (*report.Report, error) {
	if compute == nil {
		compute = report.Compute
	}
	refP, err := FromDataset(ref, cfg)
	if err != nil {
		return nil, fmt.Errorf("reference profile: %w", err)
	}
	sample := cur.Sample(cfg)
	r, err := compute(ctx, ref, sample, cfg)
	if err != nil {
		return nil, err
	}
	sample = nil
	for name := range r.DataQuality.Current {
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
	return r, nil
}
