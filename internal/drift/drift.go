package drift

import (
	"encoding/json"
	"fmt"
	"github.com/modelmon/modelmon/internal/fscale"
	"math"
	"strings"
)

// Kind is the type of a column.
type Kind int

const (
	// Numerical columns hold float64 values in Column.Num.
	Numerical Kind = iota
	// Categorical columns hold string labels in Column.Cat.
	Categorical
)

func (k Kind) String() string {
	switch k {
	case Numerical:
		return "numerical"
	case Categorical:
		return "categorical"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Column is one feature's sample; exactly one of Num/Cat is used according
// to Kind. Missing values are removed by the caller.
//
// A counted column (Counts non-nil) holds each value with its number of
// observations: Num[i] or Cat[i] stands for Counts[i] >= 1 rows (values in
// any order, repeats add up). It is the form of a window summarised without
// its rows (a merged profile's exact values or sketch buckets, and category
// counts): memory O(len(Counts)) whatever the rows. See Counted for the tests
// that use the counts directly; the others expand the column.
type Column struct {
	Kind   Kind
	Num    []float64
	Cat    []string
	Counts []int64
}

// Len returns the number of observations (the sum of Counts for a counted
// column).
func (c Column) Len() int {
	if c.Counts != nil {
		n := 0
		for _, k := range c.Counts {
			n += int(k)
		}
		return n
	}
	if c.Kind == Numerical {
		return len(c.Num)
	}
	return len(c.Cat)
}

// Result is the outcome of one drift test on one column.
type Result struct {
	Test      string   `json:"stattest"`
	Statistic float64  `json:"statistic"`
	PValue    *float64 `json:"p_value"` // nil where the test has none
	Threshold float64  `json:"threshold"`
	Drifted   bool     `json:"drifted"`
	// Calibration is set by Dataset with Method "calibrated"; PValue and
	// Threshold are then the calibrated ones (see Calibration).
	Calibration *Calibration `json:"calibration,omitempty"`
}

// resultJSON mirrors Result with a nullable statistic: some statistics are
// legitimately infinite (chi-square with a category new in the current
// sample, Fisher's odds ratio with an empty cell) or NaN (Fisher's odds
// ratio with an empty row or column), which JSON cannot carry; they are
// encoded as null.
type resultJSON struct {
	Test        string       `json:"stattest"`
	Statistic   *float64     `json:"statistic"`
	PValue      *float64     `json:"p_value"`
	Threshold   float64      `json:"threshold"`
	Drifted     bool         `json:"drifted"`
	Calibration *Calibration `json:"calibration,omitempty"`
}

func (r Result) toJSON() resultJSON {
	j := resultJSON{Test: r.Test, PValue: r.PValue, Threshold: r.Threshold, Drifted: r.Drifted, Calibration: r.Calibration}
	if !math.IsNaN(r.Statistic) && !math.IsInf(r.Statistic, 0) {
		s := r.Statistic
		j.Statistic = &s
	}
	return j
}

// MarshalJSON encodes r, writing a non-finite statistic as null.
func (r Result) MarshalJSON() ([]byte, error) { return json.Marshal(r.toJSON()) }

// TestInfo describes a registered test.
type TestInfo struct {
	// Name is the canonical (Evidently) name.
	Name string
	// PValue reports whether the test's drift score is a p-value
	// (drift when it is below the threshold) rather than a distance (drift
	// when it is above).
	PValue bool
	// DefaultThreshold is Evidently's default threshold for the test.
	DefaultThreshold float64
	// Numerical and Categorical are the column kinds Evidently allows when
	// the test is chosen explicitly.
	Numerical, Categorical bool
	// Rule is the drift rule exactly as Evidently applies it to the score
	// (p-value or statistic): one of "<", "<=", ">=", ">".
	Rule string
}

// drifted applies the rule to a drift score.
func (t TestInfo) drifted(score, threshold float64) bool {
	switch t.Rule {
	case "<":
		return score < threshold
	case "<=":
		return score <= threshold
	case ">=":
		return score >= threshold
	default:
		return score > threshold
	}
}

// registry lists the tests in Tests() order with Evidently's metadata
// (evidently/legacy/calculations/stattests/*.py). Note the rules: Evidently
// declares drift for "ks" and "cramer_von_mises" when p <= threshold, and
// for "ed" when the distance is strictly greater than the threshold.
var registry = []TestInfo{
	{Name: "ks", PValue: true, DefaultThreshold: 0.05, Numerical: true, Rule: "<="},
	{Name: "chisquare", PValue: true, DefaultThreshold: 0.05, Categorical: true, Rule: "<"},
	{Name: "z", PValue: true, DefaultThreshold: 0.05, Categorical: true, Rule: "<"},
	{Name: "wasserstein", DefaultThreshold: 0.1, Numerical: true, Rule: ">="},
	{Name: "jensenshannon", DefaultThreshold: 0.1, Numerical: true, Categorical: true, Rule: ">="},
	{Name: "psi", DefaultThreshold: 0.1, Numerical: true, Categorical: true, Rule: ">="},
	{Name: "kl_div", DefaultThreshold: 0.1, Numerical: true, Categorical: true, Rule: ">="},
	{Name: "anderson", PValue: true, DefaultThreshold: 0.1, Numerical: true, Rule: "<"},
	{Name: "cramer_von_mises", PValue: true, DefaultThreshold: 0.1, Numerical: true, Rule: "<="},
	{Name: "mannw", PValue: true, DefaultThreshold: 0.05, Numerical: true, Rule: "<"},
	{Name: "t_test", PValue: true, DefaultThreshold: 0.05, Numerical: true, Rule: "<"},
	{Name: "hellinger", DefaultThreshold: 0.1, Numerical: true, Categorical: true, Rule: ">="},
	{Name: "TVD", PValue: true, DefaultThreshold: 0.1, Categorical: true, Rule: "<"},
	{Name: "ed", DefaultThreshold: 0.1, Numerical: true, Rule: ">"},
	{Name: "g_test", PValue: true, DefaultThreshold: 0.1, Categorical: true, Rule: "<"},
	{Name: "fisher_exact", PValue: true, DefaultThreshold: 0.1, Categorical: true, Rule: "<"},
	{Name: "empirical_mmd", PValue: true, DefaultThreshold: 0.1, Numerical: true, Rule: "<"},
	{Name: "es", PValue: true, DefaultThreshold: 0.05, Numerical: true, Rule: "<"},
}

// aliases maps alternative spellings to canonical names.
var aliases = map[string]string{
	"energy_distance": "ed",
	"epps_singleton":  "es",
	"emperical_mmd":   "empirical_mmd", // Evidently's old spelling
	"tvd":             "TVD",
}

// Tests returns the canonical names of all tests, in a fixed order.
// Run, Info and Options also accept the aliases energy_distance (ed),
// epps_singleton (es), emperical_mmd (empirical_mmd) and tvd (TVD).
func Tests() []string {
	names := make([]string, len(registry))
	for i, t := range registry {
		names[i] = t.Name
	}
	return names
}

// Info returns the metadata of the named test (canonical name or alias).
func Info(test string) (TestInfo, bool) {
	if a, ok := aliases[test]; ok {
		test = a
	}
	for _, t := range registry {
		if t.Name == test {
			return t, true
		}
	}
	return TestInfo{}, false
}

func lookup(test string) (TestInfo, error) {
	info, ok := Info(test)
	if !ok {
		return info, fmt.Errorf("%w %q (known: %s)", ErrUnknownTest, test, strings.Join(Tests(), ", "))
	}
	return info, nil
}

// Default returns the test Evidently chooses for a column, and its
// threshold, judging from the reference sample only:
//
//   - reference of at most 1000 rows: numerical with more than 5 distinct
//     values -> "ks"; numerical with 3-5 or categorical with more than 2
//     distinct values -> "chisquare"; otherwise "z" (threshold 0.05, drift
//     when p is below it; ks: at or below);
//   - larger reference: numerical with more than 5 distinct values ->
//     "wasserstein", otherwise "jensenshannon" (threshold 0.1, drift when
//     the distance reaches it).
//
// Evidently counts distinct values over reference and current together;
// DefaultFor does exactly that and is what Dataset uses.
func Default(ref Column) (test string, threshold float64) {
	return choose(ref, distinctUpTo(ref, Column{Kind: ref.Kind}, 5))
}

// DefaultFor is Evidently's _get_default_stattest: Default with the
// distinct values counted over reference and current pooled.
func DefaultFor(ref, cur Column) (test string, threshold float64) {
	return choose(ref, distinctUpTo(ref, cur, 5))
}

func choose(ref Column, nValues int) (string, float64) {
	var test string
	if ref.Len() <= 1000 {
		switch {
		case ref.Kind == Numerical && nValues > 5:
			test = "ks"
		case nValues > 2:
			test = "chisquare"
		default:
			test = "z"
		}
	} else {
		if ref.Kind == Numerical && nValues > 5 {
			test = "wasserstein"
		} else {
			test = "jensenshannon"
		}
	}
	info, _ := Info(test)
	return test, info.DefaultThreshold
}

// distinctUpTo counts the distinct values of a and b pooled, stopping once
// the count exceeds limit.
func distinctUpTo(a, b Column, limit int) int {
	if a.Kind == Numerical {
		return countDistinctUpTo(limit, a.Num, b.Num)
	}
	return countDistinctStrUpTo(limit, a.Cat, b.Cat)
}

// Run applies the named test to a reference and a current column and
// decides drift with threshold (threshold <= 0 selects the test's default).
//
// Both columns must have the same kind and be non-empty; numerical values
// must be finite. Either may be counted (Column.Counts, every count >= 1):
// the tests Counted lists use the counts, the others expand the column. Tests on categories ("chisquare", "z", "g_test",
// "fisher_exact", "TVD", and the share-based ones) also accept numerical
// columns, treating each distinct value as a category, as Evidently's
// default choice does for low-cardinality numerical columns; tests on
// values reject categorical columns with ErrKind.
//
// Result.Statistic is the test statistic (for p-value tests too: D for ks,
// X^2 for chisquare, z, A2, T, U1, t, the TVD, the G statistic, the odds
// ratio, MMD^2, W); Result.PValue is set for p-value tests. Drift is
// decided on the p-value or the distance with Evidently's rule (see
// TestInfo.Rule). Semantics follow Evidently's implementation, e.g. "mannw"
// is one-sided (alternative "less"), "t_test" is Student's (equal
// variances), "TVD" and "empirical_mmd" are permutation tests; README.md
// lists all such choices.
func Run(test string, ref, cur Column, threshold float64) (Result, error) {
	info, err := lookup(test)
	if err != nil {
		return Result{}, err
	}
	if ref.Kind != cur.Kind {
		return Result{}, fmt.Errorf("%s: reference is %v but current is %v", info.Name, ref.Kind, cur.Kind)
	}
	if ref.Kind != Numerical && ref.Kind != Categorical {
		return Result{}, fmt.Errorf("%s: invalid column kind %v", info.Name, ref.Kind)
	}
	if ref.Kind == Categorical && !info.Categorical {
		return Result{}, fmt.Errorf("%s needs numerical values, column is categorical: %w", info.Name, ErrKind)
	}
	if math.IsNaN(threshold) || math.IsInf(threshold, 0) {
		return Result{}, fmt.Errorf("%s: invalid threshold %v", info.Name, threshold)
	}
	if err := checkCounts("reference", ref); err != nil {
		return Result{}, fmt.Errorf("%s: %w", info.Name, err)
	}
	if err := checkCounts("current", cur); err != nil {
		return Result{}, fmt.Errorf("%s: %w", info.Name, err)
	}
	if counted(ref, cur) && !countedTests[info.Name] {
		ref, cur = ref.Expanded(), cur.Expanded()
	}
	if threshold <= 0 {
		threshold = info.DefaultThreshold
	}
	if ref.Len() == 0 {
		return Result{}, fmt.Errorf("%s: reference: %w", info.Name, ErrEmpty)
	}
	if cur.Len() == 0 {
		return Result{}, fmt.Errorf("%s: current: %w", info.Name, ErrEmpty)
	}
	scale := 1.0
	if ref.Kind == Numerical {
		if err := checkPair(ref.Num, cur.Num); err != nil {
			return Result{}, fmt.Errorf("%s: %w", info.Name, err)
		}
		if scale = fscale.Pow2(max(fscale.MaxAbs(ref.Num), fscale.MaxAbs(cur.Num))); scale != 1 {
			ref.Num, cur.Num = scaled(ref.Num, scale), scaled(cur.Num, scale)
		}
	}
	stat, p, err := compute(info.Name, ref, cur, scale)
	if err != nil {
		return Result{}, err
	}

	res := Result{Test: info.Name, Statistic: stat, Threshold: threshold}
	if info.PValue && math.IsNaN(p) {
		return res, nil // undefined p-value (degenerate data): null, no drift
	}
	if info.PValue {
		res.PValue = &p
		res.Drifted = info.drifted(p, threshold)
	} else {
		res.Drifted = info.drifted(stat, threshold)
	}
	return res, nil
}

// compute dispatches to the test implementations; inputs are validated.
// Numerical inputs have been multiplied by scale (a power of two, see
// fscale.Pow2): every test is invariant under it except "wasserstein" (whose
// floor of the reference's std, 0.001, is scaled with the data) and "ed"
// (homogeneous of degree 1/2: divided by √scale). empirical_mmd's fallback
// bandwidth sqrt(1/2) (median squared distance 0) then applies to the rescaled
// values; unscaled, such data give kernel values of exp(-Inf) = 0.
func compute(name string, ref, cur Column, scale float64) (stat, p float64, err error) {
	wrap := func(s, p float64, err error) (float64, float64, error) {
		if err != nil && !strings.HasPrefix(err.Error(), name) {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return s, p, err
	}
	switch name {
	case "ks", "wasserstein", "ed":
		if counted(ref, cur) {
			s, p := computeCountedNum(name, ref, cur, scale)
			return s, p, nil
		}
		rs, release1 := sortedTemp(ref.Num)
		defer release1()
		cs, release2 := sortedTemp(cur.Num)
		defer release2()
		switch name {
		case "ks":
			d, p := ksPValue(ksStatSorted(rs, cs), len(rs), len(cs))
			return d, p, nil
		case "wasserstein":
			return wassersteinNormSorted(ref.Num, rs, cs, 0.001*scale), 0, nil
		}
		return math.Sqrt2 * cdfDistanceSorted(2, rs, cs) / math.Sqrt(scale), 0, nil
	case "anderson":
		return wrap(AndersonKSamp(ref.Num, cur.Num))
	case "cramer_von_mises":
		return wrap(CramerVonMises(ref.Num, cur.Num))
	case "mannw":
		return wrap(MannWhitneyU(ref.Num, cur.Num, Less))
	case "t_test":
		return wrap(TTest(ref.Num, cur.Num, true))
	case "empirical_mmd":
		return wrap(EmpiricalMMD(ref.Num, cur.Num))
	case "es":
		return wrap(EppsSingleton(ref.Num, cur.Num))
	case "jensenshannon", "psi", "kl_div":
		rp, cp, err := binnedShares(ref, cur, name != "jensenshannon")
		if err != nil {
			return wrap(0, 0, err)
		}
		switch name {
		case "jensenshannon":
			return JensenShannonShares(rp, cp), 0, nil
		case "psi":
			return PSIShares(rp, cp), 0, nil
		}
		return KLShares(rp, cp), 0, nil
	case "hellinger":
		return wrap(hellinger(ref, cur))
	}
	d, err := categorise(ref, cur, name == "TVD")
	if err != nil {
		return wrap(0, 0, err)
	}
	switch name {
	case "chisquare":
		return wrap(ChiSquare(d.ref, d.cur))
	case "g_test":
		return wrap(GTest(d.ref, d.cur))
	case "z":
		return wrap(ZTestCounts(d.ref, d.cur))
	case "TVD":
		return wrap(TVD(d.refCodes, d.curCodes, len(d.ref)))
	case "fisher_exact":
		return wrap(fisherFromCounts(d))
	}
	return 0, 0, fmt.Errorf("%w %q", ErrUnknownTest, name)
}

// BinnedShares is Evidently's get_binned_data: for a numerical column whose
// reference has more than 20 distinct values, the shares of the reference
// and current samples in the Sturges bins of the pooled data (SturgesEdges,
// HistogramCounts); otherwise the shares per distinct value over the union
// of values, in ascending key order. floor applies FloorShares to both
// (feel_zeroes=True, as for psi and kl_div; jensenshannon uses false).
// The columns must have the same kind and be non-empty and finite.
func BinnedShares(ref, cur Column, floor bool) (refShares, curShares []float64, err error) {
	if ref.Kind != cur.Kind {
		return nil, nil, fmt.Errorf("binned shares: reference is %v but current is %v", ref.Kind, cur.Kind)
	}
	if err := checkCounts("reference", ref); err != nil {
		return nil, nil, fmt.Errorf("binned shares: %w", err)
	}
	if err := checkCounts("current", cur); err != nil {
		return nil, nil, fmt.Errorf("binned shares: %w", err)
	}
	if ref.Len() == 0 || cur.Len() == 0 {
		return nil, nil, fmt.Errorf("binned shares: %w", ErrEmpty)
	}
	if ref.Kind == Numerical {
		if err := checkPair(ref.Num, cur.Num); err != nil {
			return nil, nil, fmt.Errorf("binned shares: %w", err)
		}
		if s := fscale.Pow2(max(fscale.MaxAbs(ref.Num), fscale.MaxAbs(cur.Num))); s != 1 { // shares are scale free
			ref.Num, cur.Num = scaled(ref.Num, s), scaled(cur.Num, s)
		}
	}
	return binnedShares(ref, cur, floor)
}

// binnedShares is BinnedShares for validated input.
func binnedShares(ref, cur Column, floor bool) (rp, cp []float64, err error) {
	if ref.Kind == Numerical && counted(ref, cur) {
		rp, cp = numericBinCountsCounted(ref, cur)
	} else if ref.Kind == Numerical {
		rp, cp = numericBinCounts(ref.Num, cur.Num)
	}
	if rp == nil {
		d, err := categorise(ref, cur, false)
		if err != nil {
			return nil, nil, err
		}
		rp, cp = d.ref, d.cur
	}
	nr, nc := float64(ref.Len()), float64(cur.Len())
	for i := range rp {
		rp[i] /= nr
		cp[i] /= nc
	}
	if floor {
		FloorShares(rp)
		FloorShares(cp)
	}
	return rp, cp, nil
}

// numericBinCounts returns the Sturges-bin counts of ref and cur when the
// reference has more than 20 distinct values, nil otherwise. Integer data
// in a small range is counted per value first and the values mapped to
// bins, which is exact and O(n + range).
func numericBinCounts(ref, cur []float64) (rc, cc []float64) {
	lo, hi, integral := numScan(ref, cur)
	if integral && hi-lo < denseSpan {
		span := int(hi-lo) + 1
		dr, dc := denseCounts(ref, lo, span), denseCounts(cur, lo, span)
		distinct := 0
		for _, c := range dr {
			if c > 0 {
				distinct++
			}
		}
		if distinct <= 20 {
			return nil, nil
		}
		edges := SturgesEdges(lo, hi, len(ref)+len(cur))
		rc, cc = make([]float64, len(edges)-1), make([]float64, len(edges)-1)
		norm := float64(len(edges)-1) / (edges[len(edges)-1] - edges[0])
		for i := 0; i < span; i++ {
			if dr[i] == 0 && dc[i] == 0 {
				continue
			}
			b := binIndex(lo+float64(i), edges, edges[0], norm)
			rc[b] += float64(dr[i])
			cc[b] += float64(dc[i])
		}
		return rc, cc
	}
	if countDistinctUpTo(20, ref) <= 20 {
		return nil, nil
	}
	edges := SturgesEdges(lo, hi, len(ref)+len(cur))
	return HistogramCounts(ref, edges), HistogramCounts(cur, edges)
}

// hellinger is Evidently's "hellinger": categorical columns compare the
// category shares; numerical columns compare density histograms over the
// Sturges bins of the distinct pooled values (all of them, whatever their
// number).
func hellinger(ref, cur Column) (float64, float64, error) {
	d, err := categorise(ref, cur, false)
	if err != nil {
		return 0, 0, err
	}
	if ref.Kind == Categorical {
		rp, cp := make([]float64, len(d.ref)), make([]float64, len(d.cur))
		for i := range d.ref {
			rp[i] = d.ref[i] / float64(d.nRef)
			cp[i] = d.cur[i] / float64(d.nCur)
		}
		return HellingerShares(rp, cp), 0, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xs := range [2][]float64{ref.Num, cur.Num} {
		for _, v := range xs {
			lo = min(lo, v)
			hi = max(hi, v)
		}
	}
	edges := SturgesEdges(lo, hi, len(d.ref))
	return hellingerDensity(histogramCounted(ref.Num, ref.Counts, edges), histogramCounted(cur.Num, cur.Counts, edges), edges), 0, nil
}

// fisherFromCounts builds Evidently's table [[cur ones, cur zeros],
// [ref ones, ref zeros]] where "zero" is the first category in key order
// and "one" the second.
func fisherFromCounts(d catData) (float64, float64, error) {
	if len(d.ref) > 2 {
		return 0, 0, fmt.Errorf("fisher_exact: expects at most 2 categories in reference and current together, found %d", len(d.ref))
	}
	var t [2][2]int64
	t[0][1] = int64(d.cur[0])
	t[1][1] = int64(d.ref[0])
	if len(d.ref) == 2 {
		t[0][0] = int64(d.cur[1])
		t[1][0] = int64(d.ref[1])
	}
	return FisherExact(t)
}
