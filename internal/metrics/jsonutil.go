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
