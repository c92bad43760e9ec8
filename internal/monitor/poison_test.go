package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelmon/modelmon/internal/report"
)

// Issue 15: poison values (a 1e200-mile ride and its 3e195-minute prediction, values
// near ±MaxFloat64) fed through POST /iterate into the shipped configuration's taxi
// window leave GET /monitor/taxi/report at 200 with finite JSON, and the values
// outside the plausible range are counted.
func TestPoisonRecordsKeepLiveReport(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(repoRoot(t), "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := New(context.Background(), cfg, reg, quietLogger(), WithModel(testModel(t)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(routerFor(t, m, reg))
	defer srv.Close()

	poison := []string{
		`{"PULocationID": 1, "DOLocationID": 2, "trip_distance": 1e200, "prediction": 3e195}`,
		`{"PULocationID": 74, "DOLocationID": 75, "trip_distance": 1.7e308, "prediction": -1.7e308, "duration": 1.7e308}`,
		`{"PULocationID": 74, "DOLocationID": 75, "trip_distance": 5e-324, "prediction": 1e300, "duration": -1e300}`,
		`{"PULocationID": 41, "DOLocationID": 42, "trip_distance": -1e300, "prediction": 5e-324, "duration": 5e-324}`,
	}
	rides := sampleRides(t, "2021-02", cfg.Service.WindowSize-len(poison))
	mod := testModel(t)
	var body bytes.Buffer
	body.WriteString("[")
	for i := range rides {
		r := taxiRow(mod, &rides[i])
		fmt.Fprintf(&body, `{"PULocationID": %s, "DOLocationID": %s, "trip_distance": %v, "prediction": %v, "duration": %v},`,
			r.Cat["PULocationID"], r.Cat["DOLocationID"], r.Num["trip_distance"], r.Prediction, *r.Target)
	}
	for i, p := range poison {
		if i > 0 {
			body.WriteString(",")
		}
		body.WriteString(p)
	}
	body.WriteString("]")
	post(t, srv.URL+"/iterate/taxi", body.String(), 200)
	if err := m.Compute(context.Background(), "taxi"); err != nil {
		t.Fatalf("compute with poison records in the window: %v", err)
	}

	resp, err := http.Get(srv.URL + "/monitor/taxi/report")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Report report.Report `json:"report"`
	}
	if resp.StatusCode != http.StatusOK {
		var e map[string]any
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("GET /monitor/taxi/report: %d %v", resp.StatusCode, e)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	q := out.Report.DataQuality.Current["trip_distance"]
	if q.Implausible == nil || *q.Implausible != 3 || q.PlausibleRange == nil || *q.PlausibleRange != report.TaxiDistanceRange {
		t.Errorf("trip_distance quality: implausible %v in %v, want 3 (1e200, 1.7e308, -1e300) in %v", q.Implausible, q.PlausibleRange, report.TaxiDistanceRange)
	}
	if q.Mean == nil || q.Count != cfg.Service.WindowSize {
		t.Errorf("trip_distance quality: mean %v, count %d", q.Mean, q.Count)
	}
	if rq := out.Report.DataQuality.Reference["trip_distance"]; rq.Implausible == nil || *rq.Implausible != 0 {
		t.Errorf("reference (2021-01): implausible %v, want 0", rq.Implausible)
	}
	if out.Report.Regression.Current == nil || out.Report.Regression.Current.N != len(rides)+3 {
		t.Errorf("regression of the window: %+v", out.Report.Regression.Current)
	}
	if got := series(t, reg, MetricImplausible); got["column=trip_distance,dataset=taxi"] != 3 {
		t.Errorf("%s = %v, want 3", MetricImplausible, got)
	}
	if got := series(t, reg, MetricComputationErrors)["dataset=taxi"]; got != 0 {
		t.Errorf("computation errors %v", got)
	}
}

// A report that does not encode (none should) is a failed computation: GET
// /monitor/{dataset}/report keeps answering 200 with the previous report.
func TestUnencodableReportKeepsThePreviousOne(t *testing.T) {
	cfg := smallConfig(t, refCSV, "", "")
	m, reg := newTestMonitor(t, cfg)
	srv := httptest.NewServer(routerFor(t, m, reg))
	defer srv.Close()
	for i := range 4 {
		m.Observe("rides", row("a", float64(i), 10))
	}
	if err := m.Compute(context.Background(), "rides"); err != nil {
		t.Fatal(err)
	}
	get := func() (int, string) {
		resp, err := http.Get(srv.URL + "/monitor/rides/report")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			ComputedAt string `json:"computed_at"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out.ComputedAt
	}
	code, first := get()
	if code != 200 || first == "" {
		t.Fatalf("first report: %d %q", code, first)
	}
	orig := computeReport
	computeReport = func(ctx context.Context, ref, cur *report.Dataset, c report.Config) (*report.Report, error) {
		r, err := orig(ctx, ref, cur, c)
		if r != nil {
			r.DataDrift.ShareDrifted = math.NaN() // a plain float64: JSON cannot carry it
		}
		return r, err
	}
	defer func() { computeReport = orig }()
	m.Observe("rides", row("b", 9, 11))
	if err := m.Compute(context.Background(), "rides"); err == nil || !strings.Contains(err.Error(), "encode report") {
		t.Fatalf("compute of an unencodable report: %v", err)
	}
	if code, at := get(); code != 200 || at != first {
		t.Errorf("after a failed encoding: %d computed_at %q, want 200 and the previous %q", code, at, first)
	}
	if got := series(t, reg, MetricComputationErrors)["dataset=rides"]; got != 1 {
		t.Errorf("computation errors %v, want 1", got)
	}
}
