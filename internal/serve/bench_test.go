package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/httpmetrics"
	"github.com/modelmon/modelmon/internal/monitor"
	"github.com/modelmon/modelmon/internal/onlineapp"
	"github.com/modelmon/modelmon/internal/serve"
	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
)

// BenchmarkPredict is the whole handler path of POST /predict as `go run ./online
// --monitor-config config.yaml` wires it (onlineapp.Run): the HTTP metrics
// middleware, the route tree (request id, recovery, timeout, concurrency cap, body
// limits), decoding and validation (with the shipped config's plausible ranges),
// the prediction, the id, the record's BSON, the group-commit store.Logger, the live
// monitor's Observe and the answer. The store is the durable on-disk spool only
// (store.LoggerOptions.SpoolOnly: every batch appended and fsynced, no database),
// so the figures are the service's own cost. Requests come from 64 goroutines
// (b.SetParallelism) so that batches form as under wrk; the rides are the 16 real
// ones of bench/predict.lua, without id (the service makes a UUID).
//
//	go test ./internal/serve -run '^$' -bench Predict -benchmem
//
// allocs/op and B/op include the writer's work per record (amortized over its batch).
func BenchmarkPredict(b *testing.B) {
	for _, withMonitor := range []bool{false, true} {
		name := "spool-only"
		if withMonitor {
			name += "+monitor"
		}
		b.Run(name, func(b *testing.B) {
			h := benchStack(b, withMonitor)
			bodies := rideLines(b)
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(32) // x GOMAXPROCS goroutines
			b.ResetTimer()
			cpu0 := processCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				// One request per goroutine, its body reset for every op (as
				// net/http reuses its connection's buffers): the figures are the
				// handler's, not the harness's.
				w := &discardWriter{h: http.Header{}}
				rd := bytes.NewReader(nil)
				body := io.NopCloser(rd)
				req := httptest.NewRequest(http.MethodPost, "/predict", nil)
				req.Header.Set("Content-Type", "application/json")
				for pb.Next() {
					i := seq.Add(1)
					rd.Reset(bodies[i%int64(len(bodies))])
					req.Body, req.ContentLength = body, rd.Size()
					clear(w.h)
					w.code = 0
					h.ServeHTTP(w, req)
					if w.code != http.StatusOK {
						b.Errorf("status %d", w.code)
						return
					}
				}
			})
			b.StopTimer()
			// The process's CPU time (user + system) per request: unlike ns/op, it
			// does not count the time spent waiting for the spool's fsync, and
			// little of the other processes of a busy machine.
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the user + system CPU time of the process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discardWriter is a reusable http.ResponseWriter (httptest.ResponseRecorder would
// add its own allocations to the figures).
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}

// benchStack builds the service as onlineapp.Run does, on a spool-only prediction log.
func benchStack(b *testing.B, withMonitor bool) http.Handler {
	b.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	reg := onlineapp.NewRegistry()
	sp, err := spool.Open(spool.Options{Dir: b.TempDir(), Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	mw, err := httpmetrics.New(reg)
	if err != nil {
		b.Fatal(err)
	}
	sm, err := monitor.NewStoreMetrics(reg, func() store.LoggerStats { return store.LoggerStats{} })
	if err != nil {
		b.Fatal(err)
	}
	plog := store.NewLogger(nil, store.LoggerOptions{Spool: sp, SpoolOnly: true, Logger: log, OnWrite: sm.ObserveWrite})
	b.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := plog.Close(cctx); err != nil {
			b.Error(err)
		}
		_ = sp.Close()
	})
	deps := serve.Deps{Model: mdl, Sink: plog, Logger: log, Spool: sp, Middleware: []func(http.Handler) http.Handler{mw}}
	var cfg serve.Config
	if withMonitor {
		mcfg, err := monitor.LoadConfig(filepath.Join("..", "..", "config.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		mon, err := monitor.New(ctx, mcfg, reg, log, monitor.WithModel(mdl))
		if err != nil {
			b.Fatal(err)
		}
		d := mcfg.Datasets[onlineapp.PredictDataset]
		cfg.PlausibleRanges = d.Ranges()
		delete(cfg.PlausibleRanges, d.PredictionColumn())
		deps.OnRecord = func(rec serve.Record) {
			mon.ObserveTrip(onlineapp.PredictDataset, &rec.Trip, rec.Prediction)
		}
		mctx, cancel := context.WithCancel(ctx)
		go mon.Run(mctx)
		b.Cleanup(cancel)
	}
	srv, err := serve.New(cfg, deps)
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// rideLines are the raw JSON lines of the ride fixture (bench/predict.lua's rides).
func rideLines(b *testing.B) [][]byte {
	b.Helper()
	f, err := os.Open(ridesPath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil || len(out) == 0 {
		b.Fatalf("%s: %d rides, %v", ridesPath, len(out), err)
	}
	return out
}
