package metrics

import (
	"encoding/json"
	"github.com/modelmon/modelmon/internal/fscale"
	"math"
	"math/big"
	"slices"
	"testing"
)

// Fuzzing of the numeric kernels with extreme finite values (issue 15): every
// output is finite or null with its name in overflow_fields, the JSON always
// encodes, and the values agree with an exact reference (math/big at 2,200 bits:
// no overflow, no rounding in the sums) to 1e-12 of the largest magnitude.

// fuzzSample builds 1..64 values from three: mix picks which one goes where.
func fuzzSample(vals []float64, n uint8, mix uint64) []float64 {
	k := int(n%64) + 1
	out := make([]float64, k)
	for i := range out {
		out[i] = vals[int((mix>>(2*(i%32)))&3)%len(vals)]
	}
	return out
}

func finiteAll(xs ...float64) bool {
	for _, x := range xs {
		if !isFinite(x) {
			return false
		}
	}
	return true
}

const bigPrec = 2200

func bigMean(xs []float64) *big.Float {
	s := new(big.Float).SetPrec(bigPrec)
	for _, x := range xs {
		s.Add(s, new(big.Float).SetPrec(bigPrec).SetFloat64(x))
	}
	return s.Quo(s, new(big.Float).SetPrec(bigPrec).SetInt64(int64(len(xs))))
}

// bigStd is the ddof=1 standard deviation, exact up to the final square root.
func bigStd(xs []float64) *big.Float {
	m := bigMean(xs)
	ss := new(big.Float).SetPrec(bigPrec)
	for _, x := range xs {
		d := new(big.Float).SetPrec(bigPrec).SetFloat64(x)
		d.Sub(d, m)
		ss.Add(ss, d.Mul(d, d))
	}
	ss.Quo(ss, new(big.Float).SetPrec(bigPrec).SetInt64(int64(len(xs)-1)))
	return ss.Sqrt(ss)
}

// near reports |got − want| <= tol, with want possibly beyond float64.
func near(got float64, want *big.Float, tol float64) bool {
	d := new(big.Float).SetPrec(bigPrec).SetFloat64(got)
	d.Sub(d, want)
	return d.Abs(d).Cmp(new(big.Float).SetFloat64(tol)) <= 0
}

// fits reports whether |x| is at most MaxFloat64·(1 − 1e-9) (clearly representable)
// or, with over, beyond MaxFloat64·(1 + 1e-9) (clearly not).
func bigBeyond(x *big.Float, over bool) bool {
	a := new(big.Float).Abs(x)
	if over {
		return a.Cmp(new(big.Float).SetFloat64(math.MaxFloat64*(1-1e-9))) > 0 &&
			a.Cmp(new(big.Float).Mul(new(big.Float).SetFloat64(math.MaxFloat64), big.NewFloat(1+1e-9))) > 0
	}
	return a.Cmp(new(big.Float).SetFloat64(math.MaxFloat64*(1-1e-9))) <= 0
}

func addExtremeSeeds(f *testing.F) {
	const mx = math.MaxFloat64
	seeds := [][3]float64{
		{1e300, -1e300, 5e-324},
		{mx, -mx, 0},
		{mx, mx, mx},
		{1e200, 3.66, 1},
		{-1e308, 1e308, 1},
		{5e-324, 1e-323, 0},
		{1e-300, 1e300, -5e-324},
		{7, 7, 7},
		{1.5, -2.25, 1e-5},
	}
	for i, s := range seeds {
		f.Add(s[0], s[1], s[2], uint8(i*7), uint64(0x9e3779b97f4a7c15)*uint64(i+1))
	}
	f.Add(1e300, 2.0, 3.0, uint8(0), uint64(0)) // a single value
}

func FuzzNumericQuality(f *testing.F) {
	addExtremeSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c float64, n uint8, mix uint64) {
		if !finiteAll(a, b, c) {
			return
		}
		xs := fuzzSample([]float64{a, b, c}, n, mix)
		ref := fuzzSample([]float64{c, a, 1}, n/2, mix>>3)
		q, err := NumericQuality(NumColumn{Values: xs}, &NumColumn{Values: ref})
		if err != nil {
			t.Fatalf("NumericQuality(%v): %v", xs, err)
		}
		CountImplausible(&q, NumColumn{Values: xs}, Range{Min: 0, Max: 1000})
		if _, err := json.Marshal(q); err != nil {
			t.Fatalf("encode quality of %v: %v", xs, err)
		}
		for _, p := range []*float64{q.Min, q.Max, q.Mean, q.Std, q.P25, q.P50, q.P75, q.MostCommonValue} {
			if p == nil || !isFinite(*p) {
				if p != q.Std {
					t.Fatalf("quality of %v: a statistic is %v", xs, p)
				}
			}
		}
		if *q.Mean < *q.Min || *q.Mean > *q.Max || *q.P25 > *q.P50 || *q.P50 > *q.P75 || *q.P25 < *q.Min || *q.P75 > *q.Max {
			t.Fatalf("quality of %v: min %v p25 %v p50 %v p75 %v max %v mean %v", xs, *q.Min, *q.P25, *q.P50, *q.P75, *q.Max, *q.Mean)
		}
		m := max(math.Abs(*q.Min), math.Abs(*q.Max))
		tol := 1e-12*m + 1e-300
		if !near(*q.Mean, bigMean(xs), tol) {
			t.Errorf("mean of %v: %v, exact %v", xs, *q.Mean, bigMean(xs))
		}
		if len(xs) < 2 {
			if q.Std != nil {
				t.Errorf("std of one value: %v", *q.Std)
			}
			return
		}
		sd := bigStd(xs)
		switch {
		case q.Std != nil:
			if *q.Std < 0 || !near(*q.Std, sd, 1e-11*m+1e-300) {
				t.Errorf("std of %v: %v, exact %v", xs, *q.Std, sd)
			}
		case !slices.Contains(q.Overflow, "std"):
			t.Errorf("std of %v: null without overflow_fields (exact %v)", xs, sd)
		case bigBeyond(sd, false):
			t.Errorf("std of %v: null although %v is representable", xs, sd)
		}
	})
}

func FuzzComputeRegression(f *testing.F) {
	addExtremeSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c float64, n uint8, mix uint64) {
		if !finiteAll(a, b, c) {
			return
		}
		target := fuzzSample([]float64{a, b, c}, n, mix)
		pred := fuzzSample([]float64{c, 1, a, b}, n, mix>>5)
		feature := fuzzSample([]float64{b, a, 2}, n, mix>>7)
		r, err := ComputeRegression(target, pred, map[string]Feature{"x": {Num: feature}, "k": {Cat: make([]string, len(target))}})
		if err != nil {
			t.Fatalf("ComputeRegression(%v, %v): %v", target, pred, err)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("encode regression of %v, %v: %v", target, pred, err)
		}
		undefined := map[string]bool{"r2": len(target) < 2, "error_std": len(target) < 2, "mape": !slices.ContainsFunc(target, func(y float64) bool { return y != 0 })}
		for name, v := range map[string]float64{"me": r.ME, "mae": r.MAE, "rmse": r.RMSE, "max_abs_error": r.MaxAbsError, "r2": r.R2, "error_std": r.ErrorStd, "mape": r.MAPE} {
			if math.IsInf(v, 0) || (math.IsNaN(v) && !undefined[name] && !slices.Contains(r.Overflow, name)) {
				t.Errorf("%s of %v, %v: %v (overflow %q)", name, target, pred, v, r.Overflow)
			}
		}
		for k, v := range r.ErrorQuantiles {
			if !isFinite(v) {
				t.Errorf("error quantile %s: %v", k, v)
			}
		}
		fb := r.ErrorBias["x"]
		if math.IsInf(fb.Range, 0) || (fb.Range < 0 || fb.Range > 100+1e-9) {
			t.Errorf("error bias range %v", fb.Range)
		}
		// Exact reference of ME, MAE and RMSE (errors formed exactly in big.Float).
		es := make([]*big.Float, len(target))
		meRef, maeRef, sqRef := new(big.Float).SetPrec(bigPrec), new(big.Float).SetPrec(bigPrec), new(big.Float).SetPrec(bigPrec)
		var maxE float64
		for i := range target {
			e := new(big.Float).SetPrec(bigPrec).SetFloat64(pred[i])
			e.Sub(e, new(big.Float).SetPrec(bigPrec).SetFloat64(target[i]))
			es[i] = e
			meRef.Add(meRef, e)
			ae := new(big.Float).Abs(e)
			maeRef.Add(maeRef, ae)
			sqRef.Add(sqRef, new(big.Float).SetPrec(bigPrec).Mul(e, e))
			f64, _ := ae.Float64()
			maxE = max(maxE, f64)
		}
		fn := new(big.Float).SetPrec(bigPrec).SetInt64(int64(len(target)))
		meRef.Quo(meRef, fn)
		maeRef.Quo(maeRef, fn)
		sqRef.Quo(sqRef, fn)
		rmseRef := sqRef.Sqrt(sqRef)
		tol := 1e-12*min(maxE, math.MaxFloat64) + 1e-300
		for _, c := range []struct {
			name string
			got  float64
			want *big.Float
		}{{"me", r.ME, meRef}, {"mae", r.MAE, maeRef}, {"rmse", r.RMSE, rmseRef}} {
			switch {
			case !math.IsNaN(c.got):
				if !near(c.got, c.want, tol) {
					t.Errorf("%s of %v, %v: %v, exact %v", c.name, target, pred, c.got, c.want)
				}
			case bigBeyond(c.want, false):
				t.Errorf("%s of %v, %v: null although %v is representable", c.name, target, pred, c.want)
			}
		}
	})
}

func FuzzQuantileSorted(f *testing.F) {
	addExtremeSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c float64, n uint8, mix uint64) {
		if !finiteAll(a, b, c) {
			return
		}
		xs := fuzzSample([]float64{a, b, c}, n, mix)
		slices.Sort(xs)
		for _, q := range []float64{0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1, float64(mix%1000) / 1000} {
			v := QuantileSorted(q, xs)
			if !isFinite(v) || v < xs[0] || v > xs[len(xs)-1] {
				t.Fatalf("quantile %v of %v: %v", q, xs, v)
			}
		}
	})
}

// FuzzNumSummary: the mergeable summary's mean and std agree with the exact
// reference, whether built at once, merged from two halves or sent through JSON.
func FuzzNumSummary(f *testing.F) {
	addExtremeSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c float64, n uint8, mix uint64) {
		if !finiteAll(a, b, c) {
			return
		}
		xs := fuzzSample([]float64{a, b, c}, n, mix)
		whole := NewNumSummary()
		must(t, whole.AddColumn(NumColumn{Values: xs}))
		h1, h2 := NewNumSummary(), NewNumSummary()
		must(t, h1.AddColumn(NumColumn{Values: xs[:len(xs)/2]}))
		must(t, h2.AddColumn(NumColumn{Values: xs[len(xs)/2:]}))
		b1, err := json.Marshal(h1)
		if err != nil {
			t.Fatalf("encode summary of %v: %v", xs[:len(xs)/2], err)
		}
		var back NumSummary
		must(t, json.Unmarshal(b1, &back))
		must(t, back.Merge(h2))
		m := fscale.MaxAbs(xs)
		for name, s := range map[string]*NumSummary{"whole": whole, "merged": &back} {
			if !near(s.Mean(), bigMean(xs), 1e-12*m+1e-300) || s.Mean() < s.Min() || s.Mean() > s.Max() {
				t.Errorf("%s: mean of %v: %v, exact %v", name, xs, s.Mean(), bigMean(xs))
			}
			if _, err := json.Marshal(s); err != nil {
				t.Errorf("%s: encode: %v", name, err)
			}
			if len(xs) < 2 {
				continue
			}
			sd := bigStd(xs)
			if st := s.Std(); isFinite(st) {
				if !near(st, sd, 1e-9*m+1e-300) {
					t.Errorf("%s: std of %v: %v, exact %v", name, xs, st, sd)
				}
			} else if math.IsNaN(st) || bigBeyond(sd, false) {
				t.Errorf("%s: std of %v: %v, exact %v", name, xs, st, sd)
			}
			q := NumericQualityFromSummary(s, nil)
			if _, err := json.Marshal(q); err != nil {
				t.Errorf("%s: encode quality: %v", name, err)
			}
		}
	})
}
