package estimate

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

const goldenDir = "../../testdata/estimate/"

// readCSV reads a numeric CSV with a header into columns by name ("NaN": missing).
func readCSV(t *testing.T, path string) map[string][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for _, r := range rows[1:] {
		for j, name := range rows[0] {
			v, err := strconv.ParseFloat(r[j], 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out[name] = append(out[name], v)
		}
	}
	return out
}

func fitCSV(t *testing.T, train map[string][]float64, names []string, cat []bool, p GBTParams) ([]Binner, *GBT) {
	t.Helper()
	raw := make([][]float64, len(names))
	for f, n := range names {
		raw[f] = train[n]
	}
	binners, err := FitBinners(names, cat, raw, p.MaxBins)
	if err != nil {
		t.Fatal(err)
	}
	g, err := FitGBT(context.Background(), binners, BinColumns(binners, raw), train["y"], p)
	if err != nil {
		t.Fatal(err)
	}
	return binners, g
}

func predictCSV(binners []Binner, g *GBT, test map[string][]float64, names []string) []float64 {
	raw := make([][]float64, len(names))
	for f, n := range names {
		raw[f] = test[n]
	}
	cols := BinColumns(binners, raw)
	fl := compile(g, binners)
	out := make([]float64, len(raw[0]))
	bins := make([]uint16, 0, len(out)*len(names))
	for i := range out {
		row := make([]uint16, len(names))
		for f := range row {
			row[f] = cols[f][i]
		}
		bins = append(bins, row...)
		out[i] = g.Predict(binners, row)
		if p := fl.predict(row); p != out[i] {
			panic("compiled tree disagrees")
		}
	}
	all := make([]float64, len(out))
	fl.predictRows(bins, len(names), all)
	for i := range all {
		if all[i] != out[i] {
			panic("tree-major prediction disagrees")
		}
	}
	return out
}

// One tree with learning rate 1, no regularisation and one value per bin is an
// exact CART regression tree: it must predict what sklearn's
// DecisionTreeRegressor(max_depth=4) predicts (testdata/estimate/sklearn_gbt.py).
func TestSingleTreeEqualsSklearn(t *testing.T) {
	train := readCSV(t, goldenDir+"tree_train.csv")
	test := readCSV(t, goldenDir+"tree_test.csv")
	names := []string{"x0", "x1", "x2"}
	p := GBTParams{Trees: 1, LearningRate: 1, MaxLeaves: 1 << 10, MaxDepth: 4, MinLeaf: 1, Lambda: 0, MaxBins: 255}
	binners, g := fitCSV(t, train, names, make([]bool, 3), p)
	if n := len(g.Trees[0].Nodes); n != 31 {
		t.Errorf("tree has %d nodes, want the full depth-4 tree (31)", n)
	}
	got := predictCSV(binners, g, test, names)
	for i, want := range test["sk"] {
		if math.Abs(got[i]-want) > 1e-9 {
			t.Errorf("row %d: %v, sklearn %v", i, got[i], want)
		}
	}
}

// The boosted ensemble with sklearn's HistGradientBoostingRegressor
// hyperparameters reaches a held-out MSE within 5% of sklearn's, on data with a
// categorical feature and missing values.
func TestEnsembleComparableToSklearnHGB(t *testing.T) {
	var golden struct {
		TestMSE      float64 `json:"test_mse"`
		TestVariance float64 `json:"test_variance"`
	}
	b, err := os.ReadFile(goldenDir + "hgb_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	train := readCSV(t, goldenDir+"hgb_train.csv")
	test := readCSV(t, goldenDir+"hgb_test.csv")
	names := []string{"x0", "x1", "x2", "x3", "x4", "cat"}
	cat := []bool{false, false, false, false, false, true}
	p := GBTParams{Trees: 100, LearningRate: 0.1, MaxLeaves: 31, MinLeaf: 20, Lambda: 1, MaxBins: 255, MinCatRows: 10, CatSmooth: 10}
	binners, g := fitCSV(t, train, names, cat, p)
	pred := predictCSV(binners, g, test, names)
	var mse float64
	for i, y := range test["y"] {
		mse += (pred[i] - y) * (pred[i] - y)
	}
	mse /= float64(len(pred))
	t.Logf("held-out MSE: go %.4f, sklearn %.4f, variance %.4f", mse, golden.TestMSE, golden.TestVariance)
	if mse > 1.05*golden.TestMSE {
		t.Errorf("held-out MSE %.4f, more than 5%% above sklearn's %.4f", mse, golden.TestMSE)
	}
	// the same inputs give the same ensemble
	_, g2 := fitCSV(t, train, names, cat, p)
	a, _ := json.Marshal(g)
	c, _ := json.Marshal(g2)
	if string(a) != string(c) {
		t.Error("two fits of the same data differ")
	}
}

func TestBinner(t *testing.T) {
	b, err := fitBinner("x", []float64{3, 1, 2, 2, math.NaN()}, false, 255)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{1.5, 2.5}; len(b.Edges) != 2 || b.Edges[0] != want[0] || b.Edges[1] != want[1] {
		t.Fatalf("edges %v, want %v", b.Edges, want)
	}
	for _, c := range []struct {
		v     float64
		bin   uint16
		known bool
	}{{1, 0, true}, {1.5, 0, true}, {2, 1, true}, {9, 2, true}, {math.NaN(), 3, false}} {
		if got, known := b.Bin(c.v); got != c.bin || known != c.known {
			t.Errorf("Bin(%v) = %d, %v; want %d, %v", c.v, got, known, c.bin, c.known)
		}
	}
	cb, err := fitBinner("zone", []float64{7, 3, 7, 265}, true, 255)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v     float64
		bin   uint16
		known bool
	}{{3, 0, true}, {7, 1, true}, {265, 2, true}, {4, 3, false}, {999, 3, false}, {math.NaN(), 3, false}} {
		if got, known := cb.Bin(c.v); got != c.bin || known != c.known {
			t.Errorf("categorical Bin(%v) = %d, %v; want %d, %v", c.v, got, known, c.bin, c.known)
		}
	}
	if _, err := fitBinner("zone", []float64{1.5}, true, 255); err == nil {
		t.Error("non-integer category: no error")
	}
	// many distinct values: at most maxBins value bins
	many := make([]float64, 10000)
	for i := range many {
		many[i] = float64(i % 997)
	}
	mb, err := fitBinner("m", many, false, 255)
	if err != nil {
		t.Fatal(err)
	}
	if nb := mb.NumBins(); nb > 256 || nb < 200 {
		t.Errorf("%d bins for 997 distinct values, want <= 255 + missing", nb)
	}
}
