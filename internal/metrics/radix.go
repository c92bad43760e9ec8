package metrics

import (
	"math"
	"math/bits"
	"slices"
)

// floatKey maps a non-NaN float64 to a uint64 with the same order
// (−0 sorts just before +0).
func floatKey(x float64) uint64 {
	b := math.Float64bits(x)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// keyFloat inverts floatKey.
func keyFloat(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// radixSortFloat64 sorts xs (free of NaN) ascending with an LSD radix sort
// on floatKey: 8 passes of 8 bits, skipping passes whose digit is the same
// for every element. It allocates one n-element scratch buffer.
func radixSortFloat64(xs []float64) {
	n := len(xs)
	if n < 256 {
		slices.Sort(xs)
		return
	}
	keys := make([]uint64, n)
	tmp := make([]uint64, n)
	var counts [8][256]int
	for i, x := range xs {
		k := floatKey(x)
		keys[i] = k
		for d := range 8 {
			counts[d][byte(k>>(8*d))]++
		}
	}
	src, dst := keys, tmp
	for d := range 8 {
		c := &counts[d]
		if c[byte(src[0]>>(8*d))] == n {
			continue // every element has the same digit
		}
		var pos [256]int
		sum := 0
		for v := range 256 {
			pos[v] = sum
			sum += c[v]
		}
		shift := uint(8 * d)
		for _, k := range src {
			v := byte(k >> shift)
			dst[pos[v]] = k
			pos[v]++
		}
		src, dst = dst, src
	}
	for i, k := range src {
		xs[i] = keyFloat(k)
	}
}

// orderStats returns the order statistics x_(k) (0-based ranks, ks
// ascending, distinct, in range) of xs, which must be free of NaN and is
// not modified. If ys is non-nil (len(ys) == len(xs)), the values are
// ys[i] − xs[i] instead, computed on the fly, so no copy of the data is
// needed.
//
// It is a most-significant-digit radix selection on floatKey: one counting
// pass over the top digit (up to 16 bits, fewer for small inputs) locates
// the bucket of every wanted rank, one more pass copies out only those
// buckets, and the (much smaller) buckets are refined the same way on the
// next digits. Cost O(n), without data-dependent branches in the counting
// pass.
func orderStats(xs, ys []float64, ks []int) []float64 {
	out := make([]float64, len(ks))
	n := len(xs)
	if ys != nil {
		ys = ys[:n]
	}
	key := func(i int) uint64 {
		if ys != nil {
			return floatKey(ys[i] - xs[i])
		}
		return floatKey(xs[i])
	}
	if n <= smallSelect || len(ks) > 64 {
		// Small inputs, or so many ranks that sorting is as cheap.
		s := make([]uint64, n)
		for i := range s {
			s[i] = key(i)
		}
		slices.Sort(s)
		for i, k := range ks {
			out[i] = keyFloat(s[k])
		}
		return out
	}
	w := digitBits(n, 0)
	shift := 64 - w
	// uint32 counts and int8 slots keep the tables cache-resident; n is
	// far below 2^32 for any in-memory slice of float64 pairs we accept.
	if n > math.MaxUint32 {
		panic("metrics: orderStats: more than 2^32 values")
	}
	counts := make([]uint32, 1<<w)
	if ys == nil {
		for _, x := range xs {
			counts[floatKey(x)>>shift]++
		}
	} else {
		for i, x := range xs {
			counts[floatKey(ys[i]-x)>>shift]++
		}
	}
	groups := planGroups(counts, ks)
	slot := make([]int8, 1<<w) // group index + 1; 0 = not wanted
	bufs := make([][]uint64, len(groups))
	for g, gr := range groups {
		slot[gr.digit] = int8(g + 1)
		bufs[g] = make([]uint64, 0, gr.size)
	}
	if ys == nil {
		for _, x := range xs {
			k := floatKey(x)
			if g := slot[k>>shift]; g != 0 {
				bufs[g-1] = append(bufs[g-1], k)
			}
		}
	} else {
		for i, x := range xs {
			k := floatKey(ys[i] - x)
			if g := slot[k>>shift]; g != 0 {
				bufs[g-1] = append(bufs[g-1], k)
			}
		}
	}
	pos := 0
	for g, gr := range groups {
		for _, r := range selectKeys(bufs[g], gr.ranks, w) {
			out[pos] = keyFloat(r)
			pos++
		}
	}
	return out
}

// smallSelect is the size below which selection just sorts.
const smallSelect = 256

// digitBits returns the width of the next radix digit for n keys of which
// the top consumed bits are already equal: about n/4 buckets, at most 16
// bits and never past the end of the key.
func digitBits(n int, consumed uint) uint {
	w := uint(bits.Len(uint(n)))
	w = max(w, 6) - 2
	return min(w, 16, 64-consumed)
}

type rankGroup struct {
	digit, size int
	ranks       []int // ranks within the bucket
}

// planGroups finds, from a digit histogram, the bucket of every wanted
// rank and the rank inside it.
func planGroups[C int | uint32](counts []C, ks []int) []rankGroup {
	var groups []rankGroup
	cum, d := 0, 0
	for _, k := range ks {
		for cum+int(counts[d]) <= k {
			cum += int(counts[d])
			d++
		}
		if len(groups) > 0 && groups[len(groups)-1].digit == d {
			groups[len(groups)-1].ranks = append(groups[len(groups)-1].ranks, k-cum)
			continue
		}
		groups = append(groups, rankGroup{digit: d, size: int(counts[d]), ranks: []int{k - cum}})
	}
	return groups
}

// selectKeys returns the keys of the given ranks (ascending) among keys,
// whose top consumed bits are all equal; it may reorder keys.
func selectKeys(keys []uint64, ranks []int, consumed uint) []uint64 {
	out := make([]uint64, 0, len(ranks))
	if len(keys) <= smallSelect || consumed >= 64 {
		slices.Sort(keys)
		for _, r := range ranks {
			out = append(out, keys[r])
		}
		return out
	}
	w := digitBits(len(keys), consumed)
	shift := 64 - consumed - w
	mask := uint64(1)<<w - 1
	counts := make([]int, 1<<w)
	for _, k := range keys {
		counts[(k>>shift)&mask]++
	}
	for _, gr := range planGroups(counts, ranks) {
		sub := keys
		if gr.size != len(keys) {
			sub = make([]uint64, 0, gr.size)
			for _, k := range keys {
				if int((k>>shift)&mask) == gr.digit {
					sub = append(sub, k)
				}
			}
		}
		out = append(out, selectKeys(sub, gr.ranks, consumed+w)...)
	}
	return out
}
