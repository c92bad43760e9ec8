package reporthtml

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/report"
)

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

// writeFile renders into dir/name; with KEEP_HTML=<dir> set, a copy goes there too,
// to open by hand.
func writeFile(t *testing.T, dir, name string, r *report.Report, meta report.Meta, trend []report.TrendPoint) string {
	t.Helper()
	page := []byte(renderString(t, r, meta, trend))
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

func TestRenderChromium(t *testing.T) {
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
		path := writeFile(t, dir, "report.html", loadSampleReport(t), sampleMeta(), sampleTrend())
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

	t.Run("calibrated verdicts and segments", func(t *testing.T) {
		path := writeFile(t, dir, "segments.html", segmentsReport(t), sampleMeta(), sampleTrend())
		dom, console := runChromium(t, bin, path, "--dump-dom")
		if len(console) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
		}
		for _, want := range []string{`<section id="segments">`, "dataset false-alarm rate", "1−α quantile", "&lt;b&gt;Staten&lt;/b&gt; Island"} {
			if !strings.Contains(dom, want) {
				t.Errorf("DOM lacks %q", want)
			}
		}
	})

	t.Run("empty report", func(t *testing.T) {
		path := writeFile(t, dir, "empty.html", &report.Report{}, report.Meta{}, nil)
		dom, console := runChromium(t, bin, path, "--dump-dom")
		if len(console) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(console, "\n"))
		}
		if !strings.Contains(dom, noTargetsMsg) {
			t.Errorf("DOM lacks %q: page not loaded?", noTargetsMsg)
		}
	})

	t.Run("hostile data stays text", func(t *testing.T) {
		r, meta := hostileReport(t)
		path := writeFile(t, dir, "hostile.html", r, meta, sampleTrend())
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
