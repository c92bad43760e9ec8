package metrics

import (
	"encoding/json"
	"fmt"
	"github.com/modelmon/modelmon/internal/fscale"
	"math"
)

// Error quantile levels reported in Regression.ErrorQuantiles, keyed
// "p5", "p25", "p50", "p75" and "p95".
var errorQuantileLevels = []struct {
	key string
	q   float64
}{{"p5", 0.05}, {"p25", 0.25}, {"p50", 0.5}, {"p75", 0.75}, {"p95", 0.95}}

// Group summarises the errors of one error group (Evidently's
// "underperformance" groups).
type Group struct {
	Count int `json:"count"`
	// MeanError is the mean of error = prediction - target over the group,
	// NaN (JSON null) when the group is empty.
	MeanError float64 `json:"mean_error"`
}

// MarshalJSON encodes a NaN MeanError as null.
func (g Group) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count     int      `json:"count"`
		MeanError *float64 `json:"mean_error"`
	}{g.Count, jf(g.MeanError)})
}

// UnmarshalJSON decodes a null MeanError as NaN.
func (g *Group) UnmarshalJSON(b []byte) error {
	var w struct {
		Count     int      `json:"count"`
		MeanError *float64 `json:"mean_error"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("metrics: decoding Group: %w", err)
	}
	g.Count, g.MeanError = w.Count, fj(w.MeanError)
	return nil
}

// Feature is one model input column passed to ComputeRegression for the
// error-bias table. Exactly one of Num and Cat is set, with the same length
// as the target. Valid marks present rows (Valid[i] == false: missing);
// nil Valid means every row is present. Missing rows are skipped, as pandas
// does with skipna.
type Feature struct {
	Num   []float64
	Cat   []string
	Valid []bool
}

// FeatureBias is one row of Evidently's error-bias table: how a feature
// differs between the underestimation group (error ≤ q5), the
// overestimation group (error ≥ q95) and the rest.
//
// Numerical features (Type "num"): Under, Over and Majority are the mean of
// the feature within the under, over and majority (q5 < error < q95)
// groups; Overall is its mean over all rows (Evidently labels this value
// "majority"); Range = 100·|Over − Under| / (max − min) over all rows, 0 when
// Over == Under or max == min (Evidently's "range"). Undefined values (a
// group without present values) are NaN.
//
// Categorical features (Type "cat"): UnderValue, OverValue, MajorityValue
// and OverallValue are the most common category of each group (ties: the
// lexicographically smallest; Evidently takes the first seen), nil when the
// group has no present value; Range is 1 if Under, Over and Overall are not
// all equal and 0 otherwise (NaN if one is undefined).
type FeatureBias struct {
	Type                           string
	Majority, Under, Over, Overall float64
	MajorityValue, UnderValue      *string
	OverValue, OverallValue        *string
	Range                          float64
}

type featureBiasJSON struct {
	Type     string   `json:"feature_type"`
	Majority any      `json:"majority"`
	Under    any      `json:"under"`
	Over     any      `json:"over"`
	Overall  any      `json:"overall"`
	Range    *float64 `json:"range"`
}

// MarshalJSON encodes numerical fields as numbers (NaN as null) and
// categorical ones as strings (nil as null), under the same keys.
func (f FeatureBias) MarshalJSON() ([]byte, error) {
	w := featureBiasJSON{Type: f.Type, Range: jf(f.Range)}
	if f.Type == "cat" {
		w.Majority, w.Under, w.Over, w.Overall = f.MajorityValue, f.UnderValue, f.OverValue, f.OverallValue
	} else {
		w.Majority, w.Under, w.Over, w.Overall = jf(f.Majority), jf(f.Under), jf(f.Over), jf(f.Overall)
	}
	return json.Marshal(w)
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (f *FeatureBias) UnmarshalJSON(b []byte) error {
	var w struct {
		Type     string          `json:"feature_type"`
		Majority json.RawMessage `json:"majority"`
		Under    json.RawMessage `json:"under"`
		Over     json.RawMessage `json:"over"`
		Overall  json.RawMessage `json:"overall"`
		Range    *float64        `json:"range"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("metrics: decoding FeatureBias: %w", err)
	}
	*f = FeatureBias{Type: w.Type, Range: fj(w.Range)}
	raws := []json.RawMessage{w.Majority, w.Under, w.Over, w.Overall}
	if w.Type == "cat" {
		dst := []**string{&f.MajorityValue, &f.UnderValue, &f.OverValue, &f.OverallValue}
		for i, r := range raws {
			if len(r) == 0 {
				continue
			}
			if err := json.Unmarshal(r, dst[i]); err != nil {
				return fmt.Errorf("metrics: decoding FeatureBias: %w", err)
			}
		}
		f.Majority, f.Under, f.Over, f.Overall = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		return nil
	}
	dst := []*float64{&f.Majority, &f.Under, &f.Over, &f.Overall}
	for i, r := range raws {
		var p *float64
		if len(r) != 0 {
			if err := json.Unmarshal(r, &p); err != nil {
				return fmt.Errorf("metrics: decoding FeatureBias: %w", err)
			}
		}
		*dst[i] = fj(p)
	}
	return nil
}

// Regression holds regression performance metrics for error = prediction -
// target (the sign convention of Evidently). Undefined values are NaN in Go
// and null in JSON; see ComputeRegression for when that happens.
type Regression struct {
	N           int     `json:"n"`
	ME          float64 `json:"me"`
	MAE         float64 `json:"mae"`
	MAPE        float64 `json:"mape"`
	RMSE        float64 `json:"rmse"`
	R2          float64 `json:"r2"`
	ErrorStd    float64 `json:"error_std"`
	MaxAbsError float64 `json:"max_abs_error"`
	// MAPESkipped is the number of rows with target == 0, left out of MAPE.
	MAPESkipped    int                    `json:"mape_skipped_zero_targets"`
	ErrorQuantiles map[string]float64     `json:"error_quantiles"`
	Under          Group                  `json:"underestimation"`
	Majority       Group                  `json:"majority"`
	Over           Group                  `json:"overestimation"`
	ErrorBias      map[string]FeatureBias `json:"error_bias,omitempty"`
	// Overflow names the metrics left null (NaN) because their true value is
	// beyond the float64 range (e.g. "r2" of predictions off by 1e200).
	Overflow []string `json:"overflow_fields,omitempty"`
}

type regressionJSON struct {
	N              int                    `json:"n"`
	ME             *float64               `json:"me"`
	MAE            *float64               `json:"mae"`
	MAPE           *float64               `json:"mape"`
	RMSE           *float64               `json:"rmse"`
	R2             *float64               `json:"r2"`
	ErrorStd       *float64               `json:"error_std"`
	MaxAbsError    *float64               `json:"max_abs_error"`
	MAPESkipped    int                    `json:"mape_skipped_zero_targets"`
	ErrorQuantiles map[string]float64     `json:"error_quantiles"`
	Under          Group                  `json:"underestimation"`
	Majority       Group                  `json:"majority"`
	Over           Group                  `json:"overestimation"`
	ErrorBias      map[string]FeatureBias `json:"error_bias,omitempty"`
	Overflow       []string               `json:"overflow_fields,omitempty"`
}

// MarshalJSON encodes undefined (NaN) metrics as null instead of failing.
func (r Regression) MarshalJSON() ([]byte, error) {
	return json.Marshal(regressionJSON{
		N: r.N, ME: jf(r.ME), MAE: jf(r.MAE), MAPE: jf(r.MAPE), RMSE: jf(r.RMSE), R2: jf(r.R2),
		ErrorStd: jf(r.ErrorStd), MaxAbsError: jf(r.MaxAbsError), MAPESkipped: r.MAPESkipped,
		ErrorQuantiles: r.ErrorQuantiles, Under: r.Under, Majority: r.Majority, Over: r.Over,
		ErrorBias: r.ErrorBias, Overflow: r.Overflow,
	})
}

// UnmarshalJSON decodes null metrics as NaN.
func (r *Regression) UnmarshalJSON(b []byte) error {
	var w regressionJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("metrics: decoding Regression: %w", err)
	}
	*r = Regression{
		N: w.N, ME: fj(w.ME), MAE: fj(w.MAE), MAPE: fj(w.MAPE), RMSE: fj(w.RMSE), R2: fj(w.R2),
		ErrorStd: fj(w.ErrorStd), MaxAbsError: fj(w.MaxAbsError), MAPESkipped: w.MAPESkipped,
		ErrorQuantiles: w.ErrorQuantiles, Under: w.Under, Majority: w.Majority, Over: w.Over,
		ErrorBias: w.ErrorBias, Overflow: w.Overflow,
	}
	return nil
}

// ComputeRegression returns regression performance metrics of pred against
// target, with error e_i = pred_i − target_i and n = len(target):
//
//	ME   = Σe/n                      MAE = Σ|e|/n
//	RMSE = √(Σe²/n)                  MaxAbsError = max|e|
//	MAPE = 100·Σ_{y≠0} |e/y| / #{y≠0}   (rows with target 0 are skipped and
//	                                     counted in MAPESkipped)
//	ErrorStd = √(Σ(e−ē)²/(n−1))      (numpy.std(e, ddof=1), as Evidently)
//	R2   = 1 − Σe²/Σ(y−ȳ)²           (sklearn.metrics.r2_score 1.2: 1 if
//	                                  both sums are 0, 0 if only Σ(y−ȳ)² is)
//
// ErrorQuantiles holds numpy.quantile(e, q) (linear) for q = 5, 25, 50, 75
// and 95 %. Following Evidently, Under holds the rows with e ≤ p5, Over the
// rows with e ≥ p95 and Majority those with p5 < e < p95 (Under and Over
// overlap only if p5 == p95). If features is non-nil, ErrorBias has one
// FeatureBias per feature (see FeatureBias for the formulas).
//
// Undefined results are NaN: MAPE when every target is 0; R2 and ErrorStd
// when n < 2 (sklearn returns nan, numpy nan); Majority.MeanError when that
// group is empty.
//
// Errors (wrapped, test with errors.Is): ErrEmpty if n == 0; ErrLength if
// len(pred) != n or a feature has another length; ErrNonFinite if a target,
// prediction, their difference or a present numerical feature value is NaN
// or ±Inf.
//
// Cost: two passes over the data plus an O(n) radix selection for the
// quantiles (two more passes); no copy of the data is made.
func ComputeRegression(target, pred []float64, features map[string]Feature) (Regression, error) {
	n := len(target)
	if len(pred) != n {
		return Regression{}, fmt.Errorf("metrics: ComputeRegression: len(pred) = %d, len(target) = %d: %w", len(pred), n, ErrLength)
	}
	if n == 0 {
		return Regression{}, fmt.Errorf("metrics: ComputeRegression: %w", ErrEmpty)
	}
	for name, f := range features {
		if err := validateFeature(name, f, n); err != nil {
			return Regression{}, err
		}
	}

	// Pass 1: validation and sums.
	var maxAbsE, maxAbsY float64
	var sumE, sumAbs, sumSq, sumAPE, sumY float64
	nAPE := 0
	for i, y := range target {
		p := pred[i]
		e := p - y
		if !isFinite(e) {
			switch {
			case !isFinite(y):
				return Regression{}, fmt.Errorf("metrics: ComputeRegression: target[%d] = %v: %w", i, y, ErrNonFinite)
			case !isFinite(p):
				return Regression{}, fmt.Errorf("metrics: ComputeRegression: pred[%d] = %v: %w", i, p, ErrNonFinite)
			}
			// Finite values whose difference overflows: compute on halves.
			return regressionHalved(target, pred, features)
		}
		ae, ay := math.Abs(e), math.Abs(y)
		if ae > maxAbsE {
			maxAbsE = ae
		}
		if ay > maxAbsY {
			maxAbsY = ay
		}
		sumE += e
		sumAbs += ae
		sumSq += e * e
		sumY += y
		if y != 0 {
			sumAPE += ae / ay
			nAPE++
		}
	}
	// Power-of-two scaling keeps sums of squares finite for huge or tiny
	// magnitudes; it is exact, so it only runs when needed.
	se, sy := fscale.Pow2(maxAbsE), fscale.Pow2(maxAbsY)
	if se != 1 || sy != 1 {
		sumE, sumAbs, sumSq, sumY = 0, 0, 0, 0
		for i, y := range target {
			es := (pred[i] - y) * se
			sumE += es
			sumAbs += math.Abs(es)
			sumSq += es * es
			sumY += y * sy
		}
	}
	fn := float64(n)
	meanEs, meanYs := sumE/fn, sumY/fn

	r := Regression{
		N:           n,
		ME:          meanEs / se,
		MAE:         sumAbs / fn / se,
		RMSE:        math.Sqrt(sumSq/fn) / se,
		MaxAbsError: maxAbsE,
		MAPESkipped: n - nAPE,
		MAPE:        math.NaN(),
		R2:          math.NaN(),
		ErrorStd:    math.NaN(),
	}
	if nAPE > 0 {
		r.MAPE = 100 * sumAPE / float64(nAPE)
		if math.IsInf(sumAPE, 0) {
			r.MAPE = 100 * meanAPE(target, pred, nAPE)
		}
	}

	qs := make([]float64, len(errorQuantileLevels))
	levels := make([]float64, len(errorQuantileLevels))
	for i, l := range errorQuantileLevels {
		levels[i] = l.q
	}
	quantilesOf(target, pred, levels, qs)
	r.ErrorQuantiles = make(map[string]float64, len(qs))
	for i, l := range errorQuantileLevels {
		r.ErrorQuantiles[l.key] = qs[i]
	}
	q5, q95 := qs[0], qs[len(qs)-1]

	// Pass 2: squared deviations (two-pass, as numpy and sklearn) and the
	// error groups.
	var ssE, ssY float64
	var sums [3]float64 // under, majority, over (scaled by se)
	var counts [3]int
	for i, y := range target {
		e := pred[i] - y
		es := e * se
		d := es - meanEs
		ssE += d * d
		dy := y*sy - meanYs
		ssY += dy * dy
		switch {
		case e <= q5:
			sums[0] += es
			counts[0]++
			if e >= q95 { // only when q5 == q95
				sums[2] += es
				counts[2]++
			}
		case e >= q95:
			sums[2] += es
			counts[2]++
		default:
			sums[1] += es
			counts[1]++
		}
	}
	if n >= 2 {
		r.ErrorStd = math.Sqrt(ssE/(fn-1)) / se
		r.R2 = r2FromSums(sumSq, ssY, sy/se)
	}
	groups := [3]*Group{&r.Under, &r.Majority, &r.Over}
	for g := range groups {
		groups[g].Count = counts[g]
		groups[g].MeanError = math.NaN()
		if counts[g] > 0 {
			groups[g].MeanError = sums[g] / float64(counts[g]) / se
		}
	}

	r.markOverflow()
	if features != nil {
		r.ErrorBias = make(map[string]FeatureBias, len(features))
		for name, f := range features {
			if f.Num != nil {
				r.ErrorBias[name] = numFeatureBias(target, pred, f, q5, q95)
			} else {
				r.ErrorBias[name] = catFeatureBias(target, pred, f, q5, q95)
			}
		}
	}
	return r, nil
}

// r2FromSums applies sklearn's force_finite rule to 1 − ssRes/ssTot where
// ssRes was scaled by se² and ssTot by sy², ratio = sy/se.
//
// The ratio is formed as (√ssRes/√ssTot·ratio)², so it overflows (-Inf)
// only when R2 itself is below -MaxFloat64.
func r2FromSums(ssRes, ssTot, ratio float64) float64 {
	switch {
	case ssRes == 0:
		return 1
	case ssTot == 0:
		return 0
	}
	if q := ssRes / ssTot * ratio * ratio; isFinite(q) && q > 0x1p-900 {
		return 1 - q
	}
	t := math.Sqrt(ssRes) / math.Sqrt(ssTot) * ratio
	return 1 - t*t
}

func validateFeature(name string, f Feature, n int) error {
	switch {
	case (f.Num == nil) == (f.Cat == nil):
		return fmt.Errorf("metrics: feature %q: exactly one of Num and Cat must be set", name)
	case f.Num != nil && len(f.Num) != n:
		return fmt.Errorf("metrics: feature %q: len(Num) = %d, want %d: %w", name, len(f.Num), n, ErrLength)
	case f.Cat != nil && len(f.Cat) != n:
		return fmt.Errorf("metrics: feature %q: len(Cat) = %d, want %d: %w", name, len(f.Cat), n, ErrLength)
	case f.Valid != nil && len(f.Valid) != n:
		return fmt.Errorf("metrics: feature %q: len(Valid) = %d, want %d: %w", name, len(f.Valid), n, ErrLength)
	}
	for i, x := range f.Num {
		if (f.Valid == nil || f.Valid[i]) && !isFinite(x) {
			return fmt.Errorf("metrics: feature %q: Num[%d] = %v: %w", name, i, x, ErrNonFinite)
		}
	}
	return nil
}

func numFeatureBias(target, pred []float64, f Feature, q5, q95 float64) FeatureBias {
	var sum [4]float64 // under, majority, over, overall; of x·s
	var cnt [4]int
	lo, hi := math.Inf(1), math.Inf(-1)
	s := fscale.Pow2(fscale.MaxAbs(f.Num)) // sums of huge values must not overflow
	for i, x := range f.Num {
		if f.Valid != nil && !f.Valid[i] {
			continue
		}
		lo, hi = min(lo, x), max(hi, x)
		x *= s
		e := pred[i] - target[i]
		if e <= q5 {
			sum[0] += x
			cnt[0]++
		}
		if e > q5 && e < q95 {
			sum[1] += x
			cnt[1]++
		}
		if e >= q95 {
			sum[2] += x
			cnt[2]++
		}
		sum[3] += x
		cnt[3]++
	}
	var mean [4]float64
	for g := range mean {
		mean[g] = math.NaN()
		if cnt[g] > 0 {
			mean[g] = sum[g] / float64(cnt[g]) / s
		}
	}
	return numBias(mean[0], mean[1], mean[2], mean[3], lo, hi)
}

// numBias assembles a numerical FeatureBias with Evidently's range rule.
func numBias(under, majority, over, overall, lo, hi float64) FeatureBias {
	fb := FeatureBias{Type: "num", Under: under, Majority: majority, Over: over, Overall: overall}
	switch {
	case math.IsNaN(under) || math.IsNaN(over):
		fb.Range = math.NaN()
	case under == over || hi == lo:
		fb.Range = 0
	case math.IsInf(hi-lo, 0) || math.IsInf(over-under, 0):
		// Halves cannot overflow; the ratio is the same (both means lie in [lo, hi]).
		fb.Range = 100 * (math.Abs(over/2-under/2) / (hi/2 - lo/2))
	default:
		fb.Range = 100 * (math.Abs(over-under) / (hi - lo))
	}
	return fb
}

func catFeatureBias(target, pred []float64, f Feature, q5, q95 float64) FeatureBias {
	counts := make(map[string]*[4]int) // under, majority, over, overall
	for i, v := range f.Cat {
		if f.Valid != nil && !f.Valid[i] {
			continue
		}
		c := counts[v]
		if c == nil {
			c = new([4]int)
			counts[v] = c
		}
		e := pred[i] - target[i]
		if e <= q5 {
			c[0]++
		}
		if e > q5 && e < q95 {
			c[1]++
		}
		if e >= q95 {
			c[2]++
		}
		c[3]++
	}
	var best [4]*string
	var bestN [4]int
	for v, c := range counts {
		for g := range 4 {
			if c[g] == 0 {
				continue
			}
			if c[g] > bestN[g] || (c[g] == bestN[g] && v < *best[g]) {
				bestN[g] = c[g]
				best[g] = &v
			}
		}
	}
	return catBias(best[0], best[1], best[2], best[3])
}

func catBias(under, majority, over, overall *string) FeatureBias {
	fb := FeatureBias{Type: "cat", UnderValue: under, MajorityValue: majority, OverValue: over, OverallValue: overall,
		Majority: math.NaN(), Under: math.NaN(), Over: math.NaN(), Overall: math.NaN()}
	switch {
	case under == nil || over == nil || overall == nil:
		fb.Range = math.NaN()
	case *under != *overall || *over != *overall:
		fb.Range = 1
	default:
		fb.Range = 0
	}
	return fb
}

// meanAPE is Σ|e/y|/nAPE over y ≠ 0 with each term divided by nAPE before
// summing, so that a sum of huge ratios cannot overflow when their mean does
// not. It is +Inf when a single ratio exceeds MaxFloat64 (|y| tiny).
func meanAPE(target, pred []float64, nAPE int) float64 {
	var m float64
	fn := float64(nAPE)
	for i, y := range target {
		if y != 0 {
			m += math.Abs(pred[i]-y) / math.Abs(y) / fn
		}
	}
	return m
}

// regressionHalved is ComputeRegression when some pred−target overflows
// although both are finite: every error-based statistic is computed on
// pred/2 − target/2 (exact halving, scale invariant for MAPE, R2 and the
// groups) and doubled back; values that overflow then are null and listed
// in Overflow.
func regressionHalved(target, pred []float64, features map[string]Feature) (Regression, error) {
	t2, p2 := make([]float64, len(target)), make([]float64, len(pred))
	for i := range target {
		t2[i], p2[i] = target[i]/2, pred[i]/2
	}
	r, err := ComputeRegression(t2, p2, features)
	if err != nil {
		return Regression{}, err
	}
	// What overflows at half scale (left NaN, named in Overflow) overflows at full
	// scale too; doubling may overflow more (named by markOverflow below).
	r.ME, r.MAE, r.RMSE, r.ErrorStd, r.MaxAbsError = 2*r.ME, 2*r.MAE, 2*r.RMSE, 2*r.ErrorStd, 2*r.MaxAbsError
	for k, v := range r.ErrorQuantiles {
		r.ErrorQuantiles[k] = 2 * v
	}
	for _, g := range []*Group{&r.Under, &r.Majority, &r.Over} {
		g.MeanError *= 2
	}
	r.markOverflow()
	return r, nil
}

// markOverflow replaces the infinite metrics (true values beyond the float64
// range) by NaN (null in JSON) and names them in Overflow; infinite error
// quantiles are removed from their map and named too.
func (r *Regression) markOverflow() {
	for _, f := range []struct {
		name string
		v    *float64
	}{{"me", &r.ME}, {"mae", &r.MAE}, {"mape", &r.MAPE}, {"rmse", &r.RMSE}, {"r2", &r.R2},
		{"error_std", &r.ErrorStd}, {"max_abs_error", &r.MaxAbsError},
		{"underestimation.mean_error", &r.Under.MeanError}, {"majority.mean_error", &r.Majority.MeanError},
		{"overestimation.mean_error", &r.Over.MeanError}} {
		if math.IsInf(*f.v, 0) {
			*f.v = math.NaN()
			r.Overflow = append(r.Overflow, f.name)
		}
	}
	for _, l := range errorQuantileLevels {
		if v, ok := r.ErrorQuantiles[l.key]; ok && !isFinite(v) {
			delete(r.ErrorQuantiles, l.key)
			r.Overflow = append(r.Overflow, "error_quantiles."+l.key)
		}
	}
}
