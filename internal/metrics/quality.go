package metrics

import (
	"fmt"
	"github.com/modelmon/modelmon/internal/fscale"
	"math"
	"slices"
)

// MaxListedValues caps the new/unused values listed in a ColumnQuality; the
// counts always cover all of them.
const MaxListedValues = 20

// NumColumn is a numerical column. Valid[i] == false marks row i as missing
// (its Values[i] is ignored); nil Valid means every row is present. Present
// values must be finite.
type NumColumn struct {
	Values []float64
	Valid  []bool
}

// CatColumn is a categorical column. Valid[i] == false marks row i as
// missing; nil Valid means every row is present (the empty string is then
// an ordinary category).
type CatColumn struct {
	Values []string
	Valid  []bool
}

// ColumnQuality holds data-quality statistics of one column. Fields that do
// not apply or are undefined are nil and omitted from JSON: min … p75 for
// categorical columns or columns without present values, Std for fewer
// than two present values, and every reference-relative field when no
// reference was given.
//
// Conventions: Count counts present values, Missing missing ones, Rows
// both. Shares are fractions in [0, 1] (not percentages): MissingShare =
// Missing/Rows, MostCommonShare = count of the most common value / Count
// (pandas value_counts(normalize=True)), OutOfRangeShare = OutOfRangeCount
// / Count. Std uses ddof = 1 (pandas), quantiles numpy's linear method.
// The most common value breaks ties by the smallest value. New values are
// present in current but not in reference, unused values present in
// reference but not in current; at most MaxListedValues of each are listed
// (the smallest ones, sorted), the counts are complete.
type ColumnQuality struct {
	Type         string   `json:"column_type"` // "num" or "cat"
	Rows         int      `json:"rows"`
	Count        int      `json:"count"`
	Missing      int      `json:"missing_count"`
	MissingShare *float64 `json:"missing_share,omitempty"`

	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
	Mean *float64 `json:"mean,omitempty"`
	Std  *float64 `json:"std,omitempty"`
	P25  *float64 `json:"p25,omitempty"`
	P50  *float64 `json:"p50,omitempty"`
	P75  *float64 `json:"p75,omitempty"`

	Unique             int      `json:"unique_count"`
	MostCommonValue    *float64 `json:"most_common_value,omitempty"`    // numerical columns
	MostCommonCategory *string  `json:"most_common_category,omitempty"` // categorical columns
	MostCommonCount    int      `json:"most_common_count,omitempty"`
	MostCommonShare    *float64 `json:"most_common_share,omitempty"`

	NewCount         *int      `json:"new_in_current_count,omitempty"`
	NewValues        []float64 `json:"new_in_current_values,omitempty"`
	NewCategories    []string  `json:"new_in_current_categories,omitempty"`
	UnusedCount      *int      `json:"unused_in_current_count,omitempty"`
	UnusedValues     []float64 `json:"unused_in_current_values,omitempty"`
	UnusedCategories []string  `json:"unused_in_current_categories,omitempty"`
	OutOfRangeCount  *int      `json:"out_of_range_count,omitempty"`
	OutOfRangeShare  *float64  `json:"out_of_range_share,omitempty"`

	// Implausible counts present values outside the column's configured
	// plausible range (PlausibleRange); nil when no range is configured.
	// They are also counted in Count and take part in every statistic (the
	// kernels stay finite for any finite input): the count is the flag.
	Implausible      *int     `json:"implausible_count,omitempty"`
	ImplausibleShare *float64 `json:"implausible_share,omitempty"`
	PlausibleRange   *Range   `json:"plausible_range,omitempty"`
	// Overflow names the fields left null because their true value is beyond
	// the float64 range (e.g. "std" of values of both signs near ±1.7e308).
	Overflow []string `json:"overflow_fields,omitempty"`

	// NonFinite counts NaN/±Inf values a NumSummary was fed (and excluded);
	// the slice functions reject them instead.
	NonFinite int `json:"non_finite_count,omitempty"`
	// Approx names the fields that are estimates, not exact values
	// (summary path only; see NumSummary for the error bounds).
	Approx []string `json:"approx_fields,omitempty"`
}

func pf(x float64) *float64 { return &x }
func pi(x int) *int         { return &x }

func share(k, n int) *float64 {
	if n == 0 {
		return nil
	}
	return pf(float64(k) / float64(n))
}

// presentNum validates c and returns a copy of its present values.
func presentNum(fn, arg string, c NumColumn) ([]float64, error) {
	if c.Valid != nil && len(c.Valid) != len(c.Values) {
		return nil, fmt.Errorf("metrics: %s: %s: len(Valid) = %d, len(Values) = %d: %w", fn, arg, len(c.Valid), len(c.Values), ErrLength)
	}
	out := make([]float64, 0, len(c.Values))
	for i, x := range c.Values {
		if c.Valid != nil && !c.Valid[i] {
			continue
		}
		if !isFinite(x) {
			return nil, fmt.Errorf("metrics: %s: %s.Values[%d] = %v (mark missing values in Valid): %w", fn, arg, i, x, ErrNonFinite)
		}
		if x == 0 {
			x = 0 // -0 → +0: one value for counting.
		}
		out = append(out, x)
	}
	return out, nil
}

// NumericQuality returns data-quality statistics of a numerical column,
// with pandas/numpy semantics: count, missing, min, max, mean, std (ddof 1),
// p25/p50/p75 (numpy linear), unique count, most common value. If ref is
// non-nil it also reports values new in cur and unused in cur (exact value
// equality) and the values of cur outside ref's [min, max] range.
//
// It returns an error wrapping ErrLength if a Valid mask has the wrong
// length and ErrNonFinite if a present value is NaN or ±Inf. Cost: one
// O(n) radix sort of a copy of the present values of each column.
func NumericQuality(cur NumColumn, ref *NumColumn) (ColumnQuality, error) {
	xs, err := presentNum("NumericQuality", "cur", cur)
	if err != nil {
		return ColumnQuality{}, err
	}
	radixSortFloat64(xs)
	q := numQualitySorted(xs, len(cur.Values))
	if ref == nil {
		return q, nil
	}
	rs, err := presentNum("NumericQuality", "ref", *ref)
	if err != nil {
		return ColumnQuality{}, err
	}
	radixSortFloat64(rs)
	newN, newV, unusedN, unusedV := diffSorted(uniqueSorted(xs), uniqueSorted(rs))
	q.NewCount, q.NewValues, q.UnusedCount, q.UnusedValues = pi(newN), newV, pi(unusedN), unusedV
	if len(rs) > 0 {
		lo, hi := rs[0], rs[len(rs)-1]
		out := 0
		for _, x := range xs {
			if x < lo || x > hi {
				out++
			}
		}
		q.OutOfRangeCount, q.OutOfRangeShare = pi(out), share(out, len(xs))
	}
	return q, nil
}

// numQualitySorted fills the reference-free statistics from the sorted
// present values xs of a column of rows rows.
func numQualitySorted(xs []float64, rows int) ColumnQuality {
	n := len(xs)
	q := ColumnQuality{Type: "num", Rows: rows, Count: n, Missing: rows - n, MissingShare: share(rows-n, rows)}
	if n == 0 {
		return q
	}
	q.Min, q.Max = pf(xs[0]), pf(xs[n-1])
	q.P25, q.P50, q.P75 = pf(QuantileSorted(0.25, xs)), pf(QuantileSorted(0.5, xs)), pf(QuantileSorted(0.75, xs))
	m, sd := meanStd(xs)
	q.Mean = pf(min(max(m, xs[0]), xs[n-1])) // rounding must not leave [min, max]
	if n > 1 {
		if isFinite(sd) {
			q.Std = pf(sd)
		} else {
			q.Overflow = append(q.Overflow, "std")
		}
	}
	best, bestN, unique := 0.0, 0, 0
	for i := 0; i < n; {
		j := i + 1
		for j < n && xs[j] == xs[i] {
			j++
		}
		unique++
		if j-i > bestN {
			best, bestN = xs[i], j-i
		}
		i = j
	}
	q.Unique = unique
	q.MostCommonValue, q.MostCommonCount, q.MostCommonShare = pf(best), bestN, share(bestN, n)
	return q
}

// meanStd returns the mean and the ddof=1 standard deviation of xs by the
// two-pass algorithm (as numpy/pandas), on the values scaled by a power of
// two s (fscale.Pow2 of max|x|) so that no sum or square can overflow or
// underflow: mean = Σ(x·s)/n / s, std = √(Σ(x·s − mean·s)²/(n−1)) / s. The
// variance itself is never formed unscaled (for |x| ~ 1e200 it would be
// ~1e400). The mean is always finite (|mean| ≤ max|x|); the std is +Inf
// only when the true value exceeds MaxFloat64 (values of both signs near
// ±1.7e308), and NaN for fewer than two values.
func meanStd(xs []float64) (mean, std float64) {
	s := fscale.Pow2(fscale.MaxAbs(xs))
	var sum float64
	for _, x := range xs {
		sum += x * s
	}
	ms := sum / float64(len(xs))
	if len(xs) < 2 {
		return ms / s, math.NaN()
	}
	var ss float64
	for _, x := range xs {
		d := x*s - ms
		ss += d * d
	}
	return ms / s, math.Sqrt(ss/float64(len(xs)-1)) / s
}

func uniqueSorted(xs []float64) []float64 {
	return slices.Compact(slices.Clone(xs))
}

// diffSorted compares two sorted sets of distinct values.
func diffSorted[T interface{ ~float64 | ~string }](cur, ref []T) (newN int, newV []T, unusedN int, unusedV []T) {
	i, j := 0, 0
	for i < len(cur) || j < len(ref) {
		switch {
		case j == len(ref) || (i < len(cur) && cur[i] < ref[j]):
			newN++
			if len(newV) < MaxListedValues {
				newV = append(newV, cur[i])
			}
			i++
		case i == len(cur) || ref[j] < cur[i]:
			unusedN++
			if len(unusedV) < MaxListedValues {
				unusedV = append(unusedV, ref[j])
			}
			j++
		default:
			i++
			j++
		}
	}
	return
}

// countCats validates c and counts its present categories.
func countCats(fn, arg string, c CatColumn) (map[string]int64, int, error) {
	if c.Valid != nil && len(c.Valid) != len(c.Values) {
		return nil, 0, fmt.Errorf("metrics: %s: %s: len(Valid) = %d, len(Values) = %d: %w", fn, arg, len(c.Valid), len(c.Values), ErrLength)
	}
	counts := make(map[string]int64)
	missing := 0
	for i, v := range c.Values {
		if c.Valid != nil && !c.Valid[i] {
			missing++
			continue
		}
		counts[v]++
	}
	return counts, missing, nil
}

// CategoricalQuality returns data-quality statistics of a categorical
// column: count, missing, unique count, most common category and its
// share; with a reference, the categories new in cur and unused in cur.
// It returns an error wrapping ErrLength if a Valid mask has the wrong
// length.
func CategoricalQuality(cur CatColumn, ref *CatColumn) (ColumnQuality, error) {
	cc, cm, err := countCats("CategoricalQuality", "cur", cur)
	if err != nil {
		return ColumnQuality{}, err
	}
	var rc map[string]int64
	if ref != nil {
		if rc, _, err = countCats("CategoricalQuality", "ref", *ref); err != nil {
			return ColumnQuality{}, err
		}
	}
	return catQuality(cc, int64(cm), rc, ref != nil), nil
}

// catQuality builds a categorical ColumnQuality from exact counts; it is
// shared by the slice and summary paths so both agree exactly.
func catQuality(counts map[string]int64, missing int64, ref map[string]int64, hasRef bool) ColumnQuality {
	var n int64
	var best string
	var bestN int64
	for v, c := range counts {
		n += c
		if c > bestN || (c == bestN && v < best) {
			best, bestN = v, c
		}
	}
	rows := int(n + missing)
	q := ColumnQuality{Type: "cat", Rows: rows, Count: int(n), Missing: int(missing), MissingShare: share(int(missing), rows), Unique: len(counts)}
	if n > 0 {
		q.MostCommonCategory, q.MostCommonCount, q.MostCommonShare = &best, int(bestN), share(int(bestN), int(n))
	}
	if hasRef {
		newN, newV, unusedN, unusedV := diffSorted(sortedKeys(counts), sortedKeys(ref))
		q.NewCount, q.NewCategories, q.UnusedCount, q.UnusedCategories = pi(newN), newV, pi(unusedN), unusedV
	}
	return q
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
