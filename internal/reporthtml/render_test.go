package reporthtml

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/report"
)

// Test data: testdata/report/sample.json is a report of the taxi model computed from
// the TLC green-taxi data, February 2022 against the January 2021 reference, with
// three columns beyond the model's (passenger_count, fare_amount, payment_type: missing
// values, new values, out-of-range values) so every part of the page is exercised.

func loadSampleReport(t *testing.T) *report.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "report", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode sample.json: %v", err)
	}
	return &r
}

func sampleMeta() report.Meta {
	return report.Meta{
		Title:        "Weekly quality check",
		Dataset:      "nyc-green-taxi",
		WorkflowID:   "batch-monitoring-2022-03-01",
		RunID:        "4f9c1e2a-8d3b-4c51-9a57-2b6e0f3d7c11",
		ModelVersion: "duration-ols-2021-01.v3",
		WindowStart:  time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC),
		WindowEnd:    time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC),
		GeneratedAt:  time.Date(2022, 3, 1, 0, 12, 31, 0, time.UTC),
	}
}

// sampleTrend is eight earlier weekly runs; one without targets (NaN RMSE).
func sampleTrend() []report.TrendPoint {
	start := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	rmse := []float64{5.02, 5.11, 4.97, 5.65, math.NaN(), 6.08, 6.33, 6.71}
	share := []float64{0.14, 0.14, 0.29, 0.29, 0.43, 0.57, 0.57, 0.71}
	var pts []report.TrendPoint
	for i := range rmse {
		pts = append(pts, report.TrendPoint{
			WindowEnd: start.Add(time.Duration(i) * 7 * 24 * time.Hour), RMSE: rmse[i], ShareDrifted: share[i],
			DatasetDrift: share[i] >= 0.5, CurrentRows: 16000 + 731*i,
		})
	}
	// Out of order on purpose: Render sorts by window end.
	pts[2], pts[5] = pts[5], pts[2]
	return pts
}

func renderString(t *testing.T, r *report.Report, meta report.Meta, trend []report.TrendPoint) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, r, meta, trend); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.String()
}

// htmlBodyText strips tags, for assertions on what a reader sees.
var tagRE = regexp.MustCompile(`<[^>]*>`)

func TestRenderStructure(t *testing.T) {
	r := loadSampleReport(t)
	out := renderString(t, r, sampleMeta(), sampleTrend())

	for _, h := range []string{
		">Summary</h2>", ">Data drift</h2>", ">Regression performance</h2>", ">Data quality</h2>", ">Trend</h2>",
		">Column distributions</h3>", ">Metrics</h3>", ">Error quantiles</h3>", ">Error groups</h3>", ">Runs</h3>",
	} {
		if !strings.Contains(out, h) {
			t.Errorf("missing heading %q", h)
		}
	}
	for _, s := range []string{"nyc-green-taxi", "duration-ols-2021-01.v3", "2022-02-01 00:00 → 2022-03-01 00:00 UTC",
		"Weekly quality check", "4f9c1e2a-8d3b-4c51-9a57-2b6e0f3d7c11", "<!DOCTYPE html>", "Content-Security-Policy"} {
		if !strings.Contains(out, s) {
			t.Errorf("missing %q", s)
		}
	}

	// One drift-table row per tested column, each with its badge and a chart.
	table := between(t, out, `<table class="drift">`, `</table>`)
	rows := regexp.MustCompile(`<tr class="(drifted|stable)">`).FindAllStringSubmatch(table, -1)
	if len(rows) != len(r.DataDrift.Columns) {
		t.Errorf("drift table has %d rows, want %d", len(rows), len(r.DataDrift.Columns))
	}
	drifted := 0
	for _, m := range rows {
		if m[1] == "drifted" {
			drifted++
		}
	}
	if drifted != r.DataDrift.Drifted {
		t.Errorf("drift table has %d drifted rows, want %d", drifted, r.DataDrift.Drifted)
	}
	if n := strings.Count(table, `class="badge bad">Drifted<`) + strings.Count(table, `class="badge ok">Stable<`); n != len(rows) {
		t.Errorf("%d drift badges for %d rows", n, len(rows))
	}
	for name, c := range r.DataDrift.Columns {
		if !strings.Contains(table, ">"+name+"<") {
			t.Errorf("drift table: no row for %q", name)
		}
		if c.PValue == nil && !strings.Contains(table, `<td class="num">—</td>`) {
			t.Errorf("drift table: column %q has no p-value but no — is shown", name)
		}
	}
	if n := strings.Count(table, `<svg class="chart mini"`); n != len(r.Distributions) {
		t.Errorf("drift table has %d distribution charts, want %d", n, len(r.Distributions))
	}
	if n := strings.Count(out, `<div class="panel" id="dist-`); n != len(r.Distributions) {
		t.Errorf("%d distribution cards, want %d", n, len(r.Distributions))
	}

	// Numbers are formatted for reading, never raw.
	cur, ref := r.Regression.Current, r.Regression.Reference
	for _, s := range []string{
		">" + num(cur.RMSE) + "<", ">" + num(ref.RMSE) + "<", ">" + integer(r.CurrentRows) + "<",
		">" + pct(r.DataDrift.ShareDrifted) + "<",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("missing formatted number %q", s)
		}
	}
	text := tagRE.ReplaceAllString(out, " ")
	for _, bad := range []string{"NaN", "%!", "<nil>", "+Inf", "e+"} {
		if strings.Contains(text, bad) {
			i := strings.Index(text, bad)
			t.Errorf("page text contains %q: …%s…", bad, text[max(0, i-60):min(len(text), i+60)])
		}
	}
	if regexp.MustCompile(`\d\.\d{5,}`).MatchString(text) {
		t.Errorf("page text has an unrounded number: %q", regexp.MustCompile(`\S*\d\.\d{5,}\S*`).FindString(text))
	}
	// Data quality: two rows (reference, current) per column.
	dq := between(t, out, `<table class="dq">`, `</table>`)
	cols := map[string]bool{}
	for n := range r.DataQuality.Reference {
		cols[n] = true
	}
	for n := range r.DataQuality.Current {
		cols[n] = true
	}
	if got := strings.Count(dq, `<tr class="ref-row">`) + strings.Count(dq, `<tr class="cur-row">`); got != 2*len(cols) {
		t.Errorf("data quality table has %d rows, want %d", got, 2*len(cols))
	}
	// Trend: 8 earlier runs + this report; the NaN RMSE splits the RMSE line in two.
	trend := between(t, out, `<section id="trend">`, `</section>`)
	if n := strings.Count(trend, "<polyline"); n != 3 {
		t.Errorf("trend has %d polylines, want 3 (RMSE in two segments, share drifted)", n)
	}
	if !strings.Contains(trend, "this report") {
		t.Error("trend: current report not marked")
	}
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("no %q in output", from)
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		t.Fatalf("no %q after %q", to, from)
	}
	return s[i : i+j]
}

// Payloads that would run script or load an image if they reached the page unescaped.
var payloads = []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`}

// hostileReport puts the payloads everywhere user data reaches the page: column
// names, categories, new-category examples, most common values, error-bias
// categories, and the meta strings.
func hostileReport(t *testing.T) (*report.Report, report.Meta) {
	r := loadSampleReport(t)
	meta := sampleMeta()
	meta.Dataset = "taxi " + payloads[0] + payloads[1]
	meta.Title = payloads[1] + " title"
	meta.ModelVersion = payloads[0]
	meta.WorkflowID, meta.RunID = payloads[1], payloads[0]
	p := 0.01
	for i, name := range payloads {
		cat := payloads[1-i]
		r.DataDrift.Columns[name] = report.ColumnDrift{Type: "categorical", StatTest: name, Statistic: 12.5, PValue: &p, Threshold: 0.05, Drifted: true}
		r.Distributions[name] = report.Distribution{Type: "categorical", Categories: []string{cat, "ok", name},
			Reference: []float64{0.2, 0.5, 0.3}, Current: []float64{0.4, 0.4, 0.2}}
		c := cat
		r.DataQuality.Reference[name] = report.ColumnQuality{Type: "cat", Rows: 10, Count: 10, Unique: 2, MostCommonCategory: &c, MostCommonShare: &p}
		n := 2
		r.DataQuality.Current[name] = report.ColumnQuality{Type: "cat", Rows: 10, Count: 10, Unique: 3, MostCommonCategory: &c, MostCommonShare: &p,
			NewCount: &n, NewCategories: []string{cat, name}}
		r.Regression.Current.ErrorBias[name] = report.FeatureBias{Type: "cat", UnderValue: &c, OverValue: &c, MajorityValue: &c, OverallValue: &c, Range: 1}
	}
	r.DataDrift.Skipped = map[string]string{payloads[0]: payloads[1]}
	return r, meta
}

func TestRenderEscaping(t *testing.T) {
	r, meta := hostileReport(t)
	out := renderString(t, r, meta, sampleTrend())
	lower := strings.ToLower(out)
	for _, tag := range []string{"<script", "<img", "<iframe", "javascript:", "onerror=alert(1)>"} {
		if strings.Contains(lower, tag) {
			i := strings.Index(lower, tag)
			t.Errorf("output contains unescaped %q: …%s…", tag, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	// The payloads are shown, escaped, in every kind of place.
	escScript := "&lt;script&gt;alert(1)&lt;/script&gt;"
	escImg := "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
	for _, want := range []struct{ where, s string }{
		{"page title", "<title>" + escImg + " title · taxi " + escScript + escImg + "</title>"},
		{"drift table", `<a href="#dist-1">` + escImg + "</a>"},
		{"chart label", `aria-label="Categories of ` + escScript},
		{"new-category chip", `<span class="chip">` + escImg + "</span>"},
		{"most common", `title="` + escImg + `"`},
	} {
		if !strings.Contains(out, want.s) {
			t.Errorf("%s: escaped payload %q not found", want.where, want.s)
		}
	}
	if c := strings.Count(out, escScript); c < 8 {
		t.Errorf("escaped script payload appears %d times, want it in many places", c)
	}
}

func TestRenderDeterministic(t *testing.T) {
	r, meta := hostileReport(t)
	trend := sampleTrend()
	first := renderString(t, r, meta, trend)
	for i := 0; i < 5; i++ {
		// Decode afresh too: map iteration order differs between maps and runs.
		r2, _ := hostileReport(t)
		if got := renderString(t, r2, meta, trend); got != first {
			t.Fatalf("render %d differs from the first", i+2)
		}
	}
}

func TestRenderEmptySections(t *testing.T) {
	t.Run("zero report", func(t *testing.T) {
		out := renderString(t, &report.Report{}, report.Meta{}, nil)
		for _, s := range []string{
			"No column was tested for drift in this window.",
			"No distributions in this report.",
			noTargetsMsg,
			"No data-quality statistics in this report.",
			"No earlier runs yet",
			"Model monitoring report", // default title
			"Drift not tested",
		} {
			if !strings.Contains(out, s) {
				t.Errorf("missing %q", s)
			}
		}
	})
	t.Run("no current targets", func(t *testing.T) {
		r := loadSampleReport(t)
		r.Regression.Current = nil
		r.Distributions = nil
		meta := sampleMeta()
		out := renderString(t, r, meta, nil)
		reg := between(t, out, `<section id="regression">`, `</section>`)
		if !strings.Contains(reg, noTargetsMsg+": only reference performance is shown.") {
			t.Error("regression: no-targets note missing")
		}
		if !strings.Contains(reg, ">"+num(r.Regression.Reference.RMSE)+"<") {
			t.Error("regression: reference RMSE missing")
		}
		if !strings.Contains(between(t, out, `<section id="summary">`, `</section>`), noTargetsMsg) {
			t.Error("summary: RMSE card does not say there are no targets")
		}
		if !strings.Contains(out, "No distributions in this report.") || !strings.Contains(out, "no distribution") {
			t.Error("empty distributions not reported")
		}
		// Only this report in the trend.
		if !strings.Contains(out, "Only one run so far") {
			t.Error("trend with one point: message missing")
		}
	})
	t.Run("no drift", func(t *testing.T) {
		r := loadSampleReport(t)
		for name, c := range r.DataDrift.Columns {
			c.Drifted = false
			r.DataDrift.Columns[name] = c
		}
		r.DataDrift.DatasetDrift, r.DataDrift.Drifted, r.DataDrift.ShareDrifted = false, 0, 0
		out := renderString(t, r, sampleMeta(), nil)
		if !strings.Contains(out, `<div class="verdict ok">`) || !strings.Contains(out, "No dataset drift") {
			t.Error("no-drift verdict missing")
		}
		if strings.Contains(out, `class="badge bad">Drifted<`) {
			t.Error("a drifted badge without drift")
		}
	})
	t.Run("odd values", func(t *testing.T) {
		r, meta, trend := oddReport()
		out := renderString(t, r, meta, trend)
		text := tagRE.ReplaceAllString(out, " ")
		if strings.Contains(text, "NaN") || strings.Contains(out, `="NaN"`) {
			t.Error("NaN reached the page")
		}
		if !strings.Contains(out, "RMSE needs targets in at least 2 runs.") {
			t.Error("RMSE trend without finite values: message missing")
		}
	})
}

// oddReport has NaN metrics, short or empty distributions and a trend without a
// finite RMSE.
func oddReport() (*report.Report, report.Meta, []report.TrendPoint) {
	nan := math.NaN()
	r := &report.Report{
		DataDrift: report.DataDrift{Columns: map[string]report.ColumnDrift{"x": {Type: "numerical", Statistic: nan}}},
		Distributions: map[string]report.Distribution{
			"x":     {Type: "numerical", Edges: []float64{0, 1, 2}, Reference: []float64{nan, 1}, Current: []float64{0.5}},
			"empty": {Type: "categorical"},
			"zeros": {Type: "categorical", Categories: []string{"a", ""}, Reference: []float64{0, 0}, Current: []float64{0, 0}},
		},
		Regression: report.RegressionPair{Current: &report.Regression{N: 1, RMSE: nan, R2: nan, ErrorStd: nan, MAPE: nan,
			Majority: report.Group{MeanError: nan}, ErrorQuantiles: map[string]float64{"p50": 1}}},
	}
	return r, report.Meta{WindowEnd: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		[]report.TrendPoint{{WindowEnd: time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC), RMSE: nan}}
}

func TestRenderErrors(t *testing.T) {
	if err := Render(&bytes.Buffer{}, nil, report.Meta{}, nil); err == nil {
		t.Error("nil report: no error")
	}
	wantErr := errors.New("disk full")
	if err := Render(failingWriter{wantErr}, &report.Report{}, report.Meta{}, nil); !errors.Is(err, wantErr) {
		t.Errorf("write error: got %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// The page must open offline: no scripts, no external or embedded resources.
func TestRenderSelfContained(t *testing.T) {
	out := strings.ToLower(renderString(t, loadSampleReport(t), sampleMeta(), sampleTrend()))
	for _, s := range []string{"<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(", "src=", "http://", "https://", "@font-face"} {
		if strings.Contains(out, s) {
			t.Errorf("output contains %q", s)
		}
	}
}

// Values outside a column's configured plausible range are flagged in the
// data-quality table with their count and the range.
func TestRenderImplausible(t *testing.T) {
	r := loadSampleReport(t)
	q, ok := r.DataQuality.Current["trip_distance"]
	if !ok {
		t.Fatal("sample has no trip_distance quality")
	}
	if strings.Contains(renderString(t, r, sampleMeta(), nil), "implausible") {
		t.Fatal("implausible shown without implausible values")
	}
	n := 3
	q.Implausible = &n
	q.PlausibleRange = &metrics.Range{Min: 0, Max: 1e6}
	r.DataQuality.Current["trip_distance"] = q
	out := renderString(t, r, sampleMeta(), nil)
	if want := `<div class="more warn">3 implausible (outside [0, 1,000,000])</div>`; !strings.Contains(out, want) {
		i := strings.Index(out, "implausible")
		t.Errorf("want %q; page has %q", want, out[max(0, i-80):min(len(out), i+80)])
	}
}
