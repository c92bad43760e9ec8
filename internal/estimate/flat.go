package estimate

// fnode is a tree node laid out for prediction: a leaf has feat -1 and val; a
// numerical split sends bin <= thr left and the missing bin by defL; a
// categorical split looks its bin up in the ensemble's direction table at cat.
type fnode struct {
	feat int16
	defL bool
	thr  uint16
	lo   int32
	hi   int32
	cat  int32 // offset into flat.dirs, -1 for a numerical split
	val  float64
}

// flat is a GBT compiled for fast prediction.
type flat struct {
	base  float64
	roots []int32
	nodes []fnode
	dirs  []bool // true: left
	miss  []uint16
}

func compile(g *GBT, binners []Binner) *flat {
	f := &flat{base: g.Base, miss: make([]uint16, len(binners))}
	for i := range binners {
		f.miss[i] = binners[i].Missing()
	}
	for _, t := range g.Trees {
		off := int32(len(f.nodes))
		f.roots = append(f.roots, off)
		for _, n := range t.Nodes {
			fn := fnode{feat: int16(n.Feature), defL: n.DefaultLeft, thr: n.Threshold, lo: off + n.Lo, hi: off + n.Hi, cat: -1, val: n.Value}
			if n.Feature >= 0 && binners[n.Feature].Categorical {
				fn.cat = int32(len(f.dirs))
				nb := binners[n.Feature].NumBins()
				missing := binners[n.Feature].Missing()
				for b := 0; b < nb; b++ {
					f.dirs = append(f.dirs, n.goesLeft(uint16(b), missing, true))
				}
			}
			f.nodes = append(f.nodes, fn)
		}
	}
	return f
}

func (f *flat) predict(row []uint16) float64 {
	y := f.base
	nodes := f.nodes
	for _, r := range f.roots {
		y += f.leaf(&nodes[r], row)
	}
	return y
}

// leaf walks one tree from its root n down to the leaf of row and returns the
// leaf's value.
func (f *flat) leaf(n *fnode, row []uint16) float64 {
	nodes := f.nodes
	for n.feat >= 0 {
		b := row[n.feat]
		var left bool
		switch {
		case n.cat >= 0:
			left = f.dirs[n.cat+int32(b)]
		case b == f.miss[n.feat]:
			left = n.defL
		default:
			left = b <= n.thr
		}
		if left {
			n = &nodes[n.lo]
		} else {
			n = &nodes[n.hi]
		}
	}
	return n.val
}

// predictRows predicts every row of a row-major bin matrix (stride nf) into out,
// tree by tree so that a tree's nodes stay in cache. Each row sums its trees in the
// same order as predict: the results are identical.
func (f *flat) predictRows(bins []uint16, nf int, out []float64) {
	for i := range out {
		out[i] = f.base
	}
	nodes := f.nodes
	for _, r := range f.roots {
		root := &nodes[r]
		for i := range out {
			out[i] += f.leaf(root, bins[i*nf:i*nf+nf])
		}
	}
}
