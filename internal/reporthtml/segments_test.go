package reporthtml

import (
	"encoding/json"
	"html"
	"math"
	"strings"
	"testing"

	"github.com/modelmon/modelmon/internal/report"
)

// segmentsReport is the calibrated sample with segments as the batch stores them:
// boroughs with metrics and verdicts, a too-small one, Unknown last, hour bands, a
// segment name from user data, and one segment with an estimate.
func segmentsReport(t *testing.T) *report.Report {
	r := calibratedReport(t)
	reg := func(rows int, me, mae, rmse float64) *report.SegmentRegression {
		return &report.SegmentRegression{Rows: rows, ME: me, MAE: mae, RMSE: rmse, R2: 0.5}
	}
	dd := func(drifted, cols int, drift bool) *report.DataDrift {
		d := &report.DataDrift{Method: "calibrated", Alpha: 0.01, EnoughData: true, DatasetDrift: drift, Drifted: drifted, Columns: map[string]report.ColumnDrift{}}
		for _, c := range []string{"DOLocationID", "PULocationID", "prediction", "trip_distance"}[:cols] {
			d.Columns[c] = report.ColumnDrift{}
		}
		return d
	}
	r.Segments = map[string]report.Segmentation{
		"pickup_borough": {
			"Manhattan": {Verdict: report.VerdictDrift, ReferenceRows: 14213, CurrentRows: 9120, DataDrift: dd(3, 4, true),
				Regression: &report.SegmentRegressionPair{Reference: reg(13980, -0.12, 4.31, 6.02), Current: reg(8801, 0.85, 5.02, 7.41)}},
			"Brooklyn": {Verdict: report.VerdictNoDrift, ReferenceRows: 22001, CurrentRows: 20113, DataDrift: dd(1, 4, false),
				Regression: &report.SegmentRegressionPair{Reference: reg(21500, 0.05, 4.02, 5.77), Current: reg(19002, -0.31, 3.81, 5.31)},
				Estimated:  map[string]any{"rmse": 5.4, "band": map[string]any{"low": 5.1, "high": 5.8}}},
			"Queens": {Verdict: report.VerdictNoDrift, ReferenceRows: 20770, CurrentRows: 19850, DataDrift: dd(0, 4, false),
				Regression: &report.SegmentRegressionPair{Reference: reg(20100, 0.2, 4.5, 6.4), Current: nil}},
			"EWR":                 {Verdict: report.VerdictTooSmall, ReferenceRows: 3, CurrentRows: 1, MinRows: 100},
			report.UnknownSegment: {Verdict: report.VerdictTooSmall, ReferenceRows: 212, CurrentRows: 40, MinRows: 100},
			"<b>Staten</b> Island": {Verdict: report.VerdictNoDrift, ReferenceRows: 150, CurrentRows: 120, DataDrift: dd(0, 4, false),
				Regression: &report.SegmentRegressionPair{Reference: reg(150, math.NaN(), 3, 4), Current: reg(120, 0, 3, 4)}},
		},
		"pickup_hour_band": {
			"late":    {Verdict: report.VerdictNoDrift, ReferenceRows: 9000, CurrentRows: 8000, DataDrift: dd(1, 4, false)},
			"night":   {Verdict: report.VerdictNoDrift, ReferenceRows: 4000, CurrentRows: 3500, DataDrift: dd(0, 4, false)},
			"morning": {Verdict: report.VerdictDrift, ReferenceRows: 12000, CurrentRows: 11000, DataDrift: dd(2, 4, true)},
		},
	}
	// As stored and read back (Estimated becomes a map, NaN becomes null).
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

func TestRenderSegments(t *testing.T) {
	out := renderString(t, segmentsReport(t), sampleMeta(), nil)
	if !strings.Contains(out, `<a href="#segments">Segments</a>`) {
		t.Error("no Segments link")
	}
	sec := between(t, out, `<section id="segments">`, `</section>`)
	text := html.UnescapeString(tagRE.ReplaceAllString(sec, " "))
	for _, want := range []string{
		"pickup_borough", "pickup_hour_band", "RMSE est.",
		// Manhattan: rows, RMSE ref → cur (worse), verdict.
		"Manhattan", "14,213", "9,120", "6.02", "7.41", "+0.85", "Drift", "3 of 4 columns drifted",
		"Too small", "fewer than 100 rows on a side",
		"5.40",
		"<b>Staten</b> Island",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("segments section lacks %q", want)
		}
	}
	if strings.Contains(sec, "<b>Staten") {
		t.Error("a segment name is not escaped")
	}
	// Order: Brooklyn < EWR < Manhattan < Queens < Unknown; hour bands in time order.
	for _, pair := range [][2]string{{"Brooklyn", "EWR"}, {"Queens", "Unknown"}, {"night", "morning"}, {"morning", "late"}} {
		if strings.Index(text, pair[0]) > strings.Index(text, pair[1]) {
			t.Errorf("%s after %s", pair[0], pair[1])
		}
	}
	// A too-small segment never shows a verdict or metrics.
	row := between(t, sec, `<td class="name">EWR</td>`, `</tr>`)
	if strings.Contains(row, "Drift") || strings.Contains(row, "No drift") {
		t.Errorf("too-small row has a verdict: %s", row)
	}
	// Without segments there is no section and no link.
	plain := renderString(t, loadSampleReport(t), sampleMeta(), nil)
	if strings.Contains(plain, `id="segments"`) || strings.Contains(plain, `#segments`) {
		t.Error("a report without segments shows a segments section")
	}
}
