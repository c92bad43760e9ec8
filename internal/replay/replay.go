package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/modelmon/modelmon/internal/taxi"
)

// Ride is the body posted for one trip: the TLC fields plus the ride id.
type Ride struct {
	ID string `json:"id"`
	taxi.Trip
}

type stats struct {
	sent, ok, failed atomic.Int64
	mu               sync.Mutex
	latencies        []time.Duration
}

// Options configure Replay.
type Options struct {
	Trips       []taxi.Trip
	URL         string
	Rate        float64
	Concurrency int
	TargetsPath string
	Retries     int
	Progress    bool
	Client      *http.Client
}

// Result summarises a replay.
type Result struct {
	Sent, OK, Failed int64
	P50, P99         time.Duration
	Elapsed          time.Duration
}

// Run posts every trip to URL/predict with a fresh UUID id, and appends "id,duration"
// to the targets file for each ride answered 200 whose duration is nonzero. A target
// line is written only after its 200, and the file is flushed on return (including on
// cancellation), so it always matches what the service has logged.
func Run(ctx context.Context, o Options) (*Result, error) {
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency}}
	}
	var tw *bufio.Writer
	var twMu sync.Mutex
	if o.TargetsPath != "" {
		f, err := os.OpenFile(o.TargetsPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open targets: %w", err)
		}
		defer f.Close()
		tw = bufio.NewWriter(f)
		defer func() {
			twMu.Lock()
			tw.Flush()
			twMu.Unlock()
		}()
	}
	var st stats
	jobs := make(chan int)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t := &o.Trips[i]
				id := uuid.NewString()
				body, err := json.Marshal(Ride{ID: id, Trip: *t})
				if err != nil {
					st.failed.Add(1)
					continue
				}
				began := time.Now()
				err = postWithRetry(ctx, client, o.URL+"/predict", body, o.Retries)
				st.sent.Add(1)
				if err != nil {
					st.failed.Add(1)
					continue
				}
				lat := time.Since(began)
				st.ok.Add(1)
				st.mu.Lock()
				st.latencies = append(st.latencies, lat)
				st.mu.Unlock()
				if d, ok := t.DurationMinutes(); ok && d != 0 && tw != nil {
					twMu.Lock()
					tw.WriteString(id + "," + strconv.FormatFloat(d, 'g', -1, 64) + "\n")
					twMu.Unlock()
				}
			}
		}()
	}
	var tick *time.Ticker
	if o.Rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
		defer tick.Stop()
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if !o.Progress {
			return
		}
		pt := time.NewTicker(250 * time.Millisecond)
		defer pt.Stop()
		for {
			select {
			case <-stopProgress:
				drawProgress(&st, len(o.Trips), start)
				fmt.Fprintln(os.Stderr)
				return
			case <-pt.C:
				drawProgress(&st, len(o.Trips), start)
			}
		}
	}()
feed:
	for i := range o.Trips {
		if tick != nil {
			select {
			case <-ctx.Done():
				break feed
			case <-tick.C:
			}
		}
		select {
		case <-ctx.Done():
			break feed
		case jobs <- i:
		}
	}
	close(jobs)
	wg.Wait()
	close(stopProgress)
	<-progressDone
	res := &Result{Sent: st.sent.Load(), OK: st.ok.Load(), Failed: st.failed.Load(), Elapsed: time.Since(start)}
	slices.Sort(st.latencies)
	if n := len(st.latencies); n > 0 {
		res.P50 = st.latencies[n/2]
		res.P99 = st.latencies[min(n-1, n*99/100)]
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("replay interrupted after %d rides: %w", res.Sent, ctx.Err())
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("%d of %d rides failed", res.Failed, res.Sent)
	}
	return res, nil
}

func drawProgress(st *stats, total int, start time.Time) {
	done := int(st.sent.Load())
	const width = 40
	filled := 0
	if total > 0 {
		filled = done * width / total
	}
	bar := bytes.Repeat([]byte("#"), filled)
	bar = append(bar, bytes.Repeat([]byte("."), width-filled)...)
	el := time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "\r[%s] %d/%d ok=%d failed=%d %.0f/s", bar, done, total, st.ok.Load(), st.failed.Load(), float64(done)/max(el, 1e-9))
}

// errPermanent marks an answer that retrying will not change (4xx other than 429).
var errPermanent = errors.New("permanent failure")

func postWithRetry(ctx context.Context, c *http.Client, url string, body []byte, retries int) error {
	backoff := 50 * time.Millisecond
	var last error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			// Full jitter keeps retrying clients from moving in lockstep.
			sleep := time.Duration(rand.Int64N(int64(backoff))) + backoff/2
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(sleep):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
		last = post(ctx, c, url, body)
		if last == nil || errors.Is(last, errPermanent) || ctx.Err() != nil {
			return last
		}
	}
	return last
}

func post(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("post: %s: %s", resp.Status, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("%w: %s: %s", errPermanent, resp.Status, bytes.TrimSpace(msg))
	}
}
