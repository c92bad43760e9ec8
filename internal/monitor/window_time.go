package monitor

import "time"

// now is the monitor's clock (a variable so that tests move time).
var now = time.Now

// currentWindow is the ring the next computation compares with the reference and
// whether it is ready. A count window is ready once full. A time-bounded window
// (service.window_minutes) is its newest rows that arrived within windowAge, cut to
// gridRows so that its calibrations are few; it is ready once it holds a row (below
// drift.min_window_rows the report says not enough data). Called with d.mu held.
func (d *dataset) currentWindow() (*ring, bool) {
	if d.windowAge <= 0 {
		return d.window, d.window.full()
	}
	k := d.window.countSince(now().Add(-d.windowAge).UnixNano())
	if k == 0 {
		return nil, false
	}
	return d.window.last(gridRows(k)), true
}

// countSince counts the newest rows that arrived at or after cutoff (Unix ns).
func (r *ring) countSince(cutoff int64) int {
	k := 0
	for i := r.head - 1; k < r.n; i-- {
		if i < 0 {
			i += r.capacity
		}
		if r.ts[i] < cutoff {
			break
		}
		k++
	}
	return k
}

// last returns a read-only view of the newest k rows (sharing r's storage), with
// the missing-value counts of those rows.
func (r *ring) last(k int) *ring {
	if k >= r.n {
		return r
	}
	v := *r
	v.n = k
	v.numBad, v.catBad = make([]int, len(r.num)), make([]int, len(r.cat))
	v.noPred, v.noTgt = 0, 0
	for j, i := 0, r.head-1; j < k; j, i = j+1, i-1 {
		if i < 0 {
			i += r.capacity
		}
		for c := range r.num {
			if !r.numOK[c][i] {
				v.numBad[c]++
			}
		}
		for c := range r.cat {
			if !r.catOK[c][i] {
				v.catBad[c]++
			}
		}
		if !r.predOK[i] {
			v.noPred++
		}
		if !r.tgtOK[i] {
			v.noTgt++
		}
	}
	return &v
}
