package reporthtml

import (
	"math"
	"strings"
	"testing"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/report"
)

// estimateSample is the sample report with a performance estimate whose RMSE lies
// above the reference band, and a trend whose runs carry estimated RMSEs (one run
// without).
func estimateSample(t *testing.T) (*report.Report, report.Meta, []report.TrendPoint) {
	r := loadSampleReport(t)
	r.PerformanceEstimate = &report.PerformanceEstimate{
		Result: estimate.Result{
			Rows:    16523,
			Metrics: estimate.Metrics{RMSE: 6.912, MAE: 4.512, ME: -0.734},
			Band: estimate.Bands{RMSE: estimate.Interval{Lower: 6.761, Upper: 7.063}, MAE: estimate.Interval{Lower: 4.42, Upper: 4.604},
				ME: estimate.Interval{Lower: -0.9, Upper: -0.568}},
			Sigma:           estimate.Metrics{RMSE: 0.0503, MAE: 0.0307, ME: 0.0553},
			UnknownZoneRows: 12,
		},
		ReferenceBand: estimate.Bands{RMSE: estimate.Interval{Lower: 5.1, Upper: 5.4}, MAE: estimate.Interval{Lower: 3.9, Upper: 4.6},
			ME: estimate.Interval{Lower: -0.2, Upper: 0.2}},
		SkippedRows:      3,
		EstimatorVersion: "sha256:01f4862e0b5d60d5",
		ModelVersion:     "sha256:2630501e73f3adfa",
	}
	trend := sampleTrend()
	for i := range trend {
		if i != 3 {
			trend[i].EstimatedRMSE = math.Round((trend[i].RMSE+0.2)*100) / 100
		}
		if math.IsNaN(trend[i].RMSE) {
			trend[i].EstimatedRMSE = 5.9
		}
	}
	return r, sampleMeta(), trend
}

func TestRenderEstimate(t *testing.T) {
	r, meta, trend := estimateSample(t)
	page := renderString(t, r, meta, trend)
	for _, want := range []string{
		`Estimated RMSE outside the reference band`,
		`<td>RMSE</td><td class="num bad">6.91</td><td class="num">6.76 – 7.06</td>`,
		`<td class="num">5.10 – 5.40</td>`,
		`<td>Mean error</td><td class="num bad">-0.734</td>`,
		`over 16,523 rows`, `3 rows without a distance or prediction`, `12 rows have a zone unknown`,
		`<th class="num">Estimated RMSE</th>`,
		`<polyline class="line est"`, `class="dot est`, `: estimated 5.9`,
		`estimated 6.91`, // the RMSE card
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// realized values of the window next to the estimate
	if c := r.Regression.Current; !strings.Contains(page, `<td class="num">`+num(c.RMSE)+`</td><td class="num">5.10 – 5.40</td>`) {
		t.Errorf("the estimate table lacks the realized RMSE %s", num(c.RMSE))
	}

	// Without targets the card shows the estimate; without an estimate no block.
	r.Regression.Current = nil
	page = renderString(t, r, meta, nil)
	if !strings.Contains(page, "RMSE (estimated)") || !strings.Contains(page, `<td class="num">—</td><td class="num">5.10 – 5.40</td>`) {
		t.Errorf("no-target page lacks the estimated RMSE card or the empty realized cell")
	}
	r.PerformanceEstimate = nil
	if page := renderString(t, r, meta, nil); strings.Contains(page, "Estimated without targets") || strings.Contains(page, "Estimated RMSE") {
		t.Errorf("page without an estimate shows one")
	}
}
