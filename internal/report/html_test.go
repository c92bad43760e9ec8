package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Test data: testdata/report/sample.json is a report of the taxi model computed from
// the TLC green-taxi data, February 2022 against the January 2021 reference, with
// three columns beyond the model's (passenger_count, fare_amount, payment_type: missing
// values, new values, out-of-range values) so every part of the page is exercised.

func loadSampleHTMLReport(t *testing.T) *Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "report", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode sample.json: %v", err)
	}
	return &r
}

func sampleHTMLMeta() Meta {
	return Meta{
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

// sampleHTMLTrend is eight earlier weekly runs; one without targets (NaN RMSE).
func sampleHTMLTrend() []TrendPoint {
	start := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	rmse := []float64{5.02, 5.11, 4.97, 5.65, math.NaN(), 6.08, 6.33, 6.71}
	share := []float64{0.14, 0.14, 0.29, 0.29, 0.43, 0.57, 0.57, 0.71}
	var pts []TrendPoint
	for i := range rmse {
		pts = append(pts, TrendPoint{
			WindowEnd: start.Add(time.Duration(i) * 7 * 24 * time.Hour), RMSE: rmse[i], ShareDrifted: share[i],
			DatasetDrift: share[i] >= 0.5, CurrentRows: 16000 + 731*i,
		})
	}
	// Out of order on purpose: RenderHTML sorts by window end.
	pts[2], pts[5] = pts[5], pts[2]
	return pts
}

func renderHTMLString(t *testing.T, r *Report, meta Meta, trend []TrendPoint) string {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderHTML(&buf, r, meta, trend); err != nil {
		t.Fatalf("RenderHTML: %v", err)
	}
	return buf.String()
}

// htmlBodyText strips tags, for assertions on what a reader sees.
var htmlTagRE = regexp.MustCompile(`<[^>]*>`)

func TestRenderHTMLStructure(t *testing.T) {
	r := loadSampleHTMLReport(t)
	out := renderHTMLString(t, r, sampleHTMLMeta(), sampleHTMLTrend())

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
		">" + hNum(cur.RMSE) + "<", ">" + hNum(ref.RMSE) + "<", ">" + hInt(r.CurrentRows) + "<",
		">" + hPct(r.DataDrift.ShareDrifted) + "<",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("missing formatted number %q", s)
		}
	}
	text := htmlTagRE.ReplaceAllString(out, " ")
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
var htmlPayloads = []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`}

// hostileHTMLReport puts the payloads everywhere user data reaches the page: column
// names, categories, new-category examples, most common values, error-bias
// categories, and the meta strings.
func hostileHTMLReport(t *testing.T) (*Report, Meta) {
	r := loadSampleHTMLReport(t)
	meta := sampleHTMLMeta()
	meta.Dataset = "taxi " + htmlPayloads[0] + htmlPayloads[1]
	meta.Title = htmlPayloads[1] + " title"
	meta.ModelVersion = htmlPayloads[0]
	meta.WorkflowID, meta.RunID = htmlPayloads[1], htmlPayloads[0]
	p := 0.01
	for i, name := range htmlPayloads {
		cat := htmlPayloads[1-i]
		r.DataDrift.Columns[name] = ColumnDrift{Type: "categorical", StatTest: name, Statistic: 12.5, PValue: &p, Threshold: 0.05, Drifted: true}
		r.Distributions[name] = Distribution{Type: "categorical", Categories: []string{cat, "ok", name},
			Reference: []float64{0.2, 0.5, 0.3}, Current: []float64{0.4, 0.4, 0.2}}
		c := cat
		r.DataQuality.Reference[name] = ColumnQuality{Type: "cat", Rows: 10, Count: 10, Unique: 2, MostCommonCategory: &c, MostCommonShare: &p}
		n := 2
		r.DataQuality.Current[name] = ColumnQuality{Type: "cat", Rows: 10, Count: 10, Unique: 3, MostCommonCategory: &c, MostCommonShare: &p,
			NewCount: &n, NewCategories: []string{cat, name}}
		r.Regression.Current.ErrorBias[name] = FeatureBias{Type: "cat", UnderValue: &c, OverValue: &c, MajorityValue: &c, OverallValue: &c, Range: 1}
	}
	r.DataDrift.Skipped = map[string]string{htmlPayloads[0]: htmlPayloads[1]}
	return r, meta
}

func TestRenderHTMLEscaping(t *testing.T) {
	r, meta := hostileHTMLReport(t)
	out := renderHTMLString(t, r, meta, sampleHTMLTrend())
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

func TestRenderHTMLDeterministic(t *testing.T) {
	r, meta := hostileHTMLReport(t)
	trend := sampleHTMLTrend()
	first := renderHTMLString(t, r, meta, trend)
	for i := 0; i < 5; i++ {
		// Decode afresh too: map iteration order differs between maps and runs.
		r2, _ := hostileHTMLReport(t)
		if got := renderHTMLString(t, r2, meta, trend); got != first {
			t.Fatalf("render %d differs from the first", i+2)
		}
	}
}

func TestRenderHTMLEmptySections(t *testing.T) {
	t.Run("zero report", func(t *testing.T) {
		out := renderHTMLString(t, &Report{}, Meta{}, nil)
		for _, s := range []string{
			"No column was tested for drift in this window.",
			"No distributions in this report.",
			hNoTargetsMsg,
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
		r := loadSampleHTMLReport(t)
		r.Regression.Current = nil
		r.Distributions = nil
		meta := sampleHTMLMeta()
		out := renderHTMLString(t, r, meta, nil)
		reg := between(t, out, `<section id="regression">`, `</section>`)
		if !strings.Contains(reg, hNoTargetsMsg+": only reference performance is shown.") {
			t.Error("regression: no-targets note missing")
		}
		if !strings.Contains(reg, ">"+hNum(r.Regression.Reference.RMSE)+"<") {
			t.Error("regression: reference RMSE missing")
		}
		if !strings.Contains(between(t, out, `<section id="summary">`, `</section>`), hNoTargetsMsg) {
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
		r := loadSampleHTMLReport(t)
		for name, c := range r.DataDrift.Columns {
			c.Drifted = false
			r.DataDrift.Columns[name] = c
		}
		r.DataDrift.DatasetDrift, r.DataDrift.Drifted, r.DataDrift.ShareDrifted = false, 0, 0
		out := renderHTMLString(t, r, sampleHTMLMeta(), nil)
		if !strings.Contains(out, `<div class="verdict ok">`) || !strings.Contains(out, "No dataset drift") {
			t.Error("no-drift verdict missing")
		}
		if strings.Contains(out, `class="badge bad">Drifted<`) {
			t.Error("a drifted badge without drift")
		}
	})
	t.Run("odd values", func(t *testing.T) {
		r, meta, trend := oddHTMLReport()
		out := renderHTMLString(t, r, meta, trend)
		text := htmlTagRE.ReplaceAllString(out, " ")
		if strings.Contains(text, "NaN") || strings.Contains(out, `="NaN"`) {
			t.Error("NaN reached the page")
		}
		if !strings.Contains(out, "RMSE needs targets in at least 2 runs.") {
			t.Error("RMSE trend without finite values: message missing")
		}
	})
}

// oddHTMLReport has NaN metrics, short or empty distributions and a trend without a
// finite RMSE.
func oddHTMLReport() (*Report, Meta, []TrendPoint) {
	nan := math.NaN()
	r := &Report{
		DataDrift: DataDrift{Columns: map[string]ColumnDrift{"x": {Type: "numerical", Statistic: nan}}},
		Distributions: map[string]Distribution{
			"x":     {Type: "numerical", Edges: []float64{0, 1, 2}, Reference: []float64{nan, 1}, Current: []float64{0.5}},
			"empty": {Type: "categorical"},
			"zeros": {Type: "categorical", Categories: []string{"a", ""}, Reference: []float64{0, 0}, Current: []float64{0, 0}},
		},
		Regression: RegressionPair{Current: &Regression{N: 1, RMSE: nan, R2: nan, ErrorStd: nan, MAPE: nan,
			Majority: Group{MeanError: nan}, ErrorQuantiles: map[string]float64{"p50": 1}}},
	}
	return r, Meta{WindowEnd: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		[]TrendPoint{{WindowEnd: time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC), RMSE: nan}}
}

func TestRenderHTMLErrors(t *testing.T) {
	if err := RenderHTML(&bytes.Buffer{}, nil, Meta{}, nil); err == nil {
		t.Error("nil report: no error")
	}
	wantErr := errors.New("disk full")
	if err := RenderHTML(failingWriter{wantErr}, &Report{}, Meta{}, nil); !errors.Is(err, wantErr) {
		t.Errorf("write error: got %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// The page must open offline: no scripts, no external or embedded resources.
func TestRenderHTMLSelfContained(t *testing.T) {
	out := strings.ToLower(renderHTMLString(t, loadSampleHTMLReport(t), sampleHTMLMeta(), sampleHTMLTrend()))
	for _, s := range []string{"<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(", "src=", "http://", "https://", "@font-face"} {
		if strings.Contains(out, s) {
			t.Errorf("output contains %q", s)
		}
	}
}

func TestHTMLFormatters(t *testing.T) {
	p := func(x float64) *float64 { return &x }
	for _, c := range []struct{ got, want string }{
		{hNum(0), "0"}, {hNum(math.NaN()), "—"}, {hNum(1234567.8), "1,234,568"}, {hNum(-2500), "-2,500"},
		{hNum(123.456), "123.5"}, {hNum(6.789), "6.79"}, {hNum(0.05), "0.05"}, {hNum(0.012345), "0.0123"},
		{hNum(0.5), "0.5"}, {hNum(3e-7), "3.00e-07"}, {hNum(math.Inf(1)), "∞"}, {hNum(8), "8"}, {hNum(-80), "-80"},
		{hNum(1.86e-16), "≈0"}, {hAxisNum(-195.3125), "-195"}, {hAxisNum(5.12), "5.12"}, {hAxisNum(20.48), "20.5"},
		{hPct(0), "0%"}, {hPct(0.375), "37.5%"}, {hPct(0.5), "50%"}, {hPct(1), "100%"}, {hPct(0.0004), "<0.1%"},
		{hP(nil), "—"}, {hP(p(0.04321)), "0.0432"}, {hP(p(1e-9)), "<0.0001"},
		{hInt(0), "0"}, {hInt(999), "999"}, {hInt(1000), "1,000"}, {hInt(-1234567), "-1,234,567"},
		{hSigned(1.5), "+1.50"}, {hSigned(-1.5), "-1.50"},
		{hTruncate("abcdef", 4), "abc…"}, {hTruncate("ab", 4), "ab"},
		{hPx(-0.01).String(), "0"}, {hPx(12.345).String(), "12.3"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	ticks, lo, hi := hNiceTicks(-7.3, 18.2, 5)
	if lo > -7.3 || hi < 18.2 || len(ticks) < 4 || len(ticks) > 8 {
		t.Errorf("hNiceTicks(-7.3, 18.2) = %v [%v, %v]", ticks, lo, hi)
	}
}

// ---- Chromium ----
//
// The page is loaded in headless Chromium, the browser CI installs (Debian package
// "chromium"). How console errors are caught: with --enable-logging=stderr --v=0
// Chromium writes every console message of the page to stderr as a line like
//
//	[pid:tid:date:INFO:CONSOLE:1] "Uncaught ReferenceError: …", source: file:///… (1)
//
// (older releases: "INFO:CONSOLE(1)", "ERROR:CONSOLE"). The report has no script, so
// any console line is a failure: uncaught errors, and also resources blocked by the
// page's Content-Security-Policy, which Chromium reports on the console. A control
// page that logs an error on purpose checks that the detection still works with the
// installed Chromium, so the test cannot pass vacuously. Each run has a timeout.

const chromiumTimeout = 90 * time.Second

// chromiumConsoleRE matches console lines in all known formats of Chromium's log.
var chromiumConsoleRE = regexp.MustCompile(`(?m)^.*(:CONSOLE[:(\]]|Uncaught).*$`)

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("headless Chromium not found (install Debian's chromium, or set CHROMIUM to the binary): skipping the browser checks")
	return ""
}

// runChromium loads file in headless Chromium with extra flags and returns stdout and
// the console lines of its log.
func runChromium(t *testing.T, bin, file string, extra ...string) (stdout string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	profile := t.TempDir()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
		"--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
	}, extra...)
	args = append(args, "file://"+file)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chromium did not finish within %v\nstderr:\n%s", chromiumTimeout, tail(errb.String(), 40))
	}
	if err != nil {
		t.Fatalf("chromium: %v\nstderr:\n%s", err, tail(errb.String(), 40))
	}
	return out.String(), chromiumConsoleRE.FindAllString(errb.String(), -1)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// writeHTMLFile renders into dir/name; with KEEP_HTML=<dir> set, a copy goes there too,
// to open by hand.
func writeHTMLFile(t *testing.T, dir, name string, r *Report, meta Meta, trend []TrendPoint) string {
	t.Helper()
	page := []byte(renderHTMLString(t, r, meta, trend))
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	if keep := os.Getenv("KEEP_HTML"); keep != "" {
		if err := os.WriteFile(filepath.Join(keep, name), page, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestRenderHTMLChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser checks skipped in -short mode")
	}
	bin := chromiumPath(t)
	dir := t.TempDir()

	t.Run("control page logs are detected", func(t *testing.T) {
		path := filepath.Join(dir, "control.html")
		page := `<!DOCTYPE html><html><body><p>control</p><script>console.error("modelmon-control"); notDefined();</script></body></html>`
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		_, console := runChromium(t, bin, path, "--dump-dom")
		joined := strings.Join(console, "\n")
		if !strings.Contains(joined, "modelmon-control") || !strings.Contains(joined, "Uncaught") {
			t.Fatalf("console messages of the control page were not detected; Chromium's log format changed? got:\n%s", joined)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		path := writeHTMLFile(t, dir, "report.html", loadSampleHTMLReport(t), sampleHTMLMeta(), sampleHTMLTrend())
		shot := filepath.Join(dir, "shot.png")
		_, console := runChromium(t, bin, path, "--screenshot="+shot, "--window-size=1280,2400")
		if len(console) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
		}
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("screenshot is not a PNG: %v", err)
		}
		checkScreenshot(t, img)
		if os.Getenv("UPDATE_SCREENSHOT") == "1" {
			dst := filepath.Join("..", "..", "testdata", "report", "report.png")
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", dst)
		}
	})

	t.Run("empty report", func(t *testing.T) {
		path := writeHTMLFile(t, dir, "empty.html", &Report{}, Meta{}, nil)
		dom, console := runChromium(t, bin, path, "--dump-dom")
		if len(console) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
		}
		if !strings.Contains(dom, hNoTargetsMsg) {
			t.Errorf("DOM lacks %q: page not loaded?", hNoTargetsMsg)
		}
	})

	t.Run("hostile data stays text", func(t *testing.T) {
		r, meta := hostileHTMLReport(t)
		path := writeHTMLFile(t, dir, "hostile.html", r, meta, sampleHTMLTrend())
		dom, console := runChromium(t, bin, path, "--dump-dom")
		if len(console) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
		}
		// The browser's DOM, serialized: elements print as tags, text escaped.
		for _, h := range []string{">Summary</h2>", ">Data drift</h2>", ">Regression performance</h2>", ">Data quality</h2>", ">Trend</h2>"} {
			if !strings.Contains(dom, h) {
				t.Errorf("DOM lacks %q: page not loaded?", h)
			}
		}
		lower := strings.ToLower(dom)
		for _, tag := range []string{"<script", "<img", "<iframe"} {
			if strings.Contains(lower, tag) {
				i := strings.Index(lower, tag)
				t.Errorf("DOM has a %s element: …%s…", tag, dom[max(0, i-80):min(len(dom), i+80)])
			}
		}
		if !strings.Contains(dom, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("payload not shown as text")
		}
	})
}

// checkScreenshot asserts the PNG shows a page: the window size, and many colours
// spread over much of the image rather than one blank colour.
func checkScreenshot(t *testing.T, img image.Image) {
	t.Helper()
	bounds := img.Bounds()
	if bounds.Dx() < 1000 || bounds.Dy() < 1000 {
		t.Errorf("screenshot is %v, want about 1280×2400", bounds.Size())
	}
	colours := map[[3]uint32]int{}
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}]++
		}
	}
	total, top := 0, 0
	for _, n := range colours {
		total += n
		top = max(top, n)
	}
	if len(colours) < 50 {
		t.Errorf("screenshot has %d colours: blank page?", len(colours))
	}
	if share := float64(top) / float64(total); share > 0.9 {
		t.Errorf("%.0f%% of the screenshot is one colour: blank page?", 100*share)
	}
	t.Logf("screenshot %v, %d colours, dominant colour %s of pixels", bounds.Size(), len(colours), fmt.Sprintf("%.0f%%", 100*float64(top)/float64(total)))
}
