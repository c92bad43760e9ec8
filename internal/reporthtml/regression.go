package reporthtml

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/modelmon/modelmon/internal/report"
)

// regView is the "Regression performance" section: metrics, error quantiles, error
// groups and the error-bias table, reference beside current.
type regView struct {
	Empty     bool   // no side has targets
	Note      string // a side without targets
	HasRef    bool
	HasCur    bool
	Metrics   []metricRow
	Box       *svgChart
	Quantiles []quantRow
	Groups    *svgChart
	GroupRows []groupRow
	BiasSide  string
	Bias      []biasRow
}

type metricRow struct{ Name, Hint, Ref, Cur, Delta, Tone string }
type quantRow struct{ Name, Ref, Cur string }
type groupRow struct{ Name, Hint, RefCount, RefMean, CurCount, CurMean string }
type biasRow struct {
	Feature, Type, Under, Majority, Over, Overall, Range string
	Hot                                                  bool
}

func newRegView(p report.RegressionPair) regView {
	ref, cur := p.Reference, p.Current
	v := regView{HasRef: ref != nil, HasCur: cur != nil}
	switch {
	case ref == nil && cur == nil:
		v.Empty = true
		v.Note = noTargetsMsg + "; no reference targets either, so there is no regression performance to show."
		return v
	case cur == nil:
		v.Note = noTargetsMsg + ": only reference performance is shown."
	case ref == nil:
		v.Note = "The reference data has no targets: only current performance is shown."
	}
	get := func(r *report.Regression, f func(*report.Regression) float64) float64 {
		if r == nil {
			return math.NaN()
		}
		return f(r)
	}
	type metric struct {
		name, hint   string
		f            func(*report.Regression) float64
		higherBetter bool
		absBetter    bool // closer to 0 is better
		suffix       string
	}
	metrics := []metric{
		{"RMSE", "root mean squared error", func(r *report.Regression) float64 { return r.RMSE }, false, false, ""},
		{"MAE", "mean absolute error", func(r *report.Regression) float64 { return r.MAE }, false, false, ""},
		{"ME", "mean error (bias), prediction − target", func(r *report.Regression) float64 { return r.ME }, false, true, ""},
		{"MAPE", "mean absolute percentage error", func(r *report.Regression) float64 { return r.MAPE }, false, false, "%"},
		{"R²", "coefficient of determination", func(r *report.Regression) float64 { return r.R2 }, true, false, ""},
		{"Error std", "standard deviation of the error", func(r *report.Regression) float64 { return r.ErrorStd }, false, false, ""},
		{"Max |error|", "largest absolute error", func(r *report.Regression) float64 { return r.MaxAbsError }, false, false, ""},
	}
	v.Metrics = append(v.Metrics, metricRow{Name: "Rows", Hint: "rows with a known target",
		Ref: integerOr(ref, func(r *report.Regression) int { return r.N }), Cur: integerOr(cur, func(r *report.Regression) int { return r.N })})
	for _, m := range metrics {
		a, b := get(ref, m.f), get(cur, m.f)
		row := metricRow{Name: m.name, Hint: m.hint, Ref: numSuffix(a, m.suffix), Cur: numSuffix(b, m.suffix)}
		if isFinite(a) && isFinite(b) {
			row.Delta = signed(b-a) + m.suffix
			switch {
			case m.absBetter:
				row.Tone = compareTone(math.Abs(a), math.Abs(b))
			case m.higherBetter:
				if d := b - a; d < -0.05 {
					row.Tone = toneBad
				} else if d > 0.05 {
					row.Tone = toneOK
				}
			default:
				row.Tone = compareTone(a, b)
			}
		}
		v.Metrics = append(v.Metrics, row)
	}
	if ref != nil && cur != nil && ref.MAPESkipped+cur.MAPESkipped > 0 {
		v.Metrics = append(v.Metrics, metricRow{Name: "MAPE skipped", Hint: "rows with target 0, left out of MAPE",
			Ref: integer(ref.MAPESkipped), Cur: integer(cur.MAPESkipped)})
	}

	// Error quantiles.
	var keys []string
	for _, r := range []*report.Regression{ref, cur} {
		if r != nil {
			for k := range r.ErrorQuantiles {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		qa, oka := quantileLevel(a)
		qb, okb := quantileLevel(b)
		if oka && okb && qa != qb {
			return cmp.Compare(qa, qb)
		}
		if oka != okb {
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
	})
	qv := func(r *report.Regression, k string) float64 {
		if r == nil {
			return math.NaN()
		}
		if x, ok := r.ErrorQuantiles[k]; ok {
			return x
		}
		return math.NaN()
	}
	for _, k := range keys {
		name := k
		if q, ok := quantileLevel(k); ok {
			name = ordinalPct(q)
		}
		v.Quantiles = append(v.Quantiles, quantRow{Name: name, Ref: num(qv(ref, k)), Cur: num(qv(cur, k))})
	}
	v.Box = boxChart(ref, cur)

	groups := []struct {
		name, hint string
		g          func(*report.Regression) report.Group
	}{
		{"Underestimation", "error ≤ 5th percentile", func(r *report.Regression) report.Group { return r.Under }},
		{"Majority", "between the 5th and 95th percentiles", func(r *report.Regression) report.Group { return r.Majority }},
		{"Overestimation", "error ≥ 95th percentile", func(r *report.Regression) report.Group { return r.Over }},
	}
	for _, g := range groups {
		row := groupRow{Name: g.name, Hint: g.hint, RefCount: "—", RefMean: "—", CurCount: "—", CurMean: "—"}
		if ref != nil {
			gr := g.g(ref)
			row.RefCount, row.RefMean = countShare(gr.Count, ref.N), signed(gr.MeanError)
		}
		if cur != nil {
			gc := g.g(cur)
			row.CurCount, row.CurMean = countShare(gc.Count, cur.N), signed(gc.MeanError)
		}
		v.GroupRows = append(v.GroupRows, row)
	}
	v.Groups = groupChart(ref, cur)

	biasSrc := cur
	v.BiasSide = "current window"
	if biasSrc == nil || len(biasSrc.ErrorBias) == 0 {
		if ref != nil && len(ref.ErrorBias) > 0 {
			biasSrc, v.BiasSide = ref, "reference"
		}
	}
	if biasSrc != nil {
		names := slices.Sorted(maps.Keys(biasSrc.ErrorBias))
		// Most biased first: categorical "differs" counts as 100 %, undefined last.
		score := func(b report.FeatureBias) float64 {
			switch {
			case !isFinite(b.Range):
				return -1
			case isCategoricalType(b.Type):
				return min(b.Range, 1) * 100
			}
			return b.Range
		}
		slices.SortStableFunc(names, func(a, b string) int {
			return cmp.Compare(score(biasSrc.ErrorBias[b]), score(biasSrc.ErrorBias[a]))
		})
		for _, name := range names {
			b := biasSrc.ErrorBias[name]
			row := biasRow{Feature: name, Type: typeLabel(b.Type)}
			if isCategoricalType(b.Type) {
				row.Under, row.Majority, row.Over, row.Overall = categoryOrDash(b.UnderValue), categoryOrDash(b.MajorityValue), categoryOrDash(b.OverValue), categoryOrDash(b.OverallValue)
				switch {
				case !isFinite(b.Range):
					row.Range = "—"
				case b.Range > 0:
					row.Range, row.Hot = "differs", true
				default:
					row.Range = "same"
				}
			} else {
				row.Under, row.Majority, row.Over, row.Overall = num(b.Under), num(b.Majority), num(b.Over), num(b.Overall)
				row.Range = numSuffix(b.Range, "%")
				row.Hot = b.Range >= 10
			}
			v.Bias = append(v.Bias, row)
		}
	}
	return v
}

// categoryOrDash formats a category from user data (escaped by the template); nil is "—".
func categoryOrDash(s *string) string {
	if s == nil {
		return "—"
	}
	return cmp.Or(*s, "(empty)")
}

func quantileLevel(k string) (float64, bool) {
	if !strings.HasPrefix(k, "p") && !strings.HasPrefix(k, "q") {
		return 0, false
	}
	q, err := strconv.ParseFloat(k[1:], 64)
	return q, err == nil && q >= 0 && q <= 100
}

func ordinalPct(q float64) string {
	s := strconv.FormatFloat(q, 'f', -1, 64)
	switch {
	case q == 50:
		return "Median (p50)"
	case strings.HasSuffix(s, "1") && !strings.HasSuffix(s, "11"):
		return s + "st percentile"
	case strings.HasSuffix(s, "2") && !strings.HasSuffix(s, "12"):
		return s + "nd percentile"
	case strings.HasSuffix(s, "3") && !strings.HasSuffix(s, "13"):
		return s + "rd percentile"
	}
	return s + "th percentile"
}
