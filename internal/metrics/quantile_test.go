package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuantilesMatchSort checks the selection-based quantiles against a
// full sort on random, heavily tied, sorted and reversed inputs.
func TestQuantilesMatchSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	qs := []float64{0, 0.001, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999, 1}
	gens := map[string]func(n int) []float64{
		"normal": func(n int) []float64 {
			x := make([]float64, n)
			for i := range x {
				x[i] = r.NormFloat64()
			}
			return x
		},
		"ties": func(n int) []float64 {
			x := make([]float64, n)
			for i := range x {
				x[i] = float64(r.IntN(3))
			}
			return x
		},
		"constant": func(n int) []float64 { x := make([]float64, n); return x },
		"sorted": func(n int) []float64 {
			x := make([]float64, n)
			for i := range x {
				x[i] = float64(i)
			}
			return x
		},
		"reversed": func(n int) []float64 {
			x := make([]float64, n)
			for i := range x {
				x[i] = float64(n - i)
			}
			return x
		},
		"organ": func(n int) []float64 {
			x := make([]float64, n)
			for i := range x {
				x[i] = float64(min(i, n-i))
			}
			return x
		},
	}
	for name, gen := range gens {
		for _, n := range []int{1, 2, 3, 7, 33, 100, 1000, 10007} {
			x := gen(n)
			got, err := Quantiles(x, qs)
			if err != nil {
				t.Fatal(err)
			}
			sorted := slices.Sorted(slices.Values(x))
			for i, q := range qs {
				if want := QuantileSorted(q, sorted); got[i] != want {
					t.Errorf("%s n=%d q=%v: got %v, want %v", name, n, q, got[i], want)
				}
			}
		}
	}
}

func TestQuantilesErrors(t *testing.T) {
	if _, err := Quantiles(nil, []float64{0.5}); err == nil {
		t.Error("empty input: want error")
	}
	if _, err := Quantiles([]float64{1, math.NaN()}, []float64{0.5}); err == nil {
		t.Error("NaN input: want error")
	}
	if _, err := Quantiles([]float64{1}, []float64{1.5}); err == nil {
		t.Error("q > 1: want error")
	}
}

func TestRadixSortFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 255, 256, 1000, 70000} {
		for _, kind := range []string{"mixed", "ties", "narrow", "extremes"} {
			x := make([]float64, n)
			for i := range x {
				switch kind {
				case "mixed":
					x[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
				case "ties":
					x[i] = float64(r.IntN(5) - 2)
				case "narrow":
					x[i] = 1e9 + r.Float64()
				case "extremes":
					x[i] = []float64{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0, 1}[r.IntN(6)]
				}
			}
			want := slices.Sorted(slices.Values(x))
			radixSortFloat64(x)
			if !slices.Equal(x, want) {
				t.Errorf("%s n=%d: radix sort disagrees with slices.Sort", kind, n)
			}
			// orderStats on the same data.
			if n > 0 {
				ks := []int{0, n / 3, n / 2, n - 1}
				ks = slices.Compact(ks)
				r.Shuffle(n, func(i, j int) { x[i], x[j] = x[j], x[i] })
				got := orderStats(x, nil, ks)
				for i, k := range ks {
					if got[i] != want[k] {
						t.Errorf("%s n=%d: orderStats rank %d = %v, want %v", kind, n, k, got[i], want[k])
					}
				}
			}
		}
	}
}

func TestQuantilesManyLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float64, 5000)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	qs := make([]float64, 201)
	for i := range qs {
		qs[i] = float64(i) / 200
	}
	got, err := Quantiles(x, qs)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Sorted(slices.Values(x))
	for i, q := range qs {
		if want := QuantileSorted(q, sorted); got[i] != want {
			t.Errorf("q=%v: got %v, want %v", q, got[i], want)
		}
	}
}
