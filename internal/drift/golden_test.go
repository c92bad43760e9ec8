package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The golden values come from testdata/drift/golden.py (scipy 1.10.1,
// numpy 1.24, Debian bookworm). Regenerate with
//
//	/usr/bin/python3 testdata/drift/golden.py

// num is a JSON number that may also be "inf", "-inf" or "nan".
type num float64

func (n *num) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "inf":
			*n = num(math.Inf(1))
		case "-inf":
			*n = num(math.Inf(-1))
		case "nan":
			*n = num(math.NaN())
		default:
			return fmt.Errorf("bad number %q", s)
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = num(f)
	return nil
}

type goldenFile struct {
	KSPValue []struct {
		N, M int
		D    float64
		DAdj float64 `json:"d_adj"`
		P    num
	} `json:"ks_pvalue"`
	KStwoSF []struct {
		N  int
		X  float64
		SF num
	} `json:"kstwo_sf"`
	Cases   []goldenCase   `json:"cases"`
	Kernels goldenKernels  `json:"kernels"`
	Default []goldenChoice `json:"default"`
}

type goldenCase struct {
	Name      string          `json:"name"`
	Test      string          `json:"test"`
	Kind      string          `json:"kind"`
	Ref       json.RawMessage `json:"ref"`
	Cur       json.RawMessage `json:"cur"`
	Statistic *num            `json:"statistic"`
	PValue    *num            `json:"p_value"`
	Error     bool            `json:"error"`
	RTol      float64         `json:"rtol"`
	ATol      float64         `json:"atol"`
	Note      string          `json:"note"`
}

type goldenKernels struct {
	Sturges []struct {
		Min, Max float64
		N        int
		Edges    []float64
	} `json:"sturges"`
	Shares []struct {
		P, Q []float64
		JS   num `json:"js"`
		PSI  num `json:"psi"`
		KL   num `json:"kl"`
	} `json:"shares"`
	ChiSquare []struct {
		Obs, Exp []float64
		Stat     num
		P        num
	} `json:"chisquare"`
	Smirnov []struct {
		N  int
		X  float64
		SF num
	} `json:"smirnov"`
	Functions []struct {
		Fn   string
		X, Y []float64
		Stat num
		P    *num
	} `json:"functions"`
}

type goldenChoice struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Ref       json.RawMessage `json:"ref"`
	Cur       json.RawMessage `json:"cur"`
	Test      string          `json:"test"`
	Threshold float64         `json:"threshold"`
}

var (
	goldenOnce sync.Once
	golden     goldenFile
	goldenErr  error
)

func loadGolden(t testing.TB) *goldenFile {
	t.Helper()
	goldenOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "drift", "golden.json"))
		if err != nil {
			goldenErr = err
			return
		}
		goldenErr = json.Unmarshal(b, &golden)
	})
	if goldenErr != nil {
		t.Fatalf("golden.json: %v", goldenErr)
	}
	return &golden
}

// close reports whether got matches want within rtol (relative) or atol
// (absolute); infinities and NaN must match exactly.
func closeTo(got, want, rtol, atol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		return got == want
	}
	diff := math.Abs(got - want)
	return diff <= atol || diff <= rtol*math.Abs(want)
}

func TestGoldenKSPValue(t *testing.T) {
	g := loadGolden(t)
	if len(g.KSPValue) == 0 {
		t.Fatal("no ks_pvalue rows")
	}
	// Tolerance: 1e-9 relative. The exact branches replicate scipy's
	// floating-point recursions operation for operation; the asymptotic
	// branches use Loader's binomial where scipy uses double-double
	// arithmetic (both accurate to ~1e-13) and so differ in the last digits.
	// Absolute 1e-15 covers p-values that are 1 - (something near 1).
	for _, r := range g.KSPValue {
		d, p := ksPValue(r.D, r.N, r.M)
		if d != r.DAdj {
			t.Errorf("n=%d m=%d d=%v: rounded statistic %v, scipy %v", r.N, r.M, r.D, d, r.DAdj)
		}
		if !closeTo(p, float64(r.P), 1e-9, 1e-15) {
			t.Errorf("n=%d m=%d d=%v: p=%v, scipy %v (rel %.2g)", r.N, r.M, r.D, p, float64(r.P), math.Abs(p-float64(r.P))/float64(r.P))
		}
	}
}

func TestGoldenKStwoSF(t *testing.T) {
	g := loadGolden(t)
	for _, r := range g.KStwoSF {
		got := kstwoSF(r.X, r.N)
		want := float64(r.SF)
		// 1e-9 relative; 1e-14 absolute for results computed by scipy as
		// 1 - cdf, which carry an absolute error of a few ulp of 1.
		if !closeTo(got, want, 1e-9, 1e-14) {
			t.Errorf("kstwo.sf(%v, %d) = %v, scipy %v (rel %.2g)", r.X, r.N, got, want, math.Abs(got-want)/want)
		}
	}
}

// genSpec mirrors gen() in golden.py: xorshift64* uniforms transformed with
// +, -, *, / and floor only, so Go and Python produce identical floats.
type genSpec struct {
	Seed uint64  `json:"seed"`
	N    int     `json:"n"`
	Dist string  `json:"dist"`
	A    float64 `json:"a"`
	B    float64 `json:"b"`
	Cat  bool    `json:"cat"`
}

type xorshift struct{ s uint64 }

func newXorshift(seed uint64) *xorshift {
	s := seed*0x9E3779B97F4A7C15 + 1
	if s == 0 {
		s = 1
	}
	return &xorshift{s}
}

func (r *xorshift) uniform() float64 {
	s := r.s
	s ^= s >> 12
	s ^= s << 25
	s ^= s >> 27
	r.s = s
	return float64((s*2685821657736338717)>>11) * (1.0 / 9007199254740992.0)
}

func genSample(g genSpec) ([]float64, []string) {
	r := newXorshift(g.Seed)
	out := make([]float64, g.N)
	for i := range out {
		var x float64
		switch g.Dist {
		case "uniform":
			x = g.A + float64(g.B*r.uniform())
		case "irwin":
			s := float64(float64(float64(r.uniform()+r.uniform())+r.uniform()) + r.uniform())
			x = g.A + float64(g.B*float64(s-2.0))
		case "skew":
			u1, u2, u3 := r.uniform(), r.uniform(), r.uniform()
			x = g.A + float64(g.B*float64(float64(u1*u2)/float64(1.001-u3)))
		case "int":
			x = math.Floor(g.A + float64(g.B*r.uniform()))
		case "intskew":
			u1, u2 := r.uniform(), r.uniform()
			x = math.Floor(float64(g.B*float64(u1*u2))) + g.A
		default:
			panic("unknown dist " + g.Dist)
		}
		out[i] = x
	}
	if g.Cat {
		s := make([]string, len(out))
		for i, v := range out {
			s[i] = fmt.Sprintf("c%d", int(v))
		}
		return nil, s
	}
	return out, nil
}

// column decodes a golden sample: an explicit array or a generator spec.
func column(t testing.TB, kind string, raw json.RawMessage) Column {
	t.Helper()
	if len(raw) > 0 && raw[0] == '{' {
		var g genSpec
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatal(err)
		}
		num, cat := genSample(g)
		if cat != nil {
			return Column{Kind: Categorical, Cat: cat}
		}
		return Column{Kind: Numerical, Num: num}
	}
	if kind == "cat" {
		var s []string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		return Column{Kind: Categorical, Cat: s}
	}
	var f []float64
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return Column{Kind: Numerical, Num: f}
}

// TestGoldenCases runs every test through Run on the golden samples.
//
// Tolerances (per case, default 1e-9 relative): exact algorithms and
// closed forms agree with scipy to ~1e-13; the permutation tests (TVD,
// empirical_mmd) reproduce numpy's MT19937 permutations and must agree
// exactly (rtol 0) on the p-value.
func TestGoldenCases(t *testing.T) {
	g := loadGolden(t)
	if len(g.Cases) < 100 {
		t.Fatalf("only %d golden cases", len(g.Cases))
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ref, cur := column(t, c.Kind, c.Ref), column(t, c.Kind, c.Cur)
			res, err := Run(c.Test, ref, cur, 0)
			if c.Error {
				if err == nil {
					t.Fatalf("%s: want error (%s), got %+v", c.Test, c.Note, res)
				}
				t.Logf("error as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", c.Test, err)
			}
			if c.Statistic != nil {
				want := float64(*c.Statistic)
				if !closeTo(res.Statistic, want, c.RTol, c.ATol) {
					t.Errorf("statistic %v, want %v (rel %.2g)", res.Statistic, want, math.Abs(res.Statistic-want)/math.Abs(want))
				}
			}
			if c.PValue == nil {
				if res.PValue != nil {
					t.Errorf("p-value %v, want none", *res.PValue)
				}
				return
			}
			if res.PValue == nil {
				t.Fatalf("no p-value, want %v", float64(*c.PValue))
			}
			want := float64(*c.PValue)
			// 1e-15 absolute: p-values scipy computes as 1 - cdf.
			if !closeTo(*res.PValue, want, c.RTol, max(c.ATol, 1e-15)) {
				t.Errorf("p-value %v, want %v (rel %.2g) %s", *res.PValue, want, math.Abs(*res.PValue-want)/want, c.Note)
			}
		})
	}
}

func TestGoldenKernels(t *testing.T) {
	g := loadGolden(t)
	k := g.Kernels
	for _, s := range k.Sturges {
		got := SturgesEdges(s.Min, s.Max, s.N)
		if len(got) != len(s.Edges) {
			t.Errorf("SturgesEdges(%v, %v, %d): %d edges, numpy %d", s.Min, s.Max, s.N, len(got), len(s.Edges))
			continue
		}
		for i := range got {
			if got[i] != s.Edges[i] {
				t.Errorf("SturgesEdges(%v, %v, %d)[%d] = %v, numpy %v", s.Min, s.Max, s.N, i, got[i], s.Edges[i])
			}
		}
	}
	for i, s := range k.Shares {
		if got := JensenShannonShares(s.P, s.Q); !closeTo(got, float64(s.JS), 1e-12, 0) {
			t.Errorf("shares %d: JS %v, scipy %v", i, got, float64(s.JS))
		}
		pf := FloorShares(append([]float64(nil), s.P...))
		qf := FloorShares(append([]float64(nil), s.Q...))
		if got := PSIShares(pf, qf); !closeTo(got, float64(s.PSI), 1e-12, 0) {
			t.Errorf("shares %d: PSI %v, numpy %v", i, got, float64(s.PSI))
		}
		if got := KLShares(pf, qf); !closeTo(got, float64(s.KL), 1e-12, 0) {
			t.Errorf("shares %d: KL %v, scipy %v", i, got, float64(s.KL))
		}
	}
	for i, c := range k.ChiSquare {
		stat, p, err := ChiSquareCounts(c.Obs, c.Exp)
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(stat, float64(c.Stat), 1e-12, 0) || !closeTo(p, float64(c.P), 1e-10, 0) {
			t.Errorf("chisquare %d: (%v, %v), scipy (%v, %v)", i, stat, p, float64(c.Stat), float64(c.P))
		}
	}
	if len(k.Functions) == 0 {
		t.Error("no golden functions")
	}
	for _, f := range k.Functions {
		var stat, p float64
		var err error
		switch f.Fn {
		case "ttest_welch":
			stat, p, err = TTest(f.X, f.Y, false)
		case "mannw_two_sided":
			stat, p, err = MannWhitneyU(f.X, f.Y, TwoSided)
		case "mannw_greater":
			stat, p, err = MannWhitneyU(f.X, f.Y, Greater)
		case "wasserstein_raw":
			stat, err = Wasserstein(f.X, f.Y)
		default:
			t.Fatalf("unknown golden function %q", f.Fn)
		}
		if err != nil {
			t.Errorf("%s: %v", f.Fn, err)
			continue
		}
		if !closeTo(stat, float64(f.Stat), 1e-12, 0) {
			t.Errorf("%s: statistic %v, scipy %v", f.Fn, stat, float64(f.Stat))
		}
		if f.P != nil && !closeTo(p, float64(*f.P), 1e-9, 1e-15) {
			t.Errorf("%s: p %v, scipy %v", f.Fn, p, float64(*f.P))
		}
	}
	for _, s := range k.Smirnov {
		// 1e-9 relative; 1e-15 absolute near 1 (1 - tiny).
		if got := smirnovSF(s.N, s.X); !closeTo(got, float64(s.SF), 1e-9, 1e-15) {
			t.Errorf("smirnov(%d, %v) = %v, scipy %v", s.N, s.X, got, float64(s.SF))
		}
	}
}
