package serve_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/modelmon/modelmon/internal/serve"
)

// A client that sends its headers byte by byte, slower than ReadHeaderTimeout, is
// disconnected while normal requests keep answering; /iterate needs the token.
func TestSlowClientAndToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve.Run(ctx, serve.Options{
			Addr: "127.0.0.1:0", MongoURI: ferret.URI, ModelPath: modelPath, Logger: discardLogger(),
			HTTP:              serve.Config{IngestToken: "t0ken"},
			ReadHeaderTimeout: 300 * time.Millisecond,
			Routes: serve.Routes{Ingest: func(r chi.Router) {
				r.Post("/iterate/{dataset}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
			}},
			OnListen: func(a string) { addrc <- a },
		})
	}()
	addr := <-addrc
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	slowClosed := make(chan time.Duration, 4)
	for range 4 {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			start := time.Now()
			for _, b := range []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100)) {
				if _, err := c.Write([]byte{b}); err != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.ReadAll(c) // the server closes (possibly after a 408)
			slowClosed <- time.Since(start)
		}()
	}
	time.Sleep(100 * time.Millisecond)
	for i := range 20 {
		res, err := http.Post("http://"+addr+"/predict", "application/json",
			strings.NewReader(`{"PULocationID":130,"DOLocationID":205,"trip_distance":3.66}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("request %d during slow clients: %d", i, res.StatusCode)
		}
	}
	for range 4 {
		select {
		case d := <-slowClosed:
			if d > 2*time.Second {
				t.Errorf("slow client held its connection for %v", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("slow client not disconnected")
		}
	}
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer nope", 401}, {"Basic t0ken", 401}, {"Bearer t0ken", 200}, {"bearer t0ken", 200}} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/iterate/taxi", strings.NewReader("{}"))
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("/iterate with %q: %d, want %d", c.auth, res.StatusCode, c.want)
		}
	}
}

func TestLimitConcurrency(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(2)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered.Done()
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	// The cap wraps a group of routes; /healthz is outside it.
	r := chi.NewRouter()
	r.Get("/healthz", ok)
	r.Group(func(r chi.Router) {
		r.Use(serve.LimitConcurrency(2))
		r.Get("/slow", ok)
		r.Get("/predict", ok)
	})
	h := http.Handler(r)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/slow", nil))
		}()
	}
	entered.Wait()
	start := time.Now()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/predict", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || time.Since(start) > 100*time.Millisecond {
		t.Errorf("over the cap: %d Retry-After=%q in %v", w.Code, w.Header().Get("Retry-After"), time.Since(start))
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Errorf("/healthz over the cap: %d", w.Code)
	}
	close(release)
	wg.Wait()
}

// The service's request ids have chi's form (host/random-000042) and its counter.
func TestRequestIDFormat(t *testing.T) {
	var chiID string
	middleware.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		chiID = middleware.GetReqID(r.Context())
	})).ServeHTTP(nil, httptest.NewRequest(http.MethodGet, "/", nil))
	id := serve.NewRequestID()
	i, j := strings.LastIndexByte(chiID, '-'), strings.LastIndexByte(id, '-')
	if i < 0 || j < 0 || chiID[:i] != id[:j] || len(id[j+1:]) < 6 {
		t.Fatalf("request id %q, chi's %q", id, chiID)
	}
	a, _ := strconv.Atoi(chiID[i+1:])
	b, _ := strconv.Atoi(id[j+1:])
	if b != a+1 {
		t.Fatalf("request id %q after chi's %q: not chi's counter", id, chiID)
	}
}
