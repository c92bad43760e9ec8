package replay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelmon/modelmon/internal/taxi"
)

func loadTrips(t *testing.T, n int) []taxi.Trip {
	t.Helper()
	trips, err := taxi.ReadFile(context.Background(), filepath.Join("..", "..", "data", "green_tripdata_2021-02.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return trips[:n]
}

// A server that fails every third request once with a 503: the replay retries, every
// ride ends up answered once with 200, and the targets file has exactly the answered
// rides with a nonzero duration.
func TestRunRetriesAndWritesTargets(t *testing.T) {
	trips := loadTrips(t, 300)
	var mu sync.Mutex
	answered := map[string]bool{}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ride Ride
		if err := json.NewDecoder(r.Body).Decode(&ride); err != nil || ride.ID == "" || ride.PULocationID == nil {
			http.Error(w, "bad ride", http.StatusBadRequest)
			return
		}
		if calls.Add(1)%3 == 0 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		if answered[ride.ID] {
			t.Errorf("ride %s answered twice", ride.ID)
		}
		answered[ride.ID] = true
		mu.Unlock()
		w.Write([]byte(`{"duration": 1}`))
	}))
	defer srv.Close()
	targets := filepath.Join(t.TempDir(), "target.csv")
	res, err := Run(context.Background(), Options{Trips: trips, URL: srv.URL, Concurrency: 4, TargetsPath: targets, Retries: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != int64(len(trips)) || len(answered) != len(trips) {
		t.Fatalf("ok=%d answered=%d, want %d", res.OK, len(answered), len(trips))
	}
	raw, err := os.ReadFile(targets)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	nonzero := 0
	for i := range trips {
		if d, ok := trips[i].DurationMinutes(); ok && d != 0 {
			nonzero++
		}
	}
	if len(lines) != nonzero {
		t.Fatalf("%d target lines, want %d", len(lines), nonzero)
	}
	for _, l := range lines {
		id, _, ok := strings.Cut(l, ",")
		if !ok || !answered[id] {
			t.Fatalf("target line %q is not an answered ride", l)
		}
	}
}

// Cancelling in the middle leaves a targets file with only answered rides.
func TestRunCancelKeepsTargetsConsistent(t *testing.T) {
	trips := loadTrips(t, 2000)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	answered := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ride Ride
		json.NewDecoder(r.Body).Decode(&ride)
		mu.Lock()
		answered[ride.ID] = true
		if len(answered) == 100 {
			cancel()
		}
		mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	targets := filepath.Join(t.TempDir(), "target.csv")
	res, err := Run(ctx, Options{Trips: trips, URL: srv.URL, Concurrency: 2, TargetsPath: targets})
	if err == nil {
		t.Fatal("no error after cancel")
	}
	if res.Sent >= int64(len(trips)) {
		t.Fatalf("sent everything (%d) despite cancel", res.Sent)
	}
	raw, _ := os.ReadFile(targets)
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		id, _, _ := strings.Cut(l, ",")
		if !answered[id] {
			t.Fatalf("target %q was never answered", l)
		}
	}
}

// A 400 is permanent: no retry, counted as failed.
func TestRunDoesNotRetryBadRequest(t *testing.T) {
	trips := loadTrips(t, 5)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, `{"error":"no"}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Options{Trips: trips, URL: srv.URL, Concurrency: 1, Retries: 5})
	if err == nil || res.Failed != 5 || calls.Load() != 5 {
		t.Fatalf("err=%v failed=%d calls=%d", err, res.Failed, calls.Load())
	}
}
