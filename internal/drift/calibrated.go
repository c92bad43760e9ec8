package drift

import (
	"fmt"
	"math"
)

// Drift methods of Options.Method.
const (
	// MethodFixed is Evidently's verdict: the statistic against a fixed
	// threshold (0.1 for distances), whatever the window's size.
	MethodFixed = "fixed"
	// MethodCalibrated decides drift with a false-alarm rate alpha per column
	// at the window's size (see Calibration).
	MethodCalibrated = "calibrated"
)

// DefaultAlpha is the default false-alarm rate of the dataset verdict per
// computed window with MethodCalibrated.
const DefaultAlpha = 0.01

// Calibration tells how a calibrated verdict was reached.
//
// Distance tests (wasserstein, jensenshannon, psi, ...): the statistic is
// compared with its simulated distribution under "no drift" for a window of
// the same size against the same reference (Calibrator). The column drifts
// when both
//
//   - the Monte Carlo p-value is at most Alpha (the statistic exceeds
//     CalibratedThreshold, the 1 - Alpha quantile of the null distribution):
//     the change is not sampling noise, and
//   - the change, with the sampling noise taken out, is as large as Evidently
//     calls drift: sqrt(T^2 - M^2) >= FixedThreshold (0.1 by default or as
//     configured), M being the median of the statistic under "no drift" at
//     this size (NullMedian), i.e. T >= EffectThreshold = sqrt(F^2 + M^2).
//     Distances of independent deviations add about in quadrature (the
//     squared Jensen-Shannon distance is ~ chi^2/(8n), a sum of squares), so
//     sqrt(T^2 - M^2) estimates the population's distance. In large windows
//     M -> 0 and this is Evidently's own rule.
//
// Under "no drift" the first condition alone has probability at most Alpha,
// so the second only lowers false alarms; it keeps changes that are real but
// too small to matter (2021-02 against 2021-01: Jensen-Shannon ~0.04 on the
// pickup zones, significant from a few thousand rides) from being reported.
// Rule names the condition whose threshold is the larger, the one that
// decides at this window size. Result.Threshold is the larger threshold and
// Result.PValue the Monte Carlo p-value.
//
// P-value tests (ks, chisquare, ...): the test's own p-value is compared with
// Alpha (Rule "calibrated", Result.Threshold = Alpha), with the test's rule.
type Calibration struct {
	Method string  `json:"method"` // MethodCalibrated
	Rule   string  `json:"rule"`   // "calibrated" or "fixed": the threshold that decides
	Alpha  float64 `json:"alpha"`  // the column's false-alarm rate
	// CalibratedThreshold is the 1 - Alpha quantile of the statistic under "no
	// drift" (Alpha itself for p-value tests); FixedThreshold is Evidently's
	// threshold, applied as the minimum effect.
	CalibratedThreshold float64 `json:"calibrated_threshold"`
	FixedThreshold      float64 `json:"fixed_threshold"`
	// NullMedian is the median statistic under "no drift" (the sampling noise)
	// and EffectThreshold = sqrt(FixedThreshold^2 + NullMedian^2) the
	// statistic the minimum effect needs at this size (distance tests).
	NullMedian      float64 `json:"null_median,omitempty"`
	EffectThreshold float64 `json:"effect_threshold,omitempty"`
	// Rows is the window's size the calibration is for, EffectiveRows the size
	// of the simulated windows (n*N/(n+N)), Draws their number (0 for
	// p-value tests, which are not simulated).
	Rows          int `json:"rows"`
	EffectiveRows int `json:"effective_rows,omitempty"`
	Draws         int `json:"draws,omitempty"`
}

// ColumnAlpha is the per-column false-alarm rate that bounds the dataset's
// false-alarm rate by datasetAlpha, whatever the dependence between columns.
//
// Dataset drift needs at least k = ceil(driftShare*m) of the m columns to
// drift. If every column's false-alarm rate is a, the expected number of
// falsely drifted columns is m*a, and by Markov's inequality
//
//	P(at least k columns drift) <= m*a/k,
//
// so a = k*datasetAlpha/m gives a dataset false-alarm rate <= datasetAlpha.
// With k = 1 this is Bonferroni's alpha/m; the default drift share 0.5 lets
// each column use k times more (taxi: m = 4, k = 2, a = alpha/2). The bound
// needs no independence between columns (the taxi's pickup and drop-off
// zones are strongly dependent).
func ColumnAlpha(datasetAlpha float64, m int, driftShare float64) float64 {
	if m < 1 {
		return datasetAlpha
	}
	return float64(RequiredColumns(m, driftShare)) * datasetAlpha / float64(m)
}

// RequiredColumns is k = ceil(driftShare*m), the fewest drifted columns that
// make dataset drift (at least 1; driftShare 0 means 0.5).
func RequiredColumns(m int, driftShare float64) int {
	if driftShare <= 0 {
		driftShare = 0.5
	}
	return max(1, int(math.Ceil(driftShare*float64(m)-1e-9)))
}

func (o Options) validateCalibration() error {
	switch o.Method {
	case "", MethodFixed, MethodCalibrated:
	default:
		return fmt.Errorf("method %q: use %q or %q", o.Method, MethodCalibrated, MethodFixed)
	}
	bad := func(a float64) bool { return math.IsNaN(a) || a < 0 || a >= 1 }
	if bad(o.Alpha) {
		return fmt.Errorf("alpha %v outside (0, 1)", o.Alpha)
	}
	for name, c := range o.PerColumn {
		if bad(c.Alpha) {
			return fmt.Errorf("per_column[%q]: alpha %v outside (0, 1)", name, c.Alpha)
		}
	}
	return nil
}

// calibration is the resolved calibrated method of one Dataset call.
type calibration struct {
	alpha    float64 // dataset
	colAlpha float64 // default per column
	cal      *Calibrator
}

// calibration returns nil for the fixed method.
func (o Options) calibration(m int, share float64) *calibration {
	if o.Method != MethodCalibrated {
		return nil
	}
	a := o.Alpha
	if a == 0 {
		a = DefaultAlpha
	}
	c := &calibration{alpha: a, colAlpha: ColumnAlpha(a, m, share), cal: o.Calibrator}
	if c.cal == nil {
		c.cal = DefaultCalibrator
	}
	return c
}

// apply replaces res's fixed verdict by the calibrated one.
func (c *calibration) apply(res *Result, ref, cur Column, alpha float64) error {
	if alpha == 0 {
		alpha = c.colAlpha
	}
	info, err := lookup(res.Test)
	if err != nil {
		return err
	}
	cb := &Calibration{Method: MethodCalibrated, Rule: MethodCalibrated, Alpha: alpha,
		CalibratedThreshold: alpha, FixedThreshold: res.Threshold, Rows: cur.Len()}
	if info.PValue {
		res.Threshold = alpha
		res.Drifted = res.PValue != nil && info.drifted(*res.PValue, alpha)
		res.Calibration = cb
		return nil
	}
	null, err := c.cal.Null(info.Name, ref, 0, cur.Len(), DrawsFor(alpha))
	if err != nil {
		return err
	}
	p := null.PValue(res.Statistic)
	q := null.Threshold(alpha)
	cb.CalibratedThreshold, cb.EffectiveRows, cb.Draws = q, null.NEff, null.Draws()
	cb.NullMedian = null.Median()
	cb.EffectThreshold = math.Hypot(cb.FixedThreshold, cb.NullMedian)
	res.PValue = &p
	res.Drifted = p <= alpha && info.drifted(res.Statistic, cb.EffectThreshold)
	res.Threshold = q
	if cb.EffectThreshold > q {
		res.Threshold, cb.Rule = cb.EffectThreshold, MethodFixed
	}
	res.Calibration = cb
	return nil
}
