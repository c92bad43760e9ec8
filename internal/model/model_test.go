package model

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A small rank-deficient problem whose minimum-norm solution is known in closed form:
// levels a_A = 1, a_B = 3, a_C = 8 with slope 2 (exact fit), so intercept = mean(a) = 4
// and w = a - 4.
func smallData() Data {
	cat := []string{"A", "A", "B", "B", "C", "C", "C"}
	x := []float64{0, 1, 0, 2, 1, 2, 5}
	level := map[string]float64{"A": 1, "B": 3, "C": 8}
	y := make([]float64, len(x))
	for i := range x {
		y[i] = level[cat[i]] + 2*x[i]
	}
	return Data{Category: cat, Numerical: [][]float64{x}, Target: y}
}

func TestFitClosedForm(t *testing.T) {
	icpt, num, cat, err := Fit(smallData())
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("intercept", icpt, 4)
	near("slope", num[0], 2)
	near("A", cat["A"], -3)
	near("B", cat["B"], -1)
	near("C", cat["C"], 4)
}

func TestFitErrors(t *testing.T) {
	d := smallData()
	d.Target[3] = math.NaN()
	if _, _, _, err := Fit(d); err == nil || !strings.Contains(err.Error(), "row 3") {
		t.Errorf("NaN target: %v", err)
	}
	if _, _, _, err := Fit(Data{}); err == nil {
		t.Error("empty data: no error")
	}
	// One row per category: no within-category variation, slope not identified.
	d = Data{Category: []string{"A", "B"}, Numerical: [][]float64{{1, 2}}, Target: []float64{1, 2}}
	if _, _, _, err := Fit(d); err == nil {
		t.Error("singular: no error")
	}
}

func sealed(t *testing.T) *Model {
	icpt, num, cat, err := Fit(smallData())
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{Target: "y", Categorical: "c", Numerical: []string{"x"}, Intercept: icpt, NumericalCoef: num, CategoryCoef: cat}
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := sealed(t)
	path := filepath.Join(t.TempDir(), "m.json")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != m.Version || !strings.HasPrefix(got.Version, "sha256:") {
		t.Fatalf("version %q, want %q", got.Version, m.Version)
	}
	if p, w := got.Predict("C", []float64{1}), m.Predict("C", []float64{1}); p != w || math.Abs(p-10) > 1e-12 {
		t.Errorf("prediction %v, want %v = 10", p, w)
	}
	if p := got.Predict("unseen", []float64{1}); math.Abs(p-6) > 1e-12 {
		t.Errorf("unseen category: %v, want intercept + slope = 6", p)
	}
	// The version is a content hash: another model gets another version.
	m2 := sealed(t)
	m2.Intercept += 1e-9
	if err := m2.Seal(); err != nil {
		t.Fatal(err)
	}
	if m2.Version == m.Version {
		t.Error("different coefficients, same version")
	}
}

func TestLoadRejects(t *testing.T) {
	m := sealed(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := m.Save(good); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]struct {
		path string
		want string
	}{
		"missing":      {filepath.Join(dir, "nope.json"), "no such file"},
		"truncated":    {write("trunc.json", string(raw[:len(raw)/2])), "not a model artifact"},
		"foreign":      {write("foreign.json", `{"weights":[1,2,3]}`), "not a model artifact"},
		"other format": {write("other.json", strings.Replace(string(raw), Format, "sklearn.pickle", 1)), "format"},
		"newer":        {write("newer.json", strings.Replace(string(raw), `"format_version": 1`, `"format_version": 2`, 1)), "format version 2"},
		"tampered":     {write("tampered.json", strings.Replace(string(raw), `"target": "y"`, `"target": "z"`, 1)), "altered"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(c.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if name != "missing" && !errors.Is(err, ErrNotModel) {
				t.Errorf("error %v is not ErrNotModel", err)
			}
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	icpt, num, cat, _ := Fit(smallData())
	m := &Model{Intercept: icpt, NumericalCoef: num, CategoryCoef: cat}
	x := []float64{2.5}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Predict("B", x)
	}
}

// PredictKnown is Predict and Known in one lookup: the same numbers, an unseen
// category contributing 0.
func TestPredictKnown(t *testing.T) {
	m := &Model{Intercept: 4, NumericalCoef: []float64{2}, CategoryCoef: map[string]float64{"A": -3, "B": 0}}
	for _, c := range []struct {
		cat   string
		x     float64
		want  float64
		known bool
	}{{"A", 1.5, 4, true}, {"B", 0, 4, true}, {"Z", 1, 6, false}} {
		y, known := m.PredictKnown(c.cat, []float64{c.x})
		if y != c.want || known != c.known || y != m.Predict(c.cat, []float64{c.x}) || known != m.Known(c.cat) {
			t.Errorf("PredictKnown(%q, %v) = %v, %v; want %v, %v", c.cat, c.x, y, known, c.want, c.known)
		}
	}
}
