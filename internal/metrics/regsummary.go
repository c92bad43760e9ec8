package metrics

import (
	"encoding/json"
	"fmt"
	"math"
)

// moments holds a count, a mean and M2 = Σ(x−mean)², updated with
// Welford's algorithm and merged with Chan, Golub & LeVeque's formula.
type moments struct {
	N    int64   `json:"n"`
	Mean float64 `json:"mean"`
	M2   float64 `json:"m2"`
}

func (m *moments) add(x float64) {
	m.N++
	d := x - m.Mean
	m.Mean += d / float64(m.N)
	m.M2 += d * (x - m.Mean)
}

func (m *moments) merge(o moments) {
	if o.N == 0 {
		return
	}
	if m.N == 0 {
		*m = o
		return
	}
	n := float64(m.N + o.N)
	d := o.Mean - m.Mean
	m.Mean += d * (float64(o.N) / n)
	m.M2 += o.M2 + d*d*(float64(m.N)/n)*float64(o.N)
	m.N += o.N
}

// RegressionSummary is the mergeable first-pass summary of (target,
// prediction) pairs, from which RegressionFromSummaries computes every
// metric of ComputeRegression. It keeps moments of the error, |error|,
// error², the absolute percentage error (non-zero targets) and the target
// (Welford/Chan), the maximum |error|, and a NumSummary of the errors for
// the quantiles. ME, MAE, RMSE, MAPE, R2, ErrorStd and MaxAbsError are
// exact up to rounding; the quantiles are exact while the error summary is
// (≤ ExactLimit distinct errors), otherwise within the NumSummary bounds.
// The zero value is not ready: use NewRegressionSummary.
type RegressionSummary struct {
	err, abs, sq, ape, y moments
	maxAbs               float64
	errors               *NumSummary
}

// NewRegressionSummary returns an empty summary.
func NewRegressionSummary() *RegressionSummary {
	return &RegressionSummary{errors: NewNumSummary()}
}

// AddBatch adds parallel target and prediction slices. It returns an
// error wrapping ErrLength or ErrNonFinite (then nothing is added).
func (s *RegressionSummary) AddBatch(target, pred []float64) error {
	if len(target) != len(pred) {
		return fmt.Errorf("metrics: RegressionSummary.AddBatch: len(pred) = %d, len(target) = %d: %w", len(pred), len(target), ErrLength)
	}
	for i, y := range target {
		if !isFinite(y) || !isFinite(pred[i]) || !isFinite(pred[i]-y) {
			return fmt.Errorf("metrics: RegressionSummary.AddBatch: row %d: target %v, pred %v: %w", i, y, pred[i], ErrNonFinite)
		}
	}
	for i, y := range target {
		e := pred[i] - y
		s.err.add(e)
		s.abs.add(math.Abs(e))
		s.sq.add(e * e)
		s.y.add(y)
		if y != 0 {
			s.ape.add(math.Abs(e) / math.Abs(y))
		}
		s.maxAbs = max(s.maxAbs, math.Abs(e))
		s.errors.Add(e)
	}
	return nil
}

// Merge adds o into s (o is unchanged).
func (s *RegressionSummary) Merge(o *RegressionSummary) error {
	if o == s {
		o = o.clone()
	}
	if err := s.errors.Merge(o.errors); err != nil {
		return fmt.Errorf("metrics: RegressionSummary.Merge: %w", err)
	}
	s.err.merge(o.err)
	s.abs.merge(o.abs)
	s.sq.merge(o.sq)
	s.ape.merge(o.ape)
	s.y.merge(o.y)
	s.maxAbs = max(s.maxAbs, o.maxAbs)
	return nil
}

func (s *RegressionSummary) clone() *RegressionSummary {
	c := *s
	c.errors = s.errors.Clone()
	return &c
}

// N returns the number of rows summarised.
func (s *RegressionSummary) N() int64 { return s.err.N }

// Thresholds returns the estimated 5% and 95% error quantiles that define
// the under- and overestimation groups, to build the second-pass
// RegressionGroupSummary.
func (s *RegressionSummary) Thresholds() (q5, q95 float64) {
	return s.errors.Quantile(0.05), s.errors.Quantile(0.95)
}

// Errors returns the summary of the errors (not a copy).
func (s *RegressionSummary) Errors() *NumSummary { return s.errors }

type regressionSummaryJSON struct {
	Err    moments     `json:"err"`
	Abs    moments     `json:"abs_err"`
	Sq     moments     `json:"sq_err"`
	APE    moments     `json:"ape"`
	Y      moments     `json:"target"`
	MaxAbs float64     `json:"max_abs_err"`
	Errors *NumSummary `json:"errors"`
}

// MarshalJSON encodes the summary.
func (s *RegressionSummary) MarshalJSON() ([]byte, error) {
	return json.Marshal(regressionSummaryJSON{s.err, s.abs, s.sq, s.ape, s.y, s.maxAbs, s.errors})
}

// UnmarshalJSON decodes a summary written by MarshalJSON.
func (s *RegressionSummary) UnmarshalJSON(b []byte) error {
	var w regressionSummaryJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("metrics: decoding RegressionSummary: %w", err)
	}
	if w.Errors == nil || w.Errors.N() != w.Err.N || w.Abs.N != w.Err.N || w.Sq.N != w.Err.N || w.Y.N != w.Err.N || w.APE.N > w.Err.N {
		return fmt.Errorf("metrics: decoding RegressionSummary: inconsistent counts: %w", ErrCorrupt)
	}
	*s = RegressionSummary{w.Err, w.Abs, w.Sq, w.APE, w.Y, w.MaxAbs, w.Errors}
	return nil
}

// RegressionGroupSummary is the mergeable second-pass summary for the
// under/majority/over groups and the error-bias table, for fixed error
// thresholds q5 and q95 (normally RegressionSummary.Thresholds() of the
// merged first pass). Everything in it is exact given the thresholds.
type RegressionGroupSummary struct {
	Q5, Q95  float64
	groups   [3]moments // under, majority, over
	num      map[string]*numBiasSummary
	cat      map[string]*[4]*CatSummary // under, majority, over, overall
	features bool
}

type numBiasSummary struct {
	G        [4]moments `json:"groups"` // under, majority, over, overall
	Min, Max float64
}

// NewRegressionGroupSummary returns an empty second-pass summary for the
// given thresholds.
func NewRegressionGroupSummary(q5, q95 float64) *RegressionGroupSummary {
	return &RegressionGroupSummary{Q5: q5, Q95: q95, num: map[string]*numBiasSummary{}, cat: map[string]*[4]*CatSummary{}}
}

// AddBatch adds rows (features may be nil; each call must pass the same
// feature names). Errors as ComputeRegression.
func (g *RegressionGroupSummary) AddBatch(target, pred []float64, features map[string]Feature) error {
	n := len(target)
	if len(pred) != n {
		return fmt.Errorf("metrics: RegressionGroupSummary.AddBatch: len(pred) = %d, len(target) = %d: %w", len(pred), n, ErrLength)
	}
	for i, y := range target {
		if !isFinite(y) || !isFinite(pred[i]) || !isFinite(pred[i]-y) {
			return fmt.Errorf("metrics: RegressionGroupSummary.AddBatch: row %d: target %v, pred %v: %w", i, y, pred[i], ErrNonFinite)
		}
	}
	for name, f := range features {
		if err := validateFeature(name, f, n); err != nil {
			return fmt.Errorf("metrics: RegressionGroupSummary.AddBatch: %w", err)
		}
	}
	if features != nil {
		g.features = true
	}
	member := func(e float64) (m [4]bool) {
		return [4]bool{e <= g.Q5, e > g.Q5 && e < g.Q95, e >= g.Q95, true}
	}
	for i, y := range target {
		e := pred[i] - y
		m := member(e)
		for k := range 3 {
			if m[k] {
				g.groups[k].add(e)
			}
		}
	}
	for name, f := range features {
		if f.Num != nil {
			nb := g.num[name]
			if nb == nil {
				nb = &numBiasSummary{Min: math.Inf(1), Max: math.Inf(-1)}
				g.num[name] = nb
			}
			for i, x := range f.Num {
				if f.Valid != nil && !f.Valid[i] {
					continue
				}
				m := member(pred[i] - target[i])
				for k := range 4 {
					if m[k] {
						nb.G[k].add(x)
					}
				}
				nb.Min, nb.Max = min(nb.Min, x), max(nb.Max, x)
			}
			continue
		}
		cs := g.cat[name]
		if cs == nil {
			cs = &[4]*CatSummary{NewCatSummary(), NewCatSummary(), NewCatSummary(), NewCatSummary()}
			g.cat[name] = cs
		}
		for i, v := range f.Cat {
			if f.Valid != nil && !f.Valid[i] {
				continue
			}
			m := member(pred[i] - target[i])
			for k := range 4 {
				if m[k] {
					cs[k].Add(v)
				}
			}
		}
	}
	return nil
}

// Merge adds o into g. It returns an error wrapping ErrIncompatible if the
// thresholds differ.
func (g *RegressionGroupSummary) Merge(o *RegressionGroupSummary) error {
	if o.Q5 != g.Q5 || o.Q95 != g.Q95 {
		return fmt.Errorf("metrics: RegressionGroupSummary.Merge: thresholds (%v, %v) vs (%v, %v): %w", g.Q5, g.Q95, o.Q5, o.Q95, ErrIncompatible)
	}
	if o == g {
		b, _ := json.Marshal(o)
		o = &RegressionGroupSummary{}
		if err := json.Unmarshal(b, o); err != nil {
			return err
		}
	}
	for k := range 3 {
		g.groups[k].merge(o.groups[k])
	}
	g.features = g.features || o.features
	for name, ob := range o.num {
		nb := g.num[name]
		if nb == nil {
			nb = &numBiasSummary{Min: math.Inf(1), Max: math.Inf(-1)}
			g.num[name] = nb
		}
		for k := range 4 {
			nb.G[k].merge(ob.G[k])
		}
		nb.Min, nb.Max = min(nb.Min, ob.Min), max(nb.Max, ob.Max)
	}
	for name, oc := range o.cat {
		cs := g.cat[name]
		if cs == nil {
			cs = &[4]*CatSummary{NewCatSummary(), NewCatSummary(), NewCatSummary(), NewCatSummary()}
			g.cat[name] = cs
		}
		for k := range 4 {
			cs[k].Merge(oc[k])
		}
	}
	return nil
}

type groupSummaryJSON struct {
	Q5       float64                       `json:"q5"`
	Q95      float64                       `json:"q95"`
	Groups   [3]moments                    `json:"groups"`
	Num      map[string]numBiasSummaryJSON `json:"num,omitempty"`
	Cat      map[string][4]*CatSummary     `json:"cat,omitempty"`
	Features bool                          `json:"features,omitempty"`
}

type numBiasSummaryJSON struct {
	G   [4]moments `json:"groups"`
	Min *float64   `json:"min,omitempty"`
	Max *float64   `json:"max,omitempty"`
}

// MarshalJSON encodes the summary.
func (g *RegressionGroupSummary) MarshalJSON() ([]byte, error) {
	w := groupSummaryJSON{Q5: g.Q5, Q95: g.Q95, Groups: g.groups, Num: map[string]numBiasSummaryJSON{}, Cat: map[string][4]*CatSummary{}, Features: g.features}
	for k, v := range g.num {
		w.Num[k] = numBiasSummaryJSON{v.G, jf(v.Min), jf(v.Max)}
	}
	for k, v := range g.cat {
		w.Cat[k] = *v
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes a summary written by MarshalJSON.
func (g *RegressionGroupSummary) UnmarshalJSON(b []byte) error {
	var w groupSummaryJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("metrics: decoding RegressionGroupSummary: %w", err)
	}
	*g = *NewRegressionGroupSummary(w.Q5, w.Q95)
	g.groups, g.features = w.Groups, w.Features
	for k, v := range w.Num {
		nb := &numBiasSummary{G: v.G, Min: math.Inf(1), Max: math.Inf(-1)}
		if v.Min != nil && v.Max != nil {
			nb.Min, nb.Max = *v.Min, *v.Max
		}
		g.num[k] = nb
	}
	for k, v := range w.Cat {
		for i := range v {
			if v[i] == nil {
				return fmt.Errorf("metrics: decoding RegressionGroupSummary: feature %q: %w", k, ErrCorrupt)
			}
		}
		c := v
		g.cat[k] = &c
	}
	return nil
}

// RegressionFromSummaries computes the metrics of ComputeRegression from a
// merged first-pass summary s and, optionally, a merged second-pass group
// summary g built with s.Thresholds(). Without g, the groups come from the
// error summary: exact while it is exact, otherwise estimated from its
// buckets; the error-bias table then stays empty. ErrorQuantiles are
// estimates when s.Errors() is sketched. It returns an error wrapping
// ErrEmpty if s has no rows.
func RegressionFromSummaries(s *RegressionSummary, g *RegressionGroupSummary) (Regression, error) {
	n := s.err.N
	if n == 0 {
		return Regression{}, fmt.Errorf("metrics: RegressionFromSummaries: %w", ErrEmpty)
	}
	fn := float64(n)
	r := Regression{
		N: int(n), ME: s.err.Mean, MAE: s.abs.Mean, RMSE: math.Sqrt(s.sq.Mean), MaxAbsError: s.maxAbs,
		MAPESkipped: int(n - s.ape.N), MAPE: math.NaN(), R2: math.NaN(), ErrorStd: math.NaN(),
	}
	if s.ape.N > 0 {
		r.MAPE = 100 * s.ape.Mean
	}
	if n >= 2 {
		r.ErrorStd = math.Sqrt(s.err.M2 / (fn - 1))
		r.R2 = r2FromSums(s.sq.Mean*fn, s.y.M2, 1)
	}
	as := s.errors.atoms()
	r.ErrorQuantiles = make(map[string]float64, len(errorQuantileLevels))
	for _, l := range errorQuantileLevels {
		v, _, _ := quantileAtoms(as, n, s.errors.min, s.errors.max, l.q)
		r.ErrorQuantiles[l.key] = v
	}
	groups := [3]*Group{&r.Under, &r.Majority, &r.Over}
	if g != nil {
		for k, gr := range groups {
			gr.Count, gr.MeanError = int(g.groups[k].N), math.NaN()
			if g.groups[k].N > 0 {
				gr.MeanError = g.groups[k].Mean
			}
		}
		if g.features {
			r.ErrorBias = make(map[string]FeatureBias)
			for name, nb := range g.num {
				var m [4]float64
				for k := range 4 {
					m[k] = math.NaN()
					if nb.G[k].N > 0 {
						m[k] = nb.G[k].Mean
					}
				}
				r.ErrorBias[name] = numBias(m[0], m[1], m[2], m[3], nb.Min, nb.Max)
			}
			for name, cs := range g.cat {
				var mc [4]*string
				for k := range 4 {
					mc[k] = catQuality(cs[k].counts, 0, nil, false).MostCommonCategory
				}
				r.ErrorBias[name] = catBias(mc[0], mc[1], mc[2], mc[3])
			}
		}
		return r, nil
	}
	q5, q95 := r.ErrorQuantiles["p5"], r.ErrorQuantiles["p95"]
	var ms [3]moments
	for _, a := range as {
		m := [3]bool{a.rep <= q5, a.rep > q5 && a.rep < q95, a.rep >= q95}
		for k := range 3 {
			if m[k] {
				ms[k].merge(moments{N: a.c, Mean: a.rep})
			}
		}
	}
	for k, gr := range groups {
		gr.Count, gr.MeanError = int(ms[k].N), math.NaN()
		if ms[k].N > 0 {
			gr.MeanError = ms[k].Mean
		}
	}
	return r, nil
}
