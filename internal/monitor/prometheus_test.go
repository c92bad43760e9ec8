package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gopkg.in/yaml.v3"

	"github.com/modelmon/modelmon/deploy"
	"github.com/modelmon/modelmon/internal/httpmetrics"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/store"
	"github.com/modelmon/modelmon/internal/taxi"
)

// Datasets of the end-to-end test: January 2022 rides (drift against the January 2021
// reference) through a /predict handler wired as the online service does it,
// February 2021 rides (no drift) through Observe, and February 2021 rides through
// POST /iterate into a generic dataset tested with ks (so p-values exist).
const (
	dsDrift   = "taxi_2022_01"
	dsQuiet   = "taxi_2021_02"
	dsIterate = "rides_iterate"
	e2eWindow = 10000 // 3000 is too small: see window_size in config.yaml
)

func e2eConfig(t *testing.T) *Config {
	t.Helper()
	root := repoRoot(t)
	ref := filepath.Join(root, "data/green_tripdata_2021-01.parquet")
	taxiDS := func(name string) string {
		return "  " + name + ":\n" +
			"    column_mapping:\n      categorical_features: [PULocationID, DOLocationID]\n      numerical_features: [trip_distance]\n      target: duration\n" +
			"    reference_file: " + ref + "\n    adapter: taxi\n    prediction_unit: minutes\n"
	}
	y := "datasets:\n" + taxiDS(dsDrift) + taxiDS(dsQuiet) +
		"  " + dsIterate + ":\n" +
		"    column_mapping:\n      categorical_features: [PULocationID, DOLocationID]\n      numerical_features: [trip_distance]\n      target: duration\n" +
		"    reference_file: " + ref + "\n    prediction_unit: minutes\n" +
		"    drift:\n      per_column:\n        trip_distance: {stattest: ks}\n" +
		"service:\n  calculation_period_sec: 1\n  min_reference_size: 30\n  window_size: " + fmt.Sprint(e2eWindow) + "\n  evidently_metric_names: true\n"
	cfg, err := ParseConfig([]byte(y), "e2e.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPrometheusEndToEnd runs the monitor behind an HTTP server, a real Prometheus
// scraping it every second with the real alert rules (for: shortened), replays real
// rides and checks the alerts, every Grafana panel's query and promtool.
func TestPrometheusEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the end-to-end test with a real Prometheus")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian: apt-get install prometheus; CI installs it): skipping the end-to-end test")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus): skipping the end-to-end test")
	}
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("promtool", func(t *testing.T) {
		for _, args := range [][]string{
			{"check", "config", filepath.Join(root, "deploy/prometheus.yml")},
			{"check", "rules", filepath.Join(root, "deploy/alerts.yml")},
		} {
			cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
			out, err := exec.CommandContext(cctx, promtool, args...).CombinedOutput()
			ccancel()
			if err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})

	// The online service: monitor, /predict, /iterate, /metrics, store metrics.
	cfg := e2eConfig(t)
	mod := testModel(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := New(ctx, cfg, reg, quietLogger(), WithModel(mod))
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		sync.Mutex
		s store.LoggerStats
	}
	sm, err := NewStoreMetrics(reg, func() store.LoggerStats { stats.Lock(); defer stats.Unlock(); return stats.s })
	if err != nil {
		t.Fatal(err)
	}
	mw, err := httpmetrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(mw)
	m.Routes(r)
	r.Post("/predict", func(w http.ResponseWriter, req *http.Request) {
		var tr taxi.Trip
		if err := json.NewDecoder(req.Body).Decode(&tr); err != nil || !tr.KeepForTraining() {
			http.Error(w, "bad ride", http.StatusBadRequest)
			return
		}
		pred := mod.Predict(taxi.PUDO(*tr.PULocationID, *tr.DOLocationID), []float64{*tr.TripDistance})
		dur, _ := tr.DurationMinutes()
		m.Observe(dsDrift, report.TaxiRow(&tr, pred, &dur)) // the hook after each prediction
		stats.Lock()
		stats.s.Batches++
		stats.s.Records++
		stats.s.Queued = stats.s.Records % 3
		stats.Unlock()
		sm.ObserveWrite(1, 200*time.Microsecond)
		_ = json.NewEncoder(w).Encode(map[string]float64{"duration": pred})
	})
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	online := httptest.NewServer(r)
	defer online.Close()

	// The batch worker's metrics (its own process in production).
	wreg := prometheus.NewRegistry()
	rmse := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelmon_batch_last_rmse", Help: "x"}, []string{"dataset"})
	share := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelmon_batch_last_share_drifted_columns", Help: "x"}, []string{"dataset"})
	runs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modelmon_batch_windows", Help: "x"}, []string{"dataset", "status"})
	wreg.MustRegister(rmse, share, runs)
	rmse.WithLabelValues("taxi").Set(6.3)
	share.WithLabelValues("taxi").Set(0.33)
	runs.WithLabelValues("taxi", "completed").Set(3)
	worker := httptest.NewServer(promhttp.HandlerFor(wreg, promhttp.HandlerOpts{}))
	defer worker.Close()

	runCtx, stopRun := context.WithCancel(ctx)
	var runWG sync.WaitGroup
	runWG.Add(1)
	go func() { defer runWG.Done(); m.Run(runCtx) }()
	defer func() { stopRun(); runWG.Wait() }()

	prom := startPrometheus(t, ctx, promBin, root, online.Listener.Addr().String(), worker.Listener.Addr().String())

	// Replay the rides.
	jan22, feb21 := sampleRides(t, "2022-01", e2eWindow), sampleRides(t, "2021-02", e2eWindow)
	var wg sync.WaitGroup
	var replayErr atomic.Value
	wg.Add(3)
	go func() { // January 2022 through /predict
		defer wg.Done()
		client := &http.Client{Timeout: 10 * time.Second}
		for _, tr := range jan22 {
			b, _ := json.Marshal(&tr)
			resp, err := client.Post(online.URL+"/predict", "application/json", bytes.NewReader(b))
			if err != nil {
				replayErr.Store(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				replayErr.Store(fmt.Errorf("/predict: %s", resp.Status))
				return
			}
		}
	}()
	go func() { // February 2021 through Observe
		defer wg.Done()
		for _, tr := range feb21 {
			m.Observe(dsQuiet, taxiRow(mod, &tr))
		}
	}()
	go func() { // February 2021 through POST /iterate, 500 records a request
		defer wg.Done()
		rides := feb21
		for i := 0; i < len(rides); i += 500 {
			var recs []map[string]any
			for _, tr := range rides[i:min(i+500, len(rides))] {
				row := taxiRow(mod, &tr)
				recs = append(recs, map[string]any{
					"PULocationID": *tr.PULocationID, "DOLocationID": *tr.DOLocationID, "trip_distance": *tr.TripDistance,
					"prediction": row.Prediction, "duration": *row.Target, "VendorID": tr.VendorID,
				})
			}
			b, _ := json.Marshal(recs)
			resp, err := http.Post(online.URL+"/iterate/"+dsIterate, "application/json", bytes.NewReader(b))
			if err != nil {
				replayErr.Store(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				replayErr.Store(fmt.Errorf("/iterate: %s", resp.Status))
				return
			}
		}
	}()
	wg.Wait()
	if err, _ := replayErr.Load().(error); err != nil {
		t.Fatal(err)
	}

	t.Logf("replayed %d rides into each dataset", e2eWindow)
	// The drift alert fires for January 2022.
	waitFor(t, ctx, 60*time.Second, "ModelmonDatasetDrift firing for "+dsDrift, func() (bool, string) {
		alerts := prom.alerts(t)
		return slices.Contains(alerts, "ModelmonDatasetDrift/"+dsDrift+"/firing"), fmt.Sprint(alerts)
	})
	// Every dataset has been computed and scraped.
	waitFor(t, ctx, 30*time.Second, "all datasets computed", func() (bool, string) {
		res := prom.query(t, `modelmon_last_computation_timestamp_seconds > 0`)
		return len(res) == 3, fmt.Sprint(res)
	})
	time.Sleep(3 * time.Second) // a few more evaluations

	for _, ds := range []string{dsDrift, dsQuiet, dsIterate} {
		var cols []string
		for _, s := range prom.query(t, `modelmon_drift_score{dataset="`+ds+`"}`) {
			cols = append(cols, fmt.Sprintf("%s %s=%.4g", s.Metric["column"], s.Metric["stattest"], s.Value))
		}
		t.Logf("%s: dataset drift %v, %s", ds, prom.query(t, `modelmon_dataset_drift{dataset="`+ds+`"}`), strings.Join(cols, ", "))
	}
	// February 2021 stays quiet: never pending or firing.
	if res := prom.query(t, `max_over_time(ALERTS{alertname="ModelmonDatasetDrift", dataset="`+dsQuiet+`"}[10m])`); len(res) > 0 {
		t.Errorf("drift alert on %s: %v", dsQuiet, res)
	}
	if res := prom.query(t, `modelmon_dataset_drift{dataset="`+dsQuiet+`"} == 0`); len(res) != 1 {
		t.Errorf("dataset drift of %s: %v", dsQuiet, prom.query(t, `modelmon_dataset_drift`))
	}
	if res := prom.query(t, `modelmon_drift_score{dataset="`+dsDrift+`", column="PULocationID", stattest="jensenshannon"} > 0.2`); len(res) != 1 {
		t.Errorf("PULocationID drift of %s: %v", dsDrift, prom.query(t, `modelmon_drift_score{column="PULocationID"}`))
	}
	if res := prom.query(t, `modelmon_drift_score{dataset="`+dsQuiet+`", column="PULocationID", stattest="jensenshannon"} < 0.1`); len(res) != 1 {
		t.Errorf("PULocationID drift of %s: %v", dsQuiet, prom.query(t, `modelmon_drift_score{column="PULocationID"}`))
	}
	// The seed's Evidently names.
	for _, q := range []string{
		`evidently:data_drift:dataset_drift{dataset_name="` + dsDrift + `"} == 1`,
		`evidently:data_drift:p_value{dataset_name="` + dsQuiet + `", feature="PULocationID", feature_type="cat"}`,
		`evidently:data_drift:n_drifted_features`, `evidently:data_drift:share_drifted_features`,
	} {
		if len(prom.query(t, q)) == 0 {
			t.Errorf("no data for %s", q)
		}
	}

	// Every Grafana panel's query returns data, as Grafana sends it with the
	// dashboards' default variables (the default jobs are those of the shipped config).
	dashboards, err := deploy.Dashboards()
	if err != nil || len(dashboards) < 4 {
		t.Fatalf("dashboards: %d %v", len(dashboards), err)
	}
	checked := 0
	for _, d := range dashboards {
		for _, q := range d.Queries {
			expr, err := d.Resolve(q.Expr, "5s", "1m")
			if err != nil {
				t.Error(err)
				continue
			}
			if len(prom.query(t, expr)) == 0 {
				t.Errorf("%s: panel %q: no data for %s", d.File, q.Panel, expr)
			}
			checked++
		}
	}
	t.Logf("%d panel queries return data", checked)
	prom.stop(t)
}

func waitFor(t *testing.T, ctx context.Context, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
}

type promServer struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
	once sync.Once
}

// startPrometheus runs prometheus on a free loopback port with a temporary config:
// the shipped configuration with 1 s scrapes of the online service and the worker,
// and deploy/alerts.yml with every `for:` shortened to 1 s. It is stopped (its process group killed) at cleanup.
func startPrometheus(t *testing.T, ctx context.Context, bin, root, onlineAddr, workerAddr string) *promServer {
	t.Helper()
	dir := t.TempDir()
	rules := shortenAlertRules(t, filepath.Join(root, "deploy/alerts.yml"))
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	// The shipped configuration (deploy/prometheus.yml.tmpl) with this test's
	// targets, 1 s intervals, no self-scrape and no Alertmanager.
	conf, err := deploy.PrometheusConfig(deploy.Targets{Online: onlineAddr, Worker: workerAddr, RuleFile: "alerts.yml", Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	p := &promServer{url: "http://127.0.0.1:" + port, done: make(chan struct{}), log: &bytes.Buffer{}}
	p.cmd = exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+port,
		"--log.level=warn")
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	waitFor(t, ctx, 30*time.Second, "prometheus ready", func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("prometheus exited: %s", p.log)
		default:
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	waitFor(t, ctx, 30*time.Second, "both targets scraped", func() (bool, string) {
		res := p.query(t, `up == 1`)
		return len(res) == 2, fmt.Sprint(res)
	})
	return p
}

// stop kills prometheus's process group and waits for it (bounded).
func (p *promServer) stop(t *testing.T) {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				t.Errorf("prometheus (pid %d) did not exit", pgid)
			}
		}
	})
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// shortenAlertRules returns the rule file with every `for:` set to 1s.
func shortenAlertRules(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	groups, _ := doc["groups"].([]any)
	n := 0
	for _, g := range groups {
		rules, _ := g.(map[string]any)["rules"].([]any)
		for _, r := range rules {
			rule := r.(map[string]any)
			if _, ok := rule["alert"]; ok {
				rule["for"] = "1s"
				n++
			}
		}
	}
	if n == 0 {
		t.Fatalf("%s: no alert rules", path)
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type promSample struct {
	Metric map[string]string
	Value  float64
}

func (p *promServer) query(t *testing.T, q string) []promSample {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	if body.Status != "success" {
		t.Fatalf("query %s: %s", q, body.Error)
	}
	var out []promSample
	for _, r := range body.Data.Result {
		var v float64
		if s, ok := r.Value[1].(string); ok {
			fmt.Sscan(s, &v)
		}
		out = append(out, promSample{r.Metric, v})
	}
	return out
}

// alerts lists active alerts as "name/dataset/state".
func (p *promServer) alerts(t *testing.T) []string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(p.url + "/api/v1/alerts")
	if err != nil {
		t.Fatalf("alerts: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("alerts: %v", err)
	}
	var out []string
	for _, a := range body.Data.Alerts {
		out = append(out, a.Labels["alertname"]+"/"+a.Labels["dataset"]+"/"+a.State)
	}
	slices.Sort(out)
	return out
}
