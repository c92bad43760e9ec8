package drift

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func ncol(x ...float64) Column { return Column{Kind: Numerical, Num: x} }
func ccol(x ...string) Column  { return Column{Kind: Categorical, Cat: x} }
func rep(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestNonFiniteAndEmptyInputs(t *testing.T) {
	bad := []struct {
		name     string
		ref, cur Column
		want     error
	}{
		{"nan in reference", ncol(1, math.NaN(), 3), ncol(1, 2), ErrNonFinite},
		{"+inf in current", ncol(1, 2, 3), ncol(1, math.Inf(1)), ErrNonFinite},
		{"-inf in current", ncol(1, 2, 3), ncol(math.Inf(-1), 1), ErrNonFinite},
		{"empty reference", ncol(), ncol(1, 2), ErrEmpty},
		{"empty current", ncol(1, 2), ncol(), ErrEmpty},
	}
	for _, test := range Tests() {
		for _, b := range bad {
			_, err := Run(test, b.ref, b.cur, 0)
			if !errors.Is(err, b.want) {
				t.Errorf("%s, %s: error %v, want %v", test, b.name, err, b.want)
			}
			if err != nil && !strings.Contains(err.Error(), test) {
				t.Errorf("%s, %s: error %q does not name the test", test, b.name, err)
			}
		}
	}
	// Categorical empties.
	for _, test := range []string{"chisquare", "z", "jensenshannon", "psi", "TVD"} {
		if _, err := Run(test, ccol(), ccol("a"), 0); !errors.Is(err, ErrEmpty) {
			t.Errorf("%s: empty categorical reference: %v", test, err)
		}
	}
	// Kernels.
	if _, err := KSPValue(0.5, 0, 3); !errors.Is(err, ErrEmpty) {
		t.Errorf("KSPValue with n=0: %v", err)
	}
	if _, err := KSPValue(math.NaN(), 3, 3); err == nil {
		t.Error("KSPValue(NaN) gave no error")
	}
	if _, _, err := KS([]float64{1, math.NaN()}, []float64{1}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("KS with NaN: %v", err)
	}
	if _, err := Wasserstein(nil, []float64{1}); !errors.Is(err, ErrEmpty) {
		t.Errorf("Wasserstein(nil): %v", err)
	}
	if _, _, err := ChiSquareCounts([]float64{1, math.NaN()}, []float64{1, 1}); err == nil {
		t.Error("ChiSquareCounts with NaN gave no error")
	}
}

func TestRunRejects(t *testing.T) {
	if _, err := Run("nope", ncol(1), ncol(2), 0); !errors.Is(err, ErrUnknownTest) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown test: %v", err)
	}
	if _, err := Run("ks", ccol("a"), ccol("b"), 0); !errors.Is(err, ErrKind) {
		t.Errorf("ks on categorical: %v", err)
	}
	if _, err := Run("ks", ncol(1), ccol("b"), 0); err == nil {
		t.Error("mixed kinds accepted")
	}
	if _, err := Run("ks", ncol(1), ncol(2), math.NaN()); err == nil {
		t.Error("NaN threshold accepted")
	}
	if _, err := Run("fisher_exact", ccol("a", "b"), ccol("c"), 0); err == nil {
		t.Error("fisher_exact with three categories accepted")
	}
}

func TestAliasesAndInfo(t *testing.T) {
	for alias, canon := range aliases {
		info, ok := Info(alias)
		if !ok || info.Name != canon {
			t.Errorf("Info(%q) = %+v, %v", alias, info, ok)
		}
	}
	r, err := Run("energy_distance", ncol(0, 1), ncol(0.5, 2), 0)
	if err != nil || r.Test != "ed" {
		t.Errorf("alias run: %+v, %v", r, err)
	}
	names := Tests()
	if len(names) != 18 || !slices.Contains(names, "TVD") || !slices.Contains(names, "empirical_mmd") {
		t.Errorf("Tests() = %v", names)
	}
	for _, n := range names {
		info, _ := Info(n)
		if info.DefaultThreshold <= 0 || !(info.Numerical || info.Categorical) {
			t.Errorf("%s: incomplete info %+v", n, info)
		}
		if info.PValue != (info.Rule == "<" || info.Rule == "<=") {
			t.Errorf("%s: p-value test with rule %q", n, info.Rule)
		}
	}
}

func TestThresholdRules(t *testing.T) {
	// ks: drift when p <= threshold (Evidently), so threshold = p drifts.
	r, err := Run("ks", ncol(1, 2, 3), ncol(1, 2, 3), 0)
	if err != nil || *r.PValue != 1 || r.Threshold != 0.05 || r.Drifted {
		t.Fatalf("ks identical: %+v %v", r, err)
	}
	r, _ = Run("ks", ncol(1, 2, 3), ncol(1, 2, 3), 1)
	if !r.Drifted {
		t.Error("ks: p = threshold should drift (p <= threshold)")
	}
	// chisquare: strict p < threshold.
	r, _ = Run("chisquare", ccol("a", "b"), ccol("a", "b"), 1)
	if *r.PValue != 1 || r.Drifted {
		t.Errorf("chisquare p=1 threshold 1: %+v", r)
	}
	// wasserstein: distance >= threshold.
	r, _ = Run("wasserstein", ncol(0, 1), ncol(0, 1), 0)
	if r.Statistic != 0 || r.PValue != nil || r.Drifted || r.Threshold != 0.1 {
		t.Errorf("wasserstein identical: %+v", r)
	}
	d := r.Statistic
	r, _ = Run("wasserstein", ncol(0, 2), ncol(1, 3), 0)
	d = r.Statistic // 1 / std([0,2]) = 1
	r, _ = Run("wasserstein", ncol(0, 2), ncol(1, 3), d)
	if !r.Drifted {
		t.Errorf("wasserstein statistic == threshold should drift: %+v", r)
	}
	// ed: strictly greater.
	r, _ = Run("ed", ncol(0, 2), ncol(1, 3), 0)
	r2, _ := Run("ed", ncol(0, 2), ncol(1, 3), r.Statistic)
	if r2.Drifted {
		t.Errorf("ed statistic == threshold should not drift: %+v", r2)
	}
}

func TestDefault(t *testing.T) {
	seq := func(n int, mod int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i % mod)
		}
		return out
	}
	strs := func(n, mod int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a' + i%mod))
		}
		return out
	}
	cases := []struct {
		name string
		ref  Column
		test string
		thr  float64
	}{
		{"small numeric many values", ncol(seq(1000, 6)...), "ks", 0.05},
		{"small numeric 5 values", ncol(seq(1000, 5)...), "chisquare", 0.05},
		{"small numeric 3 values", ncol(seq(10, 3)...), "chisquare", 0.05},
		{"small numeric 2 values", ncol(seq(10, 2)...), "z", 0.05},
		{"small numeric 1 value", ncol(seq(10, 1)...), "z", 0.05},
		{"small categorical 3 values", ccol(strs(20, 3)...), "chisquare", 0.05},
		{"small categorical 2 values", ccol(strs(20, 2)...), "z", 0.05},
		{"large numeric many values", ncol(seq(1001, 6)...), "wasserstein", 0.1},
		{"large numeric 5 values", ncol(seq(1001, 5)...), "jensenshannon", 0.1},
		{"large categorical", ccol(strs(5000, 20)...), "jensenshannon", 0.1},
		{"large categorical binary", ccol(strs(5000, 2)...), "jensenshannon", 0.1},
	}
	for _, c := range cases {
		test, thr := Default(c.ref)
		if test != c.test || thr != c.thr {
			t.Errorf("%s: Default = %s %v, want %s %v", c.name, test, thr, c.test, c.thr)
		}
	}
	// Evidently counts distinct values over reference and current pooled.
	ref := ncol(seq(100, 2)...)
	cur := ncol(2, 3, 4, 5)
	if test, _ := Default(ref); test != "z" {
		t.Errorf("Default on 2 values: %s", test)
	}
	if test, _ := DefaultFor(ref, cur); test != "ks" {
		t.Errorf("DefaultFor with 6 pooled values: %s, want ks", test)
	}
	if test, _ := DefaultFor(ccol("a", "a"), ccol("b", "c")); test != "chisquare" {
		t.Errorf("DefaultFor categorical 3 pooled values: %s", test)
	}
}

func TestEdgeBehaviour(t *testing.T) {
	// z: both samples one identical category -> p = 1.
	r, err := Run("z", ccol("x", "x"), ccol("x"), 0)
	if err != nil || *r.PValue != 1 || r.Drifted {
		t.Errorf("z single shared category: %+v %v", r, err)
	}
	// chisquare: category new in current -> statistic +Inf, p = 0.
	r, err = Run("chisquare", ccol("a", "a", "b"), ccol("a", "c"), 0)
	if err != nil || !math.IsInf(r.Statistic, 1) || *r.PValue != 0 || !r.Drifted {
		t.Errorf("chisquare new category: %+v %v", r, err)
	}
	// chisquare with one category: no degrees of freedom.
	if _, err := Run("chisquare", ccol("a"), ccol("a", "a"), 0); !errors.Is(err, ErrUndefined) {
		t.Errorf("chisquare one category: %v", err)
	}
	// t-test on constants.
	if _, err := Run("t_test", ncol(rep(2, 3)...), ncol(rep(2, 4)...), 0); !errors.Is(err, ErrUndefined) {
		t.Errorf("t_test equal constants: %v", err)
	}
	r, err = Run("t_test", ncol(rep(2, 3)...), ncol(rep(3, 4)...), 0)
	if err != nil || !math.IsInf(r.Statistic, -1) || *r.PValue != 0 {
		t.Errorf("t_test constants apart: %+v %v", r, err)
	}
	// Mann-Whitney on all-equal values: p = 1 (z = -inf).
	r, err = Run("mannw", ncol(rep(1, 5)...), ncol(rep(1, 9)...), 0)
	if err != nil || *r.PValue != 1 {
		t.Errorf("mannw all equal: %+v %v", r, err)
	}
	// KS with a single value each.
	r, err = Run("ks", ncol(1), ncol(1), 0)
	if err != nil || r.Statistic != 0 || *r.PValue != 1 {
		t.Errorf("ks n=1 equal: %+v %v", r, err)
	}
	// anderson needs two distinct values.
	if _, err := Run("anderson", ncol(1, 1, 1), ncol(1, 1), 0); !errors.Is(err, ErrUndefined) {
		t.Errorf("anderson constant: %v", err)
	}
	// fisher with a single category: p = 1, odds ratio NaN.
	r, err = Run("fisher_exact", ccol("a", "a"), ccol("a"), 0)
	if err != nil || *r.PValue != 1 || !math.IsNaN(r.Statistic) {
		t.Errorf("fisher single category: %+v %v", r, err)
	}
	// -0 and +0 are the same value everywhere.
	r, err = Run("ks", ncol(0, 1), ncol(math.Copysign(0, -1), 1), 0)
	if err != nil || r.Statistic != 0 {
		t.Errorf("ks -0 vs +0: %+v %v", r, err)
	}
	r, err = Run("chisquare", ncol(0, 1, 1), ncol(math.Copysign(0, -1), 1, 1), 0)
	if err != nil || r.Statistic != 0 {
		t.Errorf("chisquare -0 vs +0: %+v %v", r, err)
	}
}

func TestInputsNotModified(t *testing.T) {
	ref := []float64{3, 1, 2, 5, 4}
	cur := []float64{9, 7, 8}
	r0, c0 := slices.Clone(ref), slices.Clone(cur)
	for _, test := range Tests() {
		if test == "es" || test == "fisher_exact" {
			continue
		}
		if _, err := Run(test, ncol(ref...), ncol(cur...), 0); err != nil && !errors.Is(err, ErrUndefined) {
			t.Errorf("%s: %v", test, err)
		}
		if !slices.Equal(ref, r0) || !slices.Equal(cur, c0) {
			t.Fatalf("%s modified its input", test)
		}
	}
}

func TestSortedVariants(t *testing.T) {
	x := []float64{0.3, -1, 2.5, 2.5, 7, 0}
	y := []float64{1, 1, 4, -2, 0.5}
	xs, ys := sortedCopy(x), sortedCopy(y)
	d1, p1, _ := KS(x, y)
	d2, p2, _ := KSSorted(xs, ys)
	if d1 != d2 || p1 != p2 {
		t.Errorf("KS %v %v vs sorted %v %v", d1, p1, d2, p2)
	}
	if _, _, err := KSSorted(x, y); err == nil {
		t.Error("KSSorted accepted unsorted input")
	}
	w1, _ := Wasserstein(x, y)
	w2, _ := WassersteinSorted(xs, ys)
	e1, _ := EnergyDistance(x, y)
	e2, _ := EnergyDistanceSorted(xs, ys)
	if w1 != w2 || e1 != e2 {
		t.Errorf("sorted variants differ: %v %v %v %v", w1, w2, e1, e2)
	}
}

func TestRadixSort(t *testing.T) {
	r := newXorshift(3)
	x := make([]float64, 5000)
	for i := range x {
		switch i % 7 {
		case 0:
			x[i] = -r.uniform() * 1e300
		case 1:
			x[i] = math.Copysign(0, -1)
		case 2:
			x[i] = r.uniform() * 1e-310 // subnormal
		case 3:
			x[i] = -r.uniform()
		default:
			x[i] = math.Floor(r.uniform() * 100)
		}
	}
	got := sortedCopy(x)
	want := slices.Clone(x)
	slices.Sort(want)
	for i := range got {
		if got[i] != want[i] || math.Signbit(got[i]) && got[i] == 0 {
			t.Fatalf("radix sort differs at %d: %v vs %v", i, got[i], want[i])
		}
	}
}

func TestPairwiseSumMatchesNumpyShape(t *testing.T) {
	// npSum splits into 8192 blocks, each summed pairwise; check against a
	// compensated sum for accuracy on awkward lengths.
	for _, n := range []int{0, 1, 7, 8, 9, 127, 128, 129, 1000, 8191, 8192, 8193, 100003} {
		x := make([]float64, n)
		r := newXorshift(uint64(n))
		var k kahan
		for i := range x {
			x[i] = r.uniform()*2 - 0.5
			k.add(x[i])
		}
		if got := npSum(x); math.Abs(got-k.sum()) > 1e-12*math.Max(1, math.Abs(k.sum())) {
			t.Errorf("n=%d: npSum %v vs %v", n, got, k.sum())
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	good := Options{DriftShare: 0.3, NumStattest: ColumnOption{Test: "psi", Threshold: 0.2},
		CatStattest: ColumnOption{Test: "chisquare"}, PerColumn: map[string]ColumnOption{"a": {Test: "ks"}}}
	if err := good.Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
	bad := []struct {
		o    Options
		want string
	}{
		{Options{PerColumn: map[string]ColumnOption{"age": {Test: "kss"}}}, `"kss"`},
		{Options{NumStattest: ColumnOption{Test: "bogus"}}, `"bogus"`},
		{Options{NumStattest: ColumnOption{Test: "chisquare"}}, "not applicable"},
		{Options{CatStattest: ColumnOption{Test: "ks"}}, "not applicable"},
		{Options{DriftShare: 1.5}, "drift_share"},
		{Options{DriftShare: -0.1}, "drift_share"},
		{Options{CatStattest: ColumnOption{Threshold: math.NaN()}}, "threshold"},
		{Options{PerColumn: map[string]ColumnOption{"x": {Threshold: -1}}}, "threshold"},
	}
	for _, b := range bad {
		err := b.o.Validate()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Validate(%+v) = %v, want mention of %s", b.o, err, b.want)
		}
	}
}

func TestDataset(t *testing.T) {
	r := newXorshift(11)
	n := func(k int, shift float64) []float64 {
		out := make([]float64, k)
		for i := range out {
			out[i] = r.uniform() + shift
		}
		return out
	}
	ref := map[string]Column{
		"a": ncol(n(200, 0)...),
		"b": ncol(n(200, 0)...),
		"c": ccol("x", "y", "y", "z", "x", "y"),
		"d": ncol(n(2000, 0)...),
	}
	cur := map[string]Column{
		"a": ncol(n(150, 0.5)...), // drifts
		"b": ncol(n(150, 0)...),
		"c": ccol("x", "y", "z", "y"),
		"d": ncol(n(2000, 0.3)...), // drifts (wasserstein)
	}
	names := []string{"a", "b", "c", "d"}
	res, err := Dataset(names, ref, cur, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []string{}
	for _, c := range res.Columns {
		tests = append(tests, c.Test)
	}
	if !slices.Equal(tests, []string{"ks", "ks", "chisquare", "wasserstein"}) {
		t.Errorf("default tests %v", tests)
	}
	if res.Drifted != 2 || res.ShareDrifted != 0.5 || !res.DatasetDrift {
		t.Errorf("dataset result %+v", res)
	}
	if res.Columns[2].Type != "categorical" || res.Columns[0].Type != "numerical" || res.Columns[1].Name != "b" {
		t.Errorf("column metadata %+v", res.Columns)
	}
	// drift_share above the share -> no dataset drift.
	res, _ = Dataset(names, ref, cur, Options{DriftShare: 0.51})
	if res.DatasetDrift {
		t.Errorf("share 0.5 < drift_share 0.51 but dataset drift")
	}
	// Overrides: per type, per column (test and threshold independently).
	opts := Options{
		NumStattest: ColumnOption{Test: "psi"},
		CatStattest: ColumnOption{Threshold: 0.9},
		PerColumn:   map[string]ColumnOption{"b": {Test: "anderson", Threshold: 0.2}, "d": {Threshold: 5}},
	}
	res, err = Dataset(names, ref, cur, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := [][2]any{}
	for _, c := range res.Columns {
		got = append(got, [2]any{c.Test, c.Threshold})
	}
	want := [][2]any{{"psi", 0.1}, {"anderson", 0.2}, {"chisquare", 0.9}, {"psi", 5.0}}
	if !slices.Equal(got, want) {
		t.Errorf("overrides: %v, want %v", got, want)
	}
	// Errors name the column.
	_, err = Dataset([]string{"a", "zz"}, ref, cur, Options{})
	if err == nil || !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf("missing column: %v", err)
	}
	_, err = Dataset(names, ref, cur, Options{PerColumn: map[string]ColumnOption{"c": {Test: "ks"}}})
	if !errors.Is(err, ErrKind) || !strings.Contains(err.Error(), `"c"`) {
		t.Errorf("ks on categorical column: %v", err)
	}
	bad := map[string]Column{"a": ncol(1, math.NaN())}
	_, err = Dataset([]string{"a"}, bad, cur, Options{})
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("NaN column: %v", err)
	}
	if _, err := Dataset(nil, ref, cur, Options{}); err == nil {
		t.Error("no columns accepted")
	}
}

func TestResultJSON(t *testing.T) {
	r, err := Run("chisquare", ccol("a", "b"), ccol("a", "c"), 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ColumnResult{Name: "col", Type: "categorical", Result: r})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"categorical","stattest":"chisquare","statistic":null,"p_value":0,"threshold":0.05,"drifted":true}`
	if string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	r, _ = Run("wasserstein", ncol(0, 2), ncol(1, 3), 0)
	b, _ = json.Marshal(r)
	if want := `{"stattest":"wasserstein","statistic":1,"p_value":null,"threshold":0.1,"drifted":true}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	d := DatasetResult{DatasetDrift: true, ShareDrifted: 0.5, Drifted: 1}
	b, _ = json.Marshal(d)
	if want := `{"dataset_drift":true,"share_drifted_columns":0.5,"drifted_columns":1}`; string(b) != want {
		t.Errorf("JSON %s", b)
	}
}

func TestMT19937MatchesNumpy(t *testing.T) {
	// np.random.seed(0); np.random.permutation(10) -> [2 8 4 9 1 6 7 3 0 5]
	r := newMT19937(0)
	p := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	shuffle(r, p)
	if want := []int{2, 8, 4, 9, 1, 6, 7, 3, 0, 5}; !slices.Equal(p, want) {
		t.Errorf("permutation %v, numpy %v", p, want)
	}
	// np.random.seed(0); np.random.randint(0, 2**32, dtype=np.uint32) first value
	if got := newMT19937(0).uint32(); got != 2357136044 {
		t.Errorf("first draw %d", got)
	}
}

func TestKSExactFallback(t *testing.T) {
	// scipy's outside-square sum returns 1.0000000000000002 for n=5, h=1;
	// ks_2samp then falls back to the asymptotic distribution with the
	// lattice-rounded statistic.
	if p := ksOutsideSquare(5, 1); p <= 1 {
		t.Fatalf("ksOutsideSquare(5, 1) = %v, expected the >1 rounding artefact", p)
	}
	d, p := ksPValue(0.2, 5, 5)
	if d != 0.2 || p != kstwoSF(0.2, 2) {
		t.Errorf("fallback: d=%v p=%v, want kstwo.sf(0.2, 2) = %v", d, p, kstwoSF(0.2, 2))
	}
}

func TestBinnedShares(t *testing.T) {
	rp, cp, err := BinnedShares(ccol("b", "a", "a"), ccol("c", "a"), true)
	if err != nil {
		t.Fatal(err)
	}
	// keys a, b, c
	if want := []float64{2.0 / 3, 1.0 / 3, 0.0001}; !slices.Equal(rp, want) {
		t.Errorf("ref shares %v, want %v", rp, want)
	}
	if want := []float64{0.5, 0.0001, 0.5}; !slices.Equal(cp, want) {
		t.Errorf("cur shares %v, want %v", cp, want)
	}
	if _, _, err := BinnedShares(ncol(1, math.NaN()), ncol(1), false); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN: %v", err)
	}
}
