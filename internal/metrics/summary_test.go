package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func randomValues(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		switch r.IntN(10) {
		case 0:
			x[i] = 0
		case 1, 2:
			x[i] = -math.Exp(r.NormFloat64() * 2)
		default:
			x[i] = math.Exp(r.NormFloat64() * 2)
		}
	}
	return x
}

func summaryOf(xs []float64) *NumSummary {
	s := NewNumSummary()
	for _, x := range xs {
		s.Add(x)
	}
	return s
}

func TestNumSummaryJSONRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for name, xs := range map[string][]float64{
		"empty":    nil,
		"exact":    {3, -1, 0, 0, 2.5, 1e-300, -7},
		"sketched": randomValues(r, 5000),
	} {
		t.Run(name, func(t *testing.T) {
			s := summaryOf(xs)
			s.AddMissing()
			s.Add(math.Inf(1))
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back NumSummary
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			b2, _ := json.Marshal(&back)
			if string(b) != string(b2) {
				t.Errorf("JSON changes on round trip:\n%s\n%s", b, b2)
			}
			if len(xs) > 0 {
				assertSameSummary(t, s, &back)
				for _, q := range []float64{0, 0.1, 0.5, 0.9, 1} {
					if s.Quantile(q) != back.Quantile(q) {
						t.Errorf("Quantile(%v) changes on round trip", q)
					}
				}
			}
			if back.Missing() != 1 || back.NonFinite() != 1 || back.N() != int64(len(xs)) {
				t.Errorf("counts after round trip: n %d missing %d non-finite %d", back.N(), back.Missing(), back.NonFinite())
			}
		})
	}
}

func TestNumSummaryUnmarshalCorrupt(t *testing.T) {
	good, _ := json.Marshal(summaryOf([]float64{1, 2, 3}))
	sk, _ := json.Marshal(summaryOf(randomValues(rand.New(rand.NewPCG(2, 2)), 2000)))
	cases := map[string]string{
		"version":        strings.Replace(string(good), `"v":1`, `"v":9`, 1),
		"alpha":          strings.Replace(string(good), `"alpha":0.005`, `"alpha":0.7`, 1),
		"count mismatch": strings.Replace(string(good), `"n":3`, `"n":4`, 1),
		"unsorted":       strings.Replace(string(good), `"values":[1,2,3]`, `"values":[2,1,3]`, 1),
		"min":            strings.Replace(string(good), `"min":1`, `"min":0`, 1),
		"hll":            strings.Replace(string(sk), `"hll":"`, `"hll":"AAAA`, 1),
		"negative m2":    strings.Replace(string(good), `"m2":2`, `"m2":-2`, 1),
	}
	for name, in := range cases {
		if in == string(good) || in == string(sk) {
			t.Fatalf("%s: test input unchanged: %s", name, in)
		}
		var s NumSummary
		if err := json.Unmarshal([]byte(in), &s); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestNumSummaryMergeIncompatible(t *testing.T) {
	a := NewNumSummary()
	b, err := NewNumSummaryAlpha(0.01)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(b); !errors.Is(err, ErrIncompatible) {
		t.Errorf("err = %v, want ErrIncompatible", err)
	}
	if _, err := NewNumSummaryAlpha(0); err == nil {
		t.Error("alpha 0: want error")
	}
}

func TestNumSummaryNonFinite(t *testing.T) {
	s := NewNumSummary()
	s.Add(1)
	s.Add(math.NaN())
	s.Add(math.Inf(-1))
	if err := s.Err(); !errors.Is(err, ErrNonFinite) {
		t.Fatalf("Err() = %v, want ErrNonFinite", err)
	}
	q := NumericQualityFromSummary(s, nil)
	if q.NonFinite != 2 || q.Count != 1 || *q.Mean != 1 {
		t.Errorf("quality: %+v", q)
	}
	if err := NewNumSummary().Err(); err != nil {
		t.Errorf("clean summary: Err() = %v", err)
	}
}

func TestNumSummaryEmptyAndZeroValue(t *testing.T) {
	var s NumSummary // the zero value is usable
	if !math.IsNaN(s.Quantile(0.5)) || !math.IsNaN(s.CDF(1)) || !math.IsNaN(s.Mean()) || !math.IsNaN(s.Std()) {
		t.Error("empty summary: want NaN statistics")
	}
	other := summaryOf([]float64{1, 2})
	if !math.IsNaN(KSStatisticFromSummaries(&s, other)) || !math.IsNaN(WassersteinFromSummaries(other, &s)) {
		t.Error("empty summary: want NaN distances")
	}
	s.AddMissing()
	q := NumericQualityFromSummary(&s, other)
	if q.Count != 0 || q.Missing != 1 || q.Min != nil || q.Std != nil || q.OutOfRangeShare != nil || *q.NewCount != 0 || *q.UnusedCount != 2 {
		t.Errorf("quality of empty summary: %+v", q)
	}
	if _, err := json.Marshal(q); err != nil {
		t.Error(err)
	}
	s.Add(5)
	if s.Quantile(0.5) != 5 || s.Alpha() != DefaultAlpha || !s.Exact() {
		t.Error("zero value did not become a working summary")
	}
}

// TestNumSummaryMergeAssociative builds chunk summaries across the
// exact→sketch switch and checks that every grouping and order of merges
// gives the same state as adding all values to one summary.
func TestNumSummaryMergeAssociative(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, sizes := range [][]int{{100, 200, 150}, {300, 300, 300}, {10, 2000, 5}} {
		var chunks [][]float64
		var all []float64
		for _, n := range sizes {
			c := randomValues(r, n)
			for i := range c { // round so that small chunks stay exact
				c[i] = math.Round(c[i]*10) / 10
			}
			chunks = append(chunks, c)
			all = append(all, c...)
		}
		a, b, c := summaryOf(chunks[0]), summaryOf(chunks[1]), summaryOf(chunks[2])
		left := a.Clone()
		must(t, left.Merge(b))
		must(t, left.Merge(c))
		right := b.Clone()
		must(t, right.Merge(c))
		right2 := a.Clone()
		must(t, right2.Merge(right))
		rev := c.Clone()
		must(t, rev.Merge(b))
		must(t, rev.Merge(a))
		one := summaryOf(all)
		assertSameSummary(t, left, right2)
		assertSameSummary(t, left, rev)
		assertSameSummary(t, left, one)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestNumSummarySketchBounds checks the documented error bounds of the
// sketch against exact values on random data with both signs and zeros.
func TestNumSummarySketchBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	xs := randomValues(r, 20000)
	s := summaryOf(xs)
	if s.Exact() {
		t.Fatal("want a sketched summary")
	}
	sorted := slices.Sorted(slices.Values(xs))
	for q := 0.0; q <= 1; q += 0.01 {
		want := QuantileSorted(q, sorted)
		got := s.Quantile(q)
		lo, hi := s.QuantileInterval(q)
		if want < lo || want > hi || got < lo || got > hi {
			t.Errorf("q=%.2f: exact %v, estimate %v, interval [%v, %v]", q, want, got, lo, hi)
		}
		i, _ := virtualIndex(q, len(sorted))
		j := min(i+1, len(sorted)-1)
		if bound := s.Alpha() * math.Max(math.Abs(sorted[i]), math.Abs(sorted[j])); math.Abs(got-want) > bound*(1+1e-9) {
			t.Errorf("q=%.2f: |%v − %v| > α·max|x| = %v", q, got, want, bound)
		}
	}
	for _, x := range []float64{-100, -1, -0.01, 0, 0.5, 1, 3, 1000} {
		k, _ := slices.BinarySearch(sorted, math.Nextafter(x, math.Inf(1)))
		want := float64(k) / float64(len(sorted))
		lo, hi := s.CDFInterval(x)
		if got := s.CDF(x); want < lo || want > hi || got < lo || got > hi {
			t.Errorf("CDF(%v): exact %v, estimate %v, interval [%v, %v]", x, want, got, lo, hi)
		}
	}
	u, approx := s.uniqueCount()
	exactU := len(slices.Compact(slices.Clone(sorted)))
	if approx || math.Abs(float64(u-exactU))/float64(exactU) > 0.08 {
		t.Errorf("unique: HLL %d vs exact %d (approx flag %v)", u, exactU, !approx)
	}
}

func TestCatSummary(t *testing.T) {
	a, b := NewCatSummary(), NewCatSummary()
	must(t, a.AddColumn(CatColumn{Values: []string{"x", "y", "x", ""}, Valid: []bool{true, true, true, false}}))
	b.Add("z")
	b.Add("x")
	var zero CatSummary
	zero.Merge(a)
	zero.Merge(b)
	js, err := json.Marshal(&zero)
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != `{"v":1,"missing":1,"counts":{"x":3,"y":1,"z":1}}` {
		t.Errorf("JSON = %s", js)
	}
	var back CatSummary
	must(t, json.Unmarshal(js, &back))
	q := CategoricalQualityFromSummary(&back, a)
	if q.Count != 5 || q.Missing != 1 || *q.MostCommonCategory != "x" || *q.NewCount != 1 || q.NewCategories[0] != "z" {
		t.Errorf("quality: %+v", q)
	}
	if err := json.Unmarshal([]byte(`{"v":1,"counts":{"a":-1}}`), &back); !errors.Is(err, ErrCorrupt) {
		t.Errorf("negative count: err = %v", err)
	}
	if err := a.AddColumn(CatColumn{Values: []string{"a"}, Valid: []bool{}}); !errors.Is(err, ErrLength) {
		t.Errorf("mask length: err = %v", err)
	}
}

// TestRegressionFromSummariesWithoutGroups: with an exact error summary the
// single-pass path gives the exact groups.
func TestRegressionFromSummariesWithoutGroups(t *testing.T) {
	target := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	pred := []float64{1, 3, 3, 5, 4, 6, 9, 8, 8, 10, 14, 12}
	want, err := ComputeRegression(target, pred, nil)
	must(t, err)
	s := NewRegressionSummary()
	must(t, s.AddBatch(target[:5], pred[:5]))
	s2 := NewRegressionSummary()
	must(t, s2.AddBatch(target[5:], pred[5:]))
	must(t, s.Merge(s2))
	got, err := RegressionFromSummaries(s, nil)
	must(t, err)
	if got.Under != want.Under || got.Over != want.Over || got.Majority.Count != want.Majority.Count ||
		math.Abs(got.Majority.MeanError-want.Majority.MeanError) > 1e-12 {
		t.Errorf("groups: got %+v %+v %+v, want %+v %+v %+v", got.Under, got.Majority, got.Over, want.Under, want.Majority, want.Over)
	}
	if _, err := RegressionFromSummaries(NewRegressionSummary(), nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: err = %v", err)
	}
	if err := s.AddBatch([]float64{1}, []float64{math.NaN()}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN: err = %v", err)
	}
	g := NewRegressionGroupSummary(0, 1)
	if err := g.Merge(NewRegressionGroupSummary(0, 2)); !errors.Is(err, ErrIncompatible) {
		t.Errorf("thresholds: err = %v", err)
	}
}

func TestComputeRegressionExtremeMagnitudes(t *testing.T) {
	for _, scale := range []float64{1e200, 1e-200} {
		target := []float64{1 * scale, 2 * scale, 3 * scale}
		pred := []float64{1.5 * scale, 2 * scale, 2 * scale}
		r, err := ComputeRegression(target, pred, nil)
		must(t, err)
		rmse := math.Sqrt((0.25+0+1)/3) * scale
		r2 := 1 - (0.25+1)/2.0
		if math.Abs(r.RMSE-rmse) > 1e-12*rmse || math.Abs(r.R2-r2) > 1e-12 || math.Abs(r.ErrorStd-math.Sqrt(((0.5+1.0/6)*(0.5+1.0/6)+(1.0/6)*(1.0/6)+(1-1.0/6)*(1-1.0/6))/2)*scale) > 1e-12*scale {
			t.Errorf("scale %g: RMSE %v (want %v), R2 %v (want %v), std %v", scale, r.RMSE, rmse, r.R2, r2, r.ErrorStd)
		}
	}
	// A difference that overflows although both values are finite is computed
	// on halves: finite results where the true value is representable, null
	// (NaN, named in Overflow) where it is not.
	r, err := ComputeRegression([]float64{-1e308, 0}, []float64{1e308, 1}, nil)
	must(t, err)
	if want := math.Sqrt2 * 1e308; math.Abs(r.RMSE-want) > 1e-12*want || math.Abs(r.ME-(1e308+0.5)) > 1e-12*1e308 {
		t.Errorf("halved: RMSE %v (want %v), ME %v", r.RMSE, want, r.ME)
	}
	if !math.IsNaN(r.MaxAbsError) || !slices.Contains(r.Overflow, "max_abs_error") {
		t.Errorf("max_abs_error 2e308: got %v, overflow %q", r.MaxAbsError, r.Overflow)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("encode: %v", err)
	}
}

func TestComputeRegressionFeatureErrors(t *testing.T) {
	y, p := []float64{1, 2, 3}, []float64{1, 2, 4}
	cases := map[string]struct {
		f    Feature
		want error
	}{
		"short num":  {Feature{Num: []float64{1}}, ErrLength},
		"short mask": {Feature{Cat: []string{"a", "b", "c"}, Valid: []bool{true}}, ErrLength},
		"nan":        {Feature{Num: []float64{1, math.NaN(), 3}}, ErrNonFinite},
		"both":       {Feature{Num: []float64{1, 2, 3}, Cat: []string{"a", "b", "c"}}, nil},
		"neither":    {Feature{}, nil},
	}
	for name, c := range cases {
		_, err := ComputeRegression(y, p, map[string]Feature{"f": c.f})
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), `"f"`) {
			t.Errorf("%s: error %q does not name the feature", name, err)
		}
	}
	// A NaN in a missing row is fine.
	if _, err := ComputeRegression(y, p, map[string]Feature{"f": {Num: []float64{1, math.NaN(), 3}, Valid: []bool{true, false, true}}}); err != nil {
		t.Errorf("NaN in a missing row: %v", err)
	}
}

func TestRegressionJSONRoundTrip(t *testing.T) {
	n := 50
	target, pred, cat := make([]float64, n), make([]float64, n), make([]string, n)
	for i := range n {
		target[i] = float64(i)
		pred[i] = float64(i) + float64(i%7) - 3
		cat[i] = string(rune('a' + i%3))
	}
	valid := make([]bool, n) // every value of "gone" is missing: NaN/nil fields
	r, err := ComputeRegression(target, pred, map[string]Feature{
		"x": {Num: target}, "c": {Cat: cat}, "gone": {Num: target, Valid: valid}, "gonec": {Cat: cat, Valid: valid},
	})
	must(t, err)
	b, err := json.Marshal(r)
	must(t, err)
	var back Regression
	must(t, json.Unmarshal(b, &back))
	b2, err := json.Marshal(back)
	must(t, err)
	if string(b) != string(b2) {
		t.Errorf("JSON changes on round trip:\n%s\n%s", b, b2)
	}
	if !math.IsNaN(back.ErrorBias["gone"].Under) || back.ErrorBias["gonec"].UnderValue != nil || *back.ErrorBias["c"].OverallValue != "a" {
		t.Errorf("decoded bias: %+v", back.ErrorBias)
	}
}

func TestQualityErrors(t *testing.T) {
	if _, err := NumericQuality(NumColumn{Values: []float64{1}, Valid: []bool{true, false}}, nil); !errors.Is(err, ErrLength) {
		t.Errorf("mask length: err = %v", err)
	}
	if _, err := NumericQuality(NumColumn{Values: []float64{1, math.NaN()}, Valid: []bool{true, false}}, nil); err != nil {
		t.Errorf("NaN in a missing row: %v", err)
	}
	if _, err := CategoricalQuality(CatColumn{Values: []string{"a"}}, &CatColumn{Values: []string{"a"}, Valid: []bool{}}); !errors.Is(err, ErrLength) {
		t.Errorf("ref mask length: err = %v", err)
	}
}
