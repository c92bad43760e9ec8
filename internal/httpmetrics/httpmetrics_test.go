package httpmetrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelmon/modelmon/internal/httpmetrics"
)

func TestHTTPMetricsRoutePattern(t *testing.T) {
	reg := prometheus.NewRegistry()
	mw, err := httpmetrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(mw)
	r.Route("/api", func(r chi.Router) {
		r.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	r.Post("/predict", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	for _, p := range []string{"/api/items/1", "/api/items/2", "/nowhere/1", "/nowhere/2"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/predict", nil))
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/predict", nil))
	got := series(t, reg, httpmetrics.MetricRequests)
	want := map[string]float64{
		"code=418,method=GET,route=/api/items/{id}": 2,
		"code=404,method=GET,route=unmatched":       2,
		"code=200,method=POST,route=/predict":       1,
		"code=405,method=OTHER,route=unmatched":     1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests: %v, want %v", got, want)
	}
	if got := series(t, reg, httpmetrics.MetricDuration)["method=POST,route=/predict"]; got != 1 {
		t.Errorf("duration count %v", got)
	}

	// Wrapped around a router (whose middleware is already set) from outside.
	reg2 := prometheus.NewRegistry()
	mw2, err := httpmetrics.New(reg2)
	if err != nil {
		t.Fatal(err)
	}
	h := mw2(r)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/items/7", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	got = series(t, reg2, httpmetrics.MetricRequests)
	want = map[string]float64{"code=418,method=GET,route=/api/items/{id}": 1, "code=404,method=GET,route=unmatched": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outer wrap: %v, want %v", got, want)
	}
}

// A panic is counted as a 500 and re-raised for the recovery middleware.
func TestPanicIsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	mw, err := httpmetrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(mw)
	r.Get("/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/boom", nil))
	}()
	if got := series(t, reg, httpmetrics.MetricRequests); fmt.Sprint(got) != "map[code=500,method=GET,route=/boom:1]" {
		t.Errorf("requests: %v", got)
	}
	if _, err := httpmetrics.New(reg); err == nil {
		t.Error("second registration on the same registry accepted")
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

// series maps the label set ("k=v,k=v", sorted by name) of every series of name to
// its value (a histogram's sample count).
func series(t testing.TB, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(ls, ",")] = v
		}
	}
	return out
}
