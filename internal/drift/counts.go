package drift

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// ChiSquareCounts is scipy.stats.chisquare(obs, exp): Pearson's statistic
//
//	X^2 = sum_i (obs_i - exp_i)^2 / exp_i
//
// and its p-value, the chi-squared(k-1) survival function at X^2 for k
// categories. As in scipy 1.10 the sums of obs and exp must agree to a
// relative tolerance of 1e-8. A category with exp_i = 0 < obs_i makes X^2
// infinite and p = 0 (a category absent from the reference). k = 1 (no
// degrees of freedom) and 0/0 terms are errors (scipy returns nan).
func ChiSquareCounts(obs, exp []float64) (stat, p float64, err error) {
	return powerDivergence(obs, exp, 1)
}

// GTestCounts is scipy.stats.power_divergence(obs, exp,
// lambda_="log-likelihood"): the G statistic 2 * sum_i obs_i ln(obs_i/exp_i)
// (0 for obs_i = 0) and the chi-squared(k-1) survival function at G. The
// preconditions are those of ChiSquareCounts.
func GTestCounts(obs, exp []float64) (stat, p float64, err error) {
	return powerDivergence(obs, exp, 0)
}

func powerDivergence(obs, exp []float64, lambda int) (stat, p float64, err error) {
	name := "chisquare"
	if lambda == 0 {
		name = "g_test"
	}
	if len(obs) != len(exp) {
		return 0, 0, fmt.Errorf("%s: %d observed vs %d expected frequencies", name, len(obs), len(exp))
	}
	if len(obs) == 0 {
		return 0, 0, fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	for i := range obs {
		if !(obs[i] >= 0) || !(exp[i] >= 0) || math.IsInf(obs[i], 0) || math.IsInf(exp[i], 0) {
			return 0, 0, fmt.Errorf("%s: frequency %d (obs %v, exp %v) must be finite and non-negative: %w", name, i, obs[i], exp[i], ErrNonFinite)
		}
	}
	so, se := npSum(obs), npSum(exp)
	if math.Abs(so-se)/min(so, se) > 1e-8 {
		return 0, 0, fmt.Errorf("%s: sum of observed (%v) and expected (%v) frequencies differ by more than 1e-8 relative", name, so, se)
	}
	terms := make([]float64, len(obs))
	for i := range obs {
		if lambda == 1 {
			d := obs[i] - exp[i]
			terms[i] = d * d / exp[i]
		} else {
			terms[i] = 2.0 * xlogy(obs[i], obs[i]/exp[i])
		}
	}
	stat = npSum(terms)
	if math.IsNaN(stat) {
		return stat, 0, fmt.Errorf("%s: a category has zero observed and zero expected frequency: %w", name, ErrUndefined)
	}
	if len(obs) < 2 {
		return stat, 0, fmt.Errorf("%s: a single category leaves no degree of freedom: %w", name, ErrUndefined)
	}
	return stat, chi2SF(stat, float64(len(obs)-1)), nil
}

// xlogy is scipy.special.xlogy.
func xlogy(x, y float64) float64 {
	if x == 0 && !math.IsNaN(y) {
		return 0
	}
	return x * math.Log(y)
}

// chi2SF is the chi-squared survival function (scipy.stats.chi2.sf).
func chi2SF(x, df float64) float64 {
	if math.IsInf(x, 1) {
		return 0
	}
	return distuv.ChiSquared{K: df}.Survival(x)
}

// ChiSquare is Evidently's "chisquare" drift test on the category counts of
// the reference and current samples (same category order, union of
// categories): expected = ref_i * n_cur/n_ref, then ChiSquareCounts(cur,
// expected).
func ChiSquare(refCounts, curCounts []float64) (stat, p float64, err error) {
	return ChiSquareCounts(curCounts, expectedFromRef(refCounts, curCounts))
}

// GTest is Evidently's "g_test": GTestCounts(cur, ref_i * n_cur/n_ref).
func GTest(refCounts, curCounts []float64) (stat, p float64, err error) {
	return GTestCounts(curCounts, expectedFromRef(refCounts, curCounts))
}

func expectedFromRef(ref, cur []float64) []float64 {
	nr, nc := 0.0, 0.0
	for i := range ref {
		nr += ref[i]
	}
	for i := range cur {
		nc += cur[i]
	}
	k := nc / nr
	exp := make([]float64, len(ref))
	for i, r := range ref {
		exp[i] = r * k
	}
	return exp
}

// ZTestCounts is Evidently's "z" test, a two-proportion z-test: the counts
// are per category in ascending key order; the first category is coded 0
// and every other category 1 (Evidently's proportions_diff_z_test). With
// p1, p2 the shares of 1s and P the pooled share,
//
//	z = (p1 - p2) / sqrt(P(1-P)(1/n1 + 1/n2)),  p = 2(1 - Phi(|z|)).
//
// If both samples hold one and the same single category, z = 0 and p = 1.
func ZTestCounts(refCounts, curCounts []float64) (z, p float64, err error) {
	if len(refCounts) != len(curCounts) || len(refCounts) == 0 {
		return 0, 0, fmt.Errorf("z: need equal-length, non-empty count vectors")
	}
	n1, n2 := 0.0, 0.0
	nzRef, nzCur := 0, 0
	for i := range refCounts {
		n1 += refCounts[i]
		n2 += curCounts[i]
		if refCounts[i] > 0 {
			nzRef++
		}
		if curCounts[i] > 0 {
			nzCur++
		}
	}
	if n1 == 0 || n2 == 0 {
		return 0, 0, fmt.Errorf("z: %w", ErrEmpty)
	}
	if nzRef == 1 && nzCur == 1 {
		for i := range refCounts {
			if refCounts[i] > 0 && curCounts[i] > 0 {
				return 0, 1, nil
			}
		}
	}
	p1 := (n1 - refCounts[0]) / n1
	p2 := (n2 - curCounts[0]) / n2
	P := (p1*n1 + p2*n2) / (n1 + n2)
	z = (p1 - p2) / math.Sqrt(P*(1-P)*(1.0/n1+1.0/n2))
	return z, 2 * (1 - distuv.UnitNormal.CDF(math.Abs(z))), nil
}

// catData holds the per-category counts of a reference/current pair over
// the union of categories, in ascending key order.
type catData struct {
	ref, cur   []float64
	nRef, nCur int
	// codes of the observations in input order (only when requested)
	refCodes, curCodes []int32
}

// categorise counts ref and cur per distinct value (strings, or exact float
// values for numerical columns). Keys are ordered ascending (byte order for
// strings, numeric order for numbers).
func categorise(ref, cur Column, codes bool) (catData, error) {
	if counted(ref, cur) {
		if codes {
			return catData{}, fmt.Errorf("observation codes of a counted column: expand it first")
		}
		return categoriseCounted(ref, cur)
	}
	if ref.Kind == Numerical {
		return categoriseNum(ref.Num, cur.Num, codes)
	}
	return categoriseStr(ref.Cat, cur.Cat, codes)
}

func categoriseStr(ref, cur []string, wantCodes bool) (catData, error) {
	if len(ref) == 0 {
		return catData{}, fmt.Errorf("reference: %w", ErrEmpty)
	}
	if len(cur) == 0 {
		return catData{}, fmt.Errorf("current: %w", ErrEmpty)
	}
	idx := make(map[string]int32)
	var keys []string
	var cnt [2][]float64
	var codes [2][]int32
	for s, xs := range [2][]string{ref, cur} {
		if wantCodes {
			codes[s] = make([]int32, len(xs))
		}
		last, lastCode := "", int32(-1)
		for i, x := range xs {
			c := lastCode
			if c < 0 || x != last {
				var ok bool
				c, ok = idx[x]
				if !ok {
					c = int32(len(keys))
					idx[x] = c
					keys = append(keys, x)
					cnt[0] = append(cnt[0], 0)
					cnt[1] = append(cnt[1], 0)
				}
				last, lastCode = x, c
			}
			cnt[s][c]++
			if wantCodes {
				codes[s][i] = c
			}
		}
	}
	order := make([]int32, len(keys))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	return reorder(cnt, codes, order, len(ref), len(cur)), nil
}

// reorder permutes categories into the given key order.
func reorder(cnt [2][]float64, codes [2][]int32, order []int32, nRef, nCur int) catData {
	k := len(order)
	rank := make([]int32, k)
	for r, c := range order {
		rank[c] = int32(r)
	}
	d := catData{ref: make([]float64, k), cur: make([]float64, k), nRef: nRef, nCur: nCur}
	for c := 0; c < k; c++ {
		d.ref[rank[c]] = cnt[0][c]
		d.cur[rank[c]] = cnt[1][c]
	}
	for s := range codes {
		for i, c := range codes[s] {
			codes[s][i] = rank[c]
		}
	}
	d.refCodes, d.curCodes = codes[0], codes[1]
	return d
}

// denseSpan is the largest integer range counted with dense arrays.
const denseSpan = 1 << 16

// numScan returns the pooled range of ref and cur and whether every value
// is an integer (values must be finite).
func numScan(ref, cur []float64) (lo, hi float64, integral bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, xs := range [2][]float64{ref, cur} {
		for _, v := range xs {
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
	}
	if !(lo > -1<<62 && hi < 1<<62) {
		return lo, hi, false
	}
	for _, xs := range [2][]float64{ref, cur} {
		for _, v := range xs {
			if float64(int64(v)) != v {
				return lo, hi, false
			}
		}
	}
	return lo, hi, true
}

// denseCounts counts integer values in [lo, lo+span).
func denseCounts(x []float64, lo float64, span int) []int64 {
	c := make([]int64, span)
	base := int64(lo)
	for _, v := range x {
		c[int64(v)-base]++
	}
	return c
}

// categoriseNum counts distinct float values; inputs must be finite.
func categoriseNum(ref, cur []float64, wantCodes bool) (catData, error) {
	if len(ref) == 0 || len(cur) == 0 {
		return catData{}, ErrEmpty
	}
	lo, hi, integral := numScan(ref, cur)
	if integral && hi-lo < denseSpan {
		return categoriseDense(ref, cur, lo, int(hi-lo)+1, wantCodes), nil
	}
	keys := uniqueSorted(sortedCopy(ref), sortedCopy(cur))
	var cnt [2][]float64
	var codes [2][]int32
	for s, xs := range [2][]float64{ref, cur} {
		cnt[s] = make([]float64, len(keys))
		if wantCodes {
			codes[s] = make([]int32, len(xs))
		}
		for i, v := range xs {
			if v == 0 {
				v = 0
			}
			c, _ := slices.BinarySearch(keys, v)
			cnt[s][c]++
			if wantCodes {
				codes[s][i] = int32(c)
			}
		}
	}
	return catData{ref: cnt[0], cur: cnt[1], nRef: len(ref), nCur: len(cur), refCodes: codes[0], curCodes: codes[1]}, nil
}

// categoriseDense counts integer values in [lo, lo+span) with arrays.
func categoriseDense(ref, cur []float64, lo float64, span int, wantCodes bool) catData {
	full := [2][]int64{denseCounts(ref, lo, span), denseCounts(cur, lo, span)}
	code := make([]int32, span)
	k := 0
	for i := 0; i < span; i++ {
		if full[0][i] > 0 || full[1][i] > 0 {
			code[i] = int32(k)
			k++
		}
	}
	d := catData{ref: make([]float64, k), cur: make([]float64, k), nRef: len(ref), nCur: len(cur)}
	for i := 0; i < span; i++ {
		if full[0][i] > 0 || full[1][i] > 0 {
			d.ref[code[i]] = float64(full[0][i])
			d.cur[code[i]] = float64(full[1][i])
		}
	}
	if wantCodes {
		base := int64(lo)
		var codes [2][]int32
		for s, xs := range [2][]float64{ref, cur} {
			codes[s] = make([]int32, len(xs))
			for i, v := range xs {
				codes[s][i] = code[int64(v)-base]
			}
		}
		d.refCodes, d.curCodes = codes[0], codes[1]
	}
	return d
}

// uniqueSorted merges two sorted slices into their sorted distinct values.
func uniqueSorted(a, b []float64) []float64 {
	out := make([]float64, 0, 64)
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var v float64
		if j == len(b) || (i < len(a) && a[i] <= b[j]) {
			v = a[i]
		} else {
			v = b[j]
		}
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
		for i < len(a) && a[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
	}
	return out
}

// countDistinctUpTo returns the number of distinct values in the samples
// pooled, stopping early once it exceeds limit (it then returns limit+1).
func countDistinctUpTo(limit int, samples ...[]float64) int {
	seen := make([]float64, 0, limit+1)
	for _, x := range samples {
	next:
		for _, v := range x {
			v += 0 // -0 == +0 anyway; keep the representative positive
			for _, s := range seen {
				if s == v {
					continue next
				}
			}
			seen = append(seen, v)
			if len(seen) > limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func countDistinctStrUpTo(limit int, samples ...[]string) int {
	seen := make(map[string]struct{}, limit+1)
	for _, x := range samples {
		last := ""
		for i, v := range x {
			if i > 0 && v == last {
				continue
			}
			last = v
			seen[v] = struct{}{}
			if len(seen) > limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
