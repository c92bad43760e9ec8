package reporthtml

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/modelmon/modelmon/internal/drift"
	"github.com/modelmon/modelmon/internal/report"
)

// driftView is the "Data drift" section: the table of tested columns, the skipped
// ones and a distribution card per drawn column.
type driftView struct {
	Summary string
	// Method says how the verdicts were decided ("" for reports written before
	// calibrated verdicts: no method line, no rule column); NotEnough replaces the
	// table when the window was too small for a verdict.
	Method    string
	NotEnough string
	HasRules  bool
	Rows      []driftRow
	Skipped   []skippedRow
	Dists     []distCard
}

type driftRow struct {
	Name, Type, StatTest, Statistic, PValue, Threshold string
	Rule, RuleReason                                   string // which threshold decided, and why
	Drifted                                            bool
	Mini                                               *svgChart
	Anchor                                             string // id of the distribution card, "" if none
}

type skippedRow struct{ Name, Reason string }

type distCard struct {
	Name, Type, Anchor, Status, Tone string
	Chart                            *svgChart
}

func newDriftView(r *report.Report) driftView {
	dd := r.DataDrift
	var v driftView
	names := slices.Sorted(maps.Keys(dd.Columns))
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
	v.Method = methodLine(dd)
	if notEnoughData(dd) {
		v.NotEnough = fmt.Sprintf("Not enough data: %s < min_window_rows (%s). No column is tested and no drift verdict is given for this window.",
			rowCount(r.CurrentRows), integer(dd.MinWindowRows))
	}
	if len(names) > 0 {
		v.Summary = fmt.Sprintf("%s of %s columns drifted. Dataset drift is declared when at least %s of the columns drift.",
			integer(dd.Drifted), integer(len(names)), pct(dd.DriftShare))
	}
	// Distribution cards follow the table order, then columns drawn but not tested.
	order := slices.Clone(names)
	for _, n := range slices.Sorted(maps.Keys(r.Distributions)) {
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
		dist := newDistData(d)
		if dist == nil {
			continue
		}
		anchor := "dist-" + strconv.Itoa(len(v.Dists)+1)
		anchors[name] = anchor
		card := distCard{Name: name, Type: typeLabel(d.Type), Anchor: anchor, Status: "Not tested", Tone: toneNone,
			Chart: dist.detailChart(name)}
		if c, ok := dd.Columns[name]; ok {
			card.Status, card.Tone = driftStatus(c.Drifted)
		}
		v.Dists = append(v.Dists, card)
	}
	for _, name := range names {
		c := dd.Columns[name]
		row := driftRow{
			Name: name, Type: typeLabel(c.Type), StatTest: cmp.Or(c.StatTest, "—"),
			Statistic: num(c.Statistic), PValue: pValue(c.PValue), Threshold: num(c.Threshold),
			Drifted: c.Drifted, Anchor: anchors[name],
		}
		row.Rule, row.RuleReason = ruleOf(c, r.CurrentRows)
		if c.Method != "" || c.Rule != "" {
			v.HasRules = true
		}
		if d, ok := r.Distributions[name]; ok {
			if dist := newDistData(d); dist != nil {
				row.Mini = dist.miniChart(name)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	for _, name := range slices.Sorted(maps.Keys(dd.Skipped)) {
		v.Skipped = append(v.Skipped, skippedRow{Name: name, Reason: cmp.Or(dd.Skipped[name], "—")})
	}
	return v
}

// notEnoughData is a window below min_window_rows. Reports written before the
// field existed have no method and read EnoughData as false: they had a verdict.
func notEnoughData(dd report.DataDrift) bool { return dd.Method != "" && !dd.EnoughData }

// methodLine states how the dataset verdict was decided.
func methodLine(dd report.DataDrift) string {
	share := pct(cmp.Or(dd.DriftShare, 0.5))
	switch dd.Method {
	case "":
		return ""
	case drift.MethodCalibrated:
		return fmt.Sprintf("Method: calibrated, dataset false-alarm rate α = %s per window. "+
			"Each column's threshold is calibrated for this window's size on the reference; the dataset drifts when at least %s of the columns drift.",
			num(cmp.Or(dd.Alpha, drift.DefaultAlpha)), share)
	case drift.MethodFixed:
		return fmt.Sprintf("Method: fixed (Evidently's rules): a distance drifts at or above its fixed threshold, a test when its p-value is below it, whatever the window's size; "+
			"the dataset drifts when at least %s of the columns drift.", share)
	}
	return "Method: " + dd.Method + "."
}

// ruleOf names the rule that decided a column's verdict and gives its reason with
// the numbers; "" for columns of reports written before calibrated verdicts.
func ruleOf(c report.ColumnDrift, rows int) (string, string) {
	switch {
	case c.Method == "" && c.Rule == "":
		return "", ""
	case c.Method == drift.MethodFixed || c.Method == "":
		if info, ok := drift.Info(c.StatTest); ok {
			if info.PValue {
				return "fixed", "Evidently's fixed rule: drift when the p-value " + info.Rule + " " + num(c.Threshold)
			}
			return "fixed", "Evidently's fixed rule: drift when the statistic " + info.Rule + " " + num(c.Threshold)
		}
		return "fixed", "Evidently's fixed rule: threshold " + num(c.Threshold)
	}
	alpha := num(c.Alpha)
	if c.Draws == 0 {
		// A p-value test: its own p-value against the column's α.
		return "calibrated", "p-value test: drift when p ≤ α = " + alpha
	}
	noise := fmt.Sprintf("beyond sampling noise for %s: 1−α quantile = %s (α = %s, %s simulated windows of %s)",
		rowCount(rows), num(c.CalibratedThreshold), alpha, integer(c.Draws), rowCount(c.CalibrationRows))
	effect := fmt.Sprintf("minimum effect: sqrt(fixed² + null_median²) = sqrt(%s² + %s²) = %s",
		num(c.FixedThreshold), num(c.NullMedian), num(c.EffectThreshold))
	if c.Rule == drift.MethodFixed {
		return "fixed", effect + "; the noise quantile " + num(c.CalibratedThreshold) + " is lower"
	}
	return "calibrated", noise + "; the minimum effect " + num(c.EffectThreshold) + " is lower"
}

func driftStatus(drifted bool) (string, string) {
	if drifted {
		return "Drifted", toneBad
	}
	return "Stable", toneOK
}

// distData is a report.Distribution cleaned for drawing: one bin per category or interval,
// shares that are finite and non-negative.
type distData struct {
	categorical bool
	labels      []string // bin labels for tooltips and axes
	ref, cur    []float64
	max         float64
	edges       []float64
}

func newDistData(d report.Distribution) *distData {
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
	out := &distData{categorical: categorical, ref: make([]float64, n), cur: make([]float64, n), labels: make([]string, n)}
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
			out.labels[i] = "[" + num(d.Edges[i]) + ", " + num(d.Edges[i+1]) + closing
		default:
			out.labels[i] = "bin " + strconv.Itoa(i+1)
		}
	}
	if len(d.Edges) == n+1 {
		out.edges = d.Edges
	}
	return out
}

func (d *distData) tip(i int) string {
	return d.labels[i] + " — reference " + pct(d.ref[i]) + ", current " + pct(d.cur[i])
}
