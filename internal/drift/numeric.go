package drift

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Errors returned (wrapped, with context) by the tests in this package.
var (
	// ErrEmpty is returned when a sample has no observations.
	ErrEmpty = errors.New("empty sample")
	// ErrNonFinite is returned when a numerical sample holds NaN or ±Inf.
	ErrNonFinite = errors.New("non-finite value")
	// ErrUndefined is returned where scipy returns nan (or raises) because
	// the statistic is undefined for the given data, e.g. a t-test on two
	// constant samples with equal means.
	ErrUndefined = errors.New("statistic undefined for these data")
	// ErrTooSmall is returned when a test needs more observations than given.
	ErrTooSmall = errors.New("sample too small")
	// ErrUnknownTest is returned for a test name that is not registered.
	ErrUnknownTest = errors.New("unknown stattest")
	// ErrKind is returned when a test is not applicable to a column kind.
	ErrKind = errors.New("stattest not applicable to column kind")
)

// checkFinite returns an error naming the first non-finite value of x.
func checkFinite(name string, x []float64) error {
	if len(x) == 0 {
		return fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	for i, v := range x {
		if v-v != 0 { // NaN or ±Inf
			return fmt.Errorf("%s[%d] = %v: %w", name, i, v, ErrNonFinite)
		}
	}
	return nil
}

func checkPair(x, y []float64) error {
	if err := checkFinite("reference", x); err != nil {
		return err
	}
	return checkFinite("current", y)
}

// pwBlock is numpy's PW_BLOCKSIZE.
const pwBlock = 128

// pairwiseSum is numpy's pairwise_sum_DOUBLE (numpy/core/src/umath/loops_utils.h).
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range a {
			res += v
		}
		return res
	case n <= pwBlock:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			r[0] += a[i]
			r[1] += a[i+1]
			r[2] += a[i+2]
			r[3] += a[i+3]
			r[4] += a[i+4]
			r[5] += a[i+5]
			r[6] += a[i+6]
			r[7] += a[i+7]
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// npSum reproduces np.sum on a contiguous float64 array: the reduction runs
// over buffers of 8192 elements, each summed pairwise, accumulated from 0.
func npSum(a []float64) float64 {
	const buf = 8192
	res := 0.0
	for i := 0; i < len(a); i += buf {
		res += pairwiseSum(a[i:min(i+buf, len(a))])
	}
	return res
}

// npMean is np.mean for float64 data.
func npMean(a []float64) float64 { return npSum(a) / float64(len(a)) }

// npVar is np.var(a, ddof=0): np.mean of the squared deviations from
// np.mean, summed in numpy's order without materialising them.
func npVar(a []float64) float64 {
	m := npMean(a)
	const buf = 8192
	res := 0.0
	for i := 0; i < len(a); i += buf {
		res += pairwiseSumSq(a[i:min(i+buf, len(a))], m)
	}
	return res / float64(len(a))
}

// pairwiseSumSq is pairwiseSum over (a[i]-m)^2.
func pairwiseSumSq(a []float64, m float64) float64 {
	sq := func(v float64) float64 { d := v - m; return d * d }
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range a {
			res += sq(v)
		}
		return res
	case n <= pwBlock:
		var r [8]float64
		for j := range r {
			r[j] = sq(a[j])
		}
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += sq(a[i+j])
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += sq(a[i])
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSumSq(a[:n2], m) + pairwiseSumSq(a[n2:], m)
	}
}

// kahan is a Neumaier-compensated accumulator, used where numpy's exact
// pairwise order cannot be followed without buffering (streaming merges).
type kahan struct{ s, c float64 }

func (k *kahan) add(v float64) {
	t := k.s + v
	if math.Abs(k.s) >= math.Abs(v) {
		k.c += (k.s - t) + v
	} else {
		k.c += (v - t) + k.s
	}
	k.s = t
}

func (k *kahan) sum() float64 { return k.s + k.c }

// sortedCopy returns x sorted ascending (-0 is normalised to +0). Large
// inputs are radix sorted on the IEEE-754 bit patterns (see radixSortInto).
func sortedCopy(x []float64) []float64 {
	out := make([]float64, len(x))
	sortInto(out, x)
	return out
}

// floatPool recycles temporary sorted copies (see sortedTemp).
var floatPool sync.Pool

// sortedTemp is sortedCopy into a pooled buffer; call release when done
// with the result.
func sortedTemp(x []float64) (s []float64, release func()) {
	var p *[]float64
	if v, ok := floatPool.Get().(*[]float64); ok && cap(*v) >= len(x) {
		p = v
	} else {
		b := make([]float64, len(x))
		p = &b
	}
	s = (*p)[:len(x)]
	sortInto(s, x)
	return s, func() { floatPool.Put(p) }
}

func sortInto(out, x []float64) {
	if len(x) < 4096 {
		for i, v := range x {
			if v == 0 {
				v = 0
			}
			out[i] = v
		}
		slices.Sort(out)
		return
	}
	radixSortInto(out, x)
}

// floatKey maps a float to an unsigned key with the same order (negative
// values have all bits flipped, non-negative ones the sign bit set); v+0
// folds -0 onto +0.
func floatKey(v float64) uint64 {
	b := math.Float64bits(v + 0)
	return b ^ (uint64(int64(b)>>63) | 1<<63)
}

func keyFloat(k uint64) float64 {
	return math.Float64frombits(k ^ ((k>>63 - 1) | 1<<63))
}

// radixScratch is the reusable memory of radixSortInto.
type radixScratch struct {
	keys, tmp []uint64
	count     []uint32
}

var radixPool = sync.Pool{New: func() any { return &radixScratch{count: make([]uint32, 1<<16+1)} }}

// radixSortInto sorts src into dst. Keys are the order-preserving unsigned
// images of the floats. One most-significant-digit pass on the top 16 bits
// (sign, exponent, 4 mantissa bits) scatters the keys into buckets that are
// small for real data; each bucket is then sorted on the remaining 48 bits
// by an LSD radix sort (4 passes of 12 bits, skipping constant digits) or,
// when small, by a comparison sort. O(n) and cache friendly.
func radixSortInto(dst, src []float64) {
	n := len(src)
	sc := radixPool.Get().(*radixScratch)
	defer radixPool.Put(sc)
	if cap(sc.keys) < n {
		sc.keys = make([]uint64, n)
		sc.tmp = make([]uint64, n)
	}
	keys, tmp := sc.keys[:n], sc.tmp[:n]
	count := sc.count
	clear(count)
	for i, v := range src {
		k := floatKey(v)
		keys[i] = k
		count[k>>48+1]++
	}
	for d := 1; d < len(count); d++ {
		count[d] += count[d-1]
	}
	// count[d] is now the start of bucket d; scatter advances it to the end.
	for _, k := range keys {
		d := k >> 48
		tmp[count[d]] = k
		count[d]++
	}
	lo := uint32(0)
	for d := 0; d < 1<<16; d++ {
		hi := count[d]
		if hi-lo > 1 {
			sortLow48(tmp[lo:hi], keys[lo:hi])
		}
		lo = hi
	}
	for i, k := range tmp {
		dst[i] = keyFloat(k)
	}
}

// sortLow48 sorts a (whose keys share the top 16 bits) using b as scratch;
// the result is left in a.
func sortLow48(a, b []uint64) {
	if len(a) < 192 {
		slices.Sort(a)
		return
	}
	const (
		bits  = 12
		radix = 1 << bits
		mask  = radix - 1
	)
	var hist [4][radix]uint32
	for _, k := range a {
		hist[0][k&mask]++
		hist[1][(k>>12)&mask]++
		hist[2][(k>>24)&mask]++
		hist[3][(k>>36)&mask]++
	}
	src, dst := a, b
	for p := 0; p < 4; p++ {
		h := &hist[p]
		shift := uint(p * bits)
		if int(h[(src[0]>>shift)&mask]) == len(src) {
			continue // every key has this digit
		}
		var sum uint32
		for d := range h {
			c := h[d]
			h[d] = sum
			sum += c
		}
		for _, k := range src {
			d := (k >> shift) & mask
			dst[h[d]] = k
			h[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}

// isSorted reports whether x is ascending.
func isSorted(x []float64) bool {
	for i := 1; i < len(x); i++ {
		if x[i] < x[i-1] {
			return false
		}
	}
	return true
}

// roundHalfEven is np.round for a scalar.
func roundHalfEven(x float64) float64 { return math.RoundToEven(x) }

// midranks returns the 1-based average ranks (scipy.stats.rankdata
// method='average') of the concatenation of sorted x and sorted y, split
// back into the ranks of x and of y, plus the tie term sum(t^3 - t) over
// groups of equal values.
func midranks(xs, ys []float64) (rx, ry []float64, tie float64) {
	rx = make([]float64, len(xs))
	ry = make([]float64, len(ys))
	i, j, pos := 0, 0, 0
	for i < len(xs) || j < len(ys) {
		var v float64
		switch {
		case i == len(xs):
			v = ys[j]
		case j == len(ys):
			v = xs[i]
		default:
			v = min(xs[i], ys[j])
		}
		i0, j0 := i, j
		for i < len(xs) && xs[i] == v {
			i++
		}
		for j < len(ys) && ys[j] == v {
			j++
		}
		t := (i - i0) + (j - j0)
		r := 0.5 * float64(pos+t+pos+1)
		for k := i0; k < i; k++ {
			rx[k] = r
		}
		for k := j0; k < j; k++ {
			ry[k] = r
		}
		ft := float64(t)
		tie += ft*ft*ft - ft
		pos += t
	}
	return rx, ry, tie
}

// percentileLinear is np.percentile(sorted, q) with the default 'linear'
// method; s must be sorted ascending.
func percentileLinear(s []float64, q float64) float64 {
	n := len(s)
	idx := (q / 100) * float64(n-1)
	lo := math.Floor(idx)
	t := idx - lo
	i := int(lo)
	if i >= n-1 {
		return s[n-1]
	}
	a, b := s[i], s[i+1]
	diff := b - a
	if t >= 0.5 {
		return b - diff*(1-t)
	}
	return a + diff*t
}

// iqr is scipy.stats.iqr(x) (75th minus 25th percentile, linear) for sorted s.
func iqr(s []float64) float64 {
	return percentileLinear(s, 75) - percentileLinear(s, 25)
}

// gcd returns the greatest common divisor of positive a and b.
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// lnSqrt2Pi is log(sqrt(2*pi)).
const lnSqrt2Pi = 0.918938533204672741780329736406

// stirlerr returns log(n!) - log(sqrt(2*pi*n)*(n/e)^n) for integer n >= 0
// (Loader 2000, "Fast and accurate computation of binomial probabilities").
func stirlerr(n float64) float64 {
	const (
		s0 = 1.0 / 12
		s1 = 1.0 / 360
		s2 = 1.0 / 1260
		s3 = 1.0 / 1680
		s4 = 1.0 / 1188
	)
	if n <= 15 {
		if n == 0 {
			return 0
		}
		lg, _ := math.Lgamma(n + 1)
		return lg - (n+0.5)*math.Log(n) + n - lnSqrt2Pi
	}
	nn := n * n
	switch {
	case n > 500:
		return (s0 - s1/nn) / n
	case n > 80:
		return (s0 - (s1-s2/nn)/nn) / n
	case n > 35:
		return (s0 - (s1-(s2-s3/nn)/nn)/nn) / n
	}
	return (s0 - (s1-(s2-(s3-s4/nn)/nn)/nn)/nn) / n
}

// bd0 returns x*log(x/np) + np - x computed without cancellation (Loader 2000).
func bd0(x, np float64) float64 {
	if math.Abs(x-np) < 0.1*(x+np) {
		v := (x - np) / (x + np)
		s := (x - np) * v
		if math.Abs(s) < math.SmallestNonzeroFloat64*(1<<52) {
			return s
		}
		ej := 2 * x * v
		v *= v
		for j := 1; j < 1000; j++ {
			ej *= v
			s1 := s + ej/float64(2*j+1)
			if s1 == s {
				return s1
			}
			s = s1
		}
	}
	return x*math.Log(x/np) + np - x
}

// logDbinom returns log(C(n,x) p^x q^(n-x)) for integers 0 <= x <= n given
// np = n*p and nq = n*q, with relative accuracy near machine precision even
// for large n (Loader's saddle-point expansion, as in R's dbinom_raw).
func logDbinom(x, n, np, nq float64) float64 {
	if x == 0 {
		if n == 0 {
			return 0
		}
		if np < 0.1*n {
			return -bd0(n, nq) - np
		}
		return n * math.Log(nq/n)
	}
	if x == n {
		if nq < 0.1*n {
			return -bd0(n, np) - nq
		}
		return n * math.Log(np/n)
	}
	lc := stirlerr(n) - stirlerr(x) - stirlerr(n-x) - bd0(x, np) - bd0(n-x, nq)
	lf := math.Log(2*math.Pi) + math.Log(x) + math.Log1p(-x/n)
	return lc - 0.5*lf
}

// hypergeomPMF is the probability of x white balls when drawing nd balls
// from an urn of w white and b black ones (R's dhyper via Loader's dbinom).
func hypergeomPMF(x, w, b, nd int64) float64 {
	if x < 0 || x > w || nd-x < 0 || nd-x > b || nd > w+b {
		return 0
	}
	if nd == 0 {
		return 1
	}
	tot := float64(w + b)
	p := float64(nd) / tot
	q := float64(w+b-nd) / tot
	l1 := logDbinom(float64(x), float64(w), float64(w)*p, float64(w)*q)
	l2 := logDbinom(float64(nd-x), float64(b), float64(b)*p, float64(b)*q)
	l3 := logDbinom(float64(nd), tot, float64(nd), float64(w+b-nd))
	return math.Exp(l1 + l2 - l3)
}

// besselK returns the modified Bessel function of the second kind K_nu(x)
// for x > 0, from K_nu(x) = ∫_0^∞ exp(-x cosh t) cosh(nu t) dt evaluated by
// the trapezoidal rule, which converges geometrically for this analytic,
// doubly-exponentially decaying integrand (Trefethen & Weideman 2014); the
// step 1/16 makes the discretisation error far below 1e-16 relative.
func besselK(nu, x float64) float64 {
	const h = 1.0 / 16
	sum := 0.5 * math.Exp(-x)
	for k := 1; ; k++ {
		t := float64(k) * h
		term := math.Exp(-x*math.Cosh(t)) * math.Cosh(nu*t)
		sum += term
		if term < 1e-18*sum || term == 0 {
			break
		}
	}
	return sum * h
}
