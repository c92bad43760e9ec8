package onlineapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/serve"
)

var ferret *mongotest.Server

func TestMain(m *testing.M) {
	os.Exit(mongotest.Main(m, func(_ context.Context, s *mongotest.Server) (func(), error) {
		ferret = s
		return nil, nil
	}))
}

// Issue 15: with the shipped config.yaml, the poison ride of the issue (a 1e200-mile
// trip) gets a 400 naming the field and the configured range, on the real service
// (embedded FerretDB, the shipped model and monitoring config); a real ride is
// still answered.
func TestPoisonRideRefusedWithShippedConfig(t *testing.T) {
	root := filepath.Join("..", "..")
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			Serve: serve.Options{
				Addr: "127.0.0.1:0", MongoURI: ferret.URI, ModelPath: filepath.Join(root, "models", "duration_model.json"),
				Logger:   slog.New(slog.DiscardHandler),
				OnListen: func(a string) { addr <- a },
			},
			MonitorConfig: filepath.Join(root, "config.yaml"),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("online service: %v", err)
		}
	})
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("online service did not start: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("online service did not start in 2 minutes")
	}
	post := func(body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(base+"/predict", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("answer %q: %v", raw, err)
		}
		return resp.StatusCode, out
	}
	id := fmt.Sprintf("poison-%d", time.Now().UnixNano())
	code, out := post(`{"id":"` + id + `","PULocationID":1,"DOLocationID":2,"trip_distance":1e200}`)
	msg, _ := out["error"].(string)
	if code != http.StatusBadRequest || !strings.Contains(msg, `"trip_distance"`) || !strings.Contains(msg, "[0, 1e+06]") {
		t.Errorf("poison ride: %d %v, want 400 naming trip_distance and its range [0, 1e+06]", code, out)
	}
	t.Logf("poison ride: %d %s", code, msg)
	for _, d := range []string{"1000000", "259777.57", "3.66"} {
		if code, out := post(`{"PULocationID":130,"DOLocationID":205,"trip_distance":` + d + `}`); code != http.StatusOK {
			t.Errorf("ride of %s miles: %d %v", d, code, out)
		}
	}
	if code, out := post(`{"PULocationID":130,"DOLocationID":205,"trip_distance":1000000.0001}`); code != http.StatusBadRequest {
		t.Errorf("ride just above the range: %d %v", code, out)
	}
}
