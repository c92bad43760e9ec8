package drift

import (
	"fmt"
	"math"
)

// MMDMaxPooled is the largest pooled sample size EmpiricalMMD accepts: the
// test needs all (n+m)^2/2 kernel values in memory and 100 passes over them.
const MMDMaxPooled = 4000

// MMDPermutations is the number of permutations of Evidently's MMD test.
const MMDPermutations = 100

// EmpiricalMMD is Evidently's "empirical_mmd" test: the unbiased squared
// maximum mean discrepancy with a Gaussian (RBF) kernel
//
//	MMD^2 = 1/(m(m-1)) sum_{i!=j} k(x_i,x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i,y_j) - 2/(mn) sum_{i,j} k(x_i,y_j),
//	k(a,b) = exp(-(a-b)^2 / (2 sigma^2)),
//
// with sigma = sqrt(median/2) of the m^2 squared distances within x (numpy
// percentile 50, method "nearest"; sqrt(1/2) if that median is 0), and a
// permutation p-value: the share of 100 random relabellings of the pooled
// sample whose MMD^2 is >= the observed one (Gretton et al. 2012, JMLR 13).
//
// Evidently draws the permutations from numpy's global, unseeded RNG, so
// its p-value is not reproducible; here they come from the legacy MT19937
// seeded with 0, i.e. exactly what Evidently returns after
// np.random.seed(0). Squared distances are computed as (a-b)^2, where
// Evidently uses b^2 - 2ab + a^2 (equal up to rounding, but exact here).
//
// Each sample needs at least 2 observations and the pooled size is limited
// to MMDMaxPooled.
func EmpiricalMMD(x, y []float64) (mmd, p float64, err error) {
	if err := checkPair(x, y); err != nil {
		return 0, 0, fmt.Errorf("empirical_mmd: %w", err)
	}
	m, n := len(x), len(y)
	if m < 2 || n < 2 {
		return 0, 0, fmt.Errorf("empirical_mmd: sizes %d and %d, each needs at least 2 observations: %w", m, n, ErrTooSmall)
	}
	N := m + n
	if N > MMDMaxPooled {
		return 0, 0, fmt.Errorf("empirical_mmd: pooled size %d exceeds %d (the test is quadratic in memory and time); subsample the data", N, MMDMaxPooled)
	}
	z := append(append(make([]float64, 0, N), x...), y...)
	// Packed strict upper triangle: row i holds pairs (i, j>i).
	off := func(i int) int { return i*N - i*(i+1)/2 }
	K := make([]float64, N*(N-1)/2)
	// Median of the m^2 squared distances within x: m zeros on the diagonal
	// and every off-diagonal pair twice.
	xx := make([]float64, 0, m*(m-1)/2)
	for i := 0; i < N; i++ {
		row := K[off(i) : off(i)+N-1-i]
		for j := i + 1; j < N; j++ {
			d := z[i] - z[j]
			row[j-i-1] = d * d
			if j < m {
				xx = append(xx, d*d)
			}
		}
	}
	total := m * m
	k := int(roundHalfEven(0.5 * float64(total-1)))
	med := 0.0
	if k >= m {
		med = selectKth(xx, (k-m)/2)
	}
	sigma := math.Sqrt(0.5 * med)
	if sigma == 0 {
		sigma = math.Sqrt(0.5 * 1)
	}
	gamma := 1.0 / (2.0 * sigma * sigma)
	rowAll := make([]float64, N)
	for i := 0; i < N; i++ {
		row := K[off(i) : off(i)+N-1-i]
		s := 0.0
		for j := range row {
			row[j] = math.Exp(-gamma * row[j])
			s += row[j]
		}
		rowAll[i] = s
	}
	A := 1 / float64(m*(m-1))
	B := 1 / float64(n*(n-1))
	mask := make([]float64, N)
	stat := func() float64 {
		var sxx, syy, sxy float64
		for i := 0; i < N; i++ {
			row := K[off(i) : off(i)+N-1-i]
			mk := mask[i+1:]
			s := 0.0
			for j, kv := range row {
				s += kv * mk[j]
			}
			if mask[i] == 1 {
				sxx += s
				sxy += rowAll[i] - s
			} else {
				sxy += s
				syy += rowAll[i] - s
			}
		}
		return A*2*sxx + B*2*syy - 2.0*sxy/float64(m*n)
	}
	for i := 0; i < m; i++ {
		mask[i] = 1
	}
	mmd = stat()
	rng := newMT19937(0)
	perm := make([]int32, N)
	hits := 0
	for it := 0; it < MMDPermutations; it++ {
		for i := range perm {
			perm[i] = int32(i)
		}
		shuffle(rng, perm)
		clear(mask)
		for _, i := range perm[:m] {
			mask[i] = 1
		}
		if stat() >= mmd {
			hits++
		}
	}
	return mmd, float64(hits) / MMDPermutations, nil
}

// selectKth returns the k-th smallest element (0-based) of a, reordering a
// (Hoare quickselect with median-of-three pivots).
func selectKth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}
