package fscale

import (
	"math"
	"testing"
)

func TestPow2(t *testing.T) {
	for _, c := range []struct{ m, want float64 }{
		{0, 1}, {1, 1}, {0x1p499, 1}, {0x1p-499, 1},
		{1e300, 0x1p-997},                       // 1e300 = 0.75 x 2^997
		{math.MaxFloat64, 0x1p-1024},            // subnormal, exact
		{1e-300, 0x1p996},                       // 1e-300 = 0.61 x 2^-996
		{math.SmallestNonzeroFloat64, 0x1p1000}, // capped
	} {
		if got := Pow2(c.m); got != c.want {
			t.Errorf("Pow2(%g) = %g, want %g", c.m, got, c.want)
		}
		if s := Pow2(c.m); s != 1 && c.m > 0x1p-1000 && (c.m*s >= 1 || c.m*s < 0.5) {
			t.Errorf("Pow2(%g)·m = %g, want in [0.5, 1)", c.m, c.m*s)
		}
	}
	if got := MaxAbs([]float64{1, -3, 2}); got != 3 {
		t.Errorf("MaxAbs = %g, want 3", got)
	}
	if got := MaxAbs(nil); got != 0 {
		t.Errorf("MaxAbs(nil) = %g", got)
	}
}
