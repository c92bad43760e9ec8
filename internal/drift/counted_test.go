package drift

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/taxi"
)

// countedOf returns col as a counted column: its distinct values with their
// counts, in a shuffled order (a counted column need not be sorted), some
// values split in two entries (repeats must add up).
func countedOf(col Column, rng *rand.Rand) Column {
	out := Column{Kind: col.Kind}
	if col.Kind == Numerical {
		idx := map[float64]int{}
		for _, v := range col.Num {
			i, ok := idx[v]
			if !ok {
				i = len(out.Num)
				idx[v] = i
				out.Num = append(out.Num, v)
				out.Counts = append(out.Counts, 0)
			}
			out.Counts[i]++
		}
	} else {
		idx := map[string]int{}
		for _, v := range col.Cat {
			i, ok := idx[v]
			if !ok {
				i = len(out.Cat)
				idx[v] = i
				out.Cat = append(out.Cat, v)
				out.Counts = append(out.Counts, 0)
			}
			out.Counts[i]++
		}
	}
	for i := range out.Counts { // split a few counts
		if out.Counts[i] > 1 && rng.IntN(4) == 0 {
			k := 1 + rng.Int64N(out.Counts[i]-1)
			out.Counts[i] -= k
			out.Counts = append(out.Counts, k)
			if col.Kind == Numerical {
				out.Num = append(out.Num, out.Num[i])
			} else {
				out.Cat = append(out.Cat, out.Cat[i])
			}
		}
	}
	rng.Shuffle(len(out.Counts), func(a, b int) {
		out.Counts[a], out.Counts[b] = out.Counts[b], out.Counts[a]
		if col.Kind == Numerical {
			out.Num[a], out.Num[b] = out.Num[b], out.Num[a]
		} else {
			out.Cat[a], out.Cat[b] = out.Cat[b], out.Cat[a]
		}
	})
	return out
}

// sameResult compares a counted result with the expanded one: statistic and
// p-value within rtol relative (NaN and infinities must match), same verdict.
func sameResult(t *testing.T, what string, got, want Result, gotErr, wantErr error, rtol float64) {
	t.Helper()
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s: counted error %v, expanded error %v", what, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if !closeTo(got.Statistic, want.Statistic, rtol, 0) {
		t.Errorf("%s: statistic %.17g, expanded %.17g (rel %.2g)", what, got.Statistic, want.Statistic, math.Abs(got.Statistic-want.Statistic)/math.Abs(want.Statistic))
	}
	if (got.PValue == nil) != (want.PValue == nil) {
		t.Fatalf("%s: p-value %v, expanded %v", what, got.PValue, want.PValue)
	}
	if want.PValue != nil && !closeTo(*got.PValue, *want.PValue, rtol, 0) {
		t.Errorf("%s: p-value %.17g, expanded %.17g", what, *got.PValue, *want.PValue)
	}
	if got.Drifted != want.Drifted {
		t.Errorf("%s: drifted %v, expanded %v", what, got.Drifted, want.Drifted)
	}
}

// countedSamples are reference/current pairs with ties, integers in a small
// and a large range, continuous values, negative zeros, few and many distinct
// values, and sizes on both sides of ks' exact/asymptotic switch.
func countedSamples() []struct {
	name     string
	ref, cur Column
} {
	rng := rand.New(rand.NewPCG(7, 13))
	num := func(n int, f func() float64) Column {
		c := Column{Kind: Numerical, Num: make([]float64, n)}
		for i := range c.Num {
			c.Num[i] = f()
		}
		return c
	}
	cat := func(n, k int, skew float64) Column {
		c := Column{Kind: Categorical, Cat: make([]string, n)}
		for i := range c.Cat {
			c.Cat[i] = "c" + strconv.Itoa(int(float64(k)*math.Pow(rng.Float64(), skew)))
		}
		return c
	}
	out := []struct {
		name     string
		ref, cur Column
	}{
		{"int-small", num(800, func() float64 { return float64(rng.IntN(40)) }), num(3000, func() float64 { return float64(rng.IntN(45)) })},
		{"int-few", num(500, func() float64 { return float64(rng.IntN(4)) }), num(900, func() float64 { return float64(rng.IntN(4)) })},
		{"int-two", num(300, func() float64 { return float64(rng.IntN(2)) }), num(400, func() float64 { return float64(rng.IntN(2)) })},
		{"int-wide", num(2000, func() float64 { return float64(rng.IntN(1 << 20)) }), num(5000, func() float64 { return float64(rng.IntN(1<<20) + 5000) })},
		{"continuous-ties", num(1500, func() float64 { return math.Round(rng.NormFloat64()*1000) / 100 }), num(12000, func() float64 { return math.Round((rng.NormFloat64()+0.1)*1000) / 100 })},
		{"continuous", num(700, rng.NormFloat64), num(700, func() float64 { return rng.NormFloat64() * 1.1 })},
		{"signed-zero", num(200, func() float64 { return math.Copysign(0, rng.Float64()-0.5) * float64(rng.IntN(3)) }), num(300, func() float64 { return math.Copysign(float64(rng.IntN(3)), rng.Float64()-0.5) })},
		{"huge", num(400, func() float64 { return math.Round(rng.NormFloat64()*10) * 1e301 }), num(500, func() float64 { return math.Round(rng.NormFloat64()*12) * 1e301 })},
		{"cat", cat(3000, 60, 2), cat(20000, 70, 1.7)},
		{"cat-small", cat(500, 3, 1), cat(800, 3, 1.3)},
		{"cat-two", cat(400, 2, 1), cat(600, 2, 1)},
	}
	return out
}

// TestCountedEqualsExpanded: every test on a counted current (and on a
// counted reference too) gives the result of the same test on the expanded
// columns, to 1e-12 relative (the counted forms are exact; wasserstein with a
// counted reference computes the reference's std from counts).
func TestCountedEqualsExpanded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range countedSamples() {
		for _, test := range Tests() {
			info, _ := Info(test)
			if s.ref.Kind == Categorical && !info.Categorical {
				continue
			}
			if test == "fisher_exact" && s.name != "int-two" && s.name != "cat-two" {
				continue
			}
			if (test == "TVD" || test == "empirical_mmd") && s.ref.Len()+s.cur.Len() > 3000 {
				continue // permutation tests: slow on large samples, and not counted
			}
			t.Run(s.name+"/"+test, func(t *testing.T) {
				cc := countedOf(s.cur, rng)
				ce := cc.Expanded()
				if ce.Len() != s.cur.Len() || cc.Len() != s.cur.Len() {
					t.Fatalf("expanded %d, counted %d, want %d", ce.Len(), cc.Len(), s.cur.Len())
				}
				want, wantErr := Run(test, s.ref, ce, 0)
				got, gotErr := Run(test, s.ref, cc, 0)
				sameResult(t, "counted current", got, want, gotErr, wantErr, 1e-12)
				if wantErr == nil && Counted(test) {
					// The counted form on the original (unexpanded, unsorted) current too.
					orig, err := Run(test, s.ref, s.cur, 0)
					sameResult(t, "original order", got, orig, gotErr, err, 1e-12)
				}
				rc := countedOf(s.ref, rng)
				want, wantErr = Run(test, rc.Expanded(), ce, 0)
				got, gotErr = Run(test, rc, cc, 0)
				sameResult(t, "both counted", got, want, gotErr, wantErr, 1e-12)
			})
		}
	}
}

// TestCountedGolden runs the scipy golden cases of the counted tests with
// the current sample (then both samples) given as counts.
func TestCountedGolden(t *testing.T) {
	g := loadGolden(t)
	rng := rand.New(rand.NewPCG(3, 4))
	n := 0
	for _, c := range g.Cases {
		if !Counted(c.Test) {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			ref, cur := column(t, c.Kind, c.Ref), column(t, c.Kind, c.Cur)
			for _, both := range []bool{false, true} {
				r, cu := ref, countedOf(cur, rng)
				if both {
					r = countedOf(ref, rng)
				}
				res, err := Run(c.Test, r, cu, 0)
				if c.Error {
					if err == nil {
						t.Fatalf("%s: want error (%s), got %+v", c.Test, c.Note, res)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", c.Test, err)
				}
				rtol := c.RTol
				if both && c.Test == "wasserstein" {
					rtol = max(rtol, 1e-12)
				}
				if c.Statistic != nil && !closeTo(res.Statistic, float64(*c.Statistic), rtol, c.ATol) {
					t.Errorf("both counted %v: statistic %v, scipy %v", both, res.Statistic, float64(*c.Statistic))
				}
				if c.PValue != nil && (res.PValue == nil || !closeTo(*res.PValue, float64(*c.PValue), rtol, max(c.ATol, 1e-15))) {
					t.Errorf("both counted %v: p-value %v, scipy %v", both, res.PValue, float64(*c.PValue))
				}
			}
		})
	}
	if n < 40 {
		t.Fatalf("only %d golden cases of counted tests", n)
	}
}

var (
	monthCols     map[string]map[string]Column // month -> column
	monthColsOnce sync.Once
	monthColsErr  error
)

// taxiColumns reads two real months: trip_distance, fare_amount (numerical)
// and the pickup and drop-off zones (categorical), missing values dropped.
func taxiColumns(t testing.TB) map[string]map[string]Column {
	t.Helper()
	monthColsOnce.Do(func() {
		monthCols = map[string]map[string]Column{}
		for _, m := range []string{"2021-01", "2022-01"} {
			trips, err := taxi.ReadFile(context.Background(), filepath.Join("..", "..", "data", "green_tripdata_"+m+".parquet"))
			if err != nil {
				monthColsErr = err
				return
			}
			cols := map[string]Column{
				"trip_distance": {Kind: Numerical}, "fare_amount": {Kind: Numerical},
				"PULocationID": {Kind: Categorical}, "DOLocationID": {Kind: Categorical},
			}
			add := func(name string, v *float64) {
				if v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
					c := cols[name]
					c.Num = append(c.Num, *v)
					cols[name] = c
				}
			}
			addCat := func(name string, v *int64) {
				if v != nil {
					c := cols[name]
					c.Cat = append(c.Cat, strconv.FormatInt(*v, 10))
					cols[name] = c
				}
			}
			for _, tr := range trips {
				add("trip_distance", tr.TripDistance)
				add("fare_amount", tr.FareAmount)
				addCat("PULocationID", tr.PULocationID)
				addCat("DOLocationID", tr.DOLocationID)
			}
			monthCols[m] = cols
		}
	})
	if monthColsErr != nil {
		t.Fatal(monthColsErr)
	}
	return monthCols
}

// sketched returns a numerical column as a metrics.NumSummary holds it (the
// partitioned path's merged profile): exact values, or beyond 512 distinct
// values the sketch buckets' representatives, with counts (NumSummary.Expand).
func sketched(t testing.TB, col Column) Column {
	s := metrics.NewNumSummary()
	for _, v := range col.Num {
		s.Add(v)
	}
	out := Column{Kind: Numerical}
	s.Expand(func(v float64, k int64) {
		out.Num = append(out.Num, v)
		out.Counts = append(out.Counts, k)
	})
	if out.Len() != col.Len() {
		t.Fatalf("sketch holds %d of %d values", out.Len(), col.Len())
	}
	return out
}

// TestCountedRealMonths: 2022-01 against 2021-01, the current month's columns
// given as a profile holds them (the sketch's buckets for the numerical
// columns, category counts), every applicable counted test and the calibrated
// dataset verdict against the same computation on the expanded columns.
func TestCountedRealMonths(t *testing.T) {
	ms := taxiColumns(t)
	ref, cur := ms["2021-01"], ms["2022-01"]
	names := []string{"trip_distance", "fare_amount", "PULocationID", "DOLocationID"}
	counted, expanded := map[string]Column{}, map[string]Column{}
	for _, name := range names {
		c := cur[name]
		if c.Kind == Numerical {
			counted[name] = sketched(t, c)
		} else {
			counted[name] = countedOf(c, rand.New(rand.NewPCG(5, 6)))
		}
		expanded[name] = counted[name].Expanded()
		if len(counted[name].Counts) > 2000 {
			t.Errorf("%s: %d counted values for %d rows", name, len(counted[name].Counts), c.Len())
		}
	}
	for _, name := range names {
		for _, test := range Tests() {
			info, _ := Info(test)
			if !Counted(test) || (ref[name].Kind == Categorical && !info.Categorical) || test == "fisher_exact" {
				continue
			}
			want, wantErr := Run(test, ref[name], expanded[name], 0)
			got, gotErr := Run(test, ref[name], counted[name], 0)
			sameResult(t, name+"/"+test, got, want, gotErr, wantErr, 1e-12)
			t.Logf("%-14s %-14s %.6g", name, test, got.Statistic)
		}
	}
	for _, method := range []string{MethodFixed, MethodCalibrated} {
		opts := Options{Method: method, SkipUndefined: true}
		want, err := Dataset(names, ref, expanded, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Dataset(names, ref, counted, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.DatasetDrift != want.DatasetDrift || got.Drifted != want.Drifted || len(got.Columns) != len(want.Columns) {
			t.Fatalf("%s: dataset %+v, expanded %+v", method, got, want)
		}
		for i, g := range got.Columns {
			w := want.Columns[i]
			sameResult(t, method+"/"+g.Name, g.Result, w.Result, nil, nil, 1e-12)
			if fmt.Sprint(g.Calibration) != fmt.Sprint(w.Calibration) {
				t.Errorf("%s/%s: calibration %+v, expanded %+v", method, g.Name, g.Calibration, w.Calibration)
			}
		}
	}
}

func TestCountedBadCounts(t *testing.T) {
	ref := Column{Kind: Numerical, Num: []float64{1, 2, 3}}
	for _, cur := range []Column{
		{Kind: Numerical, Num: []float64{1, 2}, Counts: []int64{1}},
		{Kind: Numerical, Num: []float64{1, 2}, Counts: []int64{1, 0}},
		{Kind: Numerical, Num: []float64{1, 2}, Counts: []int64{3, -1}},
	} {
		if _, err := Run("ks", ref, cur, 0); err == nil || !strings.Contains(err.Error(), "current") || !strings.Contains(err.Error(), "count") {
			t.Errorf("counts %v: err = %v", cur.Counts, err)
		}
	}
	if _, err := Run("ks", ref, Column{Kind: Numerical, Num: []float64{}, Counts: []int64{}}, 0); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty counted column: err = %v, want ErrEmpty", err)
	}
}
