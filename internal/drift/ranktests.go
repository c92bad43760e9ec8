package drift

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// TTest performs the two-sample t-test of scipy.stats.ttest_ind(x, y,
// equal_var=equalVar) (two-sided) and returns t and its p-value.
//
// With sample means m1, m2 and unbiased variances v1, v2 (scipy's _var: the
// mean squared deviation times n/(n-1)):
//
//   - equalVar (Student; Evidently's "t_test" uses this scipy default):
//     df = n1+n2-2, s^2 = ((n1-1)v1 + (n2-1)v2)/df, t = (m1-m2)/sqrt(s^2(1/n1+1/n2));
//   - otherwise Welch: t = (m1-m2)/sqrt(v1/n1+v2/n2) with the
//     Welch-Satterthwaite df (1 if undefined, as scipy).
//
// p = 2 * StudentsT(df).CDF(-|t|). Errors where scipy returns nan: a sample
// of size 1 (variance undefined), or zero variance with equal means.
// Zero variance with different means gives t = ±Inf and p = 0, as scipy.
func TTest(x, y []float64, equalVar bool) (t, p float64, err error) {
	if err := checkPair(x, y); err != nil {
		return 0, 0, fmt.Errorf("t_test: %w", err)
	}
	n1, n2 := float64(len(x)), float64(len(y))
	if len(x) < 2 || len(y) < 2 {
		return 0, 0, fmt.Errorf("t_test: sizes %d and %d; each sample needs 2 observations for a variance: %w", len(x), len(y), ErrTooSmall)
	}
	m1, m2 := npMean(x), npMean(y)
	v1 := npVar(x) * (n1 / (n1 - 1))
	v2 := npVar(y) * (n2 / (n2 - 1))
	var df, denom float64
	if equalVar {
		df = n1 + n2 - 2.0
		svar := ((n1-1)*v1 + (n2-1)*v2) / df
		denom = math.Sqrt(svar * (1.0/n1 + 1.0/n2))
	} else {
		vn1, vn2 := v1/n1, v2/n2
		df = (vn1 + vn2) * (vn1 + vn2) / (vn1*vn1/(n1-1) + vn2*vn2/(n2-1))
		if math.IsNaN(df) {
			df = 1
		}
		denom = math.Sqrt(vn1 + vn2)
	}
	t = (m1 - m2) / denom
	if math.IsNaN(t) {
		return t, 0, fmt.Errorf("t_test: both samples have zero variance and equal means: %w", ErrUndefined)
	}
	return t, stdtr(df, -math.Abs(t)) * 2, nil
}

// stdtr is the Student t CDF (scipy.special.stdtr).
func stdtr(df, t float64) float64 {
	if math.IsInf(t, -1) {
		return 0
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(t)
}

// Alternative selects the alternative hypothesis of a rank test.
type Alternative int

const (
	// TwoSided tests F_x != F_y.
	TwoSided Alternative = iota
	// Less tests that x is stochastically less than y (scipy "less").
	Less
	// Greater tests that x is stochastically greater than y.
	Greater
)

// MannWhitneyU performs scipy.stats.mannwhitneyu(x, y, alternative=alt,
// use_continuity=True, method="auto") of scipy 1.10 (Mann & Whitney 1947)
// and returns U1, the
// statistic of x (R1 - n1(n1+1)/2 with R1 the sum of the midranks of x in
// the pooled sample), and the p-value.
//
// method="auto" is exact when min(n1, n2) <= 8 and there are no ties: the
// null distribution of U is that of scipy's _MWU (Di Bucchianico 1999,
// "Combinatorics, computer algebra, and the Wilcoxon-Mann-Whitney test",
// J. Stat. Plan. Inference 79), computed here as the coefficients of the
// Gaussian binomial [n1+n2, n1]_q, and p = P(U >= u). Otherwise the normal
// approximation with tie correction and continuity correction is used:
//
//	z = (u - n1 n2/2 - 1/2) / sqrt(n1 n2/12 ((n+1) - sum(t^3-t)/(n(n-1)))),  p = Phi(-z).
//
// u is U2 = n1 n2 - U1 for Less, U1 for Greater and max(U1, U2) for
// TwoSided (p doubled). p is clipped to [0, 1]. Evidently's "mannw" test is
// MannWhitneyU(ref, cur, Less).
func MannWhitneyU(x, y []float64, alt Alternative) (u1, p float64, err error) {
	if err := checkPair(x, y); err != nil {
		return 0, 0, fmt.Errorf("mannw: %w", err)
	}
	xs, ys := sortedCopy(x), sortedCopy(y)
	rx, _, tie := midranks(xs, ys)
	n1, n2 := len(x), len(y)
	f1, f2 := float64(n1), float64(n2)
	r1 := pairwiseSum(rx) // midranks are multiples of 1/2: any order is exact
	u1 = r1 - f1*(f1+1)/2
	u2 := f1*f2 - u1
	var u, f float64
	switch alt {
	case Greater:
		u, f = u1, 1
	case Less:
		u, f = u2, 1
	default:
		u, f = max(u1, u2), 2
	}
	exact := !(n1 > 8 && n2 > 8) && tie == 0
	if exact {
		p = mwuSF(int(u), n1, n2)
	} else {
		n := f1 + f2
		mu := f1 * f2 / 2
		s := math.Sqrt(f1 * f2 / 12 * ((n + 1) - tie/(n*(n-1))))
		z := (u - mu - 0.5) / s
		p = normSF(z)
	}
	p *= f
	return u1, clip01(p), nil
}

// normSF is the standard normal survival function, accurate in the tail
// (scipy.stats.norm.sf = ndtr(-z)).
func normSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// mwuSF is P(U >= k) under H0 for sample sizes m, n without ties:
// scipy's _MWU.sf = cdf(m*n - k) with pmf(j) = f(m, n, j)/binom(m+n, m)
// and the cdf a running sum of pmfs.
func mwuSF(k, m, n int) float64 {
	kk := m*n - k
	if kk < 0 {
		return 0
	}
	counts := mwuCounts(m, n, kk)
	b := binomFloat(m+n, min(m, n))
	cdf := 0.0
	for _, c := range counts {
		cdf += c / b
	}
	return cdf
}

// mwuCounts returns f(m, n, j) for j = 0..kmax: the number of arrangements
// with U = j, i.e. the coefficients of the Gaussian binomial [m+n, m]_q,
// built as prod_{i=1}^{s} (1 - q^(L+i)) / (1 - q^i) (s = min, L = max),
// each step being itself a Gaussian binomial, truncated at degree kmax.
func mwuCounts(m, n, kmax int) []float64 {
	s, L := min(m, n), max(m, n)
	kmax = min(kmax, m*n)
	c := make([]float64, kmax+1)
	c[0] = 1
	for i := 1; i <= s; i++ {
		a := L + i
		for j := kmax; j >= a; j-- { // multiply by (1 - q^a)
			c[j] -= c[j-a]
		}
		for j := i; j <= kmax; j++ { // divide by (1 - q^i)
			c[j] += c[j-i]
		}
	}
	return c
}

// binomFloat is the binomial coefficient C(n, k) in floating point.
func binomFloat(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}
