package drift

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Counted columns (Column.Counts).
//
// Run computes the tests listed by Counted from the counts, in memory
// O(distinct values) on the counted side: every such statistic is a function
// of the two samples' distinct values and their multiplicities only, and the
// counted forms evaluate it at the same points, with the same integer
// cumulative counts and in the same order of floating-point operations as
// the row-by-row code, so that on integer counts they give the same numbers
// as the expanded columns (tested against Expanded). Exceptions, up to
// rounding: "wasserstein" with a counted reference (the reference's standard
// deviation is then computed from the counts, not by numpy's pairwise sum
// over the rows). The other tests (rank, permutation and kernel tests) expand
// the counted columns first (Column.Expanded): memory O(rows) for that test.

// countedTests are the tests Run computes from the counts.
var countedTests = map[string]bool{
	"ks": true, "wasserstein": true, "ed": true,
	"jensenshannon": true, "psi": true, "kl_div": true, "hellinger": true,
	"chisquare": true, "g_test": true, "z": true, "fisher_exact": true,
}

// Counted reports whether Run computes test (canonical name or alias) from a
// counted column's counts directly; for the other tests a counted column is
// expanded into one value per observation first.
func Counted(test string) bool {
	info, ok := Info(test)
	return ok && countedTests[info.Name]
}

// Expanded returns c with Num[i] or Cat[i] repeated Counts[i] times, in the
// order of the values: a plain column of c.Len() observations (c itself when
// it has no counts). Cost: 8 bytes an observation (numerical), 16
// (categorical; the strings are shared).
func (c Column) Expanded() Column {
	if c.Counts == nil {
		return c
	}
	out := Column{Kind: c.Kind}
	n := c.Len()
	if c.Kind == Numerical {
		out.Num = make([]float64, 0, n)
		for i, v := range c.Num {
			for range c.Counts[i] {
				out.Num = append(out.Num, v)
			}
		}
		return out
	}
	out.Cat = make([]string, 0, n)
	for i, v := range c.Cat {
		for range c.Counts[i] {
			out.Cat = append(out.Cat, v)
		}
	}
	return out
}

// checkCounts checks that a counted column has one count >= 1 per value.
func checkCounts(side string, c Column) error {
	if c.Counts == nil {
		return nil
	}
	values := len(c.Num)
	if c.Kind == Categorical {
		values = len(c.Cat)
	}
	if len(c.Counts) != values {
		return fmt.Errorf("%s: %d counts for %d values", side, len(c.Counts), values)
	}
	for i, k := range c.Counts {
		if k < 1 {
			return fmt.Errorf("%s: count %d of value %d is < 1", side, k, i)
		}
	}
	return nil
}

func counted(ref, cur Column) bool { return ref.Counts != nil || cur.Counts != nil }

// distinctNum is a numerical sample as ascending distinct values (-0 folded
// onto +0) with their counts, n in all.
type distinctNum struct {
	v []float64
	c []int64
	n int64
}

// collapse returns the distinct values of a finite column with their counts.
func collapse(col Column) distinctNum {
	var d distinctNum
	if col.Counts == nil {
		s, release := sortedTemp(col.Num)
		defer release()
		for i, v := range s {
			if i == 0 || v != s[i-1] {
				d.v = append(d.v, v)
				d.c = append(d.c, 0)
			}
			d.c[len(d.c)-1]++
		}
		d.n = int64(len(s))
		return d
	}
	order := make([]int, len(col.Num))
	for i := range order {
		order[i] = i
	}
	if !sort.SliceIsSorted(order, func(a, b int) bool { return col.Num[order[a]]+0 < col.Num[order[b]]+0 }) {
		sort.Slice(order, func(a, b int) bool { return col.Num[order[a]]+0 < col.Num[order[b]]+0 })
	}
	for _, i := range order {
		v := col.Num[i] + 0 // -0 -> +0
		if len(d.v) == 0 || v != d.v[len(d.v)-1] {
			d.v = append(d.v, v)
			d.c = append(d.c, 0)
		}
		d.c[len(d.c)-1] += col.Counts[i]
		d.n += col.Counts[i]
	}
	return d
}

// ksStatCounted is ksStatSorted on the samples a and b given by their
// distinct values and counts: the same evaluation points (the ends of the runs
// of one sample's values between two values of the other, and the ties), the
// same integer numerators i*n2 - j*n1 and the same float differences, i and j
// being the cumulative counts instead of positions.
func ksStatCounted(a, b distinctNum) float64 {
	n1, n2 := a.n, b.n
	f1, f2 := float64(n1), float64(n2)
	i, j := 0, 0                 // positions in the distinct values
	ci, cj := int64(0), int64(0) // observations up to them
	maxNum, minNum := int64(math.MinInt64), int64(math.MaxInt64)
	maxS, minS := math.Inf(-1), math.Inf(1)
	for i < len(a.v) && j < len(b.v) {
		if a.v[i] < b.v[j] {
			v := b.v[j]
			for i < len(a.v) && a.v[i] < v {
				ci += a.c[i]
				i++
			}
			num := ci*n2 - cj*n1
			if num >= maxNum {
				if d := float64(ci)/f1 - float64(cj)/f2; num > maxNum || d > maxS {
					maxS = d
				}
				maxNum = num
			}
			continue
		}
		if b.v[j] < a.v[i] {
			v := a.v[i]
			for j < len(b.v) && b.v[j] < v {
				cj += b.c[j]
				j++
			}
			num := ci*n2 - cj*n1
			if num <= minNum {
				if d := float64(ci)/f1 - float64(cj)/f2; num < minNum || d < minS {
					minS = d
				}
				minNum = num
			}
			continue
		}
		ci += a.c[i]
		i++
		cj += b.c[j]
		j++
		num := ci*n2 - cj*n1
		d := float64(ci)/f1 - float64(cj)/f2
		if num > maxNum || (num == maxNum && d > maxS) {
			maxNum, maxS = num, d
		}
		if num < minNum || (num == minNum && d < minS) {
			minNum, minS = num, d
		}
	}
	if i < len(a.v) || j < len(b.v) {
		maxS = max(maxS, 0)
		minS = min(minS, 0)
	}
	minS = min(max(-minS, 0), 1)
	if minS > maxS {
		return minS
	}
	return maxS
}

// cdfDistanceCounted is cdfDistanceSorted (p = 1 or 2) on distinct values
// with counts: the same terms |i*m - j*n|^p * (next - x) in the same order.
func cdfDistanceCounted(p int, u, v distinctNum) float64 {
	nu, nv := u.n, v.n
	i, j := 0, 0
	ci, cj := int64(0), int64(0)
	var acc kahan
	x := min(u.v[0], v.v[0])
	for {
		if i < len(u.v) && u.v[i] == x {
			ci += u.c[i]
			i++
		}
		if j < len(v.v) && v.v[j] == x {
			cj += v.c[j]
			j++
		}
		var next float64
		switch {
		case i == len(u.v) && j == len(v.v):
			s := float64(nu) * float64(nv)
			if p == 2 {
				return math.Sqrt(acc.sum()) / s
			}
			return acc.sum() / s
		case i == len(u.v):
			next = v.v[j]
		case j == len(v.v):
			next = u.v[i]
		default:
			next = min(u.v[i], v.v[j])
		}
		num := float64(ci*nv - cj*nu)
		if p == 2 {
			acc.add(num * num * (next - x))
		} else {
			acc.add(math.Abs(num) * (next - x))
		}
		x = next
	}
}

// variance is np.var(ddof=0) of a column: numpy's pairwise order for a plain
// column, the two-pass sum over the distinct values weighted by their counts
// for a counted one (equal up to rounding).
func variance(col Column) float64 {
	if col.Counts == nil {
		return npVar(col.Num)
	}
	n := float64(col.Len())
	var s kahan
	for i, v := range col.Num {
		s.add(float64(col.Counts[i]) * v)
	}
	m := s.sum() / n
	var q kahan
	for i, v := range col.Num {
		d := v - m
		q.add(float64(col.Counts[i]) * d * d)
	}
	return q.sum() / n
}

// computeCountedNum computes "ks", "wasserstein" and "ed" when a side is
// counted (see compute for scale).
func computeCountedNum(name string, ref, cur Column, scale float64) (stat, p float64) {
	a, b := collapse(ref), collapse(cur)
	switch name {
	case "ks":
		return ksPValue(ksStatCounted(a, b), int(a.n), int(b.n))
	case "wasserstein":
		return cdfDistanceCounted(1, a, b) / max(math.Sqrt(variance(ref)), 0.001*scale), 0
	}
	return math.Sqrt2 * cdfDistanceCounted(2, a, b) / math.Sqrt(scale), 0
}

// numericBinCountsCounted is numericBinCounts for counted columns: the
// Sturges-bin counts of both samples when the reference has more than 20
// distinct values, nil otherwise.
func numericBinCountsCounted(ref, cur Column) (rc, cc []float64) {
	a, b := collapse(ref), collapse(cur)
	if len(a.v) <= 20 {
		return nil, nil
	}
	lo, hi := min(a.v[0], b.v[0]), max(a.v[len(a.v)-1], b.v[len(b.v)-1])
	edges := SturgesEdges(lo, hi, int(a.n+b.n))
	return histogramCounted(a.v, a.c, edges), histogramCounted(b.v, b.c, edges)
}

// histogramCounted is HistogramCounts of values with counts (nil: 1 each).
func histogramCounted(x []float64, counts []int64, edges []float64) []float64 {
	if counts == nil {
		return HistogramCounts(x, edges)
	}
	out := make([]float64, len(edges)-1)
	nb := len(edges) - 1
	first, last := edges[0], edges[nb]
	norm := float64(nb) / (last - first)
	for i, v := range x {
		if !(v >= first && v <= last) {
			continue
		}
		out[binIndex(v, edges, first, norm)] += float64(counts[i])
	}
	return out
}

// categoriseCounted is categorise (without codes) when a side is counted:
// the counts per distinct value over the union, in ascending key order.
func categoriseCounted(ref, cur Column) (catData, error) {
	nRef, nCur := ref.Len(), cur.Len()
	if nRef == 0 {
		return catData{}, fmt.Errorf("reference: %w", ErrEmpty)
	}
	if nCur == 0 {
		return catData{}, fmt.Errorf("current: %w", ErrEmpty)
	}
	if ref.Kind == Numerical {
		a, b := collapse(ref), collapse(cur)
		keys := make([]float64, 0, len(a.v)+len(b.v))
		keys = append(append(keys, a.v...), b.v...)
		slices.Sort(keys)
		keys = slices.Compact(keys)
		d := catData{ref: make([]float64, len(keys)), cur: make([]float64, len(keys)), nRef: nRef, nCur: nCur}
		for s, x := range [2]distinctNum{a, b} {
			dst := d.ref
			if s == 1 {
				dst = d.cur
			}
			k := 0
			for i, v := range x.v {
				for keys[k] != v {
					k++
				}
				dst[k] += float64(x.c[i])
			}
		}
		return d, nil
	}
	idx := map[string]int{}
	var keys []string
	var cnt [2][]float64
	for s, col := range [2]Column{ref, cur} {
		for i, v := range col.Cat {
			c, ok := idx[v]
			if !ok {
				c = len(keys)
				idx[v] = c
				keys = append(keys, v)
				cnt[0], cnt[1] = append(cnt[0], 0), append(cnt[1], 0)
			}
			if col.Counts != nil {
				cnt[s][c] += float64(col.Counts[i])
			} else {
				cnt[s][c]++
			}
		}
	}
	order := make([]int32, len(keys))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	return reorder(cnt, [2][]int32{}, order, nRef, nCur), nil
}
