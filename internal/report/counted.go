package report

import (
	"context"
	"fmt"
	"slices"

	"github.com/modelmon/modelmon/internal/drift"
	"github.com/modelmon/modelmon/internal/metrics"
)

// CountedNum is a numerical column given as values with counts: Values[i]
// stands for Counts[i] >= 1 rows (finite values, any order; missing rows are
// not listed).
type CountedNum struct {
	Values []float64
	Counts []int64
}

// CountedCat is a categorical column given as categories with counts.
type CountedCat struct {
	Values []string
	Counts []int64
}

// CountedDataset is the current side of a report summarised without its rows
// (a merged profile, internal/profile): per column the distinct values (or a
// sketch's bucket representatives) and the categories with their counts.
// Memory is O(distinct values + categories), whatever Rows.
type CountedDataset struct {
	Rows        int
	Numerical   map[string]CountedNum
	Categorical map[string]CountedCat
	// Prediction is nil when the rows have no predictions.
	Prediction *CountedNum
}

func sumCounts(c []int64) int {
	n := 0
	for _, k := range c {
		n += int(k)
	}
	return n
}

// ComputeCounted is Compute with the current side given as counts: the
// reference's data quality and regression, data drift (drift.Column.Counts:
// the tests drift.Counted lists use the counts, the others expand the
// current column) and the distributions, all equal to Compute on the expanded
// current side. The current side's data quality and regression need its
// summaries, not its values: they are left to the caller (DataQuality.Current
// empty, Regression.Current nil).
func ComputeCounted(ctx context.Context, ref *Dataset, cur *CountedDataset, cfg Config) (*Report, error) {
	if cur == nil {
		return nil, fmt.Errorf("current window: %w: no rows (nothing was logged in it)", ErrEmpty)
	}
	r, opts, err := begin(ctx, ref, cur.Rows, cfg)
	if err != nil {
		return nil, err
	}
	numNames := slices.Clone(cfg.NumericalFeatures)
	refNum := map[string]NumColumn{}
	curNum := map[string]CountedNum{}
	for _, name := range cfg.NumericalFeatures {
		rc := ref.Numerical[name]
		cc, ok := cur.Numerical[name]
		if rc == nil || !ok {
			return nil, fmt.Errorf("numerical column %q: not in both datasets", name)
		}
		refNum[name], curNum[name] = *rc, cc
	}
	if ref.Prediction != nil && cur.Prediction != nil {
		numNames = append(numNames, PredictionColumn)
		refNum[PredictionColumn] = NumColumn{Values: ref.Prediction}
		curNum[PredictionColumn] = *cur.Prediction
	}
	refCat := map[string]CatColumn{}
	for _, name := range cfg.CategoricalFeatures {
		rc := ref.Categorical[name]
		if _, ok := cur.Categorical[name]; rc == nil || !ok {
			return nil, fmt.Errorf("categorical column %q: not in both datasets", name)
		}
		refCat[name] = *rc
	}

	driftRef, driftCur := map[string]drift.Column{}, map[string]drift.Column{}
	var driftNames []string
	for _, name := range numNames {
		rc, cc := refNum[name], curNum[name]
		if len(cc.Values) != len(cc.Counts) {
			return nil, fmt.Errorf("current column %q: %d values, %d counts", name, len(cc.Values), len(cc.Counts))
		}
		rq, err := referenceNumQuality(name, rc, cfg)
		if err != nil {
			return nil, err
		}
		r.DataQuality.Reference[name] = rq
		rv := presentNum(rc)
		if len(rv) == 0 || len(cc.Values) == 0 {
			r.DataDrift.skip(name, "no values in one of the datasets")
			continue
		}
		driftNames = append(driftNames, name)
		driftRef[name] = drift.Column{Kind: drift.Numerical, Num: rv}
		driftCur[name] = drift.Column{Kind: drift.Numerical, Num: cc.Values, Counts: cc.Counts}
		r.Distributions[name] = numDistributionCounted(rv, cc)
	}
	for _, name := range cfg.CategoricalFeatures {
		rc, cc := refCat[name], cur.Categorical[name]
		if len(cc.Values) != len(cc.Counts) {
			return nil, fmt.Errorf("current column %q: %d values, %d counts", name, len(cc.Values), len(cc.Counts))
		}
		rq, err := metrics.CategoricalQuality(rc, nil)
		if err != nil {
			return nil, fmt.Errorf("reference column %q: %w", name, err)
		}
		r.DataQuality.Reference[name] = rq
		rv := presentCat(rc)
		if len(rv) == 0 || len(cc.Values) == 0 {
			r.DataDrift.skip(name, "no values in one of the datasets")
			continue
		}
		driftNames = append(driftNames, name)
		driftRef[name] = drift.Column{Kind: drift.Categorical, Cat: rv}
		driftCur[name] = drift.Column{Kind: drift.Categorical, Cat: cc.Values, Counts: cc.Counts}
		cm := make(map[string]float64, len(cc.Values))
		for i, v := range cc.Values {
			cm[v] += float64(cc.Counts[i])
		}
		r.Distributions[name] = catShares(counts(rv), cm, float64(len(rv)), float64(sumCounts(cc.Counts)))
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
	return r, nil
}

// numDistributionCounted is numDistribution with the current sample given as
// values with counts: the same edges (the pooled minimum, 99th percentile and
// maximum, found by walking the sorted reference and the sorted counted
// values) and the same shares (integer counts per bin over the same total).
func numDistributionCounted(ref []float64, cur CountedNum) Distribution {
	rs := slices.Clone(ref)
	slices.Sort(rs)
	order := make([]int, len(cur.Values))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := cur.Values[a], cur.Values[b]
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	nc := sumCounts(cur.Counts)
	n := len(rs) + nc
	// at returns the k-th smallest pooled value (0-based).
	at := func(k int) float64 {
		i, j, seen := 0, 0, 0
		for {
			if j == len(order) || (i < len(rs) && rs[i] <= cur.Values[order[j]]) {
				if seen == k {
					return rs[i]
				}
				i++
				seen++
				continue
			}
			c := int(cur.Counts[order[j]])
			if k < seen+c {
				return cur.Values[order[j]]
			}
			seen += c
			j++
		}
	}
	// numpy's linear 99th percentile, as metrics.QuantileSorted on the
	// pooled sorted values: the order statistics at floor(h) and the next,
	// interpolated by QuantileSorted itself on the pair (for two values it
	// is lerp(a, b, q)).
	h := float64(n-1) * 0.99
	f := float64(int(h))
	var hi float64
	if i := int(f); i >= n-1 {
		hi = at(n - 1)
	} else {
		hi = metrics.QuantileSorted(h-f, []float64{at(i), at(i + 1)})
	}
	edges, bin := numChart(at(0), hi, at(n-1))
	refShare := make([]float64, numBins)
	for _, x := range ref {
		refShare[bin(x)]++
	}
	curShare := make([]float64, numBins)
	for i, x := range cur.Values {
		curShare[bin(x)] += float64(cur.Counts[i])
	}
	for i := range refShare {
		refShare[i] /= float64(len(ref))
		curShare[i] /= float64(nc)
	}
	return Distribution{Type: "numerical", Edges: edges, Reference: refShare, Current: curShare}
}
