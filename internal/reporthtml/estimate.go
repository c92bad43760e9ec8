package reporthtml

import (
	"fmt"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/report"
)

// estimateView is the "Estimated without targets" block of the regression section:
// the performance estimator's RMSE, MAE and ME with their bands, next to the
// realized values of the window (when targets were joined) and the band of the
// reference at the window's size.
type estimateView struct {
	Present              bool
	Lead                 string
	Verdict, VerdictTone string
	Rows                 []estimateRow
	Versions             string
}

type estimateRow struct {
	Name, Estimated, Band, Realized, Reference, Tone string
}

func band(b estimate.Interval) string { return num(b.Lower) + " – " + num(b.Upper) }

func newEstimateView(r *report.Report) estimateView {
	e := r.PerformanceEstimate
	if e == nil {
		return estimateView{}
	}
	v := estimateView{Present: true}
	v.Lead = fmt.Sprintf("Estimated by the performance estimator over %s rows of the window from the inputs and predictions alone (targets not read); bands are ± 3 standard errors at %s rows.",
		integer(e.Rows), integer(e.Rows))
	if e.SkippedRows > 0 {
		v.Lead += fmt.Sprintf(" %s rows without a distance or prediction are not estimated.", integer(e.SkippedRows))
	}
	if e.UnknownZoneRows > 0 {
		v.Lead += fmt.Sprintf(" %s rows have a zone unknown to the estimator's reference.", integer(e.UnknownZoneRows))
	}
	if e.ReferenceBand.RMSE.Contains(e.RMSE) {
		v.Verdict, v.VerdictTone = "Estimated RMSE within the reference band", toneOK
	} else {
		v.Verdict, v.VerdictTone = "Estimated RMSE outside the reference band", toneBad
	}
	cur := r.Regression.Current
	realized := func(f func(*report.Regression) float64) string {
		if cur == nil || cur.N == 0 {
			return "—"
		}
		return num(f(cur))
	}
	tone := func(ref estimate.Interval, v float64) string {
		if ref.Contains(v) {
			return ""
		}
		return toneBad
	}
	v.Rows = []estimateRow{
		{"RMSE", num(e.RMSE), band(e.Band.RMSE), realized(func(c *report.Regression) float64 { return c.RMSE }), band(e.ReferenceBand.RMSE), tone(e.ReferenceBand.RMSE, e.RMSE)},
		{"MAE", num(e.MAE), band(e.Band.MAE), realized(func(c *report.Regression) float64 { return c.MAE }), band(e.ReferenceBand.MAE), tone(e.ReferenceBand.MAE, e.MAE)},
		{"Mean error", num(e.ME), band(e.Band.ME), realized(func(c *report.Regression) float64 { return c.ME }), band(e.ReferenceBand.ME), tone(e.ReferenceBand.ME, e.ME)},
	}
	v.Versions = "estimator " + e.EstimatorVersion + " · model " + e.ModelVersion
	return v
}
