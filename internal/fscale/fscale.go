// Package fscale rescales float64 data by powers of two, so that statistics of
// any finite input stay finite: internal/drift and internal/metrics run their
// sums, differences and squares on x·Pow2(MaxAbs(x)) when magnitudes pass
// 2^±500.
package fscale

import "math"

// Pow2 returns the power of two s that brings m (the largest magnitude of
// the data) near 1 when m is outside (2^-500, 2^500), and 1 otherwise: on the
// data times s no difference, sum or square can overflow or underflow
// (1e300 − (−1e300) is +Inf; the same values scaled are 2 apart). Multiplying
// by a power of two is exact away from the subnormal range, so scaled sums
// round exactly like unscaled ones; values that become subnormal (more than
// ~2^1000 times smaller than m) lose bits below the rounding of any sum m
// takes part in. For subnormal m the scale stops at 2^1000 (2^-e would
// overflow): m·s is then at least 2^-74. For m near MaxFloat64 it is 2^-1024,
// a subnormal power of two, still exact.
func Pow2(m float64) float64 {
	if m == 0 || (m > 0x1p-500 && m < 0x1p500) {
		return 1
	}
	_, e := math.Frexp(m)
	return math.Ldexp(1, min(-e, 1000))
}

// MaxAbs returns max |x| over xs (0 for none).
func MaxAbs(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	return m
}
