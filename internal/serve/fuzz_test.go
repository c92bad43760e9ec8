package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/serve"
)

// captureSink acknowledges every record and keeps the last one.
type captureSink struct {
	mu   sync.Mutex
	last *mongodb.Prediction
}

func (c *captureSink) Log(_ context.Context, doc any) error {
	p := *doc.(*mongodb.Prediction)
	c.mu.Lock()
	c.last = &p
	c.mu.Unlock()
	return nil
}

// FuzzPredictDecode: the /predict decoding never panics nor answers 5xx, and a 200
// carries valid fields (zones in 1..265, a finite distance >= 0, an id of 1..128
// printable bytes). No database: the sink acknowledges everything. Corpus:
// testdata/fuzz/FuzzPredictDecode.
func FuzzPredictDecode(f *testing.F) {
	for _, s := range []string{`{"PULocationID":1,"DOLocationID":2,"trip_distance":3}`, `{}`, `[`, `null`,
		`{"id":"a b","PULocationID":1,"DOLocationID":2,"trip_distance":3}`,
		`{"pulocationid":1.0,"DOLOCATIONID":265,"trip_distance":0,"passenger_count":1.5}`,
		`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"trip_distnce":1}`,
		`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"lpep_pickup_datetime":"2021-02-01 00:00:00+05:00"}`,
		`{"PULocationID":1,"DOLocationID":2,"trip_distance":1e308}`, `{"PULocationID":1,"DOLocationID":2,"trip_distance":-0}`} {
		f.Add([]byte(s))
	}
	sink := &captureSink{}
	srv, err := serve.New(serve.Config{}, serve.Deps{Model: mdl, Sink: sink, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sink.mu.Lock()
		sink.last = nil
		sink.mu.Unlock()
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/predict", bytes.NewReader(body))
		req.Header.Set("Content-Type", jsonCT)
		srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("body %q: status %d %s", body, w.Code, w.Body.String())
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("body %q: answer %q is not JSON", body, w.Body.String())
		}
		if w.Code != http.StatusOK {
			return
		}
		sink.mu.Lock()
		p := sink.last
		sink.mu.Unlock()
		if p == nil {
			t.Fatalf("body %q: 200 without a logged record", body)
		}
		zone := func(v *int64) bool { return v != nil && *v >= 1 && *v <= 265 }
		if !zone(p.PULocationID) || !zone(p.DOLocationID) || p.TripDistance == nil ||
			math.IsNaN(*p.TripDistance) || math.IsInf(*p.TripDistance, 0) || *p.TripDistance < 0 {
			t.Fatalf("body %q: 200 with invalid fields %+v", body, p)
		}
		if len(p.ID) < 1 || len(p.ID) > 128 {
			t.Fatalf("body %q: 200 with id %q", body, p.ID)
		}
		for _, c := range []byte(p.ID) {
			if c <= ' ' || c == 0x7f {
				t.Fatalf("body %q: 200 with id %q", body, p.ID)
			}
		}
	})
}
