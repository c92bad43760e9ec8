package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/modelmon/modelmon/internal/drift"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Tolerances of the golden comparisons. relTol is relative to the expected
// value; absTol(scale) adds an absolute floor proportional to the size of
// the inputs, for results that cancel to near 0 (a mean error of ≈0 from
// values of size 1e9, say), where numpy's pairwise summation and a plain
// running sum may differ by a few ulps of the inputs.
const relTol = 1e-9

func absTol(scale float64) float64 { return 1e-12 * math.Max(1, scale) }

// goldenValue is an input value: a number, null (missing) or "nan", "inf",
// "-inf".
type goldenValue struct {
	x     float64
	valid bool
	s     string
	isStr bool
}

func (v *goldenValue) UnmarshalJSON(b []byte) error {
	var a any
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	switch t := a.(type) {
	case nil:
	case float64:
		v.x, v.valid = t, true
	case string:
		v.s, v.isStr, v.valid = t, true, true
		switch t {
		case "nan":
			v.x = math.NaN()
		case "inf":
			v.x = math.Inf(1)
		case "-inf":
			v.x = math.Inf(-1)
		}
	default:
		return fmt.Errorf("unexpected golden value %v", a)
	}
	return nil
}

func numCol(vs []goldenValue) NumColumn {
	c := NumColumn{Values: make([]float64, len(vs)), Valid: make([]bool, len(vs))}
	for i, v := range vs {
		c.Values[i], c.Valid[i] = v.x, v.valid
	}
	return c
}

func catCol(vs []goldenValue) CatColumn {
	c := CatColumn{Values: make([]string, len(vs)), Valid: make([]bool, len(vs))}
	for i, v := range vs {
		c.Values[i], c.Valid[i] = v.s, v.valid
	}
	return c
}

func floats(vs []goldenValue) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = v.x
	}
	return out
}

type golden struct {
	Regression []struct {
		Name     string        `json:"name"`
		Target   []goldenValue `json:"target"`
		Pred     []goldenValue `json:"pred"`
		Features map[string]struct {
			Kind   string        `json:"kind"`
			Values []goldenValue `json:"values"`
		} `json:"features"`
		Error    string          `json:"error"`
		Expected json.RawMessage `json:"expected"`
	} `json:"regression"`
	NumericQuality []struct {
		Name     string          `json:"name"`
		Cur      []goldenValue   `json:"cur"`
		Ref      []goldenValue   `json:"ref"`
		Error    string          `json:"error"`
		Expected json.RawMessage `json:"expected"`
	} `json:"numeric_quality"`
	CategoricalQuality []struct {
		Name     string          `json:"name"`
		Cur      []goldenValue   `json:"cur"`
		Ref      []goldenValue   `json:"ref"`
		Expected json.RawMessage `json:"expected"`
	} `json:"categorical_quality"`
	Quantiles []struct {
		Name     string    `json:"name"`
		X        []float64 `json:"x"`
		Q        []float64 `json:"q"`
		Expected []float64 `json:"expected"`
	} `json:"quantiles"`
	Distances []struct {
		Name        string    `json:"name"`
		A           []float64 `json:"a"`
		B           []float64 `json:"b"`
		KS          float64   `json:"ks"`
		Wasserstein float64   `json:"wasserstein"`
	} `json:"distances"`
}

func loadGolden(t testing.TB) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "metrics", "golden.json"))
	if err != nil {
		t.Fatalf("reading golden file (regenerate with /usr/bin/python3 testdata/metrics/golden.py > testdata/metrics/golden.json): %v", err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("decoding golden file: %v", err)
	}
	return g
}

var errByName = map[string]error{"empty": ErrEmpty, "length": ErrLength, "non_finite": ErrNonFinite}

// compareJSON compares a result, marshalled to JSON, against the expected
// JSON object: every expected key must be present with an equal value
// (numbers within tol), and result keys absent from expected must be
// null/absent. Expected null means "undefined/absent".
func compareJSON(t *testing.T, got any, expected json.RawMessage, scale float64) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	var g, w map[string]any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(expected, &w); err != nil {
		t.Fatal(err)
	}
	compareValue(t, "", g, w, scale)
}

func compareValue(t *testing.T, path string, got, want any, scale float64) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %v, want object", path, got)
			return
		}
		for k, wv := range w {
			gv, present := g[k]
			if wl, ok := wv.([]any); ok && len(wl) == 0 && (!present || gv == nil) {
				continue // an empty list is omitted
			}
			if wv == nil {
				if present && gv != nil {
					t.Errorf("%s.%s: got %v, want null/absent", path, k, gv)
				}
				continue
			}
			if !present {
				t.Errorf("%s.%s: missing, want %v", path, k, wv)
				continue
			}
			compareValue(t, path+"."+k, gv, wv, scale)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			compareValue(t, fmt.Sprintf("%s[%d]", path, i), g[i], w[i], scale)
		}
	case float64:
		g, ok := got.(float64)
		if !ok {
			t.Errorf("%s: got %v, want %v", path, got, w)
			return
		}
		if d := math.Abs(g - w); d > relTol*math.Abs(w)+absTol(scale) {
			t.Errorf("%s: got %.17g, want %.17g (diff %.3g)", path, g, w, d)
		}
	default:
		if got != want {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}

func maxAbs(xs ...[]float64) float64 {
	var m float64
	for _, x := range xs {
		for _, v := range x {
			if isFinite(v) {
				m = math.Max(m, math.Abs(v))
			}
		}
	}
	return m
}

func TestGoldenRegression(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Regression {
		t.Run(c.Name, func(t *testing.T) {
			target, pred := floats(c.Target), floats(c.Pred)
			var feats map[string]Feature
			if c.Features != nil {
				feats = map[string]Feature{}
				for name, f := range c.Features {
					if f.Kind == "num" {
						col := numCol(f.Values)
						feats[name] = Feature{Num: col.Values, Valid: col.Valid}
					} else {
						col := catCol(f.Values)
						feats[name] = Feature{Cat: col.Values, Valid: col.Valid}
					}
				}
			}
			r, err := ComputeRegression(target, pred, feats)
			if c.Error != "" {
				if !errors.Is(err, errByName[c.Error]) {
					t.Fatalf("err = %v, want %v", err, errByName[c.Error])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			compareJSON(t, r, c.Expected, maxAbs(target, pred))

			// The mergeable two-pass path must agree too: split into chunks.
			// While the error summary is exact, everything must match;
			// otherwise only the moment-based metrics are exact and the
			// quantiles must lie in their guaranteed intervals.
			rs, es := summariseRegression(t, target, pred, feats, 3)
			if es.Exact() {
				compareJSON(t, rs, c.Expected, maxAbs(target, pred))
				return
			}
			var exp map[string]json.RawMessage
			if err := json.Unmarshal(c.Expected, &exp); err != nil {
				t.Fatal(err)
			}
			keys := []string{"n", "me", "mae", "mape", "rmse", "r2", "error_std", "max_abs_error", "mape_skipped_zero_targets"}
			sub := map[string]json.RawMessage{}
			for _, k := range keys {
				sub[k] = exp[k]
			}
			b, _ := json.Marshal(sub)
			compareJSON(t, rs, b, maxAbs(target, pred))
			var qs map[string]float64
			if err := json.Unmarshal(exp["error_quantiles"], &qs); err != nil {
				t.Fatal(err)
			}
			for _, l := range errorQuantileLevels {
				lo, hi := es.QuantileInterval(l.q)
				if want := qs[l.key]; want < lo || want > hi {
					t.Errorf("summary %s: exact %v outside guaranteed [%v, %v]", l.key, want, lo, hi)
				}
			}
		})
	}
}

// summariseRegression computes Regression through chunked, merged
// summaries (two passes), as a batch job over workers would.
func summariseRegression(t *testing.T, target, pred []float64, feats map[string]Feature, chunks int) (Regression, *NumSummary) {
	t.Helper()
	n := len(target)
	bounds := func(k int) (int, int) { return k * n / chunks, (k + 1) * n / chunks }
	s := NewRegressionSummary()
	for k := range chunks {
		lo, hi := bounds(k)
		part := NewRegressionSummary()
		if err := part.AddBatch(target[lo:hi], pred[lo:hi]); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(part)
		if err != nil {
			t.Fatal(err)
		}
		var back RegressionSummary
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if err := s.Merge(&back); err != nil {
			t.Fatal(err)
		}
	}
	q5, q95 := s.Thresholds()
	g := NewRegressionGroupSummary(q5, q95)
	for k := range chunks {
		lo, hi := bounds(k)
		var fs map[string]Feature
		if feats != nil {
			fs = map[string]Feature{}
			for name, f := range feats {
				c := Feature{}
				if f.Num != nil {
					c.Num = f.Num[lo:hi]
				} else {
					c.Cat = f.Cat[lo:hi]
				}
				if f.Valid != nil {
					c.Valid = f.Valid[lo:hi]
				}
				fs[name] = c
			}
		}
		part := NewRegressionGroupSummary(q5, q95)
		if err := part.AddBatch(target[lo:hi], pred[lo:hi], fs); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(part)
		if err != nil {
			t.Fatal(err)
		}
		var back RegressionGroupSummary
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if err := g.Merge(&back); err != nil {
			t.Fatal(err)
		}
	}
	r, err := RegressionFromSummaries(s, g)
	if err != nil {
		t.Fatal(err)
	}
	return r, s.Errors()
}

func TestGoldenNumericQuality(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.NumericQuality {
		t.Run(c.Name, func(t *testing.T) {
			cur := numCol(c.Cur)
			var ref *NumColumn
			if c.Ref != nil {
				r := numCol(c.Ref)
				ref = &r
			}
			q, err := NumericQuality(cur, ref)
			if c.Error != "" {
				if !errors.Is(err, errByName[c.Error]) {
					t.Fatalf("err = %v, want %v", err, errByName[c.Error])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			scale := maxAbs(cur.Values)
			compareJSON(t, q, c.Expected, scale)

			// Summary path: every golden column has ≤ ExactLimit distinct
			// values or is checked for the exact fields only.
			cs := NewNumSummary()
			if err := cs.AddColumn(cur); err != nil {
				t.Fatal(err)
			}
			var rs *NumSummary
			if ref != nil {
				rs = NewNumSummary()
				if err := rs.AddColumn(*ref); err != nil {
					t.Fatal(err)
				}
			}
			qs := NumericQualityFromSummary(cs, rs)
			if cs.Exact() && (rs == nil || rs.Exact()) {
				compareJSON(t, qs, c.Expected, scale)
			}
		})
	}
}

func TestGoldenCategoricalQuality(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.CategoricalQuality {
		t.Run(c.Name, func(t *testing.T) {
			cur := catCol(c.Cur)
			var ref *CatColumn
			if c.Ref != nil {
				r := catCol(c.Ref)
				ref = &r
			}
			q, err := CategoricalQuality(cur, ref)
			if err != nil {
				t.Fatal(err)
			}
			compareJSON(t, q, c.Expected, 1)
			cs := NewCatSummary()
			if err := cs.AddColumn(cur); err != nil {
				t.Fatal(err)
			}
			var rs *CatSummary
			if ref != nil {
				rs = NewCatSummary()
				if err := rs.AddColumn(*ref); err != nil {
					t.Fatal(err)
				}
			}
			compareJSON(t, CategoricalQualityFromSummary(cs, rs), c.Expected, 1)
		})
	}
}

func TestGoldenQuantiles(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Quantiles {
		t.Run(c.Name, func(t *testing.T) {
			got, err := Quantiles(c.X, c.Q)
			if err != nil {
				t.Fatal(err)
			}
			sorted := slices.Sorted(slices.Values(c.X))
			s := NewNumSummary()
			for _, x := range c.X {
				s.Add(x)
			}
			for i, q := range c.Q {
				want := c.Expected[i]
				tol := relTol*math.Abs(want) + absTol(maxAbs(c.X))
				if d := math.Abs(got[i] - want); d > tol {
					t.Errorf("Quantiles q=%v: got %.17g, want %.17g", q, got[i], want)
				}
				if v := QuantileSorted(q, sorted); math.Abs(v-want) > tol {
					t.Errorf("QuantileSorted q=%v: got %.17g, want %.17g", q, v, want)
				}
				if s.Exact() {
					if v := s.Quantile(q); math.Abs(v-want) > tol {
						t.Errorf("NumSummary.Quantile q=%v: got %.17g, want %.17g", q, v, want)
					}
				} else if lo, hi := s.QuantileInterval(q); want < lo || want > hi {
					t.Errorf("NumSummary.QuantileInterval q=%v: [%v, %v] misses %v", q, lo, hi, want)
				}
			}
		})
	}
}

func TestGoldenDistances(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Distances {
		t.Run(c.Name, func(t *testing.T) {
			ks, _, err := drift.KS(c.A, c.B)
			if err != nil {
				t.Fatal(err)
			}
			w, err := drift.Wasserstein(c.A, c.B)
			if err != nil {
				t.Fatal(err)
			}
			sa, sb := NewNumSummary(), NewNumSummary()
			for _, x := range c.A {
				sa.Add(x)
			}
			for _, x := range c.B {
				sb.Add(x)
			}
			scale := maxAbs(c.A, c.B)
			if math.Abs(ks-c.KS) > relTol*c.KS+1e-15 {
				t.Errorf("KS statistic = %.17g, want %.17g", ks, c.KS)
			}
			if math.Abs(w-c.Wasserstein) > relTol*c.Wasserstein+absTol(scale) {
				t.Errorf("Wasserstein = %.17g, want %.17g", w, c.Wasserstein)
			}
			d, dErr := KSStatisticFromSummariesBound(sa, sb)
			ws, wErr := WassersteinFromSummariesBound(sa, sb)
			if !sa.Exact() || !sb.Exact() {
				// Sketched: the exact values must lie within the reported bounds.
				if c.KS < d-1e-15 || c.KS > d+dErr+1e-15 {
					t.Errorf("KS from sketches %v (+%v) does not bracket exact %v", d, dErr, c.KS)
				}
				if math.Abs(ws-c.Wasserstein) > wErr+absTol(scale) {
					t.Errorf("Wasserstein from sketches %v ± %v misses exact %v", ws, wErr, c.Wasserstein)
				}
				return
			}
			if dErr != 0 || wErr != 0 {
				t.Errorf("exact summaries report error bounds %v, %v", dErr, wErr)
			}
			for name, got := range map[string]float64{"KSStatisticFromSummaries": d} {
				if math.Abs(got-c.KS) > relTol*c.KS+1e-15 {
					t.Errorf("%s = %.17g, want %.17g", name, got, c.KS)
				}
			}
			for name, got := range map[string]float64{"WassersteinFromSummaries": ws} {
				if math.Abs(got-c.Wasserstein) > relTol*c.Wasserstein+absTol(scale) {
					t.Errorf("%s = %.17g, want %.17g", name, got, c.Wasserstein)
				}
			}
		})
	}
}
