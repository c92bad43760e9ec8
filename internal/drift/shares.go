package drift

import (
	"math"
)

// SturgesEdges returns the bin edges numpy.histogram_bin_edges(a,
// bins="sturges") produces for n pooled values whose minimum and maximum
// are pooledMin and pooledMax: with ptp = max - min the bin width is
// ptp/(log2(n)+1), the number of bins k = ceil(ptp/width) (1 if ptp is 0,
// in which case the range is widened to [min-0.5, max+0.5]), and the edges
// are np.linspace(min, max, k+1): min + i*(max-min)/k with the last edge
// exactly max. n < 1 is treated as 1; non-finite bounds or min > max give
// nil.
func SturgesEdges(pooledMin, pooledMax float64, n int) []float64 {
	if pooledMin-pooledMin != 0 || pooledMax-pooledMax != 0 || pooledMin > pooledMax {
		return nil
	}
	n = max(n, 1)
	first, last := pooledMin, pooledMax
	ptp := last - first
	k := 1
	if ptp != 0 {
		width := ptp / (math.Log2(float64(n)) + 1.0)
		if width != 0 {
			k = int(math.Ceil(ptp / width))
		}
	} else {
		// numpy widens a zero range by ±0.5; from |x| >= 2^52 on that is lost
		// to rounding (zero-width bins, NaN densities), so the margin is then
		// 2^-40 of |x| instead.
		h := 0.5
		if first-h == first || last+h == last {
			h = max(math.Abs(first), math.Abs(last)) * 0x1p-40
		}
		first -= h
		last += h
	}
	edges := make([]float64, k+1)
	step := (last - first) / float64(k)
	for i := range edges {
		if step == 0 {
			edges[i] = float64(float64(i)/float64(k)*(last-first)) + first
		} else {
			edges[i] = float64(float64(i)*step) + first
		}
	}
	edges[k] = last
	return edges
}

// HistogramCounts counts x into the bins given by ascending edges as
// numpy.histogram(x, edges) does: bin i holds edges[i] <= x < edges[i+1],
// the last bin also holds x == edges[len-1]; values outside are ignored.
// It runs in O(len(x)) for equal-width edges (as produced by SturgesEdges)
// and is correct, if slower, for any ascending edges. Fewer than two edges
// give nil.
func HistogramCounts(x, edges []float64) []float64 {
	if len(edges) < 2 {
		return nil
	}
	counts := make([]float64, len(edges)-1)
	histogramInto(counts, x, edges)
	return counts
}

func histogramInto(counts, x, edges []float64) {
	nb := len(edges) - 1
	first, last := edges[0], edges[nb]
	norm := float64(nb) / (last - first)
	for _, v := range x {
		if !(v >= first && v <= last) {
			continue
		}
		counts[binIndex(v, edges, first, norm)]++
	}
}

// binIndex locates v (within [edges[0], edges[last]]) by a guess from the
// equal-width formula, corrected against the actual edges so the result is
// exactly numpy's searchsorted rule.
func binIndex(v float64, edges []float64, first, norm float64) int {
	nb := len(edges) - 1
	i := int((v - first) * norm)
	if i < 0 {
		i = 0
	}
	if i > nb-1 {
		i = nb - 1
	}
	for i > 0 && v < edges[i] {
		i--
	}
	for i < nb-1 && v >= edges[i+1] {
		i++
	}
	return i
}

// FloorShares replaces zero shares as Evidently's get_binned_data does with
// feel_zeroes=True (used for psi and kl_div): every 0 becomes 0.0001, or
// min(non-zero shares)/1e6 when that minimum is itself <= 0.0001. The input
// is modified in place and returned.
func FloorShares(s []float64) []float64 {
	mn := math.Inf(1)
	for _, v := range s {
		if v != 0 && v < mn {
			mn = v
		}
	}
	fill := 0.0001
	if mn <= 0.0001 {
		fill = mn / 1e6
	}
	for i, v := range s {
		if v == 0 {
			s[i] = fill
		}
	}
	return s
}

// mustSameLen panics, as gonum/floats does, when share vectors differ in
// length: that is a programming error, not a data condition.
func mustSameLen(p, q []float64) {
	if len(p) != len(q) {
		panic("drift: share vectors of different lengths")
	}
}

// relEntr is scipy.special.rel_entr(x, y): x*log(x/y), 0 at x = 0, +Inf
// when x > 0 and y = 0.
func relEntr(x, y float64) float64 {
	switch {
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	}
	return math.Inf(1)
}

func normalised(p []float64) []float64 {
	s := npSum(p)
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = v / s
	}
	return out
}

// JensenShannonShares returns the Jensen-Shannon distance (natural log)
// between two share vectors, as scipy.spatial.distance.jensenshannon(p, q):
// with p and q normalised to sum 1 and m = (p+q)/2,
//
//	JS = sqrt((KL(p||m) + KL(q||m)) / 2).
//
// The vectors must have equal length (it panics otherwise, as gonum/floats)
// and non-negative entries. Evidently's
// "jensenshannon" drift test passes the raw shares of
// get_binned_data(..., feel_zeroes=False), i.e. empty bins stay 0 (they
// contribute nothing); apply FloorShares first to reproduce a floored
// variant.
func JensenShannonShares(p, q []float64) float64 {
	mustSameLen(p, q)
	pn, qn := normalised(p), normalised(q)
	left := make([]float64, len(p))
	right := make([]float64, len(p))
	for i := range pn {
		m := (pn[i] + qn[i]) / 2.0
		left[i] = relEntr(pn[i], m)
		right[i] = relEntr(qn[i], m)
	}
	js := npSum(left) + npSum(right)
	return math.Sqrt(js / 2.0)
}

// PSIShares returns the population stability index
//
//	PSI = sum_i (ref_i - cur_i) * ln(ref_i / cur_i)
//
// as Evidently's psi test computes it on shares already floored with
// FloorShares (a zero share gives ±Inf or NaN).
func PSIShares(ref, cur []float64) float64 {
	mustSameLen(ref, cur)
	terms := make([]float64, len(ref))
	for i := range ref {
		terms[i] = (ref[i] - cur[i]) * math.Log(ref[i]/cur[i])
	}
	return npSum(terms)
}

// KLShares returns the Kullback-Leibler divergence KL(ref || cur) (natural
// log) as scipy.stats.entropy(ref, cur), which Evidently's kl_div test
// applies to floored shares: both vectors are normalised to sum 1 and
// sum_i ref_i ln(ref_i/cur_i) is returned (+Inf if some cur_i = 0 < ref_i).
func KLShares(ref, cur []float64) float64 {
	mustSameLen(ref, cur)
	pn, qn := normalised(ref), normalised(cur)
	terms := make([]float64, len(ref))
	for i := range pn {
		terms[i] = relEntr(pn[i], qn[i])
	}
	return npSum(terms)
}

// HellingerShares returns Evidently's Hellinger distance between two
// categorical share vectors: sqrt(1 - clip(sum_i sqrt(p_i q_i), 0, 1)).
func HellingerShares(p, q []float64) float64 {
	mustSameLen(p, q)
	bc := 0.0
	for i := range p {
		bc += math.Sqrt(p[i] * q[i])
	}
	return math.Sqrt(1 - min(max(bc, 0), 1))
}

// hellingerDensity is Evidently's numerical Hellinger distance: density
// histograms h1, h2 over the given edges (counts / n / bin width, as
// numpy.histogram(density=True)), bc = sum sqrt(h1*h2) * w with
// w = (max(edges)-min(edges))/(len(edges)-1), result sqrt(1 - clip(bc)).
func hellingerDensity(refCounts, curCounts, edges []float64) float64 {
	n1, n2 := 0.0, 0.0
	for i := range refCounts {
		n1 += refCounts[i]
		n2 += curCounts[i]
	}
	w := (edges[len(edges)-1] - edges[0]) / float64(len(edges)-1)
	bc := 0.0
	for i := range refCounts {
		db := edges[i+1] - edges[i]
		h1 := refCounts[i] / db / n1
		h2 := curCounts[i] / db / n2
		bc += math.Sqrt(h1*h2) * w
	}
	return math.Sqrt(1 - min(max(bc, 0), 1))
}
