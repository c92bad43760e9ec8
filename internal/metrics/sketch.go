package metrics

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// logMapping is DDSketch's logarithmic index mapping (Masson, Rim & Lee,
// "DDSketch: a fast and fully-mergeable quantile sketch with relative-error
// guarantees", VLDB 2019). A positive x with x > minIndexable falls in
// bucket i = ⌈log_γ x⌉, covering (γ^(i−1), γ^i], with γ = (1+α)/(1−α). The
// bucket's representative 2γ^i/(γ+1) is within α·x of every x in it.
type logMapping struct {
	alpha, gamma, logGamma float64
}

// minIndexable is the smallest magnitude given its own bucket; smaller
// magnitudes (including 0) are counted in the zero bucket and treated as 0.
const minIndexable = 0x1p-1000

func newLogMapping(alpha float64) logMapping {
	g := (1 + alpha) / (1 - alpha)
	return logMapping{alpha: alpha, gamma: g, logGamma: math.Log(g)}
}

func (m logMapping) index(x float64) int32 {
	return int32(math.Ceil(math.Log(x) / m.logGamma))
}

// upper returns γ^i, the inclusive upper bound of bucket i.
func (m logMapping) upper(i int32) float64 { return math.Exp(float64(i) * m.logGamma) }

// value returns bucket i's representative 2γ^i/(γ+1).
func (m logMapping) value(i int32) float64 { return 2 * m.upper(i) / (m.gamma + 1) }

// denseCounts stores bucket counts for indices offset … offset+len-1.
type denseCounts struct {
	offset int32
	counts []int64
}

func (d *denseCounts) add(i int32, c int64) {
	if len(d.counts) == 0 {
		d.offset = i
		d.counts = append(d.counts[:0], c)
		return
	}
	if i < d.offset {
		grow := int(d.offset - i)
		nc := make([]int64, len(d.counts)+grow, (len(d.counts)+grow)*5/4+8)
		copy(nc[grow:], d.counts)
		d.counts, d.offset = nc, i
	} else if k := int(i - d.offset); k >= len(d.counts) {
		if k < cap(d.counts) {
			d.counts = d.counts[:k+1]
		} else {
			nc := make([]int64, k+1, (k+1)*5/4+8)
			copy(nc, d.counts)
			d.counts = nc
		}
	}
	d.counts[i-d.offset] += c
}

func (d *denseCounts) mergeFrom(o *denseCounts) {
	for k, c := range o.counts {
		if c != 0 {
			d.add(o.offset+int32(k), c)
		}
	}
}

func (d *denseCounts) total() int64 {
	var t int64
	for _, c := range d.counts {
		t += c
	}
	return t
}

func (d *denseCounts) clone() denseCounts {
	return denseCounts{offset: d.offset, counts: append([]int64(nil), d.counts...)}
}

// encode returns the counts as base64 of: zig-zag varint offset, uvarint
// length, then one uvarint per bucket (zeros cost one byte). Empty counts
// encode as "".
func (d *denseCounts) encode() string {
	lo, hi := 0, len(d.counts)
	for lo < hi && d.counts[lo] == 0 {
		lo++
	}
	for hi > lo && d.counts[hi-1] == 0 {
		hi--
	}
	if lo == hi {
		return ""
	}
	b := make([]byte, 0, 2*binary.MaxVarintLen64+(hi-lo)*2)
	b = binary.AppendVarint(b, int64(d.offset)+int64(lo))
	b = binary.AppendUvarint(b, uint64(hi-lo))
	for _, c := range d.counts[lo:hi] {
		b = binary.AppendUvarint(b, uint64(c))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// maxBuckets bounds the decoded bucket range (about 4600 decades at
// α = 0.5%), so corrupt input cannot allocate without limit.
const maxBuckets = 1 << 20

func (d *denseCounts) decode(s string) error {
	*d = denseCounts{}
	if s == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("bucket counts: %w: %w", ErrCorrupt, err)
	}
	off, k := binary.Varint(b)
	if k <= 0 || off < -1<<30 || off > 1<<30 {
		return fmt.Errorf("bucket offset: %w", ErrCorrupt)
	}
	b = b[k:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > maxBuckets {
		return fmt.Errorf("bucket count length: %w", ErrCorrupt)
	}
	b = b[k:]
	d.offset, d.counts = int32(off), make([]int64, n)
	var sum uint64
	for i := range d.counts {
		c, k := binary.Uvarint(b)
		if sum += c; k <= 0 || c > 1<<62 || sum > 1<<62 {
			return fmt.Errorf("bucket %d: %w", i, ErrCorrupt)
		}
		d.counts[i], b = int64(c), b[k:]
	}
	if len(b) != 0 {
		return fmt.Errorf("%d trailing bytes after bucket counts: %w", len(b), ErrCorrupt)
	}
	return nil
}

// hll is a HyperLogLog distinct counter (Flajolet et al. 2007) with 2^p
// one-byte registers, 64-bit hashes and linear counting for small
// cardinalities. Relative standard error ≈ 1.04/√(2^p). Merge (register
// max) is exact, associative and commutative.
type hll struct {
	reg []uint8
}

const hllP = 11

func newHLL() *hll { return &hll{reg: make([]uint8, 1<<hllP)} }

// mix64 is the splitmix64 finaliser, a bijective 64-bit mixer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (h *hll) addHash(x uint64) {
	x = mix64(x)
	idx := x >> (64 - hllP)
	w := x<<hllP | 1<<(hllP-1)
	rho := uint8(bits.LeadingZeros64(w) + 1)
	if rho > h.reg[idx] {
		h.reg[idx] = rho
	}
}

func (h *hll) addFloat(x float64) { h.addHash(math.Float64bits(x)) }

func (h *hll) merge(o *hll) {
	for i, r := range o.reg {
		if r > h.reg[i] {
			h.reg[i] = r
		}
	}
}

func (h *hll) estimate() float64 {
	m := float64(len(h.reg))
	var sum float64
	zeros := 0
	for _, r := range h.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := 0.7213 / (1 + 1.079/m) * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return e
}

func (h *hll) encode() string { return base64.StdEncoding.EncodeToString(h.reg) }

func decodeHLL(s string) (*hll, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("hll registers: %w: %w", ErrCorrupt, err)
	}
	if len(b) != 1<<hllP {
		return nil, fmt.Errorf("hll has %d registers, want %d: %w", len(b), 1<<hllP, ErrCorrupt)
	}
	for _, r := range b {
		if r > 64-hllP+1 {
			return nil, fmt.Errorf("hll register %d out of range: %w", r, ErrCorrupt)
		}
	}
	return &hll{reg: b}, nil
}
