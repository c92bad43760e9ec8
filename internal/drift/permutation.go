package drift

import (
	"fmt"
	"math"
)

// mt19937 is the Mersenne Twister of numpy's legacy RandomState, used so
// that permutation tests draw the same permutations as numpy after
// np.random.seed(seed).
type mt19937 struct {
	mt  [624]uint32
	idx int
}

func newMT19937(seed uint32) *mt19937 {
	r := &mt19937{idx: 624}
	r.mt[0] = seed
	for i := 1; i < 624; i++ {
		p := r.mt[i-1]
		r.mt[i] = 1812433253*(p^(p>>30)) + uint32(i)
	}
	return r
}

func (r *mt19937) uint32() uint32 {
	if r.idx >= 624 {
		for k := 0; k < 624; k++ {
			y := (r.mt[k] & 0x80000000) | (r.mt[(k+1)%624] & 0x7fffffff)
			v := r.mt[(k+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[k] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// interval is numpy's random_interval(max) for max < 2^32: a uniform
// integer in [0, max] by masked rejection sampling.
func (r *mt19937) interval(max uint32) uint32 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		if v := r.uint32() & mask; v <= max {
			return v
		}
	}
}

// shuffle permutes a in place exactly as RandomState.shuffle does for a
// one-dimensional array (Fisher-Yates from the end).
func shuffle[T any](r *mt19937, a []T) {
	for i := len(a) - 1; i > 0; i-- {
		j := r.interval(uint32(i))
		a[i], a[j] = a[j], a[i]
	}
}

// TVDIterations is the number of permutations of Evidently's TVD test.
const TVDIterations = 1000

// TVD is Evidently's "TVD" drift test on categorical codes (any integers
// in [0, k)) of the reference and current samples, in their original order.
// The statistic is the total variation distance between the category shares
//
//	TVD = 1/2 sum_i |r_i/n_r - c_i/n_c|,
//
// and the p-value is Evidently's permutation test: after np.random.seed(0),
// each of the 1000 iterations draws np.random.choice(pooled, n_r,
// replace=False) (a legacy-MT19937 shuffle of the pooled ref+cur list) as
// the new reference, the rest as the new current, and p is the share of
// iterations whose TVD is >= the observed one. The comparison is made in
// exact integer arithmetic (Evidently compares floats, which can split
// ties differently in the last ulp). Cost: O(1000 (n_r+n_c)).
func TVD(refCodes, curCodes []int32, k int) (tvd, p float64, err error) {
	if len(refCodes) == 0 || len(curCodes) == 0 {
		return 0, 0, fmt.Errorf("TVD: %w", ErrEmpty)
	}
	nr, nc := len(refCodes), len(curCodes)
	pooled := make([]int32, 0, nr+nc)
	pooled = append(append(pooled, refCodes...), curCodes...)
	total := make([]int64, k)
	ref := make([]int64, k)
	for _, c := range pooled {
		if c < 0 || int(c) >= k {
			return 0, 0, fmt.Errorf("TVD: code %d outside [0, %d)", c, k)
		}
		total[c]++
	}
	for _, c := range refCodes {
		ref[c]++
	}
	// S = sum_i |r_i n_c - c_i n_r| = 2 n_r n_c TVD, exact.
	score := func(ref []int64) int64 {
		var s int64
		for i, r := range ref {
			d := r*int64(nc) - (total[i]-r)*int64(nr)
			if d < 0 {
				d = -d
			}
			s += d
		}
		return s
	}
	obs := score(ref)
	terms := make([]float64, k)
	for i, r := range ref {
		terms[i] = math.Abs(float64(r)/float64(nr) - float64(total[i]-r)/float64(nc))
	}
	tvd = 0.5 * npSum(terms)

	rng := newMT19937(0)
	perm := make([]int32, len(pooled))
	hits := 0
	for it := 0; it < TVDIterations; it++ {
		copy(perm, pooled)
		shuffle(rng, perm)
		clear(ref)
		for _, c := range perm[:nr] {
			ref[c]++
		}
		if score(ref) >= obs {
			hits++
		}
	}
	return tvd, float64(hits) / TVDIterations, nil
}
