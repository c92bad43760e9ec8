package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelmon/modelmon/internal/metrics"
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
// printable bytes); the hand-written decoder (decodeFast, with its fallback) gives
// exactly what encoding/json gives: the same ride or the same error. No database:
// the sink acknowledges everything. Corpus: testdata/fuzz/FuzzPredictDecode.
func FuzzPredictDecode(f *testing.F) {
	for _, s := range []string{`{"PULocationID":1,"DOLocationID":2,"trip_distance":3}`, `{}`, `[`, `null`,
		`{"id":"a b","PULocationID":1,"DOLocationID":2,"trip_distance":3}`,
		`{"pulocationid":1.0,"DOLOCATIONID":265,"trip_distance":0,"passenger_count":1.5}`,
		`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"trip_distnce":1}`,
		`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"lpep_pickup_datetime":"2021-02-01 00:00:00+05:00"}`,
		`{"PULocationID":1,"DOLocationID":2,"trip_distance":1e308}`, `{"PULocationID":1,"DOLocationID":2,"trip_distance":-0}`} {
		f.Add([]byte(s))
	}
	for _, s := range decodeCases {
		f.Add([]byte(s))
	}
	sink := &captureSink{}
	srv, err := serve.New(serve.Config{}, serve.Deps{Model: mdl, Sink: sink, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want, _ := serve.DecodeBoth(body, fuzzRanges); got != want {
			t.Fatalf("body %q:\ndecodeRide    %s\nencoding/json %s", body, got, want)
		}
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

// fuzzRanges are plausible ranges for the decoder comparison.
var fuzzRanges = map[string]metrics.Range{"trip_distance": {Min: 0, Max: 1000}, "fare_amount": {Min: -500, Max: 5000}, "tip_amount": {Min: 0, Max: 1000}}

// decodeCases are bodies on the edges of the hand-written decoder.
var decodeCases = []string{
	` {"PULocationID" : 1 ,"DOLocationID":2,"trip_distance":3}` + "\n\t\r ",
	`{"pulocationid":1,"dolocationid":2,"TRIP_DISTANCE":3,"Trip_Distance":4}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"trip_distance":null}`,
	`{"PULocationID":1.0,"DOLocationID":2e0,"trip_distance":3E-1,"passenger_count":-0}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"passenger_count":1.5}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"passenger_count":99999999999999999999}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"passenger_count":9007199254740993.0}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":01}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":1.}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":-}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":1e400}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":1001}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"fare_amount":-501}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"id":"r\u00e9"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"id":"ré-1"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"id":"a\"b"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"id":"<&>"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"id":"\xff"}`,
	"{\"PULocationID\":1,\"DOLocationID\":2,\"trip_distance\":3,\"id\":\"a\xffb\"}",
	"{\"PULocationID\":1,\"DOLocationID\":2,\"trip_distance\":3,\"id\":\"a\x7fb\"}",
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"id":""}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"id":12}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"store_and_fwd_flag":"Y","lpep_pickup_datetime":"2021-02-01 00:34:03"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"lpep_dropoff_datetime":"2021-02-01T25:00:00"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"store_and_fwd_flag":"` + strings.Repeat("N", 65) + `"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"\u0074rip_type":1}`,
	"{\"PULocationID\":1,\"DOLocationID\":2,\"trip_distance\":3,\"\u212aunknown\":1}",
	"{\"PULocationID\":1,\"DOLocationID\":2,\"trip_distance\":3,\"\u017ftore_and_fwd_flag\":\"N\"}",
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"VendorID":true}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"VendorID":[1]}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"nope":1}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3}}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3} {}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":nul}`,
	`{"PULocationID":0,"DOLocationID":266,"trip_distance":3}`,
	`{"PULocationID":1,"DOLocationID":2}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"lpep_pickup_datetime":"2024-02-29T23:59:59"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"lpep_pickup_datetime":"2021-02-29 00:00:00"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"lpep_pickup_datetime":"2021-02-01T00:00:00.5"}`,
	`{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"lpep_pickup_datetime":"2021-02-01T00:00:00Z"}`,
	`{}`, ` {} `, `{`, `}`, ``, ` `, `"x"`, `1`, `[]`, `true`,
}

// The hand-written decoder agrees with encoding/json on the edge cases, and takes
// every real ride of the fixture (no fallback to reflection).
func TestDecodeFastMatchesStd(t *testing.T) {
	for _, body := range decodeCases {
		if got, want, _ := serve.DecodeBoth([]byte(body), fuzzRanges); got != want {
			t.Errorf("body %q:\ndecodeRide    %s\nencoding/json %s", body, got, want)
		}
	}
	for i := range rides {
		b, err := json.Marshal(ride(i, fmt.Sprintf("fast-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		got, want, fast := serve.DecodeBoth(b, fuzzRanges)
		if !fast || got != want {
			t.Errorf("ride %d %s: fast %v\ndecodeRide    %s\nencoding/json %s", i, b, fast, got, want)
		}
	}
}

// The timestamp fast path agrees with taxi.ParseLocalTime (through encoding/json) on
// the edges of the calendar and the clock.
func TestDecodeFastTimestamps(t *testing.T) {
	var n int
	for _, y := range []string{"0000", "1900", "2000", "2021", "2024", "9999"} {
		for _, mo := range []string{"00", "01", "02", "04", "12", "13"} {
			for _, d := range []string{"00", "01", "28", "29", "30", "31", "32"} {
				for _, hms := range []string{"00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "1a:00:00"} {
					for _, sep := range []string{"T", " ", "t"} {
						ts := y + "-" + mo + "-" + d + sep + hms
						body := `{"PULocationID":1,"DOLocationID":2,"trip_distance":3,"lpep_pickup_datetime":"` + ts + `"}`
						if got, want, _ := serve.DecodeBoth([]byte(body), nil); got != want {
							t.Fatalf("%s:\ndecodeRide    %s\nencoding/json %s", ts, got, want)
						}
						n++
					}
				}
			}
		}
	}
	t.Logf("%d timestamps", n)
}
