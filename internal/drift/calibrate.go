package drift

import (
	"container/list"
	"encoding/binary"
	"fmt"
	"github.com/modelmon/modelmon/internal/fscale"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
)

// Calibration of drift verdicts.
//
// Evidently's distance tests compare a statistic with a fixed threshold (0.1)
// whatever the window's size n, but under "no drift" the statistic of n rows
// is inflated by sampling noise: the Jensen-Shannon distance between the
// shares of n draws and the distribution they come from is about
// sqrt((k-1)/(8n)) for k categories (0.18 for k = 250, n = 1,000). A
// calibrated verdict compares the statistic with its own distribution under
// "no drift" at the window's size, simulated from the reference.
//
// The null model: the window and the reference are independent samples of one
// population P. The simulation draws windows from the reference's empirical
// distribution (the bootstrap: multinomial draws from the reference shares for
// categories, resampled reference rows for numbers) and computes the statistic
// against the reference exactly as the test does. Because the reference itself
// is a finite sample of P (N rows), the two-sample statistic varies as the
// one-sample statistic of a window of the effective size
//
//	n_eff = n*N/(n+N)
//
// (the variances of the window's and the reference's shares add:
// 1/n + 1/N = 1/n_eff); the simulated windows have n_eff rows. For N much
// larger than n, n_eff is n.

// DefaultDraws is the number of simulated windows of a calibration. The
// Monte Carlo p-value (1 + #{T_b >= t})/(B + 1) gives a test of exact level
// for any B (when the simulation is exact); B only limits how well the
// threshold, the (1 - alpha) quantile, is estimated: its realised tail
// probability has standard deviation sqrt(alpha(1-alpha)/B), 0.0016 for
// alpha = 0.005 and B = 2,000.
const DefaultDraws = 2000

// calibrationSeed makes calibrations deterministic: the same reference, test
// and window size always give the same thresholds.
const calibrationSeed = 0x6d6f64656c6d6f6e // "modelmon"

// Null is the simulated distribution of a test's statistic under "no drift"
// for windows of N rows compared with one reference.
type Null struct {
	Test string // canonical test name
	N    int    // window rows the calibration is for
	NEff int    // rows of each simulated window (see the package notes)
	// Stats holds the B simulated statistics, ascending.
	Stats []float64
}

// Draws is B, the number of simulated windows.
func (d *Null) Draws() int { return len(d.Stats) }

// PValue is the Monte Carlo p-value of an observed statistic t,
// (1 + #{T_b >= t}) / (B + 1): the share of simulated windows at least as
// far from the reference as the observed one (ties counted with a relative
// tolerance of 1e-9, which errs towards larger p-values).
func (d *Null) PValue(t float64) float64 {
	if math.IsNaN(t) {
		return 1
	}
	cut := t - 1e-9*math.Abs(t)
	i := sort.SearchFloat64s(d.Stats, cut) // first index with Stats[i] >= cut
	return float64(1+len(d.Stats)-i) / float64(len(d.Stats)+1)
}

// Median is the median simulated statistic: the typical sampling noise.
func (d *Null) Median() float64 { return d.Stats[len(d.Stats)/2] }

// Threshold is the statistic the observed one must exceed for PValue(t) <=
// alpha: the r-th largest simulated statistic with r = floor(alpha(B+1)),
// i.e. the (1 - alpha) quantile of the null distribution. It is +Inf when B
// is too small for alpha (r < 1).
func (d *Null) Threshold(alpha float64) float64 {
	r := int(math.Floor(alpha * float64(len(d.Stats)+1)))
	if r < 1 {
		return math.Inf(1)
	}
	r = min(r, len(d.Stats))
	return d.Stats[len(d.Stats)-r]
}

// DrawsFor returns the number of simulated windows used for a column alpha:
// DefaultDraws, or more when alpha is so small that fewer than ten simulated
// statistics would lie beyond the threshold (capped at 200,000).
func DrawsFor(alpha float64) int {
	if !(alpha > 0) {
		return DefaultDraws
	}
	b := int(math.Ceil(10/alpha)) - 1
	return min(max(b, DefaultDraws), 200_000)
}

// Calibrated reports whether the test's verdict is calibrated by simulation
// (distance tests) rather than read from the test's own p-value.
func Calibrated(test string) bool {
	info, ok := Info(test)
	return ok && !info.PValue
}

// Calibrator computes and caches null distributions, keyed by (reference
// fingerprint, test, window size, draws). The cache is a bounded LRU; a
// calibration in progress is shared by concurrent callers. It is safe for
// concurrent use.
type Calibrator struct {
	mu       sync.Mutex
	capacity int
	ll       *list.List // of *calEntry, most recent first
	entries  map[calKey]*list.Element
	hits     uint64
	misses   uint64
}

type calKey struct {
	ref   uint64
	test  string
	n     int
	draws int
}

type calEntry struct {
	key  calKey
	once sync.Once
	null *Null
	err  error
}

// NewCalibrator returns a calibrator that keeps at most capacity null
// distributions (each B float64s: 16 KB at B = 2,000).
func NewCalibrator(capacity int) *Calibrator {
	return &Calibrator{capacity: max(capacity, 1), ll: list.New(), entries: map[calKey]*list.Element{}}
}

// DefaultCalibrator is the process-wide calibrator Dataset uses when its
// options name none: 512 entries, at most 8 MB at the default B.
var DefaultCalibrator = NewCalibrator(512)

// Stats returns the cache's hits and misses so far.
func (c *Calibrator) Stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Null returns the null distribution of test (a distance test, see
// Calibrated) for windows of n rows against ref, simulating draws windows
// the first time. fingerprint identifies ref's content (Fingerprint(ref);
// computed when 0).
func (c *Calibrator) Null(test string, ref Column, fingerprint uint64, n, draws int) (*Null, error) {
	info, err := lookup(test)
	if err != nil {
		return nil, err
	}
	if info.PValue {
		return nil, fmt.Errorf("calibrate %s: a p-value test is not calibrated by simulation", info.Name)
	}
	if n < 1 {
		return nil, fmt.Errorf("calibrate %s: window size %d < 1", info.Name, n)
	}
	if ref.Counts != nil { // the simulation resamples rows
		if err := checkCounts("reference", ref); err != nil {
			return nil, fmt.Errorf("calibrate %s: %w", info.Name, err)
		}
		ref = ref.Expanded()
	}
	if ref.Len() == 0 {
		return nil, fmt.Errorf("calibrate %s: reference: %w", info.Name, ErrEmpty)
	}
	if draws < 1 {
		draws = DefaultDraws
	}
	if fingerprint == 0 {
		fingerprint = Fingerprint(ref)
	}
	key := calKey{ref: fingerprint, test: info.Name, n: n, draws: draws}
	c.mu.Lock()
	el, ok := c.entries[key]
	if ok {
		c.ll.MoveToFront(el)
		c.hits++
	} else {
		el = c.ll.PushFront(&calEntry{key: key})
		c.entries[key] = el
		c.misses++
		for c.ll.Len() > c.capacity {
			old := c.ll.Back()
			c.ll.Remove(old)
			delete(c.entries, old.Value.(*calEntry).key)
		}
	}
	e := el.Value.(*calEntry)
	c.mu.Unlock()
	e.once.Do(func() { e.null, e.err = simulate(info.Name, ref, n, draws) })
	if e.err != nil {
		c.mu.Lock()
		if cur, ok := c.entries[key]; ok && cur == el {
			c.ll.Remove(el)
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return e.null, e.err
}

var fingerprintSeed = maphash.MakeSeed()

// Fingerprint hashes a column's kind and values (in order), and its counts if
// any: the identity of a reference in the calibration cache. It is stable
// within the process only.
func Fingerprint(col Column) uint64 {
	var h maphash.Hash
	h.SetSeed(fingerprintSeed)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(col.Kind)<<32|uint64(col.Len()))
	h.Write(b[:])
	if col.Kind == Numerical {
		for _, v := range col.Num {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			h.Write(b[:])
		}
	} else {
		for _, s := range col.Cat {
			h.WriteString(s)
			h.WriteByte(0)
		}
	}
	for _, k := range col.Counts {
		binary.LittleEndian.PutUint64(b[:], uint64(k))
		h.Write(b[:])
	}
	return h.Sum64()
}

// EffectiveRows is n_eff = n*N/(n+N) rounded, at least 1: the size of a
// window from the reference's own distribution whose statistic varies as
// that of a window of n rows against a reference of N rows drawn from one
// population.
func EffectiveRows(n, refRows int) int {
	if refRows <= 0 {
		return n
	}
	return max(1, int(math.Round(float64(n)*float64(refRows)/float64(n+refRows))))
}

// simulate draws the null distribution of a distance test.
func simulate(test string, ref Column, n, draws int) (*Null, error) {
	if ref.Kind == Numerical {
		if err := checkFinite("reference", ref.Num); err != nil {
			return nil, fmt.Errorf("calibrate %s: %w", test, err)
		}
	}
	// Numerical references with huge or tiny magnitudes are simulated scaled
	// by a power of two, as Run tests them (see compute for the two tests
	// that are not scale invariant).
	scale := 1.0
	if ref.Kind == Numerical {
		if scale = fscale.Pow2(fscale.MaxAbs(ref.Num)); scale != 1 {
			ref.Num = scaled(ref.Num, scale)
		}
	}
	neff := EffectiveRows(n, ref.Len())
	rng := rand.New(rand.NewPCG(calibrationSeed, uint64(n)))
	var sim func() float64
	switch {
	case test == "wasserstein" && ref.Kind == Numerical:
		sim = newWassersteinSim(ref.Num, neff, rng, 0.001*scale)
	case ref.Kind == Categorical && (test == "jensenshannon" || test == "psi" || test == "kl_div" || test == "hellinger"):
		sim = newSharesSim(test, ref.Cat, neff, rng)
	default:
		s, err := newGenericSim(test, ref, neff, rng, scale)
		if err != nil {
			return nil, err
		}
		sim = s
	}
	stats := make([]float64, draws)
	for b := range stats {
		stats[b] = sim()
		if math.IsNaN(stats[b]) {
			stats[b] = math.Inf(1) // never below an observed statistic
		}
	}
	slices.Sort(stats)
	return &Null{Test: test, N: n, NEff: neff, Stats: stats}, nil
}

// sortedRows fills rows with len(rows) indices drawn uniformly with
// replacement from [0, n), in ascending order, in O(len(rows)) instead of a
// sort: the order statistics of m uniforms are the partial sums of m+1
// standard exponentials divided by their total (Devroye 1986, ch. V.2). buf
// holds len(rows) floats.
func sortedRows(rng *rand.Rand, n int, rows []int32, buf []float64) {
	s := 0.0
	for i := range buf {
		s += rng.ExpFloat64()
		buf[i] = s
	}
	s += rng.ExpFloat64()
	scale := float64(n) / s
	for i, v := range buf {
		rows[i] = int32(min(int(v*scale), n-1))
	}
}

// newSharesSim simulates a share-based test on a categorical column: the
// window's counts are n multinomial draws from the reference shares, drawn
// as n sorted rows of the reference grouped by category (the
// window then has no category the reference lacks, so the category union is
// the reference's, in the same ascending order as categorise).
func newSharesSim(test string, ref []string, n int, rng *rand.Rand) func() float64 {
	cnt := map[string]float64{}
	for _, s := range ref {
		cnt[s]++
	}
	keys := make([]string, 0, len(cnt))
	for k := range cnt {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	k := len(keys)
	rc := make([]float64, k)
	for i, key := range keys {
		rc[i] = cnt[key]
	}
	cum := make([]int32, k) // rows of the categories up to and including i
	total := int32(0)
	for i, c := range rc {
		total += int32(c)
		cum[i] = total
	}
	nr := float64(len(ref))
	rp := make([]float64, k)
	for i := range rc {
		rp[i] = rc[i] / nr
	}
	rpFloored := FloorShares(slices.Clone(rp))
	counts := make([]float64, k)
	cp := make([]float64, k)
	rows := make([]int32, n)
	buf := make([]float64, n)
	return func() float64 {
		clear(counts)
		sortedRows(rng, len(ref), rows, buf)
		j := 0
		for _, r := range rows {
			for r >= cum[j] {
				j++
			}
			counts[j]++
		}
		for i := range counts {
			cp[i] = counts[i] / float64(n)
		}
		switch test {
		case "jensenshannon":
			return JensenShannonShares(rp, cp)
		case "psi":
			return PSIShares(rpFloored, FloorShares(cp))
		case "kl_div":
			return KLShares(rpFloored, FloorShares(cp))
		}
		return HellingerShares(rp, cp)
	}
}

// newWassersteinSim simulates Evidently's normed Wasserstein distance of n
// rows resampled from ref against ref. With v_0 < ... < v_{k-1} the distinct
// reference values, F_j the reference CDF at v_j and G_j the window's,
//
//	W1 = sum_{j<k-1} |F_j - G_j| (v_{j+1} - v_j),
//
// and G is constant between the window's distinct values, so with the prefix
// sums A_j = v_j - v_0 and B_j = sum_{i<j} F_i (v_{i+1} - v_i) each constant
// stretch costs one binary search (F is monotone): O(n log k) per draw
// instead of O(N).
func newWassersteinSim(ref []float64, n int, rng *rand.Rand, floor float64) func() float64 {
	norm := max(math.Sqrt(npVar(ref)), floor)
	sorted := sortedCopy(ref)
	vals := make([]float64, 0, 64)
	rowIdx := make([]int32, len(sorted)) // sorted row -> distinct index
	for i, v := range sorted {
		if i == 0 || v != vals[len(vals)-1] {
			vals = append(vals, v)
		}
		rowIdx[i] = int32(len(vals) - 1)
	}
	k := len(vals)
	nr := float64(len(sorted))
	F := make([]float64, k)
	for i := range sorted {
		F[rowIdx[i]] = float64(i+1) / nr
	}
	A := make([]float64, k)
	B := make([]float64, k)
	for j := 1; j < k; j++ {
		d := vals[j] - vals[j-1]
		A[j] = A[j-1] + d
		B[j] = B[j-1] + F[j-1]*d
	}
	// seg is sum_{j in [a,b)} |F_j - c| (v_{j+1}-v_j) for b <= k-1.
	seg := func(a, b int, c float64) float64 {
		if a >= b {
			return 0
		}
		s := a + sort.SearchFloat64s(F[a:b], c) // first j with F_j >= c
		return c*(A[s]-A[a]) - (B[s] - B[a]) + (B[b] - B[s]) - c*(A[b]-A[s])
	}
	idx := make([]int32, n)
	buf := make([]float64, n)
	fn := float64(n)
	return func() float64 {
		sortedRows(rng, len(rowIdx), idx, buf)
		for i, r := range idx {
			idx[i] = rowIdx[r]
		}
		w := seg(0, int(idx[0]), 0)
		for i := 0; i < n; {
			j := i
			for j < n && idx[j] == idx[i] {
				j++
			}
			end := k - 1
			if j < n {
				end = int(idx[j])
			}
			w += seg(int(idx[i]), end, float64(j)/fn)
			i = j
		}
		return max(w, 0) / norm
	}
}

// newGenericSim resamples n reference rows (with replacement) and runs the
// test itself: exact for any distance test, at the test's own cost per draw.
func newGenericSim(test string, ref Column, n int, rng *rand.Rand, scale float64) (func() float64, error) {
	cur := Column{Kind: ref.Kind}
	if ref.Kind == Numerical {
		cur.Num = make([]float64, n)
	} else {
		cur.Cat = make([]string, n)
	}
	return func() float64 {
		for i := range n {
			r := rng.IntN(ref.Len())
			if ref.Kind == Numerical {
				cur.Num[i] = ref.Num[r]
			} else {
				cur.Cat[i] = ref.Cat[r]
			}
		}
		s, _, err := compute(test, ref, cur, scale)
		if err != nil {
			return math.NaN() // counted as +Inf: never below an observed statistic
		}
		return s
	}, nil
}
