package main

import (
	"context"
	"image/png"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/testutil"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func addr(t *testing.T) string { return "127.0.0.1:" + strconv.Itoa(freePort(t)) }

// TestDevstackShortMode runs the README's first command (`go run ./deploy/devstack`)
// in its short mode: everything starts, two months are replayed (a few hundred rides
// each), one batch run per month finishes with its report, the Temporal Web UI served
// by the stack shows the schedule and the finished runs (headless Chromium), and
// Ctrl-C (context cancel) stops everything cleanly. A second start on the same data
// directory reuses it.
func TestDevstackShortMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	// The stack resolves data/, models/ and config.yaml from the repository root.
	t.Chdir(testutil.RepoRoot(t))
	dir := t.TempDir()
	o := Options{
		DataDir: dir, MongoAddr: addr(t), TemporalPort: freePort(t), UIPort: freePort(t),
		OnlineAddr: addr(t), WorkerMetrics: addr(t), PrometheusAddr: "",
		ModelPath: "models/duration_model.json", MonitorConfig: "config.yaml",
		Reference: "data/green_tripdata_2021-01.parquet", Months: "2021-02,2022-01",
		ReplayLimit: 400, Concurrency: 8,
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out testutil.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, &out, log) }()
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(out.String(), "running; Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("devstack ended early: %v\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo not done in time:\n%s", out.String())
		}
	}
	text := out.String()
	for _, want := range []string{"Temporal UI", "/predict", "== 2021-02", "== 2022-01"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "status=completed"); n != 2 {
		t.Errorf("%d completed batch runs, want 2:\n%s", n, text)
	}
	reports, _ := filepath.Glob(filepath.Join(dir, "reports", "taxi", "*.html"))
	if len(reports) != 2 {
		t.Errorf("%d HTML reports, want 2", len(reports))
	}
	uiShot(t, "http://127.0.0.1:"+strconv.Itoa(o.UIPort))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("devstack did not stop")
	}

	// Second start on the same directory: the data is reused, the schedule updated.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel2()
	o.NoDemo, o.ExitAfterDemo = true, true
	var out2 testutil.SyncBuffer
	if err := Run(ctx2, o, &out2, log); err != nil {
		t.Fatalf("second start: %v\n%s", err, out2.String())
	}
}

// uiShot screenshots the Temporal Web UI's schedules and workflows pages and checks
// that the schedule and the finished runs are on them.
func uiShot(t *testing.T, ui string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Log("chromium not installed: no Web UI screenshot (.ci/run installs it)")
		return
	}
	for _, page := range []struct{ path, want string }{
		{"/namespaces/default/schedules", "batch-monitoring-taxi"},
		{"/namespaces/default/workflows", "Completed"},
	} {
		tmp := t.TempDir()
		shot := filepath.Join(tmp, "ui.png")
		args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + tmp,
			"--virtual-time-budget=10000", "--window-size=1400,900"}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		dom, err := exec.CommandContext(ctx, bin, append(args, "--dump-dom", ui+page.path)...).Output()
		if err != nil {
			cancel()
			t.Fatalf("chromium --dump-dom %s: %v", page.path, err)
		}
		if !strings.Contains(string(dom), page.want) {
			t.Errorf("%s: the page does not show %q", page.path, page.want)
		}
		if out, err := exec.CommandContext(ctx, bin, append(args, "--screenshot="+shot, ui+page.path)...).CombinedOutput(); err != nil {
			cancel()
			t.Fatalf("chromium screenshot: %v\n%s", err, out)
		}
		cancel()
		f, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		colours := map[[3]uint32]bool{}
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y += 7 {
			for x := b.Min.X; x < b.Max.X; x += 7 {
				r, g, bl, _ := img.At(x, y).RGBA()
				colours[[3]uint32{r, g, bl}] = true
			}
		}
		if len(colours) < 20 {
			t.Errorf("%s: screenshot has %d colours: blank page?", page.path, len(colours))
		}
		if dst := os.Getenv("DEVSTACK_SCREENSHOT_DIR"); dst != "" {
			raw, _ := os.ReadFile(shot)
			_ = os.WriteFile(filepath.Join(dst, strings.ReplaceAll(strings.Trim(page.path, "/"), "/", "_")+".png"), raw, 0o644)
		}
	}
}

// A taken port is a clear error at once, before anything starts.
func TestDevstackTakenPort(t *testing.T) {
	t.Chdir(testutil.RepoRoot(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	o := Options{
		DataDir: t.TempDir(), MongoAddr: addr(t), TemporalPort: freePort(t), UIPort: freePort(t),
		OnlineAddr: ln.Addr().String(), WorkerMetrics: addr(t),
		ModelPath: "models/duration_model.json", MonitorConfig: "config.yaml",
		Reference: "data/green_tripdata_2021-01.parquet", NoDemo: true, ExitAfterDemo: true,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A hang would end with the context's error instead of the port's.
	err = Run(ctx, o, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("err = %v, want the taken address named", err)
	}
}
