package drift

import (
	"fmt"
	"math"
)

// ksMaxAutoN is scipy's MAX_AUTO_N: method='auto' is exact when both sample
// sizes are at most this.
const ksMaxAutoN = 10000

// KS performs the two-sided two-sample Kolmogorov-Smirnov test on ref and
// cur and returns the statistic D = sup_x |F_ref(x) - F_cur(x)| and its
// p-value, exactly as scipy.stats.ks_2samp(ref, cur, method="auto") in
// scipy 1.10 (see KSPValue). The inputs are not modified; they must be
// non-empty and finite. Ties are handled as scipy does (the empirical CDFs
// are evaluated after all equal values). With the exact method the returned
// D is, like scipy's, the statistic rounded to the lattice h/lcm(n, m).
// Cost: sorting plus an O(n+m) merge, plus for the exact method
// O(n+m) (equal sizes) or O(n m D) (unequal sizes, both <= 10000).
func KS(ref, cur []float64) (d, p float64, err error) {
	if err := checkPair(ref, cur); err != nil {
		return 0, 0, fmt.Errorf("ks: %w", err)
	}
	return KSSorted(sortedCopy(ref), sortedCopy(cur))
}

// KSSorted is KS for samples already sorted ascending (and finite); it runs
// in O(n+m) plus the p-value computation.
func KSSorted(ref, cur []float64) (d, p float64, err error) {
	if len(ref) == 0 || len(cur) == 0 {
		return 0, 0, fmt.Errorf("ks: %w", ErrEmpty)
	}
	if !isSorted(ref) || !isSorted(cur) {
		return 0, 0, fmt.Errorf("ks: KSSorted needs ascending input")
	}
	d = ksStatSorted(ref, cur)
	d, p = ksPValue(d, len(ref), len(cur))
	return d, p, nil
}

// ksStatSorted returns the two-sided statistic as ks_2samp computes it:
// max(max(cdf1-cdf2), clip(-min(cdf1-cdf2), 0, 1)) with cdf_i = count/n_i
// evaluated after each distinct pooled value. The extremes are located with
// exact integer numerators i*n2 - j*n1; the float difference scipy would
// compute is evaluated only for candidate extremes (pairs with equal
// numerators can differ by an ulp in floating point, and scipy keeps the
// largest float).
func ksStatSorted(a, b []float64) float64 {
	n1, n2 := int64(len(a)), int64(len(b))
	f1, f2 := float64(n1), float64(n2)
	i, j := 0, 0
	maxNum, minNum := int64(math.MinInt64), int64(math.MaxInt64)
	maxS, minS := math.Inf(-1), math.Inf(1)
	for i < len(a) && j < len(b) {
		// advance through a run of values on one side, then equal values
		if a[i] < b[j] {
			v := b[j]
			for i < len(a) && a[i] < v {
				i++
			}
			// cdf evaluated just before v: i values of a, j of b
			num := int64(i)*n2 - int64(j)*n1
			if num >= maxNum {
				if d := float64(i)/f1 - float64(j)/f2; num > maxNum || d > maxS {
					maxS = d
				}
				maxNum = num
			}
			continue
		}
		if b[j] < a[i] {
			v := a[i]
			for j < len(b) && b[j] < v {
				j++
			}
			num := int64(i)*n2 - int64(j)*n1
			if num <= minNum {
				if d := float64(i)/f1 - float64(j)/f2; num < minNum || d < minS {
					minS = d
				}
				minNum = num
			}
			continue
		}
		v := a[i]
		for i < len(a) && a[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
		num := int64(i)*n2 - int64(j)*n1
		d := float64(i)/f1 - float64(j)/f2
		if num > maxNum || (num == maxNum && d > maxS) {
			maxNum, maxS = num, d
		}
		if num < minNum || (num == minNum && d < minS) {
			minNum, minS = num, d
		}
	}
	// The remaining values lie on one side only; the difference moves
	// monotonically to its final value 0 (both CDFs reach 1).
	if i < len(a) || j < len(b) {
		// The largest |difference| in the tail is at its start, which was
		// recorded above; the end value is 0.
		maxS = max(maxS, 0)
		minS = min(minS, 0)
	}
	minS = min(max(-minS, 0), 1)
	if minS > maxS {
		return minS
	}
	return maxS
}

// KSPValue returns the p-value of the two-sided two-sample KS statistic d
// for sample sizes n and m, as scipy 1.10 ks_2samp(method="auto") computes it:
//
//   - if max(n, m) <= 10000 the exact distribution is used: d is rounded to
//     the lattice h/lcm(n, m) (h = round-half-even(d*lcm)), and
//     P(D >= d) is computed by Hodges' (1958) outside-square formula when
//     n == m and by the Viehmann (2021) complementary "inside" recursion
//     otherwise (scipy's _compute_outer_prob_inside_method);
//   - if that result falls outside [0, 1] (scipy's fallback), or the sizes
//     are larger, the asymptotic method is used: the survival function of the
//     one-sample two-sided Kolmogorov distribution kstwo(round(nm/(n+m))) at
//     d (Simard & L'Ecuyer 2011, scipy.stats._ksstats._kolmogn).
//
// The result is clipped to [0, 1]. d must lie in [0, 1] and n, m must be
// positive.
func KSPValue(d float64, n, m int) (float64, error) {
	if n <= 0 || m <= 0 {
		return 0, fmt.Errorf("ks: sample sizes %d and %d: %w", n, m, ErrEmpty)
	}
	if !(d >= 0 && d <= 1) {
		return 0, fmt.Errorf("ks: statistic %v outside [0, 1]", d)
	}
	_, p := ksPValue(d, n, m)
	return p, nil
}

// ksPValue returns the (possibly lattice-rounded) statistic and p-value.
func ksPValue(d float64, n1, n2 int) (float64, float64) {
	if max(n1, n2) <= ksMaxAutoN {
		g := gcd(n1, n2)
		lcm := (n1 / g) * n2
		h := int(roundHalfEven(d * float64(lcm)))
		d = float64(h) / float64(lcm)
		if h == 0 {
			return d, 1
		}
		var prob float64
		if n1 == n2 {
			prob = ksOutsideSquare(n1, h)
		} else {
			prob = ksOuterInside(n1, n2, g, h)
		}
		if prob >= 0 && prob <= 1 {
			return d, prob
		}
		// scipy: "Exact calculation unsuccessful. Switching to asymp."
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	p := kstwoSF(d, int(roundHalfEven(en)))
	return d, min(max(p, 0), 1)
}

// ksOutsideSquare is Pr(D_{n,n} >= h/n) by Hodges' alternating sum in
// Horner form (scipy's _compute_prob_outside_square).
func ksOutsideSquare(n, h int) float64 {
	P := 0.0
	k := int(math.Floor(float64(n) / float64(h)))
	for ; k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		P = p1 * (1.0 - P)
	}
	return 2 * P
}

// ksOuterInside is the proportion of lattice paths from (0,0) to (m,n)
// that leave the band |x/m - y/n| < h/lcm(m,n), computed as 1 - p directly
// by the recursion of Viehmann (2021, arXiv:2102.08037), which keeps every
// entry a convex combination (scipy's _compute_outer_prob_inside_method).
func ksOuterInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg := m / g
	ng := n / g
	minj := 0
	maxj := min(int(math.Ceil(float64(h)/float64(mg))), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	A := make([]float64, lenA)
	for i := range A {
		A[i] = 1
	}
	for i := minj; i < min(maxj, lenA); i++ {
		A[i] = 0
	}
	for i := 1; i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(int(math.Floor(float64(ng*i-h)/float64(mg)))+1, 0)
		minj = min(minj, n)
		maxj = min(int(math.Ceil(float64(ng*i+h)/float64(mg))), n+1)
		if maxj <= minj {
			return 1
		}
		val := 1.0
		if minj == 0 {
			val = 0
		}
		fi := float64(i)
		for jj := 0; jj < maxj-minj; jj++ {
			j := jj + minj
			val = (A[jj+minj-lastminj]*fi + val*float64(j)) / (fi + float64(j))
			A[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for k := maxj - minj; k < min(maxj-minj+(lastlen-curlen), lenA); k++ {
				A[k] = 1
			}
		}
	}
	return A[maxj-minj-1]
}
