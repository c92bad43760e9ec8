package drift

import (
	"fmt"
	"math"
)

// FisherExact performs the two-sided Fisher exact test on the 2x2
// contingency table t (non-negative counts) and returns the sample odds
// ratio t[0][0]t[1][1]/(t[1][0]t[0][1]) (+Inf when the denominator is 0,
// NaN when a row or column sum is 0) and the p-value, following
// scipy.stats.fisher_exact(t) of scipy 1.10: the p-value sums the
// hypergeometric probabilities of all tables no more likely than the
// observed one (with scipy's relative tolerance 1e-14), found by binary
// search on the far side of the mode. The hypergeometric probabilities use
// Loader's saddle-point binomials (scipy uses Boost), both accurate to a few
// ulps.
func FisherExact(t [2][2]int64) (oddsRatio, p float64, err error) {
	for i := range t {
		for j := range t[i] {
			if t[i][j] < 0 {
				return 0, 0, fmt.Errorf("fisher_exact: negative count %d in table", t[i][j])
			}
		}
	}
	c00, c01, c10, c11 := t[0][0], t[0][1], t[1][0], t[1][1]
	if c00+c10 == 0 || c01+c11 == 0 || c00+c01 == 0 || c10+c11 == 0 {
		return math.NaN(), 1, nil
	}
	if c10 > 0 && c01 > 0 {
		oddsRatio = float64(c00*c11) / float64(c10*c01)
	} else {
		oddsRatio = math.Inf(1)
	}
	n1 := c00 + c01
	n2 := c10 + c11
	n := c00 + c10
	pmf := func(x int64) float64 { return hypergeomPMF(x, n1, n2, n) }
	mode := int64(float64((n+1)*(n1+1)) / float64(n1+n2+2))
	pexact := pmf(c00)
	pmode := pmf(mode)
	const epsilon = 1e-14
	gamma := 1 + epsilon
	if math.Abs(pexact-pmode)/max(pexact, pmode) <= epsilon {
		return oddsRatio, 1, nil
	}
	if c00 < mode {
		plower := hypergeomCDF(c00, n1, n2, n)
		if pmf(n) > pexact*gamma {
			return oddsRatio, min(plower, 1), nil
		}
		guess := binarySearchInt(func(x int64) float64 { return -pmf(x) }, -pexact*gamma, mode, n)
		p = plower + hypergeomSF(guess, n1, n2, n)
	} else {
		pupper := hypergeomSF(c00-1, n1, n2, n)
		if pmf(0) > pexact*gamma {
			return oddsRatio, min(pupper, 1), nil
		}
		guess := binarySearchInt(pmf, pexact*gamma, 0, mode)
		p = pupper + hypergeomCDF(guess, n1, n2, n)
	}
	return oddsRatio, min(p, 1), nil
}

// binarySearchInt is scipy's _binary_search_for_binom_tst: the i in
// [lo, hi] with a(i) <= d < a(i+1) for a ascending on the range.
func binarySearchInt(a func(int64) float64, d float64, lo, hi int64) int64 {
	for lo < hi {
		mid := lo + (hi-lo)/2
		v := a(mid)
		switch {
		case v < d:
			lo = mid + 1
		case v > d:
			hi = mid - 1
		default:
			return mid
		}
	}
	if a(lo) <= d {
		return lo
	}
	return lo - 1
}

// hypergeomCDF is P(X <= k) for the hypergeometric distribution of white
// balls among nd draws from w white and b black. Terms are accumulated
// outward from k; for k below the mode they decrease geometrically, so the
// sum stops once they are negligible.
func hypergeomCDF(k, w, b, nd int64) float64 {
	lo := max(0, nd-b)
	hi := min(nd, w)
	if k < lo {
		return 0
	}
	if k >= hi {
		return 1
	}
	return hypergeomSum(k, lo, -1, w, b, nd)
}

// hypergeomSF is P(X > k).
func hypergeomSF(k, w, b, nd int64) float64 {
	lo := max(0, nd-b)
	hi := min(nd, w)
	if k >= hi {
		return 0
	}
	if k < lo {
		return 1
	}
	return hypergeomSum(k+1, hi, 1, w, b, nd)
}

// hypergeomSum adds pmf(x) for x from start to end (inclusive) in steps of
// dir, using the ratio recurrence between neighbours and re-anchoring on an
// exact evaluation every 64 terms.
func hypergeomSum(start, end, dir, w, b, nd int64) float64 {
	var acc kahan
	x := start
	t := hypergeomPMF(x, w, b, nd)
	for i := 0; ; i++ {
		acc.add(t)
		if x == end {
			break
		}
		if t < 1e-20*acc.sum() && i > 8 && isPastMode(x, dir, w, b, nd) {
			break
		}
		if dir > 0 {
			// pmf(x+1)/pmf(x) = (w-x)(nd-x) / ((x+1)(b-nd+x+1))
			t *= float64(w-x) * float64(nd-x) / (float64(x+1) * float64(b-nd+x+1))
		} else {
			// pmf(x-1)/pmf(x) = x(b-nd+x) / ((w-x+1)(nd-x+1))
			t *= float64(x) * float64(b-nd+x) / (float64(w-x+1) * float64(nd-x+1))
		}
		x += dir
		if i%64 == 63 {
			t = hypergeomPMF(x, w, b, nd)
		}
	}
	return acc.sum()
}

// isPastMode reports whether moving further in direction dir from x only
// decreases the pmf (x is on the far side of the mode).
func isPastMode(x, dir, w, b, nd int64) bool {
	mode := int64(float64((nd+1)*(w+1)) / float64(w+b+2))
	if dir > 0 {
		return x >= mode
	}
	return x <= mode
}
