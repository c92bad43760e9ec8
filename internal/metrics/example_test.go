package metrics_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/modelmon/modelmon/internal/metrics"
)

func ExampleComputeRegression() {
	target := []float64{3, -0.5, 2, 7}
	pred := []float64{2.5, 0.0, 2, 8}
	r, err := metrics.ComputeRegression(target, pred, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ME %.3f MAE %.3f RMSE %.4f R2 %.4f MAPE %.2f%%\n", r.ME, r.MAE, r.RMSE, r.R2, r.MAPE)
	fmt.Printf("p5 %.3f p50 %.3f p95 %.3f\n", r.ErrorQuantiles["p5"], r.ErrorQuantiles["p50"], r.ErrorQuantiles["p95"])
	fmt.Printf("under %d, majority %d, over %d\n", r.Under.Count, r.Majority.Count, r.Over.Count)
	// Output:
	// ME 0.250 MAE 0.500 RMSE 0.6124 R2 0.9486 MAPE 32.74%
	// p5 -0.425 p50 0.250 p95 0.925
	// under 1, majority 2, over 1
}

func ExampleComputeRegression_nonFinite() {
	_, err := metrics.ComputeRegression([]float64{1, math.NaN()}, []float64{1, 2}, nil)
	fmt.Println(errors.Is(err, metrics.ErrNonFinite))
	fmt.Println(err)
	// Output:
	// true
	// metrics: ComputeRegression: target[1] = NaN: non-finite value (NaN or Inf)
}

func ExampleRegression_MarshalJSON() {
	// A single row: R2 and the error std are undefined and encode as null.
	r, _ := metrics.ComputeRegression([]float64{2}, []float64{3}, nil)
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	// Output:
	// {"n":1,"me":1,"mae":1,"mape":50,"rmse":1,"r2":null,"error_std":null,"max_abs_error":1,"mape_skipped_zero_targets":0,"error_quantiles":{"p25":1,"p5":1,"p50":1,"p75":1,"p95":1},"underestimation":{"count":1,"mean_error":1},"majority":{"count":0,"mean_error":null},"overestimation":{"count":1,"mean_error":1}}
}

func ExampleNumericQuality() {
	cur := metrics.NumColumn{Values: []float64{1, 2, 2, 3, 0, 12}, Valid: []bool{true, true, true, true, false, true}}
	ref := metrics.NumColumn{Values: []float64{0, 1, 2, 2.5, 10}}
	q, err := metrics.NumericQuality(cur, &ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("count %d missing %d mean %.2f std %.4f p50 %v\n", q.Count, q.Missing, *q.Mean, *q.Std, *q.P50)
	fmt.Printf("most common %v (%.0f%%), new %v, unused %v, out of range %.0f%%\n",
		*q.MostCommonValue, 100**q.MostCommonShare, q.NewValues, q.UnusedValues, 100**q.OutOfRangeShare)
	// Output:
	// count 5 missing 1 mean 4.00 std 4.5277 p50 2
	// most common 2 (40%), new [3 12], unused [0 2.5 10], out of range 20%
}

func ExampleCategoricalQuality() {
	cur := metrics.CatColumn{Values: []string{"cash", "card", "card", "", "app"}, Valid: []bool{true, true, true, false, true}}
	ref := metrics.CatColumn{Values: []string{"cash", "card", "voucher"}}
	q, _ := metrics.CategoricalQuality(cur, &ref)
	fmt.Println(q.Count, q.Missing, q.Unique, *q.MostCommonCategory, *q.NewCount, q.NewCategories, q.UnusedCategories)
	// Output:
	// 4 1 3 card 1 [app] [voucher]
}

// Summaries of chunks (built by different workers, shipped as JSON) merge
// into the summary of the whole column.
func ExampleNumSummary() {
	chunks := [][]float64{{1, 2, 3}, {4, 5}, {6, 7, 8, 9, 10}}
	total := metrics.NewNumSummary()
	for _, c := range chunks {
		s := metrics.NewNumSummary()
		for _, x := range c {
			s.Add(x)
		}
		b, _ := json.Marshal(s) // ship to the coordinator
		var back metrics.NumSummary
		if err := json.Unmarshal(b, &back); err != nil {
			fmt.Println(err)
			return
		}
		if err := total.Merge(&back); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(total.N(), total.Mean(), total.Quantile(0.25), total.CDF(5), total.Exact())
	// Output:
	// 10 5.5 3.25 0.5 true
}

func ExampleKSStatisticFromSummaries() {
	a, b := metrics.NewNumSummary(), metrics.NewNumSummary()
	for i := range 1000 {
		a.Add(float64(i) / 10)     // 0 … 99.9, 1000 distinct: sketched
		b.Add(float64(i)/10 + 5.0) // shifted by 5
	}
	d, maxErr := metrics.KSStatisticFromSummariesBound(a, b)
	w, wErr := metrics.WassersteinFromSummariesBound(a, b)
	fmt.Printf("KS %.3f (+%.3f), W %.2f (±%.2f)\n", d, maxErr, w, wErr)
	// Output:
	// KS 0.050 (+0.010), W 5.00 (±0.53)
}
