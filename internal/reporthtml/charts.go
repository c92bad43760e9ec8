package reporthtml

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/modelmon/modelmon/internal/report"
)

// miniChart is the small side-by-side bar chart of the drift table.
func (d *distData) miniChart(name string) *svgChart {
	const w, h = 200.0, 40.0
	c := &svgChart{W: w, H: h, Class: "mini", Label: "Distribution of " + name + ": reference vs current"}
	n := len(d.ref)
	gw := w / float64(n)
	c.Grid = append(c.Grid, svgLine{X1: 0, Y1: h - 0.5, X2: w, Y2: h - 0.5, Class: "axis"})
	if d.max == 0 {
		return c
	}
	for i := range n {
		x := float64(i) * gw
		g := svgGroup{Tip: d.tip(i), Rects: []svgRect{{X: px(x), Y: 0, W: px(gw), H: h, Class: "hit"}}}
		g.Rects = appendBar(g.Rects, x+gw*0.08, gw*0.42, h-1, d.ref[i]/d.max*(h-3), "ref")
		g.Rects = appendBar(g.Rects, x+gw*0.5, gw*0.42, h-1, d.cur[i]/d.max*(h-3), "cur")
		c.Groups = append(c.Groups, g)
	}
	return c
}

// appendBar adds a vertical bar standing on baseline, skipping empty ones.
func appendBar(rs []svgRect, x, width, baseline, height float64, class string) []svgRect {
	if height <= 0 {
		return rs
	}
	height = max(height, 0.8)
	return append(rs, svgRect{X: px(x), Y: px(baseline - height), W: px(width), H: px(height), Class: class})
}

// detailChart is the labelled chart of a distribution card: vertical bars over the
// bins of a numerical column, horizontal bars per category of a categorical one.
func (d *distData) detailChart(name string) *svgChart {
	if d.categorical {
		return d.categoryChart(name)
	}
	const w, h, left, right, top, bottom = 520.0, 200.0, 44.0, 12.0, 12.0, 34.0
	c := &svgChart{W: w, H: h, Label: "Distribution of " + name + ": reference vs current"}
	plotW, plotH := w-left-right, h-top-bottom
	ticks, _, hi := niceTicks(0, max(d.max, 1e-9), 4)
	for _, t := range ticks {
		y := top + plotH - t/hi*plotH
		c.Grid = append(c.Grid, svgLine{X1: left, Y1: px(y), X2: w - right, Y2: px(y), Class: "grid"})
		c.Texts = append(c.Texts, svgText{X: left - 6, Y: px(y + 4), Anchor: "end", Class: "tick", Text: tickPct(t, ticks)})
	}
	n := len(d.ref)
	gw := plotW / float64(n)
	base := top + plotH
	for i := range n {
		x := left + float64(i)*gw
		g := svgGroup{Tip: d.tip(i), Rects: []svgRect{{X: px(x), Y: top, W: px(gw), H: px(plotH), Class: "hit"}}}
		g.Rects = appendBar(g.Rects, x+gw*0.08, gw*0.42, base, d.ref[i]/hi*plotH, "ref")
		g.Rects = appendBar(g.Rects, x+gw*0.5, gw*0.42, base, d.cur[i]/hi*plotH, "cur")
		c.Groups = append(c.Groups, g)
	}
	c.Grid = append(c.Grid, svgLine{X1: left, Y1: px(base), X2: w - right, Y2: px(base), Class: "axis"})
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
			c.Marks = append(c.Marks, svgLine{X1: px(x), Y1: px(base), X2: px(x), Y2: px(base + 4), Class: "axis"})
			c.Texts = append(c.Texts, svgText{X: px(x), Y: px(base + 17), Anchor: anchor, Class: "tick", Text: axisNum(d.edges[i])})
		}
	}
	return c
}

func (d *distData) categoryChart(name string) *svgChart {
	const w, left, right, top, rowH, barH = 520.0, 140.0, 52.0, 6.0, 26.0, 9.0
	n := len(d.ref)
	h := top + float64(n)*rowH + 24
	c := &svgChart{W: w, H: px(h), Label: "Categories of " + name + ": reference vs current"}
	plotW := w - left - right
	ticks, _, hi := niceTicks(0, max(d.max, 1e-9), 4)
	bottom := top + float64(n)*rowH
	for _, t := range ticks {
		x := left + t/hi*plotW
		c.Grid = append(c.Grid, svgLine{X1: px(x), Y1: top, X2: px(x), Y2: px(bottom), Class: "grid"})
		c.Texts = append(c.Texts, svgText{X: px(x), Y: px(bottom + 16), Anchor: "middle", Class: "tick", Text: tickPct(t, ticks)})
	}
	for i := range n {
		y := top + float64(i)*rowH
		g := svgGroup{Tip: d.tip(i), Rects: []svgRect{{X: 0, Y: px(y), W: w, H: rowH, Class: "hit"}}}
		rw, cw := d.ref[i]/hi*plotW, d.cur[i]/hi*plotW
		if rw > 0 {
			g.Rects = append(g.Rects, svgRect{X: left, Y: px(y + 3), W: px(max(rw, 0.8)), H: barH, Class: "ref"})
		}
		if cw > 0 {
			g.Rects = append(g.Rects, svgRect{X: left, Y: px(y + 3 + barH + 1), W: px(max(cw, 0.8)), H: barH, Class: "cur"})
		}
		c.Groups = append(c.Groups, g)
		c.Texts = append(c.Texts,
			svgText{X: left - 8, Y: px(y + rowH/2 + 4), Anchor: "end", Class: "label", Text: truncate(d.labels[i], 20)},
			svgText{X: px(left + rw + 4), Y: px(y + 3 + barH - 1), Class: "val", Text: pct(d.ref[i])},
			svgText{X: px(left + cw + 4), Y: px(y + 3 + 2*barH), Class: "val cur-val", Text: pct(d.cur[i])},
		)
	}
	c.Grid = append(c.Grid, svgLine{X1: left, Y1: top, X2: left, Y2: px(bottom), Class: "axis"})
	return c
}

// boxChart draws the error quantiles of each side as a box (p25–p75) with whiskers
// (p5–p95) and the median; nil without the needed quantiles.
func boxChart(ref, cur *report.Regression) *svgChart {
	type box struct {
		label               string
		lo, q1, med, q3, hi float64
		class               string
	}
	var boxes []box
	for _, s := range []struct {
		r            *report.Regression
		label, class string
	}{{ref, "Reference", "ref"}, {cur, "Current", "cur"}} {
		if s.r == nil {
			continue
		}
		q := s.r.ErrorQuantiles
		b := box{label: s.label, class: s.class, lo: quantileOr(q, "p5"), q1: quantileOr(q, "p25"), med: quantileOr(q, "p50"), q3: quantileOr(q, "p75"), hi: quantileOr(q, "p95")}
		if !isFinite(b.q1) || !isFinite(b.q3) || !isFinite(b.med) {
			continue
		}
		if !isFinite(b.lo) {
			b.lo = b.q1
		}
		if !isFinite(b.hi) {
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
	const w, left, right, top, rowH = 520.0, 76.0, 14.0, 14.0, 56.0
	h := top + float64(len(boxes))*rowH + 30
	c := &svgChart{W: w, H: px(h), Label: "Error quantiles: reference vs current"}
	bottom := top + float64(len(boxes))*rowH
	x := c.valueAxis(lo, hi, 6, left, right, top, bottom)
	c.Marks = append(c.Marks, svgLine{X1: x(0), Y1: px(top - 4), X2: x(0), Y2: px(bottom), Class: "zero"})
	for i, b := range boxes {
		yc := top + float64(i)*rowH + rowH/2
		tip := fmt.Sprintf("%s error: p5 %s · p25 %s · median %s · p75 %s · p95 %s",
			b.label, num(b.lo), num(b.q1), num(b.med), num(b.q3), num(b.hi))
		c.Texts = append(c.Texts, svgText{X: left - 10, Y: px(yc + 4), Anchor: "end", Class: "label", Text: b.label})
		g := svgGroup{Tip: tip, Rects: []svgRect{{X: 0, Y: px(yc - rowH/2), W: w, H: rowH, Class: "hit"}}}
		g.Rects = append(g.Rects, svgRect{X: x(b.q1), Y: px(yc - 11), W: px(max(float64(x(b.q3)-x(b.q1)), 1)), H: 22, Class: b.class + " box"})
		c.Groups = append(c.Groups, g)
		c.Marks = append(c.Marks,
			svgLine{X1: x(b.lo), Y1: px(yc), X2: x(b.q1), Y2: px(yc), Class: "whisker"},
			svgLine{X1: x(b.q3), Y1: px(yc), X2: x(b.hi), Y2: px(yc), Class: "whisker"},
			svgLine{X1: x(b.lo), Y1: px(yc - 7), X2: x(b.lo), Y2: px(yc + 7), Class: "whisker"},
			svgLine{X1: x(b.hi), Y1: px(yc - 7), X2: x(b.hi), Y2: px(yc + 7), Class: "whisker"},
			svgLine{X1: x(b.med), Y1: px(yc - 11), X2: x(b.med), Y2: px(yc + 11), Class: "median"},
		)
		c.Texts = append(c.Texts,
			svgText{X: x(b.lo), Y: px(yc - 14), Anchor: "middle", Class: "val", Text: num(b.lo)},
			svgText{X: x(b.hi), Y: px(yc - 14), Anchor: "middle", Class: "val", Text: num(b.hi)},
			svgText{X: x(b.med), Y: px(yc + 24), Anchor: "middle", Class: "val strong", Text: num(b.med)},
		)
	}
	return c
}

// valueAxis scales about n round ticks covering [lo, hi] onto the chart's width between
// left and W-right, draws them as vertical grid lines from top to bottom labelled below
// the plot, and returns the scale.
func (c *svgChart) valueAxis(lo, hi float64, n int, left, right, top, bottom float64) func(float64) px {
	ticks, tlo, thi := niceTicks(lo, hi, n)
	plotW := float64(c.W) - left - right
	x := func(v float64) px { return px(left + (v-tlo)/(thi-tlo)*plotW) }
	for _, t := range ticks {
		c.Grid = append(c.Grid, svgLine{X1: x(t), Y1: px(top), X2: x(t), Y2: px(bottom), Class: "grid"})
		c.Texts = append(c.Texts, svgText{X: x(t), Y: px(bottom + 16), Anchor: "middle", Class: "tick", Text: tick(t, ticks)})
	}
	return x
}

func quantileOr(q map[string]float64, k string) float64 {
	if x, ok := q[k]; ok {
		return x
	}
	return math.NaN()
}

// groupChart draws the mean error of the under-, majority and over-estimation groups
// as bars diverging from zero, reference above current.
func groupChart(ref, cur *report.Regression) *svgChart {
	type bar struct {
		mean  float64
		count int
		n     int
		class string
		side  string
	}
	rows := []struct {
		label string
		g     func(*report.Regression) report.Group
	}{
		{"Underestimation", func(r *report.Regression) report.Group { return r.Under }},
		{"Majority", func(r *report.Regression) report.Group { return r.Majority }},
		{"Overestimation", func(r *report.Regression) report.Group { return r.Over }},
	}
	lo, hi := 0.0, 0.0
	var bars [][]bar
	have := false
	for _, row := range rows {
		var bs []bar
		for _, s := range []struct {
			r           *report.Regression
			class, side string
		}{{ref, "ref", "reference"}, {cur, "cur", "current"}} {
			if s.r == nil {
				continue
			}
			g := row.g(s.r)
			bs = append(bs, bar{mean: g.MeanError, count: g.Count, n: s.r.N, class: s.class, side: s.side})
			if isFinite(g.MeanError) {
				lo, hi = min(lo, g.MeanError), max(hi, g.MeanError)
				have = true
			}
		}
		bars = append(bars, bs)
	}
	if !have {
		return nil
	}
	const w, left, right, top, rowH, barH = 520.0, 108.0, 14.0, 8.0, 50.0, 14.0
	h := top + float64(len(rows))*rowH + 26
	c := &svgChart{W: w, H: px(h), Label: "Mean error by error group: reference vs current"}
	bottom := top + float64(len(rows))*rowH
	x := c.valueAxis(lo, hi, 6, left, right, top, bottom)
	for i, row := range rows {
		y0 := top + float64(i)*rowH
		c.Texts = append(c.Texts, svgText{X: left - 10, Y: px(y0 + rowH/2 + 4), Anchor: "end", Class: "label", Text: row.label})
		for j, b := range bars[i] {
			y := y0 + 8 + float64(j)*(barH+4)
			tip := fmt.Sprintf("%s, %s: mean error %s over %s (%s)", row.label, b.side, signed(b.mean), rowCount(b.count), shareOf(b.count, b.n))
			g := svgGroup{Tip: tip}
			if isFinite(b.mean) {
				x0, x1 := x(0), x(b.mean)
				if x1 < x0 {
					x0, x1 = x1, x0
				}
				g.Rects = append(g.Rects, svgRect{X: x0, Y: px(y), W: px(max(float64(x1-x0), 1)), H: barH, Class: b.class})
				tx, anchor := x(b.mean)+4, "start"
				if b.mean < 0 {
					tx, anchor = x(b.mean)-4, "end"
				}
				c.Texts = append(c.Texts, svgText{X: tx, Y: px(y + barH - 3), Anchor: anchor, Class: "val", Text: signed(b.mean)})
			}
			c.Groups = append(c.Groups, g)
		}
	}
	c.Marks = append(c.Marks, svgLine{X1: x(0), Y1: px(top - 2), X2: x(0), Y2: px(bottom), Class: "zero"})
	return c
}

// lineChart draws ys over times; NaN values leave gaps. Flagged points are drawn as
// alerts; percent charts run from 0 to 100 %. A finite refLine draws a dashed
// horizontal line labelled refLabel.
func lineChart(label string, times []time.Time, ys []float64, flagged []bool, currentAt int, percent bool, refLine float64, refLabel string) *svgChart {
	return linesChart(label, times, []lineSeries{{ys: ys, flagged: flagged}}, currentAt, percent, refLine, refLabel)
}

// lineSeries is one line of linesChart; class is added to its line's and dots'
// classes and name prefixes its tooltips (both empty for the first line).
type lineSeries struct {
	ys          []float64
	flagged     []bool
	class, name string
}

// linesChart is lineChart with several lines on one scale.
func linesChart(label string, times []time.Time, series []lineSeries, currentAt int, percent bool, refLine float64, refLabel string) *svgChart {
	const w, h, left, right, top, bottom = 520.0, 220.0, 44.0, 16.0, 14.0, 30.0
	c := &svgChart{W: w, H: h, Label: label}
	plotW, plotH := w-left-right, h-top-bottom
	t0, t1 := times[0], times[len(times)-1]
	span := t1.Sub(t0)
	x := func(t time.Time) px {
		if span <= 0 {
			return px(left + plotW/2)
		}
		return px(left + float64(t.Sub(t0))/float64(span)*plotW)
	}
	hiVal := 0.0
	for _, sr := range series {
		for _, y := range sr.ys {
			if isFinite(y) {
				hiVal = max(hiVal, y)
			}
		}
	}
	if percent {
		hiVal = 1
	} else if isFinite(refLine) {
		hiVal = max(hiVal, refLine)
	}
	ticks, _, thi := niceTicks(0, max(hiVal, 1e-9), 4)
	y := func(v float64) px { return px(top + plotH - v/thi*plotH) }
	for _, t := range ticks {
		c.Grid = append(c.Grid, svgLine{X1: left, Y1: y(t), X2: w - right, Y2: y(t), Class: "grid"})
		text := tick(t, ticks)
		if percent {
			text = tickPct(t, ticks)
		}
		c.Texts = append(c.Texts, svgText{X: left - 6, Y: y(t) + 4, Anchor: "end", Class: "tick", Text: text})
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
		c.Marks = append(c.Marks, svgLine{X1: x(t), Y1: px(top + plotH), X2: x(t), Y2: px(top + plotH + 4), Class: "axis"})
		c.Texts = append(c.Texts, svgText{X: x(t), Y: px(top + plotH + 18), Anchor: anchor, Class: "tick", Text: t.UTC().Format(layout)})
	}
	c.Grid = append(c.Grid, svgLine{X1: left, Y1: px(top + plotH), X2: w - right, Y2: px(top + plotH), Class: "axis"})
	if isFinite(refLine) && refLine <= thi {
		c.Marks = append(c.Marks, svgLine{X1: left, Y1: y(refLine), X2: w - right, Y2: y(refLine), Class: "threshold"})
		c.Texts = append(c.Texts, svgText{X: w - right, Y: y(refLine) - 5, Anchor: "end", Class: "tick threshold-label", Text: refLabel})
	}
	for _, sr := range series {
		addLine(c, sr, times, x, y, currentAt, percent)
	}
	return c
}

// addLine draws one series of linesChart: a polyline per run of finite values, then
// the dots.
func addLine(c *svgChart, sr lineSeries, times []time.Time, x func(time.Time) px, y func(float64) px, currentAt int, percent bool) {
	ys, flagged := sr.ys, sr.flagged
	var seg []string
	flush := func() {
		if len(seg) >= 2 {
			c.Paths = append(c.Paths, svgPath{Points: strings.Join(seg, " "), Class: strings.TrimSpace("line " + sr.class)})
		}
		seg = nil
	}
	for i, v := range ys {
		if !isFinite(v) {
			flush()
			continue
		}
		seg = append(seg, x(times[i]).String()+","+y(v).String())
	}
	flush()
	for i, v := range ys {
		if !isFinite(v) {
			continue
		}
		class := strings.TrimSpace("dot " + sr.class)
		if flagged != nil && flagged[i] {
			class += " alert"
		}
		r := px(3.5)
		if i == currentAt {
			class += " current"
			r = 5
		}
		val := num(v)
		if percent {
			val = pct(v)
		}
		tip := times[i].UTC().Format("2006-01-02 15:04 UTC") + ": " + sr.name + val
		if flagged != nil && flagged[i] {
			tip += " (dataset drift)"
		}
		if i == currentAt {
			tip += " (this report)"
		}
		c.Dots = append(c.Dots, svgDot{X: x(times[i]), Y: y(v), R: r, Class: class, Tip: tip})
	}
}
