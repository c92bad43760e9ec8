package reporthtml

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/modelmon/modelmon/internal/report"
)

// noTargetsMsg is shown where the current window has no regression metrics.
const noTargetsMsg = "No targets joined for this window"

// Tones of badges, cards and table cells; CSS classes of the template.
const (
	toneOK   = "ok"
	toneBad  = "bad"
	toneWarn = "warn"
	toneNone = "muted"
)

// view is the template's data: every number is preformatted, every chart is
// geometry; user data stays plain strings for html/template to escape.
type view struct {
	Title, Product                             string
	Dataset, Window, ModelVersion, GeneratedAt string
	WorkflowID, RunID                          string
	Verdict, VerdictTone, VerdictDetail        string
	Cards                                      []summaryCard
	Drift                                      driftView
	Reg                                        regView
	Segments                                   segView
	Est                                        estimateView
	Quality                                    qualityView
	Trend                                      trendView
}

// summaryCard is one of the cards at the top of the page.
type summaryCard struct{ Label, Value, Sub, Tone string }

// newView builds the whole page: header, verdict, summary cards, then one view per
// section.
func newView(r *report.Report, meta report.Meta, trend []report.TrendPoint) *view {
	v := &view{
		Title:        cmp.Or(meta.Title, "Model monitoring report"),
		Product:      "modelmon",
		Dataset:      cmp.Or(meta.Dataset, "—"),
		Window:       window(meta.WindowStart, meta.WindowEnd),
		ModelVersion: cmp.Or(meta.ModelVersion, "—"),
		GeneratedAt:  timeUTC(meta.GeneratedAt),
		WorkflowID:   meta.WorkflowID,
		RunID:        meta.RunID,
	}
	dd := r.DataDrift
	tested := len(dd.Columns)
	switch {
	case notEnoughData(dd):
		v.Verdict, v.VerdictTone = "Not enough data", toneNone
		v.VerdictDetail = fmt.Sprintf("%s < min_window_rows (%s): no drift verdict.", rowCount(r.CurrentRows), integer(dd.MinWindowRows))
	case tested == 0:
		v.Verdict, v.VerdictTone = "Drift not tested", toneNone
		v.VerdictDetail = "No column was tested for drift in this window."
	case dd.DatasetDrift:
		v.Verdict, v.VerdictTone = "Dataset drift detected", toneBad
		v.VerdictDetail = fmt.Sprintf("%s of %s columns drifted (%s), at or above the %s threshold.",
			integer(dd.Drifted), integer(tested), pct(dd.ShareDrifted), pct(dd.DriftShare))
	default:
		v.Verdict, v.VerdictTone = "No dataset drift", toneOK
		v.VerdictDetail = fmt.Sprintf("%s of %s columns drifted (%s), below the %s threshold.",
			integer(dd.Drifted), integer(tested), pct(dd.ShareDrifted), pct(dd.DriftShare))
	}

	verdictWord := map[string]string{toneBad: "Detected", toneOK: "Not detected"}[v.VerdictTone]
	if verdictWord == "" {
		verdictWord = "Not tested"
		if notEnoughData(dd) {
			verdictWord = "Not enough data"
		}
	}
	driftCard := summaryCard{Label: "Drifted columns", Value: "—", Sub: "no column tested", Tone: toneNone}
	if tested > 0 {
		driftCard.Value = pct(dd.ShareDrifted)
		driftCard.Sub = fmt.Sprintf("%s of %s columns · threshold %s", integer(dd.Drifted), integer(tested), pct(dd.DriftShare))
		driftCard.Tone = toneOK
		if dd.DatasetDrift {
			driftCard.Tone = toneBad
		} else if dd.Drifted > 0 {
			driftCard.Tone = toneWarn
		}
	}
	rmseCard := summaryCard{Label: "RMSE (current)", Value: "—", Tone: toneNone}
	ref, cur := r.Regression.Reference, r.Regression.Current
	switch {
	case cur == nil:
		rmseCard.Sub = noTargetsMsg
		if ref != nil {
			rmseCard.Sub += " · reference " + num(ref.RMSE)
		}
	case ref == nil:
		rmseCard.Value, rmseCard.Sub, rmseCard.Tone = num(cur.RMSE), "no reference targets", ""
	default:
		rmseCard.Value = num(cur.RMSE)
		rmseCard.Sub = "reference " + num(ref.RMSE)
		if d := relChange(ref.RMSE, cur.RMSE); d != "" {
			rmseCard.Sub += " · " + d
		}
		rmseCard.Tone = compareTone(ref.RMSE, cur.RMSE)
		if rmseCard.Tone == "" {
			rmseCard.Tone = toneOK
		}
	}
	if e := r.PerformanceEstimate; e != nil {
		if cur == nil {
			rmseCard.Label, rmseCard.Value, rmseCard.Tone = "RMSE (estimated)", num(e.RMSE), toneOK
			if !e.ReferenceBand.RMSE.Contains(e.RMSE) {
				rmseCard.Tone = toneBad
			}
			rmseCard.Sub = "no targets · reference band " + band(e.ReferenceBand.RMSE)
		} else {
			rmseCard.Sub += " · estimated " + num(e.RMSE)
		}
	}
	v.Cards = []summaryCard{
		{Label: "Dataset drift", Value: verdictWord, Sub: v.VerdictDetail, Tone: v.VerdictTone},
		driftCard,
		rmseCard,
		{Label: "Rows (current)", Value: integer(r.CurrentRows), Sub: "reference " + integer(r.ReferenceRows)},
	}

	v.Drift = newDriftView(r)
	v.Reg = newRegView(r.Regression)
	v.Segments = newSegView(r.Segments)
	v.Est = newEstimateView(r)
	v.Quality = newQualityView(r.DataQuality)
	v.Trend = newTrendView(r, meta, trend)
	return v
}

func isCategoricalType(t string) bool { return strings.HasPrefix(strings.ToLower(t), "cat") }

// typeLabel spells out the short column types of the metrics package.
func typeLabel(t string) string {
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

// compareTone rates the move from a to b of a metric where lower is better: bad when
// more than 10 % worse, ok when more than 10 % better.
func compareTone(a, b float64) string {
	if !isFinite(a) || !isFinite(b) {
		return ""
	}
	d := b - a
	scale := math.Max(math.Abs(a), 1e-12)
	switch {
	case d/scale > 0.1:
		return toneBad
	case d/scale < -0.1:
		return toneOK
	}
	return ""
}
