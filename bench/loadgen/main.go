// Command loadgen posts real rides to /predict at a fixed rate (open loop) and reports
// the latency distribution, measured from each request's scheduled start so that a
// stalled server is not hidden by fewer requests being sent (no coordinated omission).
// It is the rate-limited complement of wrk (which measures the maximum throughput).
//
//	go run ./bench/loadgen -rate 2000 -duration 10s
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

func main() {
	var (
		url      = flag.String("url", "http://127.0.0.1:9696/predict", "the /predict URL")
		rate     = flag.Float64("rate", 2000, "requests per second")
		duration = flag.Duration("duration", 10*time.Second, "measured duration")
		warmup   = flag.Duration("warmup", 2*time.Second, "unmeasured warm-up at the same rate")
		conns    = flag.Int("conns", 64, "most requests in flight (and connections)")
		ridesArg = flag.String("rides", "testdata/online/rides.jsonl", "rides, one JSON object a line, without id")
		okIDs    = flag.String("ok-ids", "", "write the ids answered 200 (warm-up included) to this file, one a line")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *url, *rate, *duration, *warmup, *conns, *ridesArg, *okIDs); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func readRides(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rides: %w", err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) < 2 || line[0] != '{' {
			continue
		}
		out = append(out, slices.Clone(line[1:])) // without the opening brace
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("rides: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rides: %s has none", path)
	}
	return out, nil
}

type result struct {
	lat      time.Duration
	status   int
	err      bool
	measured bool
	i        int
}

func run(ctx context.Context, url string, rate float64, duration, warmup time.Duration, conns int, ridesPath, okIDsPath string) error {
	rides, err := readRides(ridesPath)
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	run := strconv.FormatUint(rand.Uint64()&0xffffffffff, 36)

	interval := time.Duration(float64(time.Second) / rate)
	total := int((warmup + duration) / interval)
	warm := int(warmup / interval)
	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, total)
	results := make(chan result, total)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body bytes.Buffer
			for j := range jobs {
				body.Reset()
				fmt.Fprintf(&body, `{"id":"lg-%s-%d",`, run, j.i)
				body.Write(rides[j.i%len(rides)])
				r := result{measured: j.i >= warm, i: j.i}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body.Bytes()))
				if err != nil {
					r.err = true
					results <- r
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				res, err := hc.Do(req)
				if err != nil {
					r.err = true
				} else {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					r.status = res.StatusCode
				}
				r.lat = time.Since(j.due)
				results <- r
			}
		}()
	}
	start := time.Now()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		jobs <- job{i: i, due: due}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start.Add(warmup))
	close(results)

	var lat []time.Duration
	codes := map[int]int{}
	errs := 0
	var ok []int
	for r := range results {
		if r.status == http.StatusOK {
			ok = append(ok, r.i)
		}
		if !r.measured {
			continue
		}
		if r.err {
			errs++
			continue
		}
		codes[r.status]++
		lat = append(lat, r.lat)
	}
	if len(lat) == 0 {
		return fmt.Errorf("no answers (%d errors)", errs)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(10 * time.Microsecond)
	}
	if okIDsPath != "" {
		var b bytes.Buffer
		for _, i := range ok {
			fmt.Fprintf(&b, "lg-%s-%d\n", run, i)
		}
		if err := os.WriteFile(okIDsPath, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("ok-ids: %w", err)
		}
	}
	fmt.Printf("target %.0f req/s for %v (+%v warm-up), %d connections\n", rate, duration, warmup, conns)
	fmt.Printf("answered %d in %v: %.0f req/s; status %v; transport errors %d\n", len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), codes, errs)
	fmt.Printf("latency from scheduled start: p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n", q(0.50), q(0.90), q(0.99), q(0.999), lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}
