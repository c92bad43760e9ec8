package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/testutil"
)

const modelPath = "../models/duration_model.json"

var ferret *mongotest.Server

// TestMain starts one FerretDB for the package.
func TestMain(m *testing.M) {
	os.Exit(mongotest.Main(m, func(_ context.Context, s *mongotest.Server) (func(), error) {
		ferret = s
		return nil, nil
	}))
}

// env is the process environment of a test run; the repository's config.yaml is the
// live-monitoring config unless the test sets MONITOR_CONFIG.
func env(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		if k == "MONITOR_CONFIG" {
			return filepath.Join("..", "config.yaml")
		}
		if k == "SPOOL_DIR" {
			// Not the default var/spool under online/.
			d, err := os.MkdirTemp("", "online-spool-")
			if err != nil {
				panic(err)
			}
			return d
		}
		return ""
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, base string, done <-chan int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			t.Fatalf("online exited with %d before serving", code)
		default:
		}
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("online did not start")
}

func TestHelpListsEveryFlagAndVariable(t *testing.T) {
	var out testutil.SyncBuffer
	if code := run(context.Background(), []string{"--help"}, env(nil), &out); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"--online-addr", "ONLINE_ADDR", "127.0.0.1:9696", "--mongodb-address", "MONGODB_ADDRESS", "mongodb://127.0.0.1:27017",
		"--model-path", "MODEL_PATH", "--log-batch-size", "LOG_BATCH_SIZE", "--log-batch-delay", "--log-queue-size", "--log-writers", "--log-write-timeout",
		"--request-timeout", "--shutdown-timeout", "--log-level", "--log-format", "--pprof-addr", "--monitor-config", "MONITOR_CONFIG"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s:\n%s", want, out.String())
		}
	}
}

func TestBadConfigurationExits2(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"bad env integer":  {nil, map[string]string{"LOG_BATCH_SIZE": "many"}},
		"bad env duration": {nil, map[string]string{"LOG_BATCH_DELAY": "soon"}},
		"zero batch":       {[]string{"--log-batch-size", "0"}, nil},
		"bad log level":    {[]string{"--log-level", "loud"}, nil},
		"unknown flag":     {[]string{"--port", "1"}, nil},
		"extra argument":   {[]string{"serve"}, nil},
	} {
		var out testutil.SyncBuffer
		if code := run(context.Background(), c.args, env(c.env), &out); code != 2 {
			t.Errorf("%s: exit %d, want 2 (%s)", name, code, out.String())
		}
	}
	var out testutil.SyncBuffer
	if code := run(context.Background(), []string{"--online-addr", "127.0.0.1:0", "--model-path", "/nonexistent.json"}, env(nil), &out); code != 1 {
		t.Errorf("missing model: exit %d, want 1 (%s)", code, out.String())
	}
}

// TestGracefulStopFlushesPendingRecords stops the service while requests wait for
// their batch (a long batch delay): each of them still gets its 200 and its record.
func TestGracefulStopFlushesPendingRecords(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--log-batch-delay", "500ms"}, env(map[string]string{
			"ONLINE_ADDR": addr, "MONGODB_ADDRESS": ferret.URI, "MODEL_PATH": modelPath, "LOG_FORMAT": "json",
		}), &logs)
	}()
	waitHealthy(t, base, done)

	const n = 12
	var wg sync.WaitGroup
	status := make([]int, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("stop-%d-%d", time.Now().UnixNano(), i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"id":%q,"PULocationID":130,"DOLocationID":205,"trip_distance":3.66}`, ids[i])
			res, err := http.Post(base+"/predict", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(res.Body).Decode(&out)
			status[i] = res.StatusCode
		}()
	}
	time.Sleep(150 * time.Millisecond) // the requests now wait for their batch
	cancel()
	wg.Wait()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("online did not stop")
	}
	c, err := mongodb.Connect(context.Background(), ferret.URI)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	coll := c.Database(mongodb.Database).Collection(mongodb.CollectionData)
	for i, id := range ids {
		if status[i] != http.StatusOK {
			t.Errorf("%s: status %d", id, status[i])
			continue
		}
		if err := coll.FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Err(); err != nil {
			t.Errorf("%s acknowledged but not stored: %v", id, err)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no stop log:\n%s", logs.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after the stop")
	}
}

func TestCredentialsAreNotLogged(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs testutil.SyncBuffer
	done := make(chan int, 1)
	addr := freeAddr(t)
	go func() {
		done <- run(ctx, []string{"--online-addr", addr, "--model-path", modelPath, "--mongodb-address", "mongodb://alice:hunter2@127.0.0.1:1/?authSource=admin"}, env(nil), &logs)
	}()
	waitHealthy(t, "http://"+addr, done)
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready map[string]any
	_ = json.NewDecoder(res.Body).Decode(&ready)
	res.Body.Close()
	// The spool takes the predictions: ready, degraded.
	if res.StatusCode != http.StatusOK || ready["status"] != "degraded" {
		t.Errorf("/readyz with no database: %d %v", res.StatusCode, ready)
	}
	// A prediction goes to the spool, and the drainer retries: their logs must
	// not carry the credentials either.
	res, err = http.Post("http://"+addr+"/predict", "application/json",
		strings.NewReader(`{"PULocationID":130,"DOLocationID":205,"trip_distance":3.66}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("predict with no database: %d", res.StatusCode)
	}
	time.Sleep(time.Second)
	cancel()
	<-done
	out := logs.String()
	if strings.Contains(out, "hunter2") || strings.Contains(out, "alice") {
		t.Errorf("credentials in the log:\n%s", out)
	}
	if !strings.Contains(out, "spool") {
		t.Errorf("no spool log lines:\n%s", out)
	}
	if !strings.Contains(out, "REDACTED@127.0.0.1:1") {
		t.Errorf("the redacted address is not logged:\n%s", out)
	}
}

// The command serves the live monitor: /metrics has the HTTP metrics labelled by route
// pattern and the taxi window fed by /predict; /iterate/{dataset} is mounted.
func TestMonitoringIsWired(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testutil.SyncBuffer
	done := make(chan int, 1)
	addr := freeAddr(t)
	go func() {
		done <- run(ctx, []string{"--online-addr", addr, "--model-path", modelPath, "--mongodb-address", ferret.URI}, env(nil), &logs)
	}()
	base := "http://" + addr
	waitHealthy(t, base, done)
	for i := range 3 {
		body := fmt.Sprintf(`{"id":"wired-%d-%d","PULocationID":74,"DOLocationID":75,"trip_distance":2.5}`, time.Now().UnixNano(), i)
		res, err := http.Post(base+"/predict", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("predict: %d", res.StatusCode)
		}
	}
	res, err := http.Post(base+"/iterate/no-such-dataset", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/iterate of an unknown dataset: %d, want 404", res.StatusCode)
	}
	res, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	metrics := string(raw)
	for _, want := range []string{
		`modelmon_http_requests_total{code="200",method="POST",route="/predict"} 3`,
		`modelmon_window_rows{dataset="taxi"} 3`,
		`modelmon_records_observed_total{dataset="taxi"} 3`,
		`go_goroutines`,
		`modelmon_spool_records`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, logs.String())
	}
}
