package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelmon/modelmon/internal/httpmetrics"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/store"
)

func TestRingKeepsLastRowsInOrder(t *testing.T) {
	r := newRing(4, 1, 1)
	push := func(i int, missing bool) {
		s := r.begin()
		r.setNum(0, s, float64(i), !missing)
		r.setCat(0, s, fmt.Sprint(i), !missing)
		r.setPrediction(s, float64(10*i), true)
		r.setTarget(s, float64(i), i%2 == 0)
		r.commit()
	}
	push(0, false)
	push(1, true)
	push(2, false)
	snap := newSnapshot([]string{"x"}, []string{"c"}, 4)
	ds := snap.fill(r)
	if ds.Rows != 3 || fmt.Sprint(ds.Numerical["x"].Values) != "[0 0 2]" || fmt.Sprint(ds.Numerical["x"].Valid) != "[true false true]" {
		t.Fatalf("3 rows: %+v %+v", ds.Numerical["x"], ds)
	}
	for i := 3; i < 7; i++ {
		push(i, false)
	}
	ds = snap.fill(r)
	if ds.Rows != 4 || fmt.Sprint(ds.Numerical["x"].Values) != "[3 4 5 6]" || ds.Numerical["x"].Valid != nil {
		t.Fatalf("after wrap: %+v", ds.Numerical["x"])
	}
	if fmt.Sprint(ds.Categorical["c"].Values) != "[3 4 5 6]" || ds.Categorical["c"].Valid != nil {
		t.Errorf("categorical %+v", ds.Categorical["c"])
	}
	if fmt.Sprint(ds.Prediction) != "[30 40 50 60]" || fmt.Sprint(ds.TargetValid) != "[false true false true]" {
		t.Errorf("prediction %v target valid %v", ds.Prediction, ds.TargetValid)
	}
	// A long category is truncated (bounded memory).
	s := r.begin()
	r.setCat(0, s, strings.Repeat("x", 10*MaxCategoryBytes), true)
	r.setNum(0, s, 0, true)
	r.setPrediction(s, 0, true)
	r.setTarget(s, 0, false)
	r.commit()
	if got := len(snap.fill(r).Categorical["c"].Values[3]); got != MaxCategoryBytes {
		t.Errorf("category of %d bytes kept", got)
	}
}

func TestObserveComputeAndMetrics(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "  evidently_metric_names: true\n")
	m, reg := newTestMonitor(t, cfg)
	ctx := context.Background()
	if err := m.Compute(ctx, "rides"); !errors.Is(err, ErrNotReady) {
		t.Fatalf("empty window: %v", err)
	}
	for i := range 4 {
		r := row([]string{"a", "b", "z", "z"}[i], float64(i), 10+float64(i))
		if i == 0 {
			delete(r.Num, "distance")
		}
		m.Observe("rides", r)
	}
	if got := series(t, reg, MetricWindowFill)["dataset=rides"]; got != 1 {
		t.Errorf("window fill %v", got)
	}
	dump := func(d *report.Dataset) string {
		return fmt.Sprint(d.Rows, *d.Numerical["distance"], *d.Categorical["zone"], d.Prediction, d.Target, d.TargetValid)
	}
	refBefore := dump(m.datasets["rides"].ref)
	if err := m.Compute(ctx, "rides"); err != nil {
		t.Fatal(err)
	}
	if dump(m.datasets["rides"].ref) != refBefore {
		t.Error("report.Compute modified the shared reference")
	}
	rep, at := m.Report("rides")
	if rep == nil || at.IsZero() || rep.CurrentRows != 4 || rep.ReferenceRows != 6 {
		t.Fatalf("report %+v at %v", rep, at)
	}
	for _, name := range []string{MetricDriftScore, MetricDriftThreshold, MetricColumnDrifted} {
		got := series(t, reg, name)
		for _, col := range []string{"distance", "zone", "prediction"} {
			found := false
			for k := range got {
				if strings.Contains(k, "column="+col+",") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no series for column %s: %v", name, col, got)
			}
		}
	}
	if got := series(t, reg, MetricMissingRatio)["column=distance,dataset=rides"]; got != 0.25 {
		t.Errorf("missing share of distance = %v, want 0.25", got)
	}
	if got, ok := series(t, reg, MetricNewCategories)["column=zone,dataset=rides"]; !ok || got != 1 {
		t.Errorf("new categories of zone = %v (%v), want 1 (z)", got, ok)
	}
	if _, ok := series(t, reg, MetricDatasetDrift)["dataset=rides"]; !ok {
		t.Error("no dataset drift series")
	}
	if got := series(t, reg, "modelmon_prediction")["dataset=rides"]; got != 4 {
		t.Errorf("prediction histogram count %v", got)
	}
	if got := series(t, reg, MetricRecordsObserved)["dataset=rides"]; got != 4 {
		t.Errorf("observed %v", got)
	}
	ev := series(t, reg, evidentlyPValue)
	if _, ok := ev["dataset_name=rides,feature=zone,feature_type=cat"]; !ok || len(ev) != 2 {
		t.Errorf("evidently p_value series: %v", ev)
	}
	for _, n := range []string{evidentlyNDrifted, evidentlyShareDrifted, evidentlyDatasetDrift} {
		if _, ok := series(t, reg, n)["dataset_name=rides"]; !ok {
			t.Errorf("no %s", n)
		}
	}
	if got := series(t, reg, MetricLastTimestamp)["dataset=rides"]; got < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last computation timestamp %v", got)
	}
	// Unknown datasets are counted, never labelled.
	m.Observe("nope", row("a", 1, 1))
	if got := series(t, reg, MetricUnknownDataset)[""]; got != 1 {
		t.Errorf("unknown dataset counter %v", got)
	}
}

func TestMetricsLint(t *testing.T) {
	cfg := smallConfig(t, refCSV, "    prediction_unit: minutes\n", "  evidently_metric_names: true\n")
	m, reg := newTestMonitor(t, cfg)
	for i := range 4 {
		r := row("a", float64(i), 10)
		r.Target = new(float64(12))
		m.Observe("rides", r)
	}
	if err := m.Compute(context.Background(), "rides"); err != nil {
		t.Fatal(err)
	}
	mw, err := httpmetrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	mw(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	if _, err := NewStoreMetrics(reg, func() store.LoggerStats { return store.LoggerStats{Batches: 1, Records: 3} }); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "modelmon_") {
			names = append(names, mf.GetName())
		}
	}
	if len(names) < 30 {
		t.Errorf("only %d modelmon_ families: %v", len(names), names)
	}
	problems, err := testutil.GatherAndLint(reg, names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	// The same through each collector (the evidently:* names, with ':', are exempt).
	for _, c := range []prometheus.Collector{m.met, m.met.observed, m.met.computed, m.met.failed, m.met.rejected, m.met.unknownDataset} {
		problems, err := testutil.CollectAndLint(c, names...)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint (collector): %s: %s", p.Metric, p.Text)
		}
	}
	if _, ok := series(t, reg, "modelmon_prediction_seconds")["dataset=rides"]; !ok {
		t.Error("prediction histogram in minutes is not exported as modelmon_prediction_seconds")
	}
}

// Garbage categories and dataset names never create series.
func TestLabelCardinalityBounded(t *testing.T) {
	// A reference of 120 rows: not smaller than the window.
	cfg := smallConfig(t, refCSV+strings.Repeat(strings.SplitN(refCSV, "\n", 2)[1], 19), "", "  window_size: 100\n  evidently_metric_names: true\n")
	m, reg := newTestMonitor(t, cfg)
	srv := httptest.NewServer(routerFor(t, m, reg))
	defer srv.Close()
	for i := range 100 {
		m.Observe("rides", row("a", float64(i%7), 10))
	}
	if err := m.Compute(context.Background(), "rides"); err != nil {
		t.Fatal(err)
	}
	// One request of each status first: the (bounded) status codes are label values.
	post(t, srv.URL+"/iterate/rides", `{"zone": "a", "distance": 1, "prediction": 3}`, 200)
	post(t, srv.URL+"/iterate/other", `{}`, 404)
	post(t, srv.URL+"/iterate/rides", `{"zone": []}`, 400)
	before := countSeries(t, reg)
	for i := range 10000 {
		m.Observe("rides", row(fmt.Sprintf("garbage-%d-%x", i, i*7919), float64(i), float64(i)))
		if i%1000 == 0 {
			m.Observe(fmt.Sprintf("dataset-%d", i), row("a", 1, 1))
		}
	}
	var body bytes.Buffer
	body.WriteString("[")
	for i := range 1000 {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"zone": "junk%d", "distance": %d, "prediction": 1, "other%d": "x"}`, i, i, i)
	}
	body.WriteString("]")
	post(t, srv.URL+"/iterate/rides", body.String(), 200)
	post(t, srv.URL+"/iterate/garbage-dataset", `{}`, 404)
	post(t, srv.URL+"/iterate/rides", `{"zone": {"x": 1}}`, 400)
	if err := m.Compute(context.Background(), "rides"); err != nil {
		t.Fatal(err)
	}
	if after := countSeries(t, reg); after != before {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			t.Logf("%s: %d", mf.GetName(), len(mf.GetMetric()))
		}
		t.Fatalf("series: %d before, %d after 10k garbage categories", before, after)
	}
	if got := series(t, reg, MetricNewCategories)["column=zone,dataset=rides"]; got < 90 {
		t.Errorf("new categories %v: the garbage was not counted", got)
	}
}

func routerFor(t testing.TB, m *Monitor, reg *prometheus.Registry) chi.Router {
	t.Helper()
	r := chi.NewRouter()
	mw, err := httpmetrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	r.Use(mw)
	m.Routes(r)
	return r
}

func post(t testing.TB, url, body string, want int) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: %d, body is not JSON: %v", url, resp.StatusCode, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %v, want %d", url, resp.StatusCode, out, want)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	return out
}

func TestIterateHandler(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "  iterate_max_body_bytes: 2048\n")
	m, reg := newTestMonitor(t, cfg)
	srv := httptest.NewServer(routerFor(t, m, reg))
	defer srv.Close()
	u := srv.URL + "/iterate/rides"

	if out := post(t, u, `{"zone": "a", "distance": 1.5, "prediction": 12, "duration": 11, "ignored": [1]}`, 200); out["accepted"] != 1.0 {
		t.Errorf("object: %v", out)
	}
	out := post(t, u, `[{"zone": 132, "distance": "2.5", "prediction": 12}, {"zone": 132.0, "distance": null}, {"zone": true}]`, 200)
	if out["accepted"] != 3.0 {
		t.Errorf("array: %v", out)
	}
	ds := m.datasets["rides"].cur.fill(m.datasets["rides"].window)
	if fmt.Sprint(ds.Categorical["zone"].Values) != "[a 132 132 true]" || fmt.Sprint(ds.Numerical["distance"].Valid) != "[true true false false]" {
		t.Errorf("window: %+v %+v", ds.Categorical["zone"], ds.Numerical["distance"])
	}
	if ds.Prediction != nil {
		t.Error("window with rows without prediction has predictions")
	}
	if fmt.Sprint(ds.Target, ds.TargetValid) != "[11 0 0 0] [true false false false]" {
		t.Errorf("target %v %v", ds.Target, ds.TargetValid)
	}

	for _, tc := range []struct{ body, want string }{
		{``, "empty body"},
		{`"x"`, "want a JSON object"},
		{`{"zone": "a"`, "invalid JSON"},
		{`[{"zone": "a"}, 3]`, "invalid JSON"},
		{`{"zone": "a"} {"zone": "b"}`, "trailing data"},
		{`[{"zone": "a"}, {"distance": "far"}]`, `record 1: field "distance": "far" is not a number`},
		{`{"zone": ["a"]}`, `record 0: field "zone": want a string or number, got an array`},
		{`{"prediction": {}}`, `field "prediction" (prediction)`},
		{`[null]`, "record 0: null"},
	} {
		out := post(t, u, tc.body, 400)
		if msg, _ := out["error"].(string); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q, want %q", tc.body, msg, tc.want)
		}
	}
	out = post(t, srv.URL+"/iterate/bikes", `{}`, 404)
	if msg, _ := out["error"].(string); !strings.Contains(msg, `unknown dataset "bikes"`) {
		t.Errorf("404: %v", out)
	}
	big := `[` + strings.Repeat(`{"zone": "a", "distance": 1},`, 200) + `{}]`
	post(t, u, big, 413)
	if got := series(t, reg, MetricRecordsRejected); got["dataset=rides,reason=too_large"] != 1 || got["dataset=rides,reason=bad_request"] != 9 {
		t.Errorf("rejected: %v", got)
	}
	if got := series(t, reg, MetricRecordsObserved)["dataset=rides"]; got != 4 {
		t.Errorf("observed %v, want 4: a bad body must not be half-ingested", got)
	}
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/monitor/bikes/report"); code != 404 {
		t.Errorf("report of an unknown dataset: %d", code)
	}
	if got := series(t, reg, httpmetrics.MetricRequests); got["code=413,method=POST,route=/iterate/{dataset}"] != 1 || got["code=404,method=POST,route=/iterate/{dataset}"] != 1 {
		t.Errorf("http metrics: %v", got)
	}

	// The report endpoint, on a window of known categories.
	post(t, u, `[{"zone": "a", "distance": 1.5, "prediction": 12}, {"zone": "b", "distance": 2, "prediction": 12}, {"zone": "c", "distance": 3, "prediction": 13}, {"zone": "a", "distance": 1, "prediction": 11}]`, 200)
	resp, err := http.Get(srv.URL + "/monitor/rides/report")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("report before any computation: %d", resp.StatusCode)
	}
	if err := m.Compute(context.Background(), "rides"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(srv.URL + "/monitor/rides/report")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Dataset string         `json:"dataset"`
		Report  *report.Report `json:"report"`
	}
	err = json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || rep.Report == nil || rep.Report.CurrentRows != 4 {
		t.Errorf("report: %d %v %+v", resp.StatusCode, err, rep)
	}
}

// A computation in progress never blocks Observe.
func TestComputeDoesNotBlockObserve(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "")
	m, _ := newTestMonitor(t, cfg)
	entered, release := make(chan struct{}), make(chan struct{})
	orig := computeReport
	computeReport = func(ctx context.Context, ref, cur *report.Dataset, c report.Config) (*report.Report, error) {
		close(entered)
		<-release
		return orig(ctx, ref, cur, c)
	}
	defer func() { computeReport = orig }()
	for i := range 4 {
		m.Observe("rides", row("a", float64(i), 1))
	}
	done := make(chan error, 1)
	go func() { done <- m.Compute(context.Background(), "rides") }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("computation did not start")
	}
	observed := make(chan struct{})
	go func() {
		for i := range 10000 {
			m.Observe("rides", row("b", float64(i), 2))
		}
		close(observed)
	}()
	select {
	case <-observed:
	case <-time.After(10 * time.Second):
		t.Fatal("Observe blocked by a computation")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Run recomputes every calculation_period_sec (not a hard-coded period), and only
// when records arrived.
func TestRunHonoursCalculationPeriod(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "  calculation_period_sec: 0.05\n")
	m, reg := newTestMonitor(t, cfg)
	var calls atomic.Int64
	orig := computeReport
	computeReport = func(ctx context.Context, ref, cur *report.Dataset, c report.Config) (*report.Report, error) {
		calls.Add(1)
		return orig(ctx, ref, cur, c)
	}
	defer func() { computeReport = orig }()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.Run(ctx) }()
	stop := time.After(600 * time.Millisecond)
feed:
	for i := 0; ; i++ {
		select {
		case <-stop:
			break feed
		case <-time.After(5 * time.Millisecond):
			m.Observe("rides", row("a", float64(i%5), 1))
		}
	}
	n := calls.Load()
	time.Sleep(200 * time.Millisecond) // no new records: no computation
	idle := calls.Load() - n
	cancel()
	wg.Wait()
	if n < 4 || n > 14 { // 12 expected; loose bounds for a loaded machine
		t.Errorf("%d computations in 600 ms with a 50 ms period", n)
	}
	if idle > 1 {
		t.Errorf("%d computations without new records", idle)
	}
	if got := series(t, reg, MetricComputations)["dataset=rides"]; got != float64(calls.Load()) {
		t.Errorf("computations counter %v, calls %d", got, calls.Load())
	}
}

func TestComputationErrorsCounted(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "")
	m, reg := newTestMonitor(t, cfg)
	orig := computeReport
	computeReport = func(context.Context, *report.Dataset, *report.Dataset, report.Config) (*report.Report, error) {
		return nil, errors.New("boom")
	}
	defer func() { computeReport = orig }()
	for i := range 4 {
		m.Observe("rides", row("a", float64(i), 1))
	}
	if err := m.Compute(context.Background(), "rides"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	if got := series(t, reg, MetricComputationErrors)["dataset=rides"]; got != 1 {
		t.Errorf("errors counter %v", got)
	}
	if got := series(t, reg, MetricLastTimestamp)["dataset=rides"]; got != 0 {
		t.Errorf("timestamp %v after a failure, want 0 (never computed)", got)
	}
}

// moving_reference: the reference becomes the previous window (the rows evicted from
// the window) once it has min_reference_size rows.
func TestMovingReference(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "  window_size: 3\n  moving_reference: true\n  min_reference_size: 2\n")
	m, reg := newTestMonitor(t, cfg)
	ctx := context.Background()
	var refs []*report.Dataset
	orig := computeReport
	computeReport = func(ctx context.Context, ref, cur *report.Dataset, c report.Config) (*report.Report, error) {
		refs = append(refs, ref)
		return orig(ctx, ref, cur, c)
	}
	defer func() { computeReport = orig }()
	for i := range 4 { // window [1 2 3], previous window [0]
		m.Observe("rides", row("a", float64(i), 1))
	}
	if err := m.Compute(ctx, "rides"); err != nil {
		t.Fatal(err)
	}
	if refs[0].Rows != 6 || series(t, reg, MetricReferenceMoving)["dataset=rides"] != 0 {
		t.Fatalf("with 1 evicted row the reference is the file's: %d rows", refs[0].Rows)
	}
	for i := 4; i < 8; i++ { // window [5 6 7], previous [2 3 4]
		m.Observe("rides", row("a", float64(i), 1))
	}
	if err := m.Compute(ctx, "rides"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(refs[1].Numerical["distance"].Values); got != "[2 3 4]" {
		t.Errorf("moving reference %s, want [2 3 4]", got)
	}
	if series(t, reg, MetricReferenceMoving)["dataset=rides"] != 1 || series(t, reg, MetricReferenceRows)["dataset=rides"] != 3 {
		t.Error("moving reference not exported")
	}
}

// use_reference: false collects the reference from the stream; a reference file
// smaller than min_reference_size is topped up from the stream.
func TestReferenceFromStream(t *testing.T) {
	for _, tc := range []struct {
		name, service string
		wantRef       string
	}{
		{"use_reference false", "  use_reference: false\n  min_reference_size: 3\n  window_size: 2\n", "[0 1 2]"},
		{"top up", "  min_reference_size: 8\n  window_size: 2\n", "[1 2 1.5 3 2.5 1.2 0 1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig(t, refCSV, "", tc.service)
			m, _ := newTestMonitor(t, cfg)
			var ref *report.Dataset
			orig := computeReport
			computeReport = func(ctx context.Context, r, cur *report.Dataset, c report.Config) (*report.Report, error) {
				ref = r
				return orig(ctx, r, cur, c)
			}
			defer func() { computeReport = orig }()
			for i := range 3 {
				m.Observe("rides", row("a", float64(i), 1))
			}
			if err := m.Compute(context.Background(), "rides"); !errors.Is(err, ErrNotReady) {
				t.Fatalf("before the window: %v", err)
			}
			for i := 3; i < 5; i++ {
				m.Observe("rides", row("a", float64(i), 1))
			}
			if err := m.Compute(context.Background(), "rides"); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(ref.Numerical["distance"].Values); !strings.HasPrefix(got, tc.wantRef[:len(tc.wantRef)-1]) {
				t.Errorf("reference %s, want %s", got, tc.wantRef)
			}
			rep, _ := m.Report("rides")
			if rep.CurrentRows != 2 {
				t.Errorf("current rows %d", rep.CurrentRows)
			}
		})
	}
}

// The seed's config.yaml runs as is (generic adapter: the TLC file's columns by name).
func TestSeedConfigRuns(t *testing.T) {
	cfg, err := LoadConfig(seedDir(t) + "/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, reg := newTestMonitor(t, cfg)
	mod := testModel(t)
	for _, tr := range sampleRides(t, "2021-02", 5) {
		m.Observe("taxi", taxiRow(mod, &tr))
	}
	if err := m.Compute(context.Background(), "taxi"); err != nil {
		t.Fatal(err)
	}
	if got := series(t, reg, MetricReferenceRows)["dataset=taxi"]; got < 70000 {
		t.Errorf("reference rows %v", got)
	}
	if got := len(series(t, reg, MetricDriftScore)); got != 3 {
		t.Errorf("%d drift score series, want 3 features (the TLC file has no predictions)", got)
	}
}

func TestReferenceLoaderOption(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "")
	ctx := context.Background()
	if _, err := New(ctx, cfg, prometheus.NewRegistry(), quietLogger(), WithReferenceLoader("bikes", ColumnsReference)); err == nil || !strings.Contains(err.Error(), `no dataset "bikes"`) {
		t.Errorf("unknown dataset: %v", err)
	}
	bad := func(context.Context, string, *DatasetConfig) (*report.Dataset, error) {
		return &report.Dataset{Rows: 1, Numerical: map[string]*report.NumColumn{"distance": {Values: []float64{1}}}}, nil
	}
	if _, err := New(ctx, cfg, prometheus.NewRegistry(), quietLogger(), WithReferenceLoader("rides", bad)); err == nil || !strings.Contains(err.Error(), `categorical column "zone" missing`) {
		t.Errorf("incomplete reference: %v", err)
	}
	calls := 0
	good := func(ctx context.Context, path string, d *DatasetConfig) (*report.Dataset, error) {
		calls++
		return ColumnsReference(ctx, path, d)
	}
	m, _ := newTestMonitor(t, cfg, WithReferenceLoader("rides", good))
	if calls != 1 || m.datasets["rides"].ref.Rows != 6 || m.datasets["rides"].ref.Prediction == nil || m.datasets["rides"].ref.Target == nil {
		t.Errorf("custom loader: %d calls, ref %+v", calls, m.datasets["rides"].ref)
	}
	// A second registration on the same registry fails with an error, not a panic.
	reg := prometheus.NewRegistry()
	if _, err := New(ctx, cfg, reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, cfg, reg, nil); err == nil || !strings.Contains(err.Error(), "register") {
		t.Errorf("double registration: %v", err)
	}
}
