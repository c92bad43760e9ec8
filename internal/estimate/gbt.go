package estimate

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// GBTParams are the hyperparameters of a gradient-boosted regression tree ensemble
// fitted to squared error (the nanny model). The names follow sklearn's
// HistGradientBoostingRegressor where they mean the same thing.
type GBTParams struct {
	Trees        int     `json:"trees"`         // boosting iterations (max_iter)
	LearningRate float64 `json:"learning_rate"` // shrinkage of every leaf value
	MaxLeaves    int     `json:"max_leaves"`    // leaves per tree, grown best-first (max_leaf_nodes)
	MaxDepth     int     `json:"max_depth"`     // 0: unlimited
	MinLeaf      int     `json:"min_leaf"`      // rows per leaf at least (min_samples_leaf)
	Lambda       float64 `json:"lambda"`        // L2 regularisation of leaf values (l2_regularization)
	MaxBins      int     `json:"max_bins"`      // bins of a numerical feature, missing values not counted (<= 255)
	MinCatRows   int     `json:"min_cat_rows"`  // a category with fewer rows in a node goes with the missing values
	CatSmooth    float64 `json:"cat_smooth"`    // added to a category's row count when ordering categories by mean gradient
}

// Validate reports a parameter that cannot train.
func (p GBTParams) Validate() error {
	switch {
	case p.Trees < 1:
		return fmt.Errorf("gbt: trees = %d, want >= 1", p.Trees)
	case !(p.LearningRate > 0 && p.LearningRate <= 1):
		return fmt.Errorf("gbt: learning rate %v, want in (0, 1]", p.LearningRate)
	case p.MaxLeaves < 2:
		return fmt.Errorf("gbt: max leaves %d, want >= 2", p.MaxLeaves)
	case p.MaxDepth < 0:
		return fmt.Errorf("gbt: max depth %d, want >= 0", p.MaxDepth)
	case p.MinLeaf < 1:
		return fmt.Errorf("gbt: min leaf %d, want >= 1", p.MinLeaf)
	case !(p.Lambda >= 0):
		return fmt.Errorf("gbt: lambda %v, want >= 0", p.Lambda)
	case p.MaxBins < 2 || p.MaxBins > 255:
		return fmt.Errorf("gbt: max bins %d, want 2..255", p.MaxBins)
	case p.MinCatRows < 0 || !(p.CatSmooth >= 0):
		return errors.New("gbt: categorical parameters must be >= 0")
	}
	return nil
}

// Binner maps one raw feature to bins. A numerical feature (Edges set) goes to bin
// i = #{edges < v}, so bins 0..len(Edges) hold values and bin len(Edges)+1 holds NaN
// (missing). A categorical feature (Categories set: the integer codes seen in
// training, ascending) goes to the bin of its code; NaN and any code not seen in
// training go to the last bin, len(Categories), which the trees treat as missing.
type Binner struct {
	Name        string    `json:"name"`
	Categorical bool      `json:"categorical,omitempty"`
	Edges       []float64 `json:"edges,omitempty"`
	Categories  []int64   `json:"categories,omitempty"`
}

// NumBins counts the bins, the missing bin included.
func (b *Binner) NumBins() int {
	if b.Categorical {
		return len(b.Categories) + 1
	}
	return len(b.Edges) + 2
}

// Missing is the bin of missing and unknown values.
func (b *Binner) Missing() uint16 { return uint16(b.NumBins() - 1) }

// Bin returns the bin of v and whether v was known (not missing, and for a
// categorical feature a code seen in training).
func (b *Binner) Bin(v float64) (uint16, bool) {
	if math.IsNaN(v) {
		return b.Missing(), false
	}
	if b.Categorical {
		if v != math.Trunc(v) || math.IsInf(v, 0) {
			return b.Missing(), false
		}
		i, ok := slices.BinarySearch(b.Categories, int64(v))
		if !ok {
			return b.Missing(), false
		}
		return uint16(i), true
	}
	return uint16(sort.SearchFloat64s(b.Edges, v)), true
}

// fitBinner chooses the bins of one column (NaN: missing). Numerical: with at most
// maxBins distinct values the edges are the midpoints between consecutive distinct
// values (as sklearn's trees place thresholds); otherwise the edges are maxBins-1
// quantiles of the values, distinct. Categorical: the distinct integer codes; a
// non-integer value is an error.
func fitBinner(name string, col []float64, categorical bool, maxBins int) (Binner, error) {
	b := Binner{Name: name, Categorical: categorical}
	vals := make([]float64, 0, len(col))
	for i, v := range col {
		if math.IsNaN(v) {
			continue
		}
		if math.IsInf(v, 0) {
			return b, fmt.Errorf("feature %s: row %d is %v", name, i, v)
		}
		vals = append(vals, v)
	}
	slices.Sort(vals)
	uniq := slices.Compact(slices.Clone(vals))
	if categorical {
		if len(uniq) > math.MaxUint16-1 {
			return b, fmt.Errorf("feature %s: %d categories, at most %d", name, len(uniq), math.MaxUint16-1)
		}
		for _, v := range uniq {
			if v != math.Trunc(v) {
				return b, fmt.Errorf("feature %s: categorical value %v is not an integer code", name, v)
			}
			b.Categories = append(b.Categories, int64(v))
		}
		return b, nil
	}
	if len(uniq) <= maxBins {
		for i := 1; i < len(uniq); i++ {
			b.Edges = append(b.Edges, uniq[i-1]+(uniq[i]-uniq[i-1])/2)
		}
		return b, nil
	}
	for k := 1; k < maxBins; k++ {
		q := vals[k*len(vals)/maxBins]
		if len(b.Edges) == 0 || q > b.Edges[len(b.Edges)-1] {
			b.Edges = append(b.Edges, q)
		}
	}
	// Values equal to the largest edge sit in its bin; drop an edge at the maximum.
	if n := len(b.Edges); n > 0 && b.Edges[n-1] >= vals[len(vals)-1] {
		b.Edges = b.Edges[:n-1]
	}
	return b, nil
}

// Node is one node of a tree. A leaf has Feature = -1 and its Value. A numerical
// split sends bin <= Threshold left; a categorical split sends the bins in Left
// (a bitset) left and those in Right right. Missing values, and categories in
// neither set (unseen in training, or too rare in the node), go left when
// DefaultLeft.
type Node struct {
	Feature     int     `json:"f"`
	Threshold   uint16  `json:"t,omitempty"`
	Left        Bitset  `json:"l,omitempty"`
	Right       Bitset  `json:"r,omitempty"`
	DefaultLeft bool    `json:"d,omitempty"`
	Lo          int32   `json:"lo,omitempty"` // index of the left child
	Hi          int32   `json:"hi,omitempty"` // index of the right child
	Value       float64 `json:"v,omitempty"`
}

// Tree is a regression tree, root at index 0.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// GBT is a fitted ensemble: Base + the sum of its trees' leaf values (learning rate
// applied).
type GBT struct {
	Base  float64 `json:"base"`
	Trees []Tree  `json:"trees"`
}

func hasBit(set []uint64, b uint16) bool {
	w := int(b) >> 6
	return w < len(set) && set[w]&(1<<(b&63)) != 0
}

func setBit(set []uint64, b uint16) { set[int(b)>>6] |= 1 << (b & 63) }

// goesLeft applies a split node to a binned value.
func (n *Node) goesLeft(b uint16, missing uint16, categorical bool) bool {
	if b == missing {
		return n.DefaultLeft
	}
	if categorical {
		switch {
		case hasBit(n.Left, b):
			return true
		case hasBit(n.Right, b):
			return false
		}
		return n.DefaultLeft
	}
	return b <= n.Threshold
}

// Predict applies the ensemble to one binned row (row[f]: the bin of feature f).
func (g *GBT) Predict(binners []Binner, row []uint16) float64 {
	y := g.Base
	for t := range g.Trees {
		nodes := g.Trees[t].Nodes
		i := 0
		for nodes[i].Feature >= 0 {
			n := &nodes[i]
			bn := &binners[n.Feature]
			if n.goesLeft(row[n.Feature], bn.Missing(), bn.Categorical) {
				i = int(n.Lo)
			} else {
				i = int(n.Hi)
			}
		}
		y += nodes[i].Value
	}
	return y
}

// check verifies the ensemble's structure against its binners: feature indexes,
// child indexes (strictly forward, so traversal ends), thresholds and finite values.
func (g *GBT) check(binners []Binner) error {
	if math.IsNaN(g.Base) || math.IsInf(g.Base, 0) {
		return errors.New("non-finite base value")
	}
	for t, tr := range g.Trees {
		if len(tr.Nodes) == 0 {
			return fmt.Errorf("tree %d has no nodes", t)
		}
		for i, n := range tr.Nodes {
			if n.Feature < 0 {
				if math.IsNaN(n.Value) || math.IsInf(n.Value, 0) {
					return fmt.Errorf("tree %d node %d: non-finite leaf value", t, i)
				}
				continue
			}
			if n.Feature >= len(binners) {
				return fmt.Errorf("tree %d node %d: feature %d of %d", t, i, n.Feature, len(binners))
			}
			if int(n.Lo) <= i || int(n.Hi) <= i || int(n.Lo) >= len(tr.Nodes) || int(n.Hi) >= len(tr.Nodes) {
				return fmt.Errorf("tree %d node %d: children %d, %d out of order", t, i, n.Lo, n.Hi)
			}
			if int(n.Threshold) >= binners[n.Feature].NumBins() {
				return fmt.Errorf("tree %d node %d: threshold bin %d of %d", t, i, n.Threshold, binners[n.Feature].NumBins())
			}
		}
	}
	return nil
}

// binned is a training matrix: cols[f][i] is the bin of feature f in row i.
type binned struct {
	cols    [][]uint16
	binners []Binner
	offset  []int // offset[f]: first histogram slot of feature f
	total   int   // histogram slots
}

func newBinned(binners []Binner, cols [][]uint16) *binned {
	b := &binned{cols: cols, binners: binners, offset: make([]int, len(binners))}
	for f := range binners {
		b.offset[f] = b.total
		b.total += binners[f].NumBins()
	}
	return b
}

// hist holds, per feature and bin, the sum of gradients and the row count.
type hist struct {
	g []float64
	n []float64
}

func (d *binned) newHist() hist {
	return hist{g: make([]float64, d.total), n: make([]float64, d.total)}
}

func (d *binned) fill(h hist, rows []int32, grad []float64) {
	clear(h.g)
	clear(h.n)
	for f, col := range d.cols {
		off := d.offset[f]
		hg := h.g[off : off+d.binners[f].NumBins()]
		hn := h.n[off : off+d.binners[f].NumBins()]
		for _, r := range rows {
			b := col[r]
			hg[b] += grad[r]
			hn[b]++
		}
	}
}

// split is a candidate split of a node.
type split struct {
	gain        float64
	feature     int
	threshold   uint16
	left, right Bitset
	defaultLeft bool
}

// leaf is an open leaf of the tree being grown: its rows are idx[start:end].
type leaf struct {
	node       int
	start, end int
	depth      int
	sumG, n    float64
	h          hist
	best       split
}

type grower struct {
	d    *binned
	p    GBTParams
	grad []float64
	idx  []int32
	// scratch
	order []uint16
	dir   []bool
}

func score(g, n, lambda float64) float64 { return g * g / (n + lambda) }

// bestSplit finds the split of l with the largest gain (sum of the children's
// g²/(n+λ) minus the parent's), honouring MinLeaf; gain 0 means none.
func (gr *grower) bestSplit(l *leaf) split {
	best := split{feature: -1}
	p := gr.p
	if l.n < float64(2*p.MinLeaf) || (p.MaxDepth > 0 && l.depth >= p.MaxDepth) {
		return best
	}
	parent := score(l.sumG, l.n, p.Lambda)
	minLeaf := float64(p.MinLeaf)
	consider := func(gl, nl float64, mk func() split) {
		gr2, nr := l.sumG-gl, l.n-nl
		if nl < minLeaf || nr < minLeaf {
			return
		}
		gain := score(gl, nl, p.Lambda) + score(gr2, nr, p.Lambda) - parent
		if gain > best.gain+1e-12*math.Abs(parent) {
			s := mk()
			s.gain = gain
			best = s
		}
	}
	for f := range gr.d.binners {
		bn := &gr.d.binners[f]
		off := gr.d.offset[f]
		nb := bn.NumBins()
		hg, hn := l.h.g[off:off+nb], l.h.n[off:off+nb]
		mg, mn := hg[nb-1], hn[nb-1]
		if !bn.Categorical {
			var gl, nl float64
			for t := 0; t < nb-1; t++ {
				gl += hg[t]
				nl += hn[t]
				if hn[t] == 0 && t < nb-2 {
					continue
				}
				tt := uint16(t)
				if t < nb-2 || mn > 0 {
					// missing right (when there is none, it follows the larger child)
					consider(gl, nl, func() split {
						return split{feature: f, threshold: tt, defaultLeft: mn == 0 && nl >= l.n-nl}
					})
				}
				if mn > 0 && t < nb-2 {
					consider(gl+mg, nl+mn, func() split {
						return split{feature: f, threshold: tt, defaultLeft: true}
					})
				}
			}
			continue
		}
		// Categorical: order the frequent categories by smoothed mean gradient and
		// scan the prefixes (Fisher's ordering, as LightGBM); rare categories join
		// the missing values.
		order := gr.order[:0]
		var og, on float64 // the "other" group: missing and rare
		og, on = mg, mn
		for b := 0; b < nb-1; b++ {
			if hn[b] == 0 {
				continue
			}
			if hn[b] < float64(p.MinCatRows) {
				og += hg[b]
				on += hn[b]
				continue
			}
			order = append(order, uint16(b))
		}
		gr.order = order
		if len(order) < 1 || (len(order) == 1 && on == 0) {
			continue
		}
		key := func(b uint16) float64 { return hg[b] / (hn[b] + p.CatSmooth) }
		sort.SliceStable(order, func(i, j int) bool { return key(order[i]) < key(order[j]) })
		maxK := len(order) - 1
		if on > 0 {
			maxK = len(order)
		}
		words := (nb + 63) / 64
		mkCat := func(k int, defLeft bool) func() split {
			return func() split {
				s := split{feature: f, left: make(Bitset, words), right: make(Bitset, words), defaultLeft: defLeft}
				for i, b := range order {
					if i < k {
						setBit(s.left, b)
					} else {
						setBit(s.right, b)
					}
				}
				s.left, s.right = s.left.trim(), s.right.trim()
				return s
			}
		}
		var gl, nl float64
		for k := 1; k <= maxK; k++ {
			b := order[k-1]
			gl += hg[b]
			nl += hn[b]
			if k < len(order) {
				consider(gl, nl, mkCat(k, on == 0 && nl >= l.n-nl))
			} else {
				// every frequent category left, the other group right
				consider(gl, nl, mkCat(k, false))
			}
			if on > 0 && k < len(order) {
				consider(gl+og, nl+on, mkCat(k, true))
			}
		}
	}
	return best
}

// partition reorders idx[start:end] so that the rows going left come first and
// returns the boundary. The relative order of rows is kept on both sides.
func (gr *grower) partition(l *leaf, s split, scratch []int32) int {
	col := gr.d.cols[s.feature]
	bn := &gr.d.binners[s.feature]
	missing := bn.Missing()
	nd := Node{Threshold: s.threshold, Left: s.left, Right: s.right, DefaultLeft: s.defaultLeft}
	dir := gr.dir[:bn.NumBins()]
	for b := range dir {
		dir[b] = nd.goesLeft(uint16(b), missing, bn.Categorical)
	}
	rows := gr.idx[l.start:l.end]
	right := scratch[:0]
	k := 0
	for _, r := range rows {
		if dir[col[r]] {
			rows[k] = r
			k++
		} else {
			right = append(right, r)
		}
	}
	copy(rows[k:], right)
	return l.start + k
}

// fitTree grows one tree on gr.grad, best-first, and adds lr * its leaf values to
// pred for the training rows.
func (gr *grower) fitTree(pred []float64, scratch []int32) Tree {
	p := gr.p
	d := gr.d
	var tree Tree
	root := &leaf{node: 0, start: 0, end: len(gr.idx), h: d.newHist()}
	d.fill(root.h, gr.idx, gr.grad)
	for _, r := range gr.idx {
		root.sumG += gr.grad[r]
	}
	root.n = float64(len(gr.idx))
	tree.Nodes = append(tree.Nodes, Node{Feature: -1})
	root.best = gr.bestSplit(root)
	open := []*leaf{root}
	for len(open) < p.MaxLeaves {
		// the open leaf with the largest gain; ties to the earliest node
		bi := -1
		for i, l := range open {
			if l.best.feature >= 0 && (bi < 0 || l.best.gain > open[bi].best.gain) {
				bi = i
			}
		}
		if bi < 0 {
			break
		}
		l := open[bi]
		s := l.best
		mid := gr.partition(l, s, scratch)
		lo, hi := len(tree.Nodes), len(tree.Nodes)+1
		tree.Nodes[l.node] = Node{Feature: s.feature, Threshold: s.threshold, Left: s.left, Right: s.right, DefaultLeft: s.defaultLeft, Lo: int32(lo), Hi: int32(hi)}
		tree.Nodes = append(tree.Nodes, Node{Feature: -1}, Node{Feature: -1})
		a := &leaf{node: lo, start: l.start, end: mid, depth: l.depth + 1}
		b := &leaf{node: hi, start: mid, end: l.end, depth: l.depth + 1}
		// histogram of the smaller child by a pass over its rows, the other by subtraction
		small, large := a, b
		if b.end-b.start < a.end-a.start {
			small, large = b, a
		}
		small.h = d.newHist()
		d.fill(small.h, gr.idx[small.start:small.end], gr.grad)
		large.h = l.h // reuse the parent's buffers
		for i := range large.h.g {
			large.h.g[i] -= small.h.g[i]
			large.h.n[i] -= small.h.n[i]
		}
		for _, c := range []*leaf{a, b} {
			for _, r := range gr.idx[c.start:c.end] {
				c.sumG += gr.grad[r]
			}
			c.n = float64(c.end - c.start)
			c.best = gr.bestSplit(c)
		}
		open[bi] = a
		open = append(open, b)
	}
	for _, l := range open {
		v := p.LearningRate * l.sumG / (l.n + p.Lambda)
		tree.Nodes[l.node].Value = v
		for _, r := range gr.idx[l.start:l.end] {
			pred[r] += v
		}
	}
	return tree
}

// FitGBT fits an ensemble to y by least squares on the binned columns
// (cols[f][i]: bin of feature f in row i under binners[f]). The result depends only
// on the inputs: no randomness, no parallelism inside one fit.
func FitGBT(ctx context.Context, binners []Binner, cols [][]uint16, y []float64, p GBTParams) (*GBT, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	n := len(y)
	if n == 0 {
		return nil, errors.New("gbt: no rows")
	}
	if len(cols) != len(binners) {
		return nil, fmt.Errorf("gbt: %d columns for %d binners", len(cols), len(binners))
	}
	for f, c := range cols {
		if len(c) != n {
			return nil, fmt.Errorf("gbt: feature %d has %d rows, want %d", f, len(c), n)
		}
		nb := binners[f].NumBins()
		for i, b := range c {
			if int(b) >= nb {
				return nil, fmt.Errorf("gbt: feature %d row %d: bin %d of %d", f, i, b, nb)
			}
		}
	}
	var base float64
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("gbt: target of row %d is %v", i, v)
		}
		base += v
	}
	base /= float64(n)
	g := &GBT{Base: base}
	pred := make([]float64, n)
	for i := range pred {
		pred[i] = base
	}
	gr := &grower{d: newBinned(binners, cols), p: p, grad: make([]float64, n), idx: make([]int32, n), dir: make([]bool, math.MaxUint16+1)}
	scratch := make([]int32, 0, n)
	for t := 0; t < p.Trees; t++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("gbt: %w", err)
		}
		for i := range gr.grad {
			gr.grad[i] = y[i] - pred[i]
			gr.idx[i] = int32(i)
		}
		g.Trees = append(g.Trees, gr.fitTree(pred, scratch))
	}
	return g, nil
}

// BinColumns bins raw columns (NaN: missing) with the binners.
func BinColumns(binners []Binner, raw [][]float64) [][]uint16 {
	out := make([][]uint16, len(raw))
	for f, col := range raw {
		out[f] = make([]uint16, len(col))
		for i, v := range col {
			out[f][i], _ = binners[f].Bin(v)
		}
	}
	return out
}

// FitBinners chooses the bins of every raw column.
func FitBinners(names []string, categorical []bool, raw [][]float64, maxBins int) ([]Binner, error) {
	out := make([]Binner, len(raw))
	for f, col := range raw {
		b, err := fitBinner(names[f], col, categorical[f], maxBins)
		if err != nil {
			return nil, err
		}
		out[f] = b
	}
	return out, nil
}

// Bitset is a set of bins. In JSON it is the standard base64 (unpadded) of its
// little-endian bytes without trailing zero bytes: a third of the decimal words.
type Bitset []uint64

// trim drops trailing zero words (nil for the empty set), the form that survives
// a JSON round trip.
func (s Bitset) trim() Bitset {
	for len(s) > 0 && s[len(s)-1] == 0 {
		s = s[:len(s)-1]
	}
	if len(s) == 0 {
		return nil
	}
	return s
}

// MarshalJSON encodes the set as a base64 string.
func (s Bitset) MarshalJSON() ([]byte, error) {
	b := make([]byte, 8*len(s))
	for i, w := range s {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return json.Marshal(base64.RawStdEncoding.EncodeToString(b))
}

// UnmarshalJSON decodes a base64 string.
func (s *Bitset) UnmarshalJSON(data []byte) error {
	var str string
	if err := json.Unmarshal(data, &str); err != nil {
		return fmt.Errorf("bitset: %w", err)
	}
	b, err := base64.RawStdEncoding.DecodeString(str)
	if err != nil {
		return fmt.Errorf("bitset: %w", err)
	}
	out := make(Bitset, (len(b)+7)/8)
	for i, c := range b {
		out[i/8] |= uint64(c) << (8 * (i % 8))
	}
	*s = out.trim()
	return nil
}
