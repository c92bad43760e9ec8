package metrics

import (
	"math"
	"slices"
)

// wpoint is a point mass: value x with count c.
type wpoint struct {
	x float64
	c int64
}

// walkCDFs visits the distinct values x of two ascending point lists (each sorted
// by x, values distinct within a list) in order, with the empirical CDFs fa and fb
// just after x and the next distinct value (NaN after the last one).
func walkCDFs(a, b []wpoint, na, nb int64, visit func(x, fa, fb, next float64)) {
	head := func(i, j int) float64 {
		switch {
		case j == len(b):
			return a[i].x
		case i == len(a):
			return b[j].x
		default:
			return min(a[i].x, b[j].x)
		}
	}
	var ca, cb int64
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		x := head(i, j)
		if i < len(a) && a[i].x == x {
			ca += a[i].c
			i++
		}
		if j < len(b) && b[j].x == x {
			cb += b[j].c
			j++
		}
		next := math.NaN()
		if i < len(a) || j < len(b) {
			next = head(i, j)
		}
		visit(x, float64(ca)/float64(na), float64(cb)/float64(nb), next)
	}
}

// ksPoints is sup |Fa - Fb| over the two point lists.
func ksPoints(a, b []wpoint, na, nb int64) float64 {
	var d float64
	walkCDFs(a, b, na, nb, func(_, fa, fb, _ float64) { d = max(d, math.Abs(fa-fb)) })
	return d
}

// wassersteinPoints is the integral of |Fa - Fb| over the two point lists.
func wassersteinPoints(a, b []wpoint, na, nb int64) float64 {
	var w float64
	walkCDFs(a, b, na, nb, func(x, fa, fb, next float64) {
		if !math.IsNaN(next) {
			w += math.Abs(fa-fb) * (next - x)
		}
	})
	return w
}

// keyedCount is a bucket count with an order-preserving bucket key.
type keyedCount struct {
	key int64
	c   int64
}

const keySide = int64(1) << 40

// bucketKey maps x to an int64 that orders like the buckets of m.
func bucketKey(m logMapping, x float64) int64 {
	ax := math.Abs(x)
	switch {
	case ax <= minIndexable:
		return 0
	case x > 0:
		return keySide + int64(m.index(ax))
	default:
		return -keySide - int64(m.index(ax))
	}
}

// keyed returns s's distribution as bucket counts of mapping m, ascending.
func (s *NumSummary) keyed(m logMapping) []keyedCount {
	if !s.sketched {
		agg := make(map[int64]int64)
		for v, c := range s.exact {
			agg[bucketKey(m, v)] += c
		}
		out := make([]keyedCount, 0, len(agg))
		for k, c := range agg {
			out = append(out, keyedCount{k, c})
		}
		slices.SortFunc(out, func(a, b keyedCount) int { return cmpInt64(a.key, b.key) })
		return out
	}
	out := make([]keyedCount, 0, len(s.neg.counts)+len(s.pos.counts)+1)
	for k := len(s.neg.counts) - 1; k >= 0; k-- {
		if c := s.neg.counts[k]; c > 0 {
			out = append(out, keyedCount{-keySide - int64(s.neg.offset) - int64(k), c})
		}
	}
	if s.zero > 0 {
		out = append(out, keyedCount{0, s.zero})
	}
	for k, c := range s.pos.counts {
		if c > 0 {
			out = append(out, keyedCount{keySide + int64(s.pos.offset) + int64(k), c})
		}
	}
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// exactPoints returns the exact value table of s as ascending points.
func (s *NumSummary) exactPoints() []wpoint {
	as := s.atoms()
	out := make([]wpoint, len(as))
	for i, a := range as {
		out[i] = wpoint{a.rep, a.c}
	}
	return out
}

// KSStatisticFromSummaries returns the two-sample KS statistic of the
// values summarised by a and b; see KSStatisticFromSummariesBound.
func KSStatisticFromSummaries(a, b *NumSummary) float64 {
	d, _ := KSStatisticFromSummariesBound(a, b)
	return d
}

// KSStatisticFromSummariesBound returns the KS statistic d of the values
// summarised by a and b, and maxErr such that the exact statistic D (as
// scipy.stats.ks_2samp) satisfies d ≤ D ≤ d + maxErr.
//
// If both summaries are exact, d = D and maxErr = 0. Otherwise both are
// reduced to the buckets of the same DDSketch mapping and F_a − F_b is
// evaluated at every bucket boundary, where both empirical CDFs are known
// exactly; inside a bucket holding masses p_a and p_b the difference can
// exceed its boundary values by at most min(p_a, p_b), hence
// maxErr = max over buckets of min(p_a, p_b) (the zero bucket is a single
// point and contributes nothing).
//
// It returns NaN, NaN if either summary is empty, or if both are sketched
// with different alpha.
func KSStatisticFromSummariesBound(a, b *NumSummary) (d, maxErr float64) {
	if a.n == 0 || b.n == 0 {
		return math.NaN(), math.NaN()
	}
	if !a.sketched && !b.sketched {
		return ksPoints(a.exactPoints(), b.exactPoints(), a.n, b.n), 0
	}
	var m logMapping
	switch {
	case a.sketched && b.sketched:
		if a.alpha != b.alpha {
			return math.NaN(), math.NaN()
		}
		m = a.m
	case a.sketched:
		m = a.m
	default:
		m = b.m
	}
	ka, kb := a.keyed(m), b.keyed(m)
	na, nb := float64(a.n), float64(b.n)
	var ca, cb int64
	i, j := 0, 0
	for i < len(ka) || j < len(kb) {
		var k int64
		switch {
		case j == len(kb):
			k = ka[i].key
		case i == len(ka):
			k = kb[j].key
		default:
			k = min(ka[i].key, kb[j].key)
		}
		var pa, pb int64
		if i < len(ka) && ka[i].key == k {
			pa = ka[i].c
			i++
		}
		if j < len(kb) && kb[j].key == k {
			pb = kb[j].c
			j++
		}
		ca += pa
		cb += pb
		d = max(d, math.Abs(float64(ca)/na-float64(cb)/nb))
		if k != 0 {
			maxErr = max(maxErr, min(float64(pa)/na, float64(pb)/nb))
		}
	}
	return d, maxErr
}

// WassersteinFromSummaries returns the Wasserstein-1 distance of the values
// summarised by a and b; see WassersteinFromSummariesBound.
func WassersteinFromSummaries(a, b *NumSummary) float64 {
	w, _ := WassersteinFromSummariesBound(a, b)
	return w
}

// WassersteinFromSummariesBound returns the Wasserstein-1 distance w
// between the summarised distributions and maxErr ≥ |w − W| where W is the
// exact value (scipy.stats.wasserstein_distance). An exact summary
// contributes its values; a sketched one replaces every value x by its
// bucket representative r with |r − x| ≤ α|x|, which moves its
// distribution by at most α·E|X| ≤ α/(1−α)·Σ c·|r|/n in W₁; by the
// triangle inequality maxErr is the sum of that over the sketched sides
// (0 if both are exact). NaN, NaN if either summary is empty.
func WassersteinFromSummariesBound(a, b *NumSummary) (w, maxErr float64) {
	if a.n == 0 || b.n == 0 {
		return math.NaN(), math.NaN()
	}
	pts := func(s *NumSummary) []wpoint {
		p := s.exactPoints()
		if s.sketched {
			var m float64
			for _, q := range p {
				m += float64(q.c) * math.Abs(q.x)
			}
			maxErr += s.alpha / (1 - s.alpha) * m / float64(s.n)
		}
		return p
	}
	pa, pb := pts(a), pts(b)
	return wassersteinPoints(pa, pb, a.n, b.n), maxErr
}

// NumericQualityFromSummary returns data-quality statistics from merged
// summaries, as NumericQuality would on the summarised rows (ref may be
// nil). Count, missing, min, max and the out-of-range count when cur's
// range lies inside ref's are exact; mean and std are exact up to
// rounding. While the summaries are exact (see NumSummary.Exact) every
// field is exact; otherwise p25/p50/p75 and the unique count are estimates
// (listed in Approx, bounds on NumSummary), the most common value and the
// new/unused values are omitted, and a non-zero out-of-range count is
// estimated from the sketch. NaN/Inf values fed to cur are excluded and
// counted in NonFinite (check cur.Err()).
func NumericQualityFromSummary(cur, ref *NumSummary) ColumnQuality {
	n := int(cur.n)
	rows := n + int(cur.missing)
	q := ColumnQuality{Type: "num", Rows: rows, Count: n, Missing: int(cur.missing), MissingShare: share(int(cur.missing), rows), NonFinite: int(cur.nonFinite)}
	if n > 0 {
		q.Min, q.Max, q.Mean = pf(cur.min), pf(cur.max), pf(cur.Mean())
		if n > 1 {
			if sd := cur.Std(); isFinite(sd) {
				q.Std = pf(sd)
			} else {
				q.Overflow = append(q.Overflow, "std")
			}
		}
		as := cur.atoms()
		for i, p := range []**float64{&q.P25, &q.P50, &q.P75} {
			v, _, _ := quantileAtoms(as, cur.n, cur.min, cur.max, []float64{0.25, 0.5, 0.75}[i])
			*p = pf(v)
		}
		if cur.sketched {
			q.Approx = append(q.Approx, "p25", "p50", "p75")
		}
		u, exact := cur.uniqueCount()
		q.Unique = u
		if !exact {
			q.Approx = append(q.Approx, "unique_count")
		} else {
			var best float64
			var bestN int64
			for _, a := range as {
				if a.c > bestN {
					best, bestN = a.rep, a.c
				}
			}
			q.MostCommonValue, q.MostCommonCount, q.MostCommonShare = pf(best), int(bestN), share(int(bestN), n)
		}
	}
	if ref == nil {
		return q
	}
	if !cur.sketched && !ref.sketched {
		cv, rv := make([]float64, 0, len(cur.exact)), make([]float64, 0, len(ref.exact))
		for v := range cur.exact {
			cv = append(cv, v)
		}
		for v := range ref.exact {
			rv = append(rv, v)
		}
		slices.Sort(cv)
		slices.Sort(rv)
		newN, newV, unusedN, unusedV := diffSorted(cv, rv)
		q.NewCount, q.NewValues, q.UnusedCount, q.UnusedValues = pi(newN), newV, pi(unusedN), unusedV
	}
	if ref.n > 0 {
		below, e1 := cur.countBelow(ref.min)
		above, e2 := cur.countAbove(ref.max)
		out := int(math.Round(below + above))
		q.OutOfRangeCount, q.OutOfRangeShare = pi(out), share(out, n)
		if !e1 || !e2 {
			q.Approx = append(q.Approx, "out_of_range_count", "out_of_range_share")
		}
	}
	return q
}
