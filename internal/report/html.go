package report

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelmon/modelmon/templates"
)

// RenderHTML writes r as one self-contained HTML page: inline CSS and inline SVG charts,
// no JavaScript and no external resources (a Content-Security-Policy forbids them), so
// the file opens offline and can be mailed or archived as is.
//
// meta fills the header and summary. trend holds earlier runs for the trend charts, in
// any order; when meta.WindowEnd is set and no point has that window end, the current
// report is added as the latest point. A NaN TrendPoint.RMSE means the run had no
// targets and leaves a gap in the RMSE line.
//
// Every value from the report and meta (column names, categories, dataset name…) is
// escaped by html/template. The output is deterministic: the same input gives the same
// bytes. Nothing is written if rendering fails.
func RenderHTML(w io.Writer, r *Report, meta Meta, trend []TrendPoint) error {
	if r == nil {
		return errors.New("report: RenderHTML: nil report")
	}
	var buf bytes.Buffer
	if err := templates.Report.Execute(&buf, newHTMLView(r, meta, trend)); err != nil {
		return fmt.Errorf("report: RenderHTML: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: RenderHTML: write: %w", err)
	}
	return nil
}

// Unexported names of this file start with "h" (or "html"), to stay clear of the
// package's other files, which other people edit.

// hNoTargetsMsg is shown where the current window has no regression metrics.
const hNoTargetsMsg = "No targets joined for this window"

// Tones of badges, cards and table cells; CSS classes of the template.
const (
	hToneOK   = "ok"
	hToneBad  = "bad"
	hToneWarn = "warn"
	hToneNone = "muted"
)

// htmlView is the template's data: every number is preformatted, every chart is
// geometry; user data stays plain strings for html/template to escape.
type htmlView struct {
	Title, Product                             string
	Dataset, Window, ModelVersion, GeneratedAt string
	WorkflowID, RunID                          string
	Verdict, VerdictTone, VerdictDetail        string
	Cards                                      []hSummaryCard
	Drift                                      hDriftView
	Reg                                        hRegView
	Quality                                    hQualityView
	Trend                                      hTrendView
}

type hSummaryCard struct{ Label, Value, Sub, Tone string }

func newHTMLView(r *Report, meta Meta, trend []TrendPoint) *htmlView {
	v := &htmlView{
		Title:        cmp.Or(meta.Title, "Model monitoring report"),
		Product:      "modelmon",
		Dataset:      cmp.Or(meta.Dataset, "—"),
		Window:       hWindow(meta.WindowStart, meta.WindowEnd),
		ModelVersion: cmp.Or(meta.ModelVersion, "—"),
		GeneratedAt:  hTime(meta.GeneratedAt),
		WorkflowID:   meta.WorkflowID,
		RunID:        meta.RunID,
	}
	dd := r.DataDrift
	tested := len(dd.Columns)
	switch {
	case tested == 0:
		v.Verdict, v.VerdictTone = "Drift not tested", hToneNone
		v.VerdictDetail = "No column was tested for drift in this window."
	case dd.DatasetDrift:
		v.Verdict, v.VerdictTone = "Dataset drift detected", hToneBad
		v.VerdictDetail = fmt.Sprintf("%s of %s columns drifted (%s), at or above the %s threshold.",
			hInt(dd.Drifted), hInt(tested), hPct(dd.ShareDrifted), hPct(dd.DriftShare))
	default:
		v.Verdict, v.VerdictTone = "No dataset drift", hToneOK
		v.VerdictDetail = fmt.Sprintf("%s of %s columns drifted (%s), below the %s threshold.",
			hInt(dd.Drifted), hInt(tested), hPct(dd.ShareDrifted), hPct(dd.DriftShare))
	}

	verdictWord := map[string]string{hToneBad: "Detected", hToneOK: "Not detected"}[v.VerdictTone]
	if verdictWord == "" {
		verdictWord = "Not tested"
	}
	driftCard := hSummaryCard{Label: "Drifted columns", Value: "—", Sub: "no column tested", Tone: hToneNone}
	if tested > 0 {
		driftCard.Value = hPct(dd.ShareDrifted)
		driftCard.Sub = fmt.Sprintf("%s of %s columns · threshold %s", hInt(dd.Drifted), hInt(tested), hPct(dd.DriftShare))
		driftCard.Tone = hToneOK
		if dd.DatasetDrift {
			driftCard.Tone = hToneBad
		} else if dd.Drifted > 0 {
			driftCard.Tone = hToneWarn
		}
	}
	rmseCard := hSummaryCard{Label: "RMSE (current)", Value: "—", Tone: hToneNone}
	ref, cur := r.Regression.Reference, r.Regression.Current
	switch {
	case cur == nil:
		rmseCard.Sub = hNoTargetsMsg
		if ref != nil {
			rmseCard.Sub += " · reference " + hNum(ref.RMSE)
		}
	case ref == nil:
		rmseCard.Value, rmseCard.Sub, rmseCard.Tone = hNum(cur.RMSE), "no reference targets", ""
	default:
		rmseCard.Value = hNum(cur.RMSE)
		rmseCard.Sub = "reference " + hNum(ref.RMSE)
		if d := hRelChange(ref.RMSE, cur.RMSE); d != "" {
			rmseCard.Sub += " · " + d
		}
		rmseCard.Tone = hCompareTone(ref.RMSE, cur.RMSE)
		if rmseCard.Tone == "" {
			rmseCard.Tone = hToneOK
		}
	}
	v.Cards = []hSummaryCard{
		{Label: "Dataset drift", Value: verdictWord, Sub: v.VerdictDetail, Tone: v.VerdictTone},
		driftCard,
		rmseCard,
		{Label: "Rows (current)", Value: hInt(r.CurrentRows), Sub: "reference " + hInt(r.ReferenceRows)},
	}

	v.Drift = hNewDriftView(r)
	v.Reg = hNewRegView(r.Regression)
	v.Quality = hNewQualityView(r.DataQuality)
	v.Trend = hNewTrendView(r, meta, trend)
	return v
}

// ---- Data drift ----

type hDriftView struct {
	Summary string
	Rows    []hDriftRow
	Skipped []hSkippedRow
	Dists   []hDistCard
}

type hDriftRow struct {
	Name, Type, StatTest, Statistic, PValue, Threshold string
	Drifted                                            bool
	Mini                                               *hSvgChart
	Anchor                                             string // id of the distribution card, "" if none
}

type hSkippedRow struct{ Name, Reason string }

type hDistCard struct {
	Name, Type, Anchor, Status, Tone string
	Chart                            *hSvgChart
}

func hNewDriftView(r *Report) hDriftView {
	dd := r.DataDrift
	var v hDriftView
	names := hSortedKeys(dd.Columns)
	// Drifted columns first, then by name.
	slices.SortStableFunc(names, func(a, b string) int {
		da, db := dd.Columns[a].Drifted, dd.Columns[b].Drifted
		if da != db {
			if da {
				return -1
			}
			return 1
		}
		return 0
	})
	if len(names) > 0 {
		v.Summary = fmt.Sprintf("%s of %s columns drifted. Dataset drift is declared when at least %s of the columns drift.",
			hInt(dd.Drifted), hInt(len(names)), hPct(dd.DriftShare))
	}
	// Distribution cards follow the table order, then columns drawn but not tested.
	order := slices.Clone(names)
	for _, n := range hSortedKeys(r.Distributions) {
		if _, ok := dd.Columns[n]; !ok {
			order = append(order, n)
		}
	}
	anchors := map[string]string{}
	for _, name := range order {
		d, ok := r.Distributions[name]
		if !ok {
			continue
		}
		dist := hNewDistData(d)
		if dist == nil {
			continue
		}
		anchor := "dist-" + strconv.Itoa(len(v.Dists)+1)
		anchors[name] = anchor
		card := hDistCard{Name: name, Type: hTypeLabel(d.Type), Anchor: anchor, Status: "Not tested", Tone: hToneNone,
			Chart: dist.detailChart(name)}
		if c, ok := dd.Columns[name]; ok {
			card.Status, card.Tone = hDriftStatus(c.Drifted)
		}
		v.Dists = append(v.Dists, card)
	}
	for _, name := range names {
		c := dd.Columns[name]
		row := hDriftRow{
			Name: name, Type: hTypeLabel(c.Type), StatTest: cmp.Or(c.StatTest, "—"),
			Statistic: hNum(c.Statistic), PValue: hP(c.PValue), Threshold: hNum(c.Threshold),
			Drifted: c.Drifted, Anchor: anchors[name],
		}
		if d, ok := r.Distributions[name]; ok {
			if dist := hNewDistData(d); dist != nil {
				row.Mini = dist.miniChart(name)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	for _, name := range hSortedKeys(dd.Skipped) {
		v.Skipped = append(v.Skipped, hSkippedRow{Name: name, Reason: cmp.Or(dd.Skipped[name], "—")})
	}
	return v
}

func hDriftStatus(drifted bool) (string, string) {
	if drifted {
		return "Drifted", hToneBad
	}
	return "Stable", hToneOK
}

// hDistData is a Distribution cleaned for drawing: one bin per category or interval,
// shares that are finite and non-negative.
type hDistData struct {
	categorical bool
	labels      []string // bin labels for tooltips and axes
	ref, cur    []float64
	max         float64
	edges       []float64
}

func hNewDistData(d Distribution) *hDistData {
	n := max(len(d.Reference), len(d.Current))
	categorical := len(d.Categories) > 0 || (len(d.Edges) < 2 && d.Type != "numerical")
	if categorical {
		n = max(n, len(d.Categories))
	} else if len(d.Edges) >= 2 {
		n = len(d.Edges) - 1
	}
	if n == 0 {
		return nil
	}
	out := &hDistData{categorical: categorical, ref: make([]float64, n), cur: make([]float64, n), labels: make([]string, n)}
	clean := func(xs []float64, i int) float64 {
		if i >= len(xs) || !(xs[i] > 0) || math.IsInf(xs[i], 0) {
			return 0
		}
		return xs[i]
	}
	for i := range n {
		out.ref[i], out.cur[i] = clean(d.Reference, i), clean(d.Current, i)
		out.max = max(out.max, out.ref[i], out.cur[i])
		switch {
		case categorical && i < len(d.Categories):
			out.labels[i] = cmp.Or(d.Categories[i], "(empty)")
		case categorical:
			out.labels[i] = "category " + strconv.Itoa(i+1)
		case len(d.Edges) >= 2:
			closing := ")"
			if i == n-1 {
				closing = "]"
			}
			out.labels[i] = "[" + hNum(d.Edges[i]) + ", " + hNum(d.Edges[i+1]) + closing
		default:
			out.labels[i] = "bin " + strconv.Itoa(i+1)
		}
	}
	if len(d.Edges) == n+1 {
		out.edges = d.Edges
	}
	return out
}

func (d *hDistData) tip(i int) string {
	return d.labels[i] + " — reference " + hPct(d.ref[i]) + ", current " + hPct(d.cur[i])
}

// miniChart is the small side-by-side bar chart of the drift table.
func (d *hDistData) miniChart(name string) *hSvgChart {
	const w, h = 200.0, 40.0
	c := &hSvgChart{W: w, H: h, Class: "mini", Label: "Distribution of " + name + ": reference vs current"}
	n := len(d.ref)
	gw := w / float64(n)
	c.Grid = append(c.Grid, hSvgLine{X1: 0, Y1: h - 0.5, X2: w, Y2: h - 0.5, Class: "axis"})
	if d.max == 0 {
		return c
	}
	for i := range n {
		x := float64(i) * gw
		g := hSvgGroup{Tip: d.tip(i), Rects: []hSvgRect{{X: hPx(x), Y: 0, W: hPx(gw), H: h, Class: "hit"}}}
		g.Rects = hAppendBar(g.Rects, x+gw*0.08, gw*0.42, h-1, d.ref[i]/d.max*(h-3), "ref")
		g.Rects = hAppendBar(g.Rects, x+gw*0.5, gw*0.42, h-1, d.cur[i]/d.max*(h-3), "cur")
		c.Groups = append(c.Groups, g)
	}
	return c
}

// hAppendBar adds a vertical bar standing on baseline, skipping empty ones.
func hAppendBar(rs []hSvgRect, x, width, baseline, height float64, class string) []hSvgRect {
	if height <= 0 {
		return rs
	}
	height = max(height, 0.8)
	return append(rs, hSvgRect{X: hPx(x), Y: hPx(baseline - height), W: hPx(width), H: hPx(height), Class: class})
}

// detailChart is the labelled chart of a distribution card: vertical bars over the
// bins of a numerical column, horizontal bars per category of a categorical one.
func (d *hDistData) detailChart(name string) *hSvgChart {
	if d.categorical {
		return d.categoryChart(name)
	}
	const w, h, left, right, top, bottom = 520.0, 200.0, 44.0, 12.0, 12.0, 34.0
	c := &hSvgChart{W: w, H: h, Label: "Distribution of " + name + ": reference vs current"}
	plotW, plotH := w-left-right, h-top-bottom
	ticks, _, hi := hNiceTicks(0, max(d.max, 1e-9), 4)
	for _, t := range ticks {
		y := top + plotH - t/hi*plotH
		c.Grid = append(c.Grid, hSvgLine{X1: left, Y1: hPx(y), X2: w - right, Y2: hPx(y), Class: "grid"})
		c.Texts = append(c.Texts, hSvgText{X: left - 6, Y: hPx(y + 4), Anchor: "end", Class: "tick", Text: hTickPct(t, ticks)})
	}
	n := len(d.ref)
	gw := plotW / float64(n)
	base := top + plotH
	for i := range n {
		x := left + float64(i)*gw
		g := hSvgGroup{Tip: d.tip(i), Rects: []hSvgRect{{X: hPx(x), Y: top, W: hPx(gw), H: hPx(plotH), Class: "hit"}}}
		g.Rects = hAppendBar(g.Rects, x+gw*0.08, gw*0.42, base, d.ref[i]/hi*plotH, "ref")
		g.Rects = hAppendBar(g.Rects, x+gw*0.5, gw*0.42, base, d.cur[i]/hi*plotH, "cur")
		c.Groups = append(c.Groups, g)
	}
	c.Grid = append(c.Grid, hSvgLine{X1: left, Y1: hPx(base), X2: w - right, Y2: hPx(base), Class: "axis"})
	if d.edges != nil {
		const nTicks = 4
		for k := 0; k <= nTicks; k++ {
			i := int(math.Round(float64(k*n) / nTicks))
			x := left + float64(i)*gw
			anchor := "middle"
			if k == 0 {
				anchor = "start"
			} else if k == nTicks {
				anchor = "end"
			}
			c.Marks = append(c.Marks, hSvgLine{X1: hPx(x), Y1: hPx(base), X2: hPx(x), Y2: hPx(base + 4), Class: "axis"})
			c.Texts = append(c.Texts, hSvgText{X: hPx(x), Y: hPx(base + 17), Anchor: anchor, Class: "tick", Text: hAxisNum(d.edges[i])})
		}
	}
	return c
}

func (d *hDistData) categoryChart(name string) *hSvgChart {
	const w, left, right, top, rowH, barH = 520.0, 140.0, 52.0, 6.0, 26.0, 9.0
	n := len(d.ref)
	h := top + float64(n)*rowH + 24
	c := &hSvgChart{W: w, H: hPx(h), Label: "Categories of " + name + ": reference vs current"}
	plotW := w - left - right
	ticks, _, hi := hNiceTicks(0, max(d.max, 1e-9), 4)
	bottom := top + float64(n)*rowH
	for _, t := range ticks {
		x := left + t/hi*plotW
		c.Grid = append(c.Grid, hSvgLine{X1: hPx(x), Y1: top, X2: hPx(x), Y2: hPx(bottom), Class: "grid"})
		c.Texts = append(c.Texts, hSvgText{X: hPx(x), Y: hPx(bottom + 16), Anchor: "middle", Class: "tick", Text: hTickPct(t, ticks)})
	}
	for i := range n {
		y := top + float64(i)*rowH
		g := hSvgGroup{Tip: d.tip(i), Rects: []hSvgRect{{X: 0, Y: hPx(y), W: w, H: rowH, Class: "hit"}}}
		rw, cw := d.ref[i]/hi*plotW, d.cur[i]/hi*plotW
		if rw > 0 {
			g.Rects = append(g.Rects, hSvgRect{X: left, Y: hPx(y + 3), W: hPx(max(rw, 0.8)), H: barH, Class: "ref"})
		}
		if cw > 0 {
			g.Rects = append(g.Rects, hSvgRect{X: left, Y: hPx(y + 3 + barH + 1), W: hPx(max(cw, 0.8)), H: barH, Class: "cur"})
		}
		c.Groups = append(c.Groups, g)
		c.Texts = append(c.Texts,
			hSvgText{X: left - 8, Y: hPx(y + rowH/2 + 4), Anchor: "end", Class: "label", Text: hTruncate(d.labels[i], 20)},
			hSvgText{X: hPx(left + rw + 4), Y: hPx(y + 3 + barH - 1), Class: "val", Text: hPct(d.ref[i])},
			hSvgText{X: hPx(left + cw + 4), Y: hPx(y + 3 + 2*barH), Class: "val cur-val", Text: hPct(d.cur[i])},
		)
	}
	c.Grid = append(c.Grid, hSvgLine{X1: left, Y1: top, X2: left, Y2: hPx(bottom), Class: "axis"})
	return c
}

// ---- Regression ----

type hRegView struct {
	Empty     bool   // no side has targets
	Note      string // a side without targets
	HasRef    bool
	HasCur    bool
	Metrics   []hMetricRow
	Box       *hSvgChart
	Quantiles []hQuantRow
	Groups    *hSvgChart
	GroupRows []hGroupRow
	BiasSide  string
	Bias      []hBiasRow
}

type hMetricRow struct{ Name, Hint, Ref, Cur, Delta, Tone string }
type hQuantRow struct{ Name, Ref, Cur string }
type hGroupRow struct{ Name, Hint, RefCount, RefMean, CurCount, CurMean string }
type hBiasRow struct {
	Feature, Type, Under, Majority, Over, Overall, Range string
	Hot                                                  bool
}

func hNewRegView(p RegressionPair) hRegView {
	ref, cur := p.Reference, p.Current
	v := hRegView{HasRef: ref != nil, HasCur: cur != nil}
	switch {
	case ref == nil && cur == nil:
		v.Empty = true
		v.Note = hNoTargetsMsg + "; no reference targets either, so there is no regression performance to show."
		return v
	case cur == nil:
		v.Note = hNoTargetsMsg + ": only reference performance is shown."
	case ref == nil:
		v.Note = "The reference data has no targets: only current performance is shown."
	}
	get := func(r *Regression, f func(*Regression) float64) float64 {
		if r == nil {
			return math.NaN()
		}
		return f(r)
	}
	type metric struct {
		name, hint   string
		f            func(*Regression) float64
		higherBetter bool
		absBetter    bool // closer to 0 is better
		suffix       string
	}
	metrics := []metric{
		{"RMSE", "root mean squared error", func(r *Regression) float64 { return r.RMSE }, false, false, ""},
		{"MAE", "mean absolute error", func(r *Regression) float64 { return r.MAE }, false, false, ""},
		{"ME", "mean error (bias), prediction − target", func(r *Regression) float64 { return r.ME }, false, true, ""},
		{"MAPE", "mean absolute percentage error", func(r *Regression) float64 { return r.MAPE }, false, false, "%"},
		{"R²", "coefficient of determination", func(r *Regression) float64 { return r.R2 }, true, false, ""},
		{"Error std", "standard deviation of the error", func(r *Regression) float64 { return r.ErrorStd }, false, false, ""},
		{"Max |error|", "largest absolute error", func(r *Regression) float64 { return r.MaxAbsError }, false, false, ""},
	}
	v.Metrics = append(v.Metrics, hMetricRow{Name: "Rows", Hint: "rows with a known target",
		Ref: hIntOr(ref, func(r *Regression) int { return r.N }), Cur: hIntOr(cur, func(r *Regression) int { return r.N })})
	for _, m := range metrics {
		a, b := get(ref, m.f), get(cur, m.f)
		row := hMetricRow{Name: m.name, Hint: m.hint, Ref: hNumSuffix(a, m.suffix), Cur: hNumSuffix(b, m.suffix)}
		if hIsFinite(a) && hIsFinite(b) {
			row.Delta = hSigned(b-a) + m.suffix
			switch {
			case m.absBetter:
				row.Tone = hCompareTone(math.Abs(a), math.Abs(b))
			case m.higherBetter:
				if d := b - a; d < -0.05 {
					row.Tone = hToneBad
				} else if d > 0.05 {
					row.Tone = hToneOK
				}
			default:
				row.Tone = hCompareTone(a, b)
			}
		}
		v.Metrics = append(v.Metrics, row)
	}
	if ref != nil && cur != nil && ref.MAPESkipped+cur.MAPESkipped > 0 {
		v.Metrics = append(v.Metrics, hMetricRow{Name: "MAPE skipped", Hint: "rows with target 0, left out of MAPE",
			Ref: hInt(ref.MAPESkipped), Cur: hInt(cur.MAPESkipped)})
	}

	// Error quantiles.
	var keys []string
	for _, r := range []*Regression{ref, cur} {
		if r != nil {
			for k := range r.ErrorQuantiles {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		qa, oka := hQuantileLevel(a)
		qb, okb := hQuantileLevel(b)
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
	qv := func(r *Regression, k string) float64 {
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
		if q, ok := hQuantileLevel(k); ok {
			name = hOrdinalPct(q)
		}
		v.Quantiles = append(v.Quantiles, hQuantRow{Name: name, Ref: hNum(qv(ref, k)), Cur: hNum(qv(cur, k))})
	}
	v.Box = hBoxChart(ref, cur)

	groups := []struct {
		name, hint string
		g          func(*Regression) Group
	}{
		{"Underestimation", "error ≤ 5th percentile", func(r *Regression) Group { return r.Under }},
		{"Majority", "between the 5th and 95th percentiles", func(r *Regression) Group { return r.Majority }},
		{"Overestimation", "error ≥ 95th percentile", func(r *Regression) Group { return r.Over }},
	}
	for _, g := range groups {
		row := hGroupRow{Name: g.name, Hint: g.hint, RefCount: "—", RefMean: "—", CurCount: "—", CurMean: "—"}
		if ref != nil {
			gr := g.g(ref)
			row.RefCount, row.RefMean = hCountShare(gr.Count, ref.N), hSigned(gr.MeanError)
		}
		if cur != nil {
			gc := g.g(cur)
			row.CurCount, row.CurMean = hCountShare(gc.Count, cur.N), hSigned(gc.MeanError)
		}
		v.GroupRows = append(v.GroupRows, row)
	}
	v.Groups = hGroupChart(ref, cur)

	biasSrc := cur
	v.BiasSide = "current window"
	if biasSrc == nil || len(biasSrc.ErrorBias) == 0 {
		if ref != nil && len(ref.ErrorBias) > 0 {
			biasSrc, v.BiasSide = ref, "reference"
		}
	}
	if biasSrc != nil {
		names := hSortedKeys(biasSrc.ErrorBias)
		// Most biased first: categorical "differs" counts as 100 %, undefined last.
		score := func(b FeatureBias) float64 {
			switch {
			case !hIsFinite(b.Range):
				return -1
			case hIsCategoricalType(b.Type):
				return min(b.Range, 1) * 100
			}
			return b.Range
		}
		slices.SortStableFunc(names, func(a, b string) int {
			return cmp.Compare(score(biasSrc.ErrorBias[b]), score(biasSrc.ErrorBias[a]))
		})
		for _, name := range names {
			b := biasSrc.ErrorBias[name]
			row := hBiasRow{Feature: name, Type: hTypeLabel(b.Type)}
			if hIsCategoricalType(b.Type) {
				row.Under, row.Majority, row.Over, row.Overall = hCat(b.UnderValue), hCat(b.MajorityValue), hCat(b.OverValue), hCat(b.OverallValue)
				switch {
				case !hIsFinite(b.Range):
					row.Range = "—"
				case b.Range > 0:
					row.Range, row.Hot = "differs", true
				default:
					row.Range = "same"
				}
			} else {
				row.Under, row.Majority, row.Over, row.Overall = hNum(b.Under), hNum(b.Majority), hNum(b.Over), hNum(b.Overall)
				row.Range = hNumSuffix(b.Range, "%")
				row.Hot = b.Range >= 10
			}
			v.Bias = append(v.Bias, row)
		}
	}
	return v
}

func hIsCategoricalType(t string) bool { return strings.HasPrefix(strings.ToLower(t), "cat") }

// hTypeLabel spells out the short column types of the metrics package.
func hTypeLabel(t string) string {
	switch t {
	case "":
		return "—"
	case "num":
		return "numerical"
	case "cat":
		return "categorical"
	}
	return t
}

// hCat formats a category from user data (escaped by the template); nil is "—".
func hCat(s *string) string {
	if s == nil {
		return "—"
	}
	return cmp.Or(*s, "(empty)")
}

func hQuantileLevel(k string) (float64, bool) {
	if !strings.HasPrefix(k, "p") && !strings.HasPrefix(k, "q") {
		return 0, false
	}
	q, err := strconv.ParseFloat(k[1:], 64)
	return q, err == nil && q >= 0 && q <= 100
}

func hOrdinalPct(q float64) string {
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

// hBoxChart draws the error quantiles of each side as a box (p25–p75) with whiskers
// (p5–p95) and the median; nil without the needed quantiles.
func hBoxChart(ref, cur *Regression) *hSvgChart {
	type box struct {
		label               string
		lo, q1, med, q3, hi float64
		class               string
	}
	var boxes []box
	for _, s := range []struct {
		r            *Regression
		label, class string
	}{{ref, "Reference", "ref"}, {cur, "Current", "cur"}} {
		if s.r == nil {
			continue
		}
		q := s.r.ErrorQuantiles
		b := box{label: s.label, class: s.class, lo: hQOr(q, "p5"), q1: hQOr(q, "p25"), med: hQOr(q, "p50"), q3: hQOr(q, "p75"), hi: hQOr(q, "p95")}
		if !hIsFinite(b.q1) || !hIsFinite(b.q3) || !hIsFinite(b.med) {
			continue
		}
		if !hIsFinite(b.lo) {
			b.lo = b.q1
		}
		if !hIsFinite(b.hi) {
			b.hi = b.q3
		}
		boxes = append(boxes, b)
	}
	if len(boxes) == 0 {
		return nil
	}
	lo, hi := 0.0, 0.0
	for _, b := range boxes {
		lo, hi = min(lo, b.lo, b.q1), max(hi, b.hi, b.q3)
	}
	ticks, tlo, thi := hNiceTicks(lo, hi, 6)
	const w, left, right, top, rowH = 520.0, 76.0, 14.0, 14.0, 56.0
	h := top + float64(len(boxes))*rowH + 30
	c := &hSvgChart{W: w, H: hPx(h), Label: "Error quantiles: reference vs current"}
	plotW := w - left - right
	x := func(v float64) hPx { return hPx(left + (v-tlo)/(thi-tlo)*plotW) }
	bottom := top + float64(len(boxes))*rowH
	for _, t := range ticks {
		c.Grid = append(c.Grid, hSvgLine{X1: x(t), Y1: top, X2: x(t), Y2: hPx(bottom), Class: "grid"})
		c.Texts = append(c.Texts, hSvgText{X: x(t), Y: hPx(bottom + 16), Anchor: "middle", Class: "tick", Text: hTick(t, ticks)})
	}
	c.Marks = append(c.Marks, hSvgLine{X1: x(0), Y1: hPx(top - 4), X2: x(0), Y2: hPx(bottom), Class: "zero"})
	for i, b := range boxes {
		yc := top + float64(i)*rowH + rowH/2
		tip := fmt.Sprintf("%s error: p5 %s · p25 %s · median %s · p75 %s · p95 %s",
			b.label, hNum(b.lo), hNum(b.q1), hNum(b.med), hNum(b.q3), hNum(b.hi))
		c.Texts = append(c.Texts, hSvgText{X: left - 10, Y: hPx(yc + 4), Anchor: "end", Class: "label", Text: b.label})
		g := hSvgGroup{Tip: tip, Rects: []hSvgRect{{X: 0, Y: hPx(yc - rowH/2), W: w, H: rowH, Class: "hit"}}}
		g.Rects = append(g.Rects, hSvgRect{X: x(b.q1), Y: hPx(yc - 11), W: hPx(max(float64(x(b.q3)-x(b.q1)), 1)), H: 22, Class: b.class + " box"})
		c.Groups = append(c.Groups, g)
		c.Marks = append(c.Marks,
			hSvgLine{X1: x(b.lo), Y1: hPx(yc), X2: x(b.q1), Y2: hPx(yc), Class: "whisker"},
			hSvgLine{X1: x(b.q3), Y1: hPx(yc), X2: x(b.hi), Y2: hPx(yc), Class: "whisker"},
			hSvgLine{X1: x(b.lo), Y1: hPx(yc - 7), X2: x(b.lo), Y2: hPx(yc + 7), Class: "whisker"},
			hSvgLine{X1: x(b.hi), Y1: hPx(yc - 7), X2: x(b.hi), Y2: hPx(yc + 7), Class: "whisker"},
			hSvgLine{X1: x(b.med), Y1: hPx(yc - 11), X2: x(b.med), Y2: hPx(yc + 11), Class: "median"},
		)
		c.Texts = append(c.Texts,
			hSvgText{X: x(b.lo), Y: hPx(yc - 14), Anchor: "middle", Class: "val", Text: hNum(b.lo)},
			hSvgText{X: x(b.hi), Y: hPx(yc - 14), Anchor: "middle", Class: "val", Text: hNum(b.hi)},
			hSvgText{X: x(b.med), Y: hPx(yc + 24), Anchor: "middle", Class: "val strong", Text: hNum(b.med)},
		)
	}
	return c
}

func hQOr(q map[string]float64, k string) float64 {
	if x, ok := q[k]; ok {
		return x
	}
	return math.NaN()
}

// hGroupChart draws the mean error of the under-, majority and over-estimation groups
// as bars diverging from zero, reference above current.
func hGroupChart(ref, cur *Regression) *hSvgChart {
	type bar struct {
		mean  float64
		count int
		n     int
		class string
		side  string
	}
	rows := []struct {
		label string
		g     func(*Regression) Group
	}{
		{"Underestimation", func(r *Regression) Group { return r.Under }},
		{"Majority", func(r *Regression) Group { return r.Majority }},
		{"Overestimation", func(r *Regression) Group { return r.Over }},
	}
	lo, hi := 0.0, 0.0
	var bars [][]bar
	have := false
	for _, row := range rows {
		var bs []bar
		for _, s := range []struct {
			r           *Regression
			class, side string
		}{{ref, "ref", "reference"}, {cur, "cur", "current"}} {
			if s.r == nil {
				continue
			}
			g := row.g(s.r)
			bs = append(bs, bar{mean: g.MeanError, count: g.Count, n: s.r.N, class: s.class, side: s.side})
			if hIsFinite(g.MeanError) {
				lo, hi = min(lo, g.MeanError), max(hi, g.MeanError)
				have = true
			}
		}
		bars = append(bars, bs)
	}
	if !have {
		return nil
	}
	ticks, tlo, thi := hNiceTicks(lo, hi, 6)
	const w, left, right, top, rowH, barH = 520.0, 108.0, 14.0, 8.0, 50.0, 14.0
	h := top + float64(len(rows))*rowH + 26
	c := &hSvgChart{W: w, H: hPx(h), Label: "Mean error by error group: reference vs current"}
	plotW := w - left - right
	x := func(v float64) hPx { return hPx(left + (v-tlo)/(thi-tlo)*plotW) }
	bottom := top + float64(len(rows))*rowH
	for _, t := range ticks {
		c.Grid = append(c.Grid, hSvgLine{X1: x(t), Y1: top, X2: x(t), Y2: hPx(bottom), Class: "grid"})
		c.Texts = append(c.Texts, hSvgText{X: x(t), Y: hPx(bottom + 16), Anchor: "middle", Class: "tick", Text: hTick(t, ticks)})
	}
	for i, row := range rows {
		y0 := top + float64(i)*rowH
		c.Texts = append(c.Texts, hSvgText{X: left - 10, Y: hPx(y0 + rowH/2 + 4), Anchor: "end", Class: "label", Text: row.label})
		for j, b := range bars[i] {
			y := y0 + 8 + float64(j)*(barH+4)
			tip := fmt.Sprintf("%s, %s: mean error %s over %s (%s)", row.label, b.side, hSigned(b.mean), hRows(b.count), hShareOf(b.count, b.n))
			g := hSvgGroup{Tip: tip}
			if hIsFinite(b.mean) {
				x0, x1 := x(0), x(b.mean)
				if x1 < x0 {
					x0, x1 = x1, x0
				}
				g.Rects = append(g.Rects, hSvgRect{X: x0, Y: hPx(y), W: hPx(max(float64(x1-x0), 1)), H: barH, Class: b.class})
				tx, anchor := x(b.mean)+4, "start"
				if b.mean < 0 {
					tx, anchor = x(b.mean)-4, "end"
				}
				c.Texts = append(c.Texts, hSvgText{X: tx, Y: hPx(y + barH - 3), Anchor: anchor, Class: "val", Text: hSigned(b.mean)})
			}
			c.Groups = append(c.Groups, g)
		}
	}
	c.Marks = append(c.Marks, hSvgLine{X1: x(0), Y1: hPx(top - 2), X2: x(0), Y2: hPx(bottom), Class: "zero"})
	return c
}

// ---- Data quality ----

type hQualityView struct {
	Rows []hQualityRow
}

type hQualityRow struct {
	Name, Type string
	Sides      []hQualitySide
}

type hQualitySide struct {
	Label, Class                                                             string
	Absent                                                                   bool
	Count, Missing, MissingCount, Min, P25, P50, P75, Max, Mean, Std, Unique string
	MostCommon, MostCommonShare, New, Unused, OutOfRange, OutOfRangeCount    string
	MissingWarn, NewWarn, OutOfRangeWarn                                     bool
	NewExamples                                                              []string
	NewMore                                                                  string
}

// hMaxNewExamples caps the new-category chips shown per column.
const hMaxNewExamples = 3

func hNewQualityView(q QualityPair) hQualityView {
	var v hQualityView
	names := hSortedKeys(q.Reference)
	for _, n := range hSortedKeys(q.Current) {
		if _, ok := q.Reference[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		rq, rok := q.Reference[name]
		cq, cok := q.Current[name]
		typ := rq.Type
		if !rok || typ == "" {
			typ = cq.Type
		}
		v.Rows = append(v.Rows, hQualityRow{Name: name, Type: hTypeLabel(typ), Sides: []hQualitySide{
			hNewQualitySide(rq, rok, "Reference", "ref", false),
			hNewQualitySide(cq, cok, "Current", "cur", true),
		}})
	}
	return v
}

func hNewQualitySide(q ColumnQuality, ok bool, label, class string, current bool) hQualitySide {
	s := hQualitySide{Label: label, Class: class}
	if !ok {
		s.Absent = true
		return s
	}
	approx := func(field, v string) string {
		if v != "—" && slices.Contains(q.Approx, field) {
			return "≈" + v
		}
		return v
	}
	s.Count = hInt(q.Count)
	s.Missing = hPtrPct(q.MissingShare)
	if q.Missing > 0 {
		s.MissingCount = hRows(q.Missing)
	}
	s.MissingWarn = q.MissingShare != nil && *q.MissingShare > 0.05
	s.Min, s.P25, s.P50, s.P75 = hPtr(q.Min), approx("p25", hPtr(q.P25)), approx("p50", hPtr(q.P50)), approx("p75", hPtr(q.P75))
	s.Max, s.Mean, s.Std = hPtr(q.Max), hPtr(q.Mean), hPtr(q.Std)
	s.Unique = approx("unique_count", hInt(q.Unique))
	switch {
	case q.MostCommonCategory != nil:
		s.MostCommon = cmp.Or(*q.MostCommonCategory, "(empty)")
	case q.MostCommonValue != nil:
		s.MostCommon = hNum(*q.MostCommonValue)
	}
	if s.MostCommon != "" {
		s.MostCommonShare = hPtrPct(q.MostCommonShare)
	}
	s.New, s.OutOfRange = "—", "—"
	if q.NewCount != nil {
		s.New = hInt(*q.NewCount)
		s.NewWarn = *q.NewCount > 0
		// Examples of new categories only: new numerical values are rarely telling.
		var examples []string
		for _, c := range q.NewCategories {
			examples = append(examples, cmp.Or(c, "(empty)"))
		}
		for i, e := range examples {
			if i == hMaxNewExamples {
				break
			}
			s.NewExamples = append(s.NewExamples, hTruncate(e, 40))
		}
		if more := *q.NewCount - len(s.NewExamples); more > 0 && len(s.NewExamples) > 0 {
			s.NewMore = "+" + hInt(more) + " more"
		}
	}
	if q.UnusedCount != nil && *q.UnusedCount > 0 {
		s.Unused = hInt(*q.UnusedCount) + " unused"
	}
	if q.OutOfRangeShare != nil {
		s.OutOfRange = hPct(*q.OutOfRangeShare)
		s.OutOfRangeWarn = *q.OutOfRangeShare > 0
		if q.OutOfRangeCount != nil && *q.OutOfRangeCount > 0 {
			s.OutOfRangeCount = hRows(*q.OutOfRangeCount)
		}
	}
	return s
}

// ---- Trend ----

type hTrendView struct {
	Points   int
	Enough   bool
	Message  string
	RMSE     *hSvgChart
	RMSENote string
	Drift    *hSvgChart
	Rows     []hTrendRow
	More     string
}

type hTrendRow struct {
	WindowEnd, Rows, RMSE, Share string
	Drift, Current               bool
}

// hMaxTrendRows caps the runs listed under the trend charts (newest first).
const hMaxTrendRows = 12

func hNewTrendView(r *Report, meta Meta, trend []TrendPoint) hTrendView {
	pts := slices.Clone(trend)
	currentAt := -1
	if !meta.WindowEnd.IsZero() {
		found := false
		for _, p := range pts {
			if p.WindowEnd.Equal(meta.WindowEnd) {
				found = true
			}
		}
		if !found {
			rmse := math.NaN()
			if r.Regression.Current != nil {
				rmse = r.Regression.Current.RMSE
			}
			pts = append(pts, TrendPoint{WindowEnd: meta.WindowEnd, RMSE: rmse, ShareDrifted: r.DataDrift.ShareDrifted,
				DatasetDrift: r.DataDrift.DatasetDrift, CurrentRows: r.CurrentRows})
		}
	}
	slices.SortStableFunc(pts, func(a, b TrendPoint) int { return a.WindowEnd.Compare(b.WindowEnd) })
	if !meta.WindowEnd.IsZero() {
		for i, p := range pts {
			if p.WindowEnd.Equal(meta.WindowEnd) {
				currentAt = i
			}
		}
	}
	v := hTrendView{Points: len(pts)}
	for i := len(pts) - 1; i >= 0 && len(v.Rows) < hMaxTrendRows; i-- {
		p := pts[i]
		v.Rows = append(v.Rows, hTrendRow{WindowEnd: hTime(p.WindowEnd), Rows: hInt(p.CurrentRows), RMSE: hNum(p.RMSE),
			Share: hPct(p.ShareDrifted), Drift: p.DatasetDrift, Current: i == currentAt})
	}
	if len(pts) > hMaxTrendRows {
		v.More = fmt.Sprintf("%s earlier runs not listed.", hInt(len(pts)-hMaxTrendRows))
	}
	if len(pts) < 2 {
		switch len(pts) {
		case 0:
			v.Message = "No earlier runs yet: trend charts appear once there are at least 2 runs."
		default:
			v.Message = "Only one run so far: trend charts appear once there are at least 2 runs."
		}
		return v
	}
	v.Enough = true
	times := make([]time.Time, len(pts))
	rmse := make([]float64, len(pts))
	share := make([]float64, len(pts))
	drift := make([]bool, len(pts))
	finiteRMSE := 0
	for i, p := range pts {
		times[i], rmse[i], share[i], drift[i] = p.WindowEnd, p.RMSE, p.ShareDrifted, p.DatasetDrift
		if hIsFinite(p.RMSE) {
			finiteRMSE++
		}
	}
	if finiteRMSE >= 2 {
		v.RMSE = hLineChart("RMSE by window end", times, rmse, nil, currentAt, false, math.NaN(), "")
	} else {
		v.RMSENote = "RMSE needs targets in at least 2 runs."
	}
	threshold := math.NaN() // unknown in a report without drift tests
	if r.DataDrift.DriftShare > 0 {
		threshold = r.DataDrift.DriftShare
	}
	v.Drift = hLineChart("Share of drifted columns by window end", times, share, drift, currentAt, true,
		threshold, "threshold "+hPct(r.DataDrift.DriftShare))
	return v
}

// hLineChart draws ys over times; NaN values leave gaps. Flagged points are drawn as
// alerts; percent charts run from 0 to 100 %. A finite refLine draws a dashed
// horizontal line labelled refLabel.
func hLineChart(label string, times []time.Time, ys []float64, flagged []bool, currentAt int, percent bool, refLine float64, refLabel string) *hSvgChart {
	const w, h, left, right, top, bottom = 520.0, 220.0, 44.0, 16.0, 14.0, 30.0
	c := &hSvgChart{W: w, H: h, Label: label}
	plotW, plotH := w-left-right, h-top-bottom
	t0, t1 := times[0], times[len(times)-1]
	span := t1.Sub(t0)
	x := func(t time.Time) hPx {
		if span <= 0 {
			return hPx(left + plotW/2)
		}
		return hPx(left + float64(t.Sub(t0))/float64(span)*plotW)
	}
	hiVal := 0.0
	for _, y := range ys {
		if hIsFinite(y) {
			hiVal = max(hiVal, y)
		}
	}
	if percent {
		hiVal = 1
	} else if hIsFinite(refLine) {
		hiVal = max(hiVal, refLine)
	}
	ticks, _, thi := hNiceTicks(0, max(hiVal, 1e-9), 4)
	y := func(v float64) hPx { return hPx(top + plotH - v/thi*plotH) }
	for _, t := range ticks {
		c.Grid = append(c.Grid, hSvgLine{X1: left, Y1: y(t), X2: w - right, Y2: y(t), Class: "grid"})
		text := hTick(t, ticks)
		if percent {
			text = hTickPct(t, ticks)
		}
		c.Texts = append(c.Texts, hSvgText{X: left - 6, Y: y(t) + 4, Anchor: "end", Class: "tick", Text: text})
	}
	// Time axis: up to 5 evenly spaced labels.
	layout := "2006-01-02"
	if span < 48*time.Hour {
		layout = "01-02 15:04"
	}
	nt := 4
	if span <= 0 {
		nt = 0
	}
	for k := 0; k <= nt; k++ {
		t := t0
		if nt > 0 {
			t = t0.Add(time.Duration(float64(span) * float64(k) / float64(nt)))
		}
		anchor := "middle"
		if nt > 0 && k == 0 {
			anchor = "start"
		} else if nt > 0 && k == nt {
			anchor = "end"
		}
		c.Marks = append(c.Marks, hSvgLine{X1: x(t), Y1: hPx(top + plotH), X2: x(t), Y2: hPx(top + plotH + 4), Class: "axis"})
		c.Texts = append(c.Texts, hSvgText{X: x(t), Y: hPx(top + plotH + 18), Anchor: anchor, Class: "tick", Text: t.UTC().Format(layout)})
	}
	c.Grid = append(c.Grid, hSvgLine{X1: left, Y1: hPx(top + plotH), X2: w - right, Y2: hPx(top + plotH), Class: "axis"})
	if hIsFinite(refLine) && refLine <= thi {
		c.Marks = append(c.Marks, hSvgLine{X1: left, Y1: y(refLine), X2: w - right, Y2: y(refLine), Class: "threshold"})
		c.Texts = append(c.Texts, hSvgText{X: w - right, Y: y(refLine) - 5, Anchor: "end", Class: "tick threshold-label", Text: refLabel})
	}
	var seg []string
	flush := func() {
		if len(seg) >= 2 {
			c.Paths = append(c.Paths, hSvgPath{Points: strings.Join(seg, " "), Class: "line"})
		}
		seg = nil
	}
	for i, v := range ys {
		if !hIsFinite(v) {
			flush()
			continue
		}
		seg = append(seg, x(times[i]).String()+","+y(v).String())
	}
	flush()
	for i, v := range ys {
		if !hIsFinite(v) {
			continue
		}
		class := "dot"
		if flagged != nil && flagged[i] {
			class += " alert"
		}
		r := hPx(3.5)
		if i == currentAt {
			class += " current"
			r = 5
		}
		val := hNum(v)
		if percent {
			val = hPct(v)
		}
		tip := times[i].UTC().Format("2006-01-02 15:04 UTC") + ": " + val
		if flagged != nil && flagged[i] {
			tip += " (dataset drift)"
		}
		if i == currentAt {
			tip += " (this report)"
		}
		c.Dots = append(c.Dots, hSvgDot{X: x(times[i]), Y: y(v), R: r, Class: class, Tip: tip})
	}
	return c
}

// ---- SVG geometry ----

// hPx is an SVG coordinate, printed with at most one decimal.
type hPx float64

func (p hPx) String() string {
	r := math.Round(float64(p)*10) / 10
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// hSvgChart is drawn by the "svg" template: grid, bar groups (each with a tooltip),
// polylines, marks over the bars, dots, then text.
type hSvgChart struct {
	W, H   hPx
	Label  string
	Class  string
	Grid   []hSvgLine
	Groups []hSvgGroup
	Paths  []hSvgPath
	Marks  []hSvgLine
	Dots   []hSvgDot
	Texts  []hSvgText
}

type hSvgLine struct {
	X1, Y1, X2, Y2 hPx
	Class          string
}

type hSvgGroup struct {
	Tip   string
	Rects []hSvgRect
}

type hSvgRect struct {
	X, Y, W, H hPx
	Class      string
}

type hSvgPath struct{ Points, Class string }

type hSvgDot struct {
	X, Y, R    hPx
	Class, Tip string
}

type hSvgText struct {
	X, Y                hPx
	Anchor, Class, Text string
}

// hNiceTicks returns about n+1 round tick values covering [lo, hi] and the covered range.
func hNiceTicks(lo, hi float64, n int) (ticks []float64, tlo, thi float64) {
	if !hIsFinite(lo) || !hIsFinite(hi) {
		lo, hi = 0, 1
	}
	if hi <= lo {
		hi = lo + math.Max(math.Abs(lo), 1)
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag*(1+1e-9) {
			step = m * mag
			break
		}
	}
	i0, i1 := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	for i := i0; i <= i1; i++ {
		ticks = append(ticks, i*step)
	}
	return ticks, i0 * step, i1 * step
}

// hTickDecimals is the number of decimals that tells the ticks apart.
func hTickDecimals(ticks []float64, scale float64) int {
	if len(ticks) < 2 {
		return 0
	}
	step := (ticks[1] - ticks[0]) * scale
	for d := 0; d < 8; d++ {
		if math.Abs(step*math.Pow(10, float64(d))-math.Round(step*math.Pow(10, float64(d)))) < 1e-6 {
			return d
		}
	}
	return 8
}

func hTick(v float64, ticks []float64) string {
	d := hTickDecimals(ticks, 1)
	if math.Abs(v) < 1e-12 {
		v = 0
	}
	if math.Abs(v) >= 1000 && d == 0 {
		return hInt(int(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}

func hTickPct(v float64, ticks []float64) string {
	if math.Abs(v) < 1e-12 {
		v = 0
	}
	return strconv.FormatFloat(v*100, 'f', hTickDecimals(ticks, 100), 64) + "%"
}

// ---- Formatting ----

func hIsFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// hNum formats a metric for reading: integers as such, thousands separators from
// 1,000, one decimal from 100, two from 1, three significant digits below 1 (trailing
// zeros dropped), exponent form for extreme magnitudes, "≈0" for rounding noise, "—"
// for NaN.
func hNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "-∞"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	switch {
	case a < 1e-12:
		return "≈0" // rounding noise, such as the mean error of a least-squares fit
	case a >= 1000 && a < 1e12:
		return hGroupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case v == math.Trunc(v) && a < 1e12:
		return strconv.FormatFloat(v, 'f', 0, 64) // a count or an integer-valued column
	case a >= 1e12 || a < 1e-4:
		return strconv.FormatFloat(v, 'e', 2, 64)
	case a >= 1000:
		return hGroupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	prec := 2 - int(math.Floor(math.Log10(a)))
	s := strconv.FormatFloat(v, 'f', prec, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// hAxisNum formats an axis label with three significant digits.
func hAxisNum(v float64) string {
	if !hIsFinite(v) || math.Abs(v) >= 1000 || v == 0 {
		return hNum(v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func hNumSuffix(v float64, suffix string) string {
	if !hIsFinite(v) {
		return hNum(v)
	}
	return hNum(v) + suffix
}

// hSigned is hNum with an explicit "+" on positive values.
func hSigned(v float64) string {
	if hIsFinite(v) && v > 0 {
		return "+" + hNum(v)
	}
	return hNum(v)
}

func hPtrPct(p *float64) string {
	if p == nil {
		return "—"
	}
	return hPct(*p)
}

func hPtr(p *float64) string {
	if p == nil {
		return "—"
	}
	return hNum(*p)
}

// hP formats a p-value; "—" when the test has none.
func hP(p *float64) string {
	switch {
	case p == nil || math.IsNaN(*p):
		return "—"
	case *p < 0.0001:
		return "<0.0001"
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}

// hPct formats a share in [0, 1] as a percentage with at most one decimal.
func hPct(s float64) string {
	switch {
	case !hIsFinite(s):
		return "—"
	case s == 0:
		return "0%"
	case s > 0 && s < 0.001:
		return "<0.1%"
	case s < 1 && s > 0.999:
		return ">99.9%"
	}
	str := strconv.FormatFloat(s*100, 'f', 1, 64)
	return strings.TrimSuffix(str, ".0") + "%"
}

func hInt(n int) string {
	return hGroupThousands(strconv.Itoa(n))
}

// hRows formats a row count: "1 row", "2,345 rows".
func hRows(n int) string {
	if n == 1 {
		return "1 row"
	}
	return hInt(n) + " rows"
}

func hIntOr(r *Regression, f func(*Regression) int) string {
	if r == nil {
		return "—"
	}
	return hInt(f(r))
}

func hShareOf(k, n int) string {
	if n <= 0 {
		return "—"
	}
	return hPct(float64(k) / float64(n))
}

func hCountShare(k, n int) string {
	return hInt(k) + " (" + hShareOf(k, n) + ")"
}

func hGroupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var b strings.Builder
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return sign + b.String()
}

// hRelChange formats (b-a)/|a| as a signed percentage; "" when undefined.
func hRelChange(a, b float64) string {
	if !hIsFinite(a) || !hIsFinite(b) || a == 0 {
		return ""
	}
	d := (b - a) / math.Abs(a)
	s := strconv.FormatFloat(d*100, 'f', 1, 64) + "%"
	if d > 0 {
		s = "+" + s
	}
	return s
}

// hCompareTone rates the move from a to b of a metric where lower is better: bad when
// more than 10 % worse, ok when more than 10 % better.
func hCompareTone(a, b float64) string {
	if !hIsFinite(a) || !hIsFinite(b) {
		return ""
	}
	d := b - a
	scale := math.Max(math.Abs(a), 1e-12)
	switch {
	case d/scale > 0.1:
		return hToneBad
	case d/scale < -0.1:
		return hToneOK
	}
	return ""
}

func hTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func hWindow(a, b time.Time) string {
	switch {
	case a.IsZero() && b.IsZero():
		return "—"
	case a.IsZero():
		return "until " + hTime(b)
	case b.IsZero():
		return "from " + hTime(a)
	}
	return a.UTC().Format("2006-01-02 15:04") + " → " + hTime(b)
}

// hTruncate shortens s to at most n runes, marking the cut with "…".
func hTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func hSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
