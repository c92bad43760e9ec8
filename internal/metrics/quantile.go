package metrics

import (
	"fmt"
	"math"
	"slices"
)

// QuantileSorted returns the q-quantile of sorted with numpy's default
// "linear" method (Hyndman & Fan type 7, numpy.quantile(x, q)):
//
//	h = (n-1)·q,  i = ⌊h⌋,  g = h - i
//	Q(q) = x[i] + g·(x[i+1] - x[i])
//
// evaluated with numpy's symmetric lerp (for g ≥ 0.5 it is computed as
// x[i+1] - (1-g)·(x[i+1]-x[i])), so results agree with numpy bit for bit in
// the common case.
//
// Preconditions: sorted is non-empty, ascending and free of NaN; 0 ≤ q ≤ 1.
// QuantileSorted panics if they are violated (as gonum/stat does).
func QuantileSorted(q float64, sorted []float64) float64 {
	if len(sorted) == 0 {
		panic("metrics: QuantileSorted: empty input")
	}
	if !(q >= 0 && q <= 1) {
		panic(fmt.Sprintf("metrics: QuantileSorted: q = %v outside [0, 1]", q))
	}
	i, g := virtualIndex(q, len(sorted))
	j := i + 1
	if j >= len(sorted) {
		j = len(sorted) - 1
	}
	return lerp(sorted[i], sorted[j], g)
}

// virtualIndex returns numpy's linear-method index split into its integer
// part i (clamped to [0, n-1]) and fraction g.
func virtualIndex(q float64, n int) (int, float64) {
	h := float64(n-1) * q
	f := math.Floor(h)
	i := int(f)
	if i >= n-1 {
		return n - 1, 0
	}
	if i < 0 {
		return 0, 0
	}
	return i, h - f
}

// lerp is numpy's _lerp: a + (b-a)·t, computed from the nearer end point.
// When b-a overflows (end points of opposite signs near ±MaxFloat64) it is
// a·(1-t) + b·t, which cannot overflow for finite a ≤ b and t in [0, 1].
func lerp(a, b, t float64) float64 {
	d := b - a
	if math.IsInf(d, 0) {
		return a*(1-t) + b*t
	}
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}

// Quantiles returns numpy.quantile(x, qs) (linear method) for each q in qs.
// x is not modified. It selects the needed order statistics in O(n) by a
// radix selection instead of sorting. It returns an error wrapping ErrEmpty for empty x and
// ErrNonFinite if x contains NaN or ±Inf.
func Quantiles(x []float64, qs []float64) ([]float64, error) {
	if len(x) == 0 {
		return nil, fmt.Errorf("metrics: Quantiles: %w", ErrEmpty)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metrics: Quantiles: x[%d] = %v: %w", i, v, ErrNonFinite)
		}
	}
	for _, q := range qs {
		if !(q >= 0 && q <= 1) {
			return nil, fmt.Errorf("metrics: Quantiles: q = %v outside [0, 1]", q)
		}
	}
	out := make([]float64, len(qs))
	quantilesOf(x, nil, qs, out)
	return out, nil
}

// quantilesOf computes numpy linear quantiles of buf (free of NaN, not
// modified; or of ys[i] − buf[i] if ys is non-nil) into out, selecting the
// needed order statistics with a radix selection (see orderStats) instead
// of sorting.
func quantilesOf(buf, ys []float64, qs []float64, out []float64) {
	n := len(buf)
	ks := make([]int, 0, 2*len(qs))
	for _, q := range qs {
		i, _ := virtualIndex(q, n)
		ks = append(ks, i, min(i+1, n-1))
	}
	slices.Sort(ks)
	ks = slices.Compact(ks)
	stats := orderStats(buf, ys, ks)
	at := func(k int) float64 {
		t, _ := slices.BinarySearch(ks, k)
		return stats[t]
	}
	for j, q := range qs {
		i, g := virtualIndex(q, n)
		out[j] = lerp(at(i), at(min(i+1, n-1)), g)
	}
}
