package metrics

import "math"

// jf converts a float64 to a JSON-safe pointer: NaN (undefined) and ±Inf
// (not representable in JSON) become nil, which encodes as null.
func jf(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// fj is the inverse of jf: nil decodes to NaN.
func fj(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// pow2Scale returns a power of two s such that m·s lies in [0.5, 1) when m
// is very large or very small, and 1 otherwise. Multiplying by a power of
// two is exact (away from the subnormal range), so scaled sums of squares
// round exactly like unscaled ones but cannot overflow or underflow.
//
// For subnormal m the scale stops at 2^1000 (2^-e would overflow): m·s is
// then at least 2^-74, still far from underflow. For m near MaxFloat64 the
// scale is 2^-1024 (a subnormal power of two, exact): values much smaller
// than m lose bits when scaled, which is below the rounding of any sum that
// m takes part in.
func pow2Scale(m float64) float64 {
	if m == 0 || (m > 0x1p-500 && m < 0x1p500) {
		return 1
	}
	_, e := math.Frexp(m)
	return math.Ldexp(1, min(-e, 1000))
}

// maxAbsOf returns max |x| over xs (0 for none).
func maxAbsOf(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	return m
}
