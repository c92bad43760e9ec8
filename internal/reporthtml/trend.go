package reporthtml

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/modelmon/modelmon/internal/report"
)

// trendView is the "Trend" section: RMSE and share of drifted columns over the
// earlier runs and this one, and the list of the latest runs.
type trendView struct {
	Points   int
	Enough   bool
	Message  string
	RMSE     *svgChart
	RMSENote string
	// Estimated: some run has an estimated RMSE (a second line and column).
	Estimated bool
	Drift     *svgChart
	Rows      []trendRow
	More      string
}

type trendRow struct {
	WindowEnd, Rows, RMSE, EstRMSE, Share string
	Drift, Current                        bool
}

// maxTrendRows caps the runs listed under the trend charts (newest first).
const maxTrendRows = 12

func newTrendView(r *report.Report, meta report.Meta, trend []report.TrendPoint) trendView {
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
			p := report.TrendPoint{WindowEnd: meta.WindowEnd, RMSE: rmse, ShareDrifted: r.DataDrift.ShareDrifted,
				DatasetDrift: r.DataDrift.DatasetDrift, CurrentRows: r.CurrentRows}
			if r.PerformanceEstimate != nil {
				p.EstimatedRMSE = r.PerformanceEstimate.RMSE
			}
			pts = append(pts, p)
		}
	}
	slices.SortStableFunc(pts, func(a, b report.TrendPoint) int { return a.WindowEnd.Compare(b.WindowEnd) })
	if !meta.WindowEnd.IsZero() {
		for i, p := range pts {
			if p.WindowEnd.Equal(meta.WindowEnd) {
				currentAt = i
			}
		}
	}
	v := trendView{Points: len(pts)}
	for _, p := range pts {
		v.Estimated = v.Estimated || p.EstimatedRMSE > 0
	}
	for i := len(pts) - 1; i >= 0 && len(v.Rows) < maxTrendRows; i-- {
		p := pts[i]
		v.Rows = append(v.Rows, trendRow{WindowEnd: timeUTC(p.WindowEnd), Rows: integer(p.CurrentRows), RMSE: num(p.RMSE),
			EstRMSE: num(estimatedOrNaN(p)), Share: pct(p.ShareDrifted), Drift: p.DatasetDrift, Current: i == currentAt})
	}
	if len(pts) > maxTrendRows {
		v.More = fmt.Sprintf("%s earlier runs not listed.", integer(len(pts)-maxTrendRows))
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
		if isFinite(p.RMSE) {
			finiteRMSE++
		}
	}
	est := make([]float64, len(pts))
	finiteEst := 0
	for i, p := range pts {
		if est[i] = estimatedOrNaN(p); isFinite(est[i]) {
			finiteEst++
		}
	}
	switch {
	case finiteEst >= 1 && finiteRMSE+finiteEst >= 2:
		v.RMSE = linesChart("RMSE by window end: realized (solid) and estimated without targets (dashed)", times,
			[]lineSeries{{ys: rmse}, {ys: est, class: "est", name: "estimated "}}, currentAt, false, math.NaN(), "")
	case finiteRMSE >= 2:
		v.RMSE = lineChart("RMSE by window end", times, rmse, nil, currentAt, false, math.NaN(), "")
	default:
		v.RMSENote = "RMSE needs targets in at least 2 runs."
	}
	threshold := math.NaN() // unknown in a report without drift tests
	if r.DataDrift.DriftShare > 0 {
		threshold = r.DataDrift.DriftShare
	}
	v.Drift = lineChart("Share of drifted columns by window end", times, share, drift, currentAt, true,
		threshold, "threshold "+pct(r.DataDrift.DriftShare))
	return v
}

// estimatedOrNaN is a run's estimated RMSE, NaN when it has none.
func estimatedOrNaN(p report.TrendPoint) float64 {
	if p.EstimatedRMSE > 0 {
		return p.EstimatedRMSE
	}
	return math.NaN()
}
