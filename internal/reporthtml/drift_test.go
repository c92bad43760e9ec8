package reporthtml

import (
	"html"
	"math"
	"strings"
	"testing"

	"github.com/modelmon/modelmon/internal/report"
)

// calibratedReport is the sample report as the calibrated method writes it: the
// distance columns decided by the noise quantile or by the minimum effect, the ks
// column by its p-value against the column's α (taxi: m columns, k = ceil(m/2),
// column α = k·α/m).
func calibratedReport(t *testing.T) *report.Report {
	r := loadSampleReport(t)
	dd := &r.DataDrift
	dd.Method, dd.Alpha, dd.EnoughData, dd.MinWindowRows = "calibrated", 0.01, true, 300
	const colAlpha = 0.01 * 4 / 7
	for name, c := range dd.Columns {
		c.Method, c.Alpha = "calibrated", colAlpha
		switch c.StatTest {
		case "ks":
			c.Rule, c.CalibratedThreshold, c.Threshold = "calibrated", colAlpha, colAlpha
		default:
			c.Rule, c.FixedThreshold, c.CalibrationRows, c.Draws = "fixed", 0.1, 11873, 400
			c.NullMedian, c.CalibratedThreshold = 0.012, 0.031
			if name == "PULocationID" || name == "DOLocationID" {
				// Many zones: sampling noise above the minimum effect.
				c.NullMedian, c.CalibratedThreshold, c.Rule = 0.093, 0.141, "calibrated"
			}
			c.EffectThreshold = 0.1
			if c.NullMedian > 0 {
				c.EffectThreshold = sqrtSum(0.1, c.NullMedian)
			}
			c.Threshold = max(c.CalibratedThreshold, c.EffectThreshold)
			c.Drifted = c.Statistic >= c.Threshold
		}
		dd.Columns[name] = c
	}
	return r
}

func sqrtSum(a, b float64) float64 { return math.Sqrt(a*a + b*b) }

// notEnoughReport is a calibrated window below min_window_rows: no column tested.
func notEnoughReport(t *testing.T) *report.Report {
	r := loadSampleReport(t)
	r.CurrentRows = 120
	r.DataDrift = report.DataDrift{Method: "calibrated", Alpha: 0.01, EnoughData: false, MinWindowRows: 300, DriftShare: 0.5,
		Columns: map[string]report.ColumnDrift{}}
	return r
}

func TestRenderDriftRules(t *testing.T) {
	out := renderString(t, calibratedReport(t), sampleMeta(), nil)
	drift := between(t, out, `<section id="drift">`, `</section>`)
	text := html.UnescapeString(tagRE.ReplaceAllString(drift, " "))
	for _, want := range []string{
		"Method: calibrated, dataset false-alarm rate α = 0.01 per window",
		"<th>Rule</th>",
		"beyond sampling noise for 66,097 rows: 1−α quantile = 0.141",
		"minimum effect: sqrt(fixed² + null_median²) = sqrt(0.1² + 0.012²) = 0.101",
		"p-value test: drift when p ≤ α = 0.00571",
	} {
		if !strings.Contains(drift, want) && !strings.Contains(text, want) {
			t.Errorf("drift section lacks %q", want)
		}
	}

	fixed := loadSampleReport(t)
	fixed.DataDrift.Method, fixed.DataDrift.EnoughData = "fixed", true
	for name, c := range fixed.DataDrift.Columns {
		c.Method, c.Rule = "fixed", "fixed"
		fixed.DataDrift.Columns[name] = c
	}
	drift = between(t, renderString(t, fixed, sampleMeta(), nil), `<section id="drift">`, `</section>`)
	for _, want := range []string{
		"Method: fixed (Evidently&#39;s rules)",
		"drift when the statistic &gt;= 0.1",
		"drift when the p-value &lt;= 0.05",
	} {
		if !strings.Contains(drift, want) {
			t.Errorf("fixed drift section lacks %q", want)
		}
	}

	// A stored report from before calibrated verdicts: no method line, no rule column.
	old := renderString(t, loadSampleReport(t), sampleMeta(), nil)
	if strings.Contains(old, "Method:") || strings.Contains(old, "<th>Rule</th>") || strings.Contains(old, "Not enough data") {
		t.Error("a report without a method shows a method, a rule column or not enough data")
	}
	if !strings.Contains(old, "Dataset drift detected") {
		t.Error("a report without a method lost its verdict")
	}

	ne := renderString(t, notEnoughReport(t), sampleMeta(), nil)
	for _, want := range []string{
		"Not enough data: 120 rows &lt; min_window_rows (300)",
		`<div class="verdict muted"><span class="dot-i"></span>Not enough data</div>`,
	} {
		if !strings.Contains(ne, want) {
			t.Errorf("not-enough-data page lacks %q", want)
		}
	}
	for _, bad := range []string{"Dataset drift detected", "No dataset drift", "badge bad\">Drifted"} {
		if strings.Contains(ne, bad) {
			t.Errorf("not-enough-data page gives a verdict: %q", bad)
		}
	}
}
