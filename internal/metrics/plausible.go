package metrics

import (
	"fmt"
	"math"
)

// Range is a closed interval [Min, Max] of plausible values of a numerical
// column (configured per column: config.yaml datasets.<name>.plausible_ranges).
// Values outside are not measurements (a 1e200-mile trip): the online service
// refuses them and data quality counts those that still arrive.
type Range struct {
	Min float64 `json:"min" yaml:"min"`
	Max float64 `json:"max" yaml:"max"`
}

// Validate checks that Min and Max are finite and Min <= Max.
func (r Range) Validate() error {
	if !isFinite(r.Min) || !isFinite(r.Max) {
		return fmt.Errorf("min %v and max %v must be finite numbers", r.Min, r.Max)
	}
	if r.Min > r.Max {
		return fmt.Errorf("min %v > max %v", r.Min, r.Max)
	}
	return nil
}

// Contains reports whether x is in [Min, Max] (false for NaN).
func (r Range) Contains(x float64) bool { return x >= r.Min && x <= r.Max }

// String is "[min, max]".
func (r Range) String() string { return fmt.Sprintf("[%v, %v]", r.Min, r.Max) }

// CountImplausible sets q.Implausible, q.ImplausibleShare and q.PlausibleRange:
// the present values of c outside r. Missing rows are not counted; a
// non-finite present value counts as outside.
func CountImplausible(q *ColumnQuality, c NumColumn, r Range) {
	n, out := 0, 0
	for i, x := range c.Values {
		if c.Valid != nil && (i >= len(c.Valid) || !c.Valid[i]) {
			continue
		}
		n++
		if !r.Contains(x) || math.IsInf(x, 0) {
			out++
		}
	}
	rc := r
	q.Implausible, q.ImplausibleShare, q.PlausibleRange = pi(out), share(out, n), &rc
}
