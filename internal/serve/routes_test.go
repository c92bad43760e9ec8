package serve_test

import (
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/modelmon/modelmon/internal/serve"
	"github.com/modelmon/modelmon/internal/store"
)

// The route tree puts each route behind the middleware of its group, and only that:
// the walk lists the guards of every route, and the requests show them at work (the
// token on the ingest routes, the concurrency cap everywhere but the health checks and
// /metrics).
func TestRouteTree(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	e := newEnv(t, store.LoggerOptions{}, serve.Config{MaxConcurrent: 1, IngestToken: "t0ken"}, func(d *serve.Deps) {
		d.Logger = discardLogger()
		d.Routes = serve.Routes{
			Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"metrics":true}`)
			}),
			Ingest: func(r chi.Router) {
				r.Post("/iterate/{dataset}", func(w http.ResponseWriter, r *http.Request) {
					if chi.URLParam(r, "dataset") == "slow" {
						entered <- struct{}{}
						<-release
					}
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"accepted":1}`)
				})
				r.Get("/monitor/{dataset}/report", func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{}`)
				})
			},
			Extra: func(r chi.Router, _ *serve.Server) {
				r.Get("/debug/stats", func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{}`)
				})
			},
		}
	})

	got := map[string]string{}
	err := chi.Walk(e.srv.Routes(), func(method, route string, _ http.Handler, mws ...func(http.Handler) http.Handler) error {
		var guards []string
		for _, mw := range mws {
			name := runtime.FuncForPC(reflect.ValueOf(mw).Pointer()).Name()
			for _, g := range []string{"deadline", "LimitConcurrency", "RequireToken", "jsonBody"} {
				// g's closure (also when inlined into routes), or the method value s.g
				if strings.Contains(name, "."+g+".") || strings.HasSuffix(name, "."+g+"-fm") {

					guards = append(guards, g)
				}
			}
		}
		got[method+" "+route] = strings.Join(guards, "+")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"GET /healthz":                  "deadline",
		"GET /readyz":                   "deadline",
		"POST /predict":                 "LimitConcurrency+jsonBody", // its wait is bounded by logRecord
		"POST /iterate/{dataset}":       "LimitConcurrency+deadline+RequireToken",
		"GET /monitor/{dataset}/report": "LimitConcurrency+deadline+RequireToken",
		"GET /debug/stats":              "LimitConcurrency+deadline",
	}
	if _, ok := got["GET /metrics"]; !ok {
		t.Error("no GET /metrics")
	}
	for k := range got {
		if strings.HasSuffix(k, " /metrics") {
			want[k] = "deadline" // r.Handle: every method chi knows
		}
	}
	keys := func(m map[string]string) []string {
		var ks []string
		for k, v := range m {
			ks = append(ks, k+" ["+v+"]")
		}
		slices.Sort(ks)
		return ks
	}
	if g, w := keys(got), keys(want); !slices.Equal(g, w) {
		t.Errorf("route tree:\n got %q\nwant %q", g, w)
	}

	// The token guards the ingest routes, and only them.
	if a := e.post(t, "/iterate/taxi", `{}`, jsonCT); a.Status != http.StatusUnauthorized || a.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("/iterate without the token: %d %s", a.Status, a.Raw)
	}
	if a := e.get(t, "/monitor/taxi/report"); a.Status != http.StatusUnauthorized {
		t.Errorf("/monitor without the token: %d %s", a.Status, a.Raw)
	}
	if a := e.get(t, "/debug/stats"); a.Status != http.StatusOK {
		t.Errorf("/debug/stats: %d %s", a.Status, a.Raw)
	}
	if a := e.post(t, "/predict", ride(8, idMaker()("tree")), jsonCT); a.Status != http.StatusOK {
		t.Errorf("/predict without a token: %d %s", a.Status, a.Raw)
	}

	// Fill the cap (1) with a slow ingest request.
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/iterate/slow", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer t0ken")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	select {
	case <-entered:
	case code := <-done:
		t.Fatalf("slow /iterate answered %d before it was held", code)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if a := e.get(t, p); a.Status != http.StatusOK {
			t.Errorf("%s under the full cap: %d %s", p, a.Status, a.Raw)
		}
	}
	if a := e.post(t, "/predict", ride(9, idMaker()("capped")), jsonCT); a.Status != http.StatusServiceUnavailable || a.Header.Get("Retry-After") != "1" {
		t.Errorf("/predict over the cap: %d Retry-After=%q %s", a.Status, a.Header.Get("Retry-After"), a.Raw)
	}
	if a := e.get(t, "/debug/stats"); a.Status != http.StatusServiceUnavailable {
		t.Errorf("/debug/stats over the cap: %d %s", a.Status, a.Raw)
	}
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Errorf("slow /iterate with the token: %d", code)
	}
	if a := e.get(t, "/no/such/route"); a.Status != http.StatusNotFound {
		t.Errorf("unknown route: %d %s", a.Status, a.Raw)
	}
}
