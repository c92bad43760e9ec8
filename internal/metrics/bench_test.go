package metrics

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// run times body b.N times after b.ResetTimer and also reports the
// process CPU time per operation (cpu-ns/op), which is far less sensitive
// than wall time to other load on a shared machine.
func run(b *testing.B, body func()) {
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for range b.N {
		body()
	}
	b.StopTimer()
	if c := cpuTime() - start; c > 0 {
		b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

var benchSizes = []int{10_000, 100_000, 1_000_000}

func benchData(n int) (target, pred []float64, valid []bool) {
	r := rand.New(rand.NewPCG(1, 2))
	target, pred, valid = make([]float64, n), make([]float64, n), make([]bool, n)
	for i := range target {
		target[i] = 1 + 30*r.ExpFloat64()
		pred[i] = target[i] + 3*r.NormFloat64()
		valid[i] = r.Float64() > 0.05
	}
	return
}

func BenchmarkComputeRegression(b *testing.B) {
	for _, n := range benchSizes {
		target, pred, _ := benchData(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			run(b, func() {
				if _, err := ComputeRegression(target, pred, nil); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkComputeRegressionWithFeatures(b *testing.B) {
	n := 1_000_000
	target, pred, valid := benchData(n)
	cats := make([]string, n)
	for i := range cats {
		cats[i] = fmt.Sprint(i % 265)
	}
	feats := map[string]Feature{"x": {Num: target, Valid: valid}, "zone": {Cat: cats}}
	run(b, func() {
		if _, err := ComputeRegression(target, pred, feats); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkNumericQuality(b *testing.B) {
	for _, n := range benchSizes {
		target, pred, valid := benchData(n)
		cur, ref := NumColumn{Values: target, Valid: valid}, NumColumn{Values: pred}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			run(b, func() {
				if _, err := NumericQuality(cur, &ref); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkCategoricalQuality(b *testing.B) {
	n := 1_000_000
	cats := make([]string, n)
	for i := range cats {
		cats[i] = fmt.Sprint(i % 265)
	}
	cur, ref := CatColumn{Values: cats}, CatColumn{Values: cats[:1000]}
	run(b, func() {
		if _, err := CategoricalQuality(cur, &ref); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkNumSummaryBuildMerge builds one summary per 100k-row chunk and
// merges them, then derives the quality statistics.
func BenchmarkNumSummaryBuildMerge(b *testing.B) {
	for _, n := range benchSizes {
		target, _, valid := benchData(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			run(b, func() {
				merged := NewNumSummary()
				for lo := 0; lo < n; lo += 100_000 {
					hi := min(lo+100_000, n)
					s := NewNumSummary()
					if err := s.AddColumn(NumColumn{Values: target[lo:hi], Valid: valid[lo:hi]}); err != nil {
						b.Fatal(err)
					}
					if err := merged.Merge(s); err != nil {
						b.Fatal(err)
					}
				}
				_ = NumericQualityFromSummary(merged, nil)
			})
		})
	}
}

func BenchmarkNumSummaryJSON(b *testing.B) {
	target, _, _ := benchData(100_000)
	s := NewNumSummary()
	for _, x := range target {
		s.Add(x)
	}
	run(b, func() {
		buf, err := s.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		var t NumSummary
		if err := t.UnmarshalJSON(buf); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkKSFromSummaries(b *testing.B) {
	target, pred, _ := benchData(100_000)
	sa, sb := NewNumSummary(), NewNumSummary()
	for i := range target {
		sa.Add(target[i])
		sb.Add(pred[i])
	}
	run(b, func() {
		_ = KSStatisticFromSummaries(sa, sb)
		_ = WassersteinFromSummaries(sa, sb)
	})
}
