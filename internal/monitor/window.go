package monitor

import (
	"math"
	"strings"

	"github.com/modelmon/modelmon/internal/report"
)

// MaxCategoryBytes bounds the length of a categorical value kept in a window: longer
// values are truncated (and copied), so that a window's memory stays bounded by
// window_size whatever the producers send.
const MaxCategoryBytes = 256

// ring is a fixed-capacity columnar ring buffer of rows. It is not safe for
// concurrent use; the dataset's mutex guards it. Writing a row is O(columns) and
// allocation-free.
type ring struct {
	capacity int
	head     int // next slot to write
	n        int // rows held (<= capacity)

	num    [][]float64 // [column][slot]
	numOK  [][]bool
	numBad []int // missing values held per numerical column
	cat    [][]string
	catOK  [][]bool
	catBad []int
	pred   []float64
	predOK []bool
	noPred int
	tgt    []float64
	tgtOK  []bool
	noTgt  int
	ts     []int64 // arrival time (Unix ns) per slot; nil unless the window is time-bounded
}

func newRing(capacity, numCols, catCols int) *ring {
	r := &ring{
		capacity: capacity,
		num:      make([][]float64, numCols), numOK: make([][]bool, numCols), numBad: make([]int, numCols),
		cat: make([][]string, catCols), catOK: make([][]bool, catCols), catBad: make([]int, catCols),
		pred: make([]float64, capacity), predOK: make([]bool, capacity),
		tgt: make([]float64, capacity), tgtOK: make([]bool, capacity),
	}
	for i := range r.num {
		r.num[i], r.numOK[i] = make([]float64, capacity), make([]bool, capacity)
	}
	for i := range r.cat {
		r.cat[i], r.catOK[i] = make([]string, capacity), make([]bool, capacity)
	}
	return r
}

// A row is written with begin, the set* calls for every column, then commit.
// begin returns the slot and forgets the missing-value counts of the row it
// overwrites.
func (r *ring) begin() int {
	s := r.head
	if r.n == r.capacity {
		for i := range r.num {
			if !r.numOK[i][s] {
				r.numBad[i]--
			}
		}
		for i := range r.cat {
			if !r.catOK[i][s] {
				r.catBad[i]--
			}
		}
		if !r.predOK[s] {
			r.noPred--
		}
		if !r.tgtOK[s] {
			r.noTgt--
		}
	}
	return s
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (r *ring) setNum(i, s int, v float64, ok bool) {
	ok = ok && finite(v)
	if !ok {
		v = 0
		r.numBad[i]++
	}
	r.num[i][s], r.numOK[i][s] = v, ok
}

func (r *ring) setCat(i, s int, v string, ok bool) {
	if !ok {
		v = ""
		r.catBad[i]++
	} else if len(v) > MaxCategoryBytes {
		v = strings.Clone(v[:MaxCategoryBytes])
	}
	r.cat[i][s], r.catOK[i][s] = v, ok
}

func (r *ring) setPrediction(s int, v float64, ok bool) {
	ok = ok && finite(v)
	if !ok {
		v = 0
		r.noPred++
	}
	r.pred[s], r.predOK[s] = v, ok
}

func (r *ring) setTarget(s int, v float64, ok bool) {
	ok = ok && finite(v)
	if !ok {
		v = 0
		r.noTgt++
	}
	r.tgt[s], r.tgtOK[s] = v, ok
}

func (r *ring) commit() {
	if r.ts != nil {
		r.ts[r.head] = now().UnixNano()
	}
	r.head++
	if r.head == r.capacity {
		r.head = 0
	}
	if r.n < r.capacity {
		r.n++
	}
}

func (r *ring) full() bool { return r.n == r.capacity }

// pushOldestInto copies r's oldest row (the one its next write overwrites) into dst.
func (r *ring) pushOldestInto(dst *ring) {
	src := r.head - r.n
	if src < 0 {
		src += r.capacity
	}
	s := dst.begin()
	for i := range r.num {
		dst.setNum(i, s, r.num[i][src], r.numOK[i][src])
	}
	for i := range r.cat {
		dst.setCat(i, s, r.cat[i][src], r.catOK[i][src])
	}
	dst.setPrediction(s, r.pred[src], r.predOK[src])
	dst.setTarget(s, r.tgt[src], r.tgtOK[src])
	dst.commit()
}

// copyOrdered copies the ring's rows, oldest first, into dst[:n].
func copyOrdered[T any](dst, src []T, head, n, capacity int) {
	start := head - n
	if start < 0 {
		start += capacity
	}
	if start+n <= capacity {
		copy(dst, src[start:start+n])
		return
	}
	k := copy(dst, src[start:])
	copy(dst[k:], src[:n-k])
}

// snapshot is a reusable columnar copy of a ring, in the shape report.Compute reads.
type snapshot struct {
	ds       report.Dataset
	numCols  []*report.NumColumn
	catCols  []*report.CatColumn
	numVals  [][]float64
	numValid [][]bool
	catVals  [][]string
	catValid [][]bool
	pred     []float64
	tgt      []float64
	tgtOK    []bool
	// rowsWithoutPrediction counts rows whose prediction was missing; when any is,
	// the snapshot has no predictions.
	rowsWithoutPrediction int
}

func newSnapshot(numNames, catNames []string, capacity int) *snapshot {
	s := &snapshot{
		ds:   report.Dataset{Numerical: map[string]*report.NumColumn{}, Categorical: map[string]*report.CatColumn{}},
		pred: make([]float64, capacity), tgt: make([]float64, capacity), tgtOK: make([]bool, capacity),
	}
	for _, n := range numNames {
		c := &report.NumColumn{}
		s.numCols = append(s.numCols, c)
		s.numVals = append(s.numVals, make([]float64, capacity))
		s.numValid = append(s.numValid, make([]bool, capacity))
		s.ds.Numerical[n] = c
	}
	for _, n := range catNames {
		c := &report.CatColumn{}
		s.catCols = append(s.catCols, c)
		s.catVals = append(s.catVals, make([]string, capacity))
		s.catValid = append(s.catValid, make([]bool, capacity))
		s.ds.Categorical[n] = c
	}
	return s
}

// fill copies r into s (O(rows x columns) plain copies: meant to run under the lock
// that guards r) and returns the dataset view, valid until the next fill.
func (s *snapshot) fill(r *ring) *report.Dataset {
	n, h, c := r.n, r.head, r.capacity
	s.ds.Rows = n
	for i, col := range s.numCols {
		col.Values = s.numVals[i][:n]
		copyOrdered(col.Values, r.num[i], h, n, c)
		col.Valid = nil
		if r.numBad[i] > 0 {
			col.Valid = s.numValid[i][:n]
			copyOrdered(col.Valid, r.numOK[i], h, n, c)
		}
	}
	for i, col := range s.catCols {
		col.Values = s.catVals[i][:n]
		copyOrdered(col.Values, r.cat[i], h, n, c)
		col.Valid = nil
		if r.catBad[i] > 0 {
			col.Valid = s.catValid[i][:n]
			copyOrdered(col.Valid, r.catOK[i], h, n, c)
		}
	}
	s.rowsWithoutPrediction = r.noPred
	s.ds.Prediction = nil
	if r.noPred == 0 && n > 0 {
		s.ds.Prediction = s.pred[:n]
		copyOrdered(s.ds.Prediction, r.pred, h, n, c)
	}
	s.ds.Target, s.ds.TargetValid = nil, nil
	if r.noTgt < n {
		s.ds.Target = s.tgt[:n]
		copyOrdered(s.ds.Target, r.tgt, h, n, c)
		if r.noTgt > 0 {
			s.ds.TargetValid = s.tgtOK[:n]
			copyOrdered(s.ds.TargetValid, r.tgtOK, h, n, c)
		}
	}
	return &s.ds
}
