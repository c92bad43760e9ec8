package drift

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// Fuzzing of the drift tests with extreme finite values (issue 15): no test
// panics, returns NaN or fails for lack of range (only ErrTooSmall and
// ErrUndefined for degenerate samples, as before); p-values lie in [0, 1]; the
// result encodes to JSON; and on well-scaled samples multiplied by any power of
// two that keeps them normal the statistic and p-value are those of the samples
// themselves (the invariance the rescaling relies on; the unscaled values are
// checked against scipy by the golden tests) — the raw Wasserstein distance
// scales with the data, ed with its square root. fisher_exact needs at most two
// distinct values (otherwise an error, whatever their size) and its odds ratio
// is NaN (JSON null) with an empty row, as documented on Result.

func fuzzSample(vals []float64, n uint8, mix uint64) []float64 {
	k := int(n%40) + 1
	out := make([]float64, k)
	for i := range out {
		out[i] = vals[int((mix>>(2*(i%32)))&3)%len(vals)]
	}
	return out
}

func addExtremeSeeds(f *testing.F) {
	const mx = math.MaxFloat64
	seeds := [][4]float64{
		{1e300, -1e300, 5e-324, 1},
		{mx, -mx, 0, 1},
		{mx, mx, mx, mx},
		{1e200, 3.66, 1, 2.5},
		{-1e308, 1e308, 1, -1},
		{5e-324, 1e-323, 0, 2e-323},
		{1e-300, 1e300, -5e-324, 3},
		{7, 7, 7, 7},
		{1.5, -2.25, 1e-5, 8},
	}
	for i, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], uint8(5+i*7), uint8(3+i*5), uint64(0x9e3779b97f4a7c15)*uint64(i+1), int16(300*i-1000))
	}
}

func allowedErr(err error) bool {
	return errors.Is(err, ErrTooSmall) || errors.Is(err, ErrUndefined)
}

func FuzzRunExtremeValues(f *testing.F) {
	addExtremeSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c, d float64, nr, nc uint8, mix uint64, k int16) {
		for _, v := range []float64{a, b, c, d} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return
			}
		}
		ref := fuzzSample([]float64{a, b, c, d}, nr, mix)
		cur := fuzzSample([]float64{d, c, b, a}, nc, mix>>7)
		for _, test := range Tests() {
			res, err := Run(test, Column{Kind: Numerical, Num: ref}, Column{Kind: Numerical, Num: cur}, 0)
			if test == "fisher_exact" && (err != nil || math.IsNaN(res.Statistic)) {
				continue
			}
			if err != nil {
				if !allowedErr(err) {
					t.Errorf("%s(%v, %v): %v", test, ref, cur, err)
				}
				continue
			}
			if math.IsNaN(res.Statistic) {
				t.Errorf("%s(%v, %v): statistic NaN", test, ref, cur)
			}
			if p := res.PValue; p != nil && !(*p >= 0 && *p <= 1) {
				t.Errorf("%s(%v, %v): p-value %v", test, ref, cur, *p)
			}
			if _, err := json.Marshal(res); err != nil {
				t.Errorf("%s: encode %+v: %v", test, res, err)
			}
		}
		for _, fn := range []func(u, v []float64) (float64, error){Wasserstein, WassersteinNorm, EnergyDistance} {
			if w, err := fn(ref, cur); err != nil || math.IsNaN(w) || w < 0 {
				t.Errorf("distance(%v, %v) = %v, %v", ref, cur, w, err)
			}
		}

		// Scale invariance on well-scaled samples (|x| in [2^-20, 2^20] or 0).
		for _, v := range []float64{a, b, c, d} {
			if av := math.Abs(v); av != 0 && (av < 0x1p-20 || av > 0x1p20) {
				return
			}
		}
		e := int(k) % 990 // 2^e·x stays normal and finite
		s := math.Ldexp(1, e)
		sref, scur := scaled(ref, s), scaled(cur, s)
		for _, test := range Tests() {
			r0, err0 := Run(test, Column{Kind: Numerical, Num: ref}, Column{Kind: Numerical, Num: cur}, 0)
			r1, err1 := Run(test, Column{Kind: Numerical, Num: sref}, Column{Kind: Numerical, Num: scur}, 0)
			if (err0 == nil) != (err1 == nil) {
				t.Errorf("%s: error %v unscaled, %v scaled by 2^%d", test, err0, err1, e)
				continue
			}
			// Not scale free: wasserstein's floor of 0.001 on the reference's std,
			// empirical_mmd's bandwidth sqrt(1/2) when the median distance is 0.
			if err0 != nil || test == "wasserstein" || (test == "fisher_exact" && math.IsNaN(r0.Statistic)) ||
				(test == "empirical_mmd" && mostlyTied(ref)) {
				continue
			}
			want := r0.Statistic
			if test == "ed" { // sqrt(2·∫(F−G)² dt): the square root of a length
				want *= math.Sqrt(s)
			}
			if !close(r1.Statistic, want) {
				t.Errorf("%s(%v, %v): statistic %v unscaled, %v scaled by 2^%d", test, ref, cur, want, r1.Statistic, e)
			}
			if (r0.PValue == nil) != (r1.PValue == nil) || (r0.PValue != nil && math.Abs(*r0.PValue-*r1.PValue) > 1e-9) {
				t.Errorf("%s: p-value %v unscaled, %v scaled by 2^%d", test, r0.PValue, r1.PValue, e)
			}
		}
		w0, _ := Wasserstein(ref, cur)
		w1, _ := Wasserstein(sref, scur)
		if !close(w1, w0*s) {
			t.Errorf("wasserstein: %v unscaled, %v scaled by 2^%d", w0, w1, e)
		}
	})
}

// mostlyTied reports whether at least half of the pairs of xs (with itself) are
// ties, so that the median squared distance may be 0.
func mostlyTied(xs []float64) bool {
	c := map[float64]int{}
	for _, x := range xs {
		c[x]++
	}
	ties := 0
	for _, k := range c {
		ties += k * k
	}
	return 2*ties >= len(xs)*len(xs)-2*len(xs)
}

func close(got, want float64) bool {
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		return got == want
	}
	return math.Abs(got-want) <= 1e-9*math.Abs(want)+1e-300
}
