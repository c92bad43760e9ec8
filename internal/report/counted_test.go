package report

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// countedOf returns the current side of d as counts (values in descending
// order, one value split in two entries) and d with its rows in the order the
// counts expand to (missing values last), so that Compute on the latter is
// the expanded computation.
func countedOf(d *Dataset, cfg Config) *CountedDataset {
	c := &CountedDataset{Rows: d.Rows, Numerical: map[string]CountedNum{}, Categorical: map[string]CountedCat{}}
	num := func(values []float64, valid []bool) CountedNum {
		m := map[float64]int64{}
		for i, v := range values {
			if valid == nil || valid[i] {
				m[v]++
			}
		}
		var out CountedNum
		for v, k := range m {
			out.Values, out.Counts = append(out.Values, v), append(out.Counts, k)
		}
		if len(out.Counts) > 0 && out.Counts[0] > 1 {
			out.Counts[0]--
			out.Values, out.Counts = append(out.Values, out.Values[0]), append(out.Counts, 1)
		}
		return out
	}
	for _, name := range cfg.NumericalFeatures {
		c.Numerical[name] = num(d.Numerical[name].Values, d.Numerical[name].Valid)
	}
	for _, name := range cfg.CategoricalFeatures {
		col := d.Categorical[name]
		m := map[string]int64{}
		for i, v := range col.Values {
			if col.Valid == nil || col.Valid[i] {
				m[v]++
			}
		}
		var out CountedCat
		for v, k := range m {
			out.Values, out.Counts = append(out.Values, v), append(out.Counts, k)
		}
		c.Categorical[name] = out
	}
	if d.Prediction != nil {
		p := num(d.Prediction, nil)
		c.Prediction = &p
	}
	return c
}

// TestComputeCountedEqualsCompute: drift, distributions and the reference's
// quality and regression from ComputeCounted equal Compute's on the same rows,
// byte for byte in JSON, on data with the charts' edge cases: one repeated
// value, values near ±MaxFloat64, a single row, a column all missing in the
// current window, more categories than the chart shows, ties at the 99th
// percentile.
func TestComputeCountedEqualsCompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cfg := Config{NumericalFeatures: []string{"x", "y"}, CategoricalFeatures: []string{"c"}}
	gen := func(n int, x func(i int) float64, y func(i int) (float64, bool), c func(i int) string) *Dataset {
		d := NewDataset(cfg)
		d.Rows = n
		for i := range n {
			d.Numerical["x"].Values = append(d.Numerical["x"].Values, x(i))
			v, ok := y(i)
			d.Numerical["y"].Values = append(d.Numerical["y"].Values, v)
			d.Numerical["y"].Valid = append(d.Numerical["y"].Valid, ok)
			d.Categorical["c"].Values = append(d.Categorical["c"].Values, c(i))
			d.Prediction = append(d.Prediction, math.Round(rng.NormFloat64()*20)/4)
			d.Target = append(d.Target, rng.NormFloat64())
		}
		return d
	}
	normal := func(s float64) func(int) float64 {
		return func(int) float64 { return math.Round(rng.NormFloat64()*s*100) / 100 }
	}
	someMissing := func(i int) (float64, bool) { return float64(rng.IntN(9)), i%5 != 0 }
	allMissing := func(int) (float64, bool) { return math.NaN(), false }
	cats := func(k int) func(int) string { return func(int) string { return "k" + strconv.Itoa(rng.IntN(k)) } }
	ref := gen(3000, normal(1), someMissing, cats(30))
	cases := []struct {
		name string
		ref  *Dataset
		cur  *Dataset
	}{
		{"ordinary", ref, gen(5000, normal(1.2), someMissing, cats(25))},
		{"constant", gen(500, func(int) float64 { return 3 }, someMissing, cats(1)), gen(700, func(int) float64 { return 3 }, someMissing, cats(1))},
		{"huge", gen(400, func(int) float64 { return math.Copysign(math.MaxFloat64, rng.Float64()-0.5) * rng.Float64() }, someMissing, cats(3)),
			gen(400, func(int) float64 { return math.Copysign(math.MaxFloat64, rng.Float64()-0.5) }, someMissing, cats(4))},
		{"one-row", ref, gen(1, normal(1), someMissing, cats(2))},
		{"current-missing", ref, gen(300, normal(1), allMissing, cats(40))},
		{"ties", ref, gen(2000, func(i int) float64 { return float64(min(i%100, 3)) }, someMissing, cats(20))},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counted := countedOf(c.cur, cfg)
			got, err := ComputeCounted(ctx, c.ref, counted, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Compute(ctx, c.ref, c.cur, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.DataQuality.Current) != 0 || got.Regression.Current != nil {
				t.Errorf("current quality %v, regression %v: left to the caller", got.DataQuality.Current, got.Regression.Current)
			}
			for _, f := range []struct {
				name      string
				got, want any
			}{
				{"data_drift", got.DataDrift, want.DataDrift},
				{"distributions", got.Distributions, want.Distributions},
				{"reference quality", got.DataQuality.Reference, want.DataQuality.Reference},
				{"reference regression", got.Regression.Reference, want.Regression.Reference},
				{"rows", []int{got.ReferenceRows, got.CurrentRows}, []int{want.ReferenceRows, want.CurrentRows}},
			} {
				g, err1 := json.Marshal(f.got)
				w, err2 := json.Marshal(f.want)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if string(g) != string(w) {
					t.Errorf("%s from counts:\n%s\nfrom the rows:\n%s", f.name, g, w)
				}
			}
		})
	}
	// Bad input: counts that do not match their values, a current side without rows.
	bad := countedOf(cases[0].cur, cfg)
	x := bad.Numerical["x"]
	x.Counts = x.Counts[1:]
	bad.Numerical["x"] = x
	if _, err := ComputeCounted(ctx, ref, bad, cfg); err == nil {
		t.Error("counts of another length accepted")
	}
	if _, err := ComputeCounted(ctx, ref, &CountedDataset{}, cfg); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty current: err = %v, want ErrEmpty", err)
	}
}
