package drift_test

import (
	"encoding/json"
	"fmt"

	"github.com/modelmon/modelmon/internal/drift"
)

func ExampleRun() {
	ref := drift.Column{Kind: drift.Numerical, Num: []float64{
		0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06, 0.64, -0.82, 0.37}}
	cur := drift.Column{Kind: drift.Numerical, Num: []float64{
		1.77, 1.09, -1.09, 2.03, 1.5, 0.2, 1.37, 1.23, 0.7, 2.23}}
	res, err := drift.Run("ks", ref, cur, 0) // 0: Evidently's default threshold
	if err != nil {
		panic(err)
	}
	// scipy.stats.ks_2samp: statistic=0.7333333333333333, pvalue=0.0014672230448243373
	fmt.Printf("D=%.4f p=%.6f threshold=%v drifted=%v\n", res.Statistic, *res.PValue, res.Threshold, res.Drifted)
	// Output:
	// D=0.7333 p=0.001467 threshold=0.05 drifted=true
}

func ExampleKSPValue() {
	// Exact distribution (both sizes <= 10000).
	p, _ := drift.KSPValue(0.25, 100, 80)
	fmt.Printf("%.6f\n", p)
	// Asymptotic (a size above 10000): kstwo.sf(0.01, round(10001*10001/20002)).
	p, _ = drift.KSPValue(0.01, 10001, 10001)
	fmt.Printf("%.4f\n", p)
	// Output:
	// 0.006371
	// 0.6955
}

func ExampleChiSquareCounts() {
	stat, p, err := drift.ChiSquareCounts([]float64{18, 22, 30, 30}, []float64{25, 25, 25, 25})
	fmt.Printf("%.2f %.6f %v\n", stat, p, err)
	// Output:
	// 4.32 0.228919 <nil>
}

func ExampleJensenShannonShares() {
	fmt.Printf("%.6f\n", drift.JensenShannonShares([]float64{0.5, 0.3, 0.2, 0}, []float64{0.4, 0.3, 0.2, 0.1}))
	// Output:
	// 0.193496
}

func ExamplePSIShares() {
	ref := drift.FloorShares([]float64{0.5, 0.5, 0})
	cur := drift.FloorShares([]float64{0.25, 0.5, 0.25})
	fmt.Printf("%v %.6f\n", ref, drift.PSIShares(ref, cur))
	// Output:
	// [0.5 0.5 0.0001] 2.128516
}

func ExampleSturgesEdges() {
	// np.histogram_bin_edges(x, bins="sturges") for 100 values in [0, 10].
	fmt.Println(drift.SturgesEdges(0, 10, 100))
	// Output:
	// [0 1.25 2.5 3.75 5 6.25 7.5 8.75 10]
}

func ExampleWassersteinNorm() {
	// wasserstein_distance([1,2,3,4], [2,3,4,5,6]) / np.std([1,2,3,4])
	w, _ := drift.WassersteinNorm([]float64{1, 2, 3, 4}, []float64{2, 3, 4, 5, 6})
	fmt.Printf("%.6f\n", w)
	// Output:
	// 1.341641
}

func ExampleDefault() {
	ages := make([]float64, 500)
	for i := range ages {
		ages[i] = float64(18 + i%60)
	}
	fmt.Println(drift.Default(drift.Column{Kind: drift.Numerical, Num: ages}))
	fmt.Println(drift.Default(drift.Column{Kind: drift.Categorical, Cat: []string{"yes", "no", "no"}}))
	big := make([]string, 5000)
	for i := range big {
		big[i] = []string{"a", "b", "c"}[i%3]
	}
	fmt.Println(drift.Default(drift.Column{Kind: drift.Categorical, Cat: big}))
	// Output:
	// ks 0.05
	// z 0.05
	// jensenshannon 0.1
}

func ExampleDataset() {
	ref := map[string]drift.Column{
		"plan":   {Kind: drift.Categorical, Cat: []string{"free", "free", "pro", "free", "team", "pro"}},
		"visits": {Kind: drift.Numerical, Num: []float64{1, 2, 2, 3, 5, 8, 13, 21}},
	}
	cur := map[string]drift.Column{
		"plan":   {Kind: drift.Categorical, Cat: []string{"pro", "pro", "team", "pro", "enterprise"}},
		"visits": {Kind: drift.Numerical, Num: []float64{2, 3, 5, 8, 13, 21, 34}},
	}
	res, err := drift.Dataset([]string{"plan", "visits"}, ref, cur, drift.Options{})
	if err != nil {
		panic(err)
	}
	for _, c := range res.Columns {
		b, _ := json.Marshal(c)
		fmt.Println(c.Name, string(b))
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	// Output:
	// plan {"type":"categorical","stattest":"chisquare","statistic":null,"p_value":0,"threshold":0.05,"drifted":true}
	// visits {"type":"numerical","stattest":"ks","statistic":0.23214285714285715,"p_value":0.9477855477855478,"threshold":0.05,"drifted":false}
	// {"dataset_drift":true,"share_drifted_columns":0.5,"drifted_columns":1}
}
