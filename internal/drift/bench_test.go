package drift

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// loop runs f b.N times and also reports CPU time per op ("cpu-ns/op"),
// which stays meaningful when other processes compete for the cores and
// inflate the wall-clock ns/op (where cpuTime can measure it: unix).
func loop(b *testing.B, f func()) {
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	if c0 > 0 {
		b.ReportMetric(float64(cpuTime()-c0)/float64(n), "cpu-ns/op")
	}
}

// Benchmarks on 1e3, 1e5 and 1e6 values per sample. Keep runs short on
// shared machines, e.g.
//
//	go test ./internal/drift/ -run '^$' -bench . -benchtime 3x

var benchSizes = []int{1_000, 100_000, 1_000_000}

// lognormalPair returns a lognormal sample and a bootstrap resample of it
// (same distribution, many ties), optionally scaled to create drift.
func lognormalPair(n int, scale float64) (ref, cur []float64) {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	ref = make([]float64, n)
	for i := range ref {
		ref[i] = math.Exp(r.NormFloat64())
	}
	cur = make([]float64, n)
	for i := range cur {
		cur[i] = ref[r.IntN(n)] * scale
	}
	return ref, cur
}

// intPair returns integer-valued columns over ~260 categories with a
// skewed (triangular-ish) distribution.
func intPair(n int) (ref, cur []float64) {
	r := rand.New(rand.NewPCG(2, uint64(n)))
	gen := func() []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Floor(260 * r.Float64() * math.Sqrt(r.Float64()))
		}
		return x
	}
	return gen(), gen()
}

func benchRun(b *testing.B, test string, ref, cur Column) {
	loop(b, func() {
		if _, err := Run(test, ref, cur, 0); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkKS(b *testing.B) {
	for _, n := range benchSizes {
		ref, cur := lognormalPair(n, 1)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchRun(b, "ks", Column{Num: ref}, Column{Num: cur})
		})
	}
}

// BenchmarkKSDrift is KS with a 1% scale drift: at 1e6 the p-value needs
// the one-sided Smirnov series (n = 500000 terms before truncation).
func BenchmarkKSDrift(b *testing.B) {
	for _, n := range benchSizes {
		ref, cur := lognormalPair(n, 1.01)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchRun(b, "ks", Column{Num: ref}, Column{Num: cur})
		})
	}
}

func BenchmarkWasserstein(b *testing.B) {
	for _, n := range benchSizes {
		ref, cur := lognormalPair(n, 1)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchRun(b, "wasserstein", Column{Num: ref}, Column{Num: cur})
		})
	}
}

func BenchmarkChiSquare(b *testing.B) {
	for _, n := range benchSizes {
		ref, cur := intPair(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchRun(b, "chisquare", Column{Num: ref}, Column{Num: cur})
		})
	}
}

func BenchmarkJensenShannon(b *testing.B) {
	for _, n := range benchSizes {
		ref, cur := intPair(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchRun(b, "jensenshannon", Column{Num: ref}, Column{Num: cur})
		})
	}
}

// BenchmarkChiSquareStrings is chi-square on the same data as string labels.
func BenchmarkChiSquareStrings(b *testing.B) {
	for _, n := range benchSizes {
		ref, cur := intPair(n)
		rs, cs := make([]string, n), make([]string, n)
		for i := range ref {
			rs[i] = "c" + strconv.Itoa(int(ref[i]))
			cs[i] = "c" + strconv.Itoa(int(cur[i]))
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchRun(b, "chisquare", Column{Kind: Categorical, Cat: rs}, Column{Kind: Categorical, Cat: cs})
		})
	}
}

// BenchmarkSet is the reference workload: K-S and Wasserstein on a skewed
// numerical column plus chi-square and Jensen-Shannon on ~260-category
// integer columns, each through Run (every call sorts/counts its input).
func BenchmarkSet(b *testing.B) {
	for _, n := range benchSizes {
		nref, ncur := lognormalPair(n, 1)
		iref, icur := intPair(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			loop(b, func() {
				for _, job := range []struct {
					test     string
					ref, cur []float64
				}{{"ks", nref, ncur}, {"wasserstein", nref, ncur}, {"chisquare", iref, icur}, {"jensenshannon", iref, icur}} {
					if _, err := Run(job.test, Column{Num: job.ref}, Column{Num: job.cur}, 0); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkSetSortOnce is BenchmarkSet with the numerical column sorted
// once and shared by K-S and Wasserstein (the sorted-input kernels).
func BenchmarkSetSortOnce(b *testing.B) {
	for _, n := range benchSizes {
		nref, ncur := lognormalPair(n, 1)
		iref, icur := intPair(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			loop(b, func() {
				rs, release1 := sortedTemp(nref)
				cs, release2 := sortedTemp(ncur)
				if _, _, err := KSSorted(rs, cs); err != nil {
					b.Fatal(err)
				}
				_ = wassersteinNormSorted(nref, rs, cs, 0.001)
				release1()
				release2()
				for _, test := range []string{"chisquare", "jensenshannon"} {
					if _, err := Run(test, Column{Num: iref}, Column{Num: icur}, 0); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkSort(b *testing.B) {
	for _, n := range benchSizes {
		x, _ := lognormalPair(n, 1)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			loop(b, func() { sortedCopy(x) })
		})
	}
}
