package devtemporal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/log/tag"
)

const (
	testTaskQueue  = "devtemporal-test"
	testWorkflowID = "devtemporal-test-wf"
	testScheduleID = "devtemporal-test-schedule"
	testWorkflow   = "Greet"

	// verifyDBEnv makes TestVerifyHelper verify a database written by TestPersistenceAcrossRestart.
	verifyDBEnv = "DEVTEMPORAL_VERIFY_DB"
	// screenshotDirEnv, if set, is where the UI screenshots are copied (e.g. testdata/devtemporal).
	screenshotDirEnv = "DEVTEMPORAL_SCREENSHOT_DIR"
)

func greet(_ workflow.Context, name string) (string, error) { return "hello " + name, nil }

// testLogger writes warnings and errors to stderr (not t.Log: the server may
// log after the test has returned).
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func startServer(t *testing.T, ctx context.Context, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	srv, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

func dial(t *testing.T, ctx context.Context, srv *Server) client.Client {
	t.Helper()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  srv.FrontendHostPort(),
		Namespace: srv.Namespace(),
		Logger:    sdklog.NewStructuredLogger(testLogger()),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.FrontendHostPort(), err)
	}
	return c
}

// TestPersistenceAcrossRestart runs a workflow and creates a schedule, stops
// the server, starts it again on the same file (in this process, then in a
// child process) and checks that both survived; it also checks the Web UI.
func TestPersistenceAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dbFile := filepath.Join(t.TempDir(), "temporal.db")

	// First start: empty file, schema is created.
	srv, err := Start(ctx, Options{DBFile: dbFile, UIPort: -1, Logger: testLogger()})
	if err != nil {
		t.Fatalf("first Start: %v", err)
	}
	t.Logf("first start (new database): %v", srv.StartDuration())
	func() {
		defer func() {
			if err := srv.Stop(); err != nil {
				t.Errorf("first Stop: %v", err)
			}
		}()
		c := dial(t, ctx, srv)
		defer c.Close()
		w := worker.New(c, testTaskQueue, worker.Options{})
		w.RegisterWorkflowWithOptions(greet, workflow.RegisterOptions{Name: testWorkflow})
		if err := w.Start(); err != nil {
			t.Fatalf("worker start: %v", err)
		}
		defer w.Stop()

		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: testWorkflowID, TaskQueue: testTaskQueue}, testWorkflow, "world")
		if err != nil {
			t.Fatalf("ExecuteWorkflow: %v", err)
		}
		var got string
		if err := run.Get(ctx, &got); err != nil || got != "hello world" {
			t.Fatalf("workflow result = %q, %v; want %q", got, err, "hello world")
		}
		if _, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:   testScheduleID,
			Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: 24 * time.Hour}}},
			Action: &client.ScheduleWorkflowAction{
				ID:        "devtemporal-scheduled",
				Workflow:  testWorkflow,
				Args:      []any{"schedule"},
				TaskQueue: testTaskQueue,
			},
			Paused: true,
			Note:   "created by devtemporal test",
		}); err != nil {
			t.Fatalf("create schedule: %v", err)
		}
		// Describe is a query on the scheduler workflow: it returns once that
		// workflow has processed its first task, so nothing is in flight at Stop
		// (an in-flight task would delay the first Describe after the restart by
		// the sticky-queue timeout, 5-8s).
		if _, err := c.ScheduleClient().GetHandle(ctx, testScheduleID).Describe(ctx); err != nil {
			t.Fatalf("describe schedule: %v", err)
		}
	}()
	if t.Failed() {
		t.FailNow()
	}

	// Second start on the same file, in this process, with the UI.
	srv2 := startServer(t, ctx, Options{DBFile: dbFile})
	t.Logf("second start (same database, same process): %v", srv2.StartDuration())
	c2 := dial(t, ctx, srv2)
	defer c2.Close()
	verifyPersisted(t, ctx, c2)

	t.Run("UIRootHTML", func(t *testing.T) { checkUIRoot(t, ctx, srv2) })
	t.Run("UIAPIWorkflows", func(t *testing.T) { checkUIAPI(t, ctx, srv2) })
	t.Run("UIScreenshots", func(t *testing.T) { checkUIScreenshots(t, ctx, srv2) })

	if err := srv2.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	// Third start, in a fresh process: nothing is cached, all comes from the file.
	t.Run("ChildProcess", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestVerifyHelper$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), verifyDBEnv+"="+dbFile)
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestVerifyHelper")) {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "start (") {
				t.Log("child:", strings.TrimSpace(line))
			}
		}
	})
}

// TestVerifyHelper runs in a child process of TestPersistenceAcrossRestart.
func TestVerifyHelper(t *testing.T) {
	dbFile := os.Getenv(verifyDBEnv)
	if dbFile == "" {
		t.Skip("helper of TestPersistenceAcrossRestart (runs in a child process)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := startServer(t, ctx, Options{DBFile: dbFile, UIPort: -1})
	t.Logf("third start (same database, new process): %v", srv.StartDuration())
	c := dial(t, ctx, srv)
	defer c.Close()
	verifyPersisted(t, ctx, c)
}

func verifyPersisted(t *testing.T, ctx context.Context, c client.Client) {
	t.Helper()
	desc, err := c.DescribeWorkflowExecution(ctx, testWorkflowID, "")
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("workflow status = %v, want COMPLETED", st)
	}
	var events []enumspb.EventType
	it := c.GetWorkflowHistory(ctx, testWorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		events = append(events, ev.GetEventType())
	}
	if len(events) < 2 || events[0] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED ||
		events[len(events)-1] != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Errorf("history = %v, want STARTED ... COMPLETED", events)
	}
	var got string
	if err := c.GetWorkflow(ctx, testWorkflowID, "").Get(ctx, &got); err != nil || got != "hello world" {
		t.Errorf("persisted result = %q, %v", got, err)
	}

	sd, err := c.ScheduleClient().GetHandle(ctx, testScheduleID).Describe(ctx)
	if err != nil {
		t.Fatalf("describe schedule: %v", err)
	}
	act, ok := sd.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || act.TaskQueue != testTaskQueue || !sd.Schedule.State.Paused {
		t.Errorf("schedule = action %#v, paused %v", sd.Schedule.Action, sd.Schedule.State.Paused)
	}

	// Visibility (what the UI and List use) must know the schedule too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, err := listSchedules(ctx, c)
		if err != nil {
			t.Fatalf("list schedules: %v", err)
		}
		if contains(ids, testScheduleID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %q not listed; got %v", testScheduleID, ids)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func listSchedules(ctx context.Context, c client.Client) ([]string, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, err
	}
	var ids []string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		ids = append(ids, e.ID)
	}
	return ids, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func httpGet(ctx context.Context, url string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func checkUIRoot(t *testing.T, ctx context.Context, srv *Server) {
	if srv.UIURL() == "" {
		t.Fatal("UIURL is empty")
	}
	resp, body, err := httpGet(ctx, srv.UIURL()+"/")
	if err != nil {
		t.Fatalf("GET UI root: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(bytes.ToLower(body), []byte("<html")) {
		t.Fatalf("GET %s/ = %d %q, body %.200q", srv.UIURL(), resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func checkUIAPI(t *testing.T, ctx context.Context, srv *Server) {
	url := srv.UIURL() + "/api/v1/namespaces/" + srv.Namespace() + "/workflows"
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body, err := httpGet(ctx, url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		var parsed struct {
			Executions []struct {
				Execution struct {
					WorkflowID string `json:"workflowId"`
				} `json:"execution"`
			} `json:"executions"`
		}
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &parsed); err != nil {
				t.Fatalf("GET %s: not JSON: %v: %.300q", url, err, body)
			}
			for _, e := range parsed.Executions {
				if e.Execution.WorkflowID == testWorkflowID {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d, no %q in %.500q", url, resp.StatusCode, testWorkflowID, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const chromiumPath = "/usr/bin/chromium"

func chromium(ctx context.Context, t *testing.T, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=10000", "--window-size=1400,900",
	}
	cmd := exec.CommandContext(ctx, chromiumPath, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, errors.Join(err, errors.New(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func checkUIScreenshots(t *testing.T, ctx context.Context, srv *Server) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("headless Chromium not installed at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	pages := []struct{ name, path string }{
		{"ui.png", "/namespaces/" + srv.Namespace() + "/workflows"},
		{"ui-schedules.png", "/namespaces/" + srv.Namespace() + "/schedules"},
	}
	for _, p := range pages {
		file := filepath.Join(t.TempDir(), p.name)
		if _, err := chromium(ctx, t, "--screenshot="+file, srv.UIURL()+p.path); err != nil {
			t.Fatalf("chromium screenshot of %s: %v", p.path, err)
		}
		checkPNG(t, file)
		if dir := os.Getenv(screenshotDirEnv); dir != "" {
			data, err := os.ReadFile(file)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, p.name), data, 0o644)
			}
			if err != nil {
				t.Errorf("copy screenshot: %v", err)
			}
		}
	}

	dom, err := chromium(ctx, t, "--dump-dom", srv.UIURL()+pages[0].path)
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if !bytes.Contains(dom, []byte(testWorkflowID)) {
		t.Errorf("rendered workflow list has no %q (%d bytes of DOM)", testWorkflowID, len(dom))
	}
}

// checkPNG asserts the file is a PNG of the window size that is not a single colour.
func checkPNG(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 600 {
		t.Fatalf("screenshot %s is %v, want about 1400x900", file, b)
	}
	if n := distinctColours(img, 64); n < 16 {
		t.Fatalf("screenshot %s has only %d colours: blank page?", file, n)
	}
}

func distinctColours(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func TestEphemeralNamespaceAndSearchAttributes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := startServer(t, ctx, Options{
		UIPort:           -1,
		Namespace:        "modelmon",
		SearchAttributes: map[string]enumspb.IndexedValueType{"ModelName": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	})
	t.Logf("ephemeral start: %v", srv.StartDuration())
	if srv.UIURL() != "" {
		t.Errorf("UIURL = %q with UIPort -1", srv.UIURL())
	}
	c := dial(t, ctx, srv)
	defer c.Close()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "modelmon"})
	if err != nil {
		t.Fatalf("DescribeNamespace: %v", err)
	}
	if got := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != defaultRetention {
		t.Errorf("retention = %v, want %v", got, defaultRetention)
	}
	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "modelmon"})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	if got := sa.GetCustomAttributes()["ModelName"]; got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Errorf("ModelName search attribute = %v, want KEYWORD (all: %v)", got, sa.GetCustomAttributes())
	}
}

func TestTakenPorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	for name, opts := range map[string]Options{
		"frontend": {FrontendPort: port, UIPort: -1},
		"ui":       {UIPort: port},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			opts.Logger = testLogger()
			began := time.Now()
			srv, err := Start(ctx, opts)
			if err == nil {
				_ = srv.Stop()
				t.Fatalf("Start on taken port %d succeeded", port)
			}
			if !errors.Is(err, ErrPortUnavailable) {
				t.Errorf("error %v does not wrap ErrPortUnavailable", err)
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Errorf("took %v to fail", d)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestBadOptions(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string]Options{
		"ui port":      {UIPort: -2},
		"ip":           {IP: "not-an-ip"},
		"missing dir":  {DBFile: filepath.Join(t.TempDir(), "nope", "x.db")},
		"not a sqlite": {DBFile: writeFile(t, "junk.db", "this is not a database file, just text padding it out")},
	} {
		if _, err := Start(ctx, opts); err == nil {
			t.Errorf("%s: Start succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartContextExpires(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(canceled, Options{UIPort: -1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Start(canceled ctx) = %v, want context.Canceled", err)
	}

	// A deadline that expires while the server is starting: Start gives up
	// with the context's error and the half-started server is stopped in the background.
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	srv, err := Start(ctx, Options{DBFile: dbFile, UIPort: -1, Logger: testLogger()})
	if err == nil {
		// The machine was fast enough; that is fine too.
		t.Logf("started within 50ms")
		_ = srv.Stop()
		return
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Start = %v, want context.DeadlineExceeded", err)
	}
	t.Logf("gave up after %v: %v", time.Since(began), err)

	// The database is released once the background stop is done; then it starts normally.
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	for {
		srv, err := Start(ctx2, Options{DBFile: dbFile, UIPort: -1, Logger: testLogger()})
		if err == nil {
			if err := srv.Stop(); err != nil {
				t.Errorf("Stop: %v", err)
			}
			return
		}
		if !strings.Contains(err.Error(), "already used") || ctx2.Err() != nil {
			t.Fatalf("Start after expired start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEchoHandlerFound fails if a ui-server upgrade moved the field that
// startUI reads (startUI would fall back to ui-server's own listener).
func TestEchoHandlerFound(t *testing.T) {
	ui := uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host: "127.0.0.1", Port: 1, TemporalGRPCAddress: "127.0.0.1:1", EnableUI: true, HideLogs: true,
	}))
	if echoHandler(ui) == nil {
		t.Fatal("echoHandler found no *echo.Echo in ui-server's Server")
	}
}

func TestDBFileGuards(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	srv, err := Start(ctx, Options{DBFile: dbFile, UIPort: -1, Logger: testLogger()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	// A second server on the same file in this process is refused.
	if _, err := Start(ctx, Options{DBFile: dbFile, UIPort: -1}); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("second Start on a database in use = %v, want 'already used' error", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// Removing the file under this process is reported, not met with a
	// confusing schema error.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(dbFile + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if _, err := Start(ctx, Options{DBFile: dbFile, UIPort: -1}); err == nil || !strings.Contains(err.Error(), "removed or replaced") {
		t.Errorf("Start on a removed database = %v, want 'removed or replaced' error", err)
	}
}

func TestServerLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	q := &quietOnStop{base: slog.LevelWarn}
	l := serverLogger{l: slog.New(levelHandler{min: q, inner: base.Handler()}), q: q}

	l.Info("info-dropped")
	l.Warn("warn-kept")
	l.With().Error("error-kept")
	q.stopping.Store(true)
	l.Warn("warn-while-stopping-dropped")
	l.Error("canceled-while-stopping-dropped", tag.Error(context.Canceled))
	l.Fatal("fatal-while-stopping-kept")

	out := buf.String()
	for _, want := range []string{"warn-kept", "error-kept", "fatal-while-stopping-kept"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "dropped") {
		t.Errorf("log output has a record that should be dropped:\n%s", out)
	}
}
