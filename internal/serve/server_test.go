package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/serve"
	"github.com/modelmon/modelmon/internal/store"
	"github.com/modelmon/modelmon/internal/taxi"
)

const jsonCT = "application/json"

var idSeq atomic.Int64

// idMaker makes ride ids unique to one run of a test, so that -count=N does not
// collide with the records of earlier runs in the shared collection.
func idMaker() func(string) string {
	n := idSeq.Add(1)
	run := time.Now().UnixNano()
	return func(s string) string { return fmt.Sprintf("%s-%d-%d", s, run, n) }
}

func findDoc(t *testing.T, e *testEnv, id string) bson.Raw {
	t.Helper()
	raw, err := e.coll.FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		t.Fatalf("document %q: %v", id, err)
	}
	return raw
}

func docExists(t *testing.T, e *testEnv, id string) bool {
	t.Helper()
	err := e.coll.FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Err()
	if err == nil {
		return true
	}
	if !strings.Contains(err.Error(), "no documents") {
		t.Fatal(err)
	}
	return false
}

func expected(t *testing.T, r map[string]any) (pudo string, pred float64) {
	t.Helper()
	pu, _ := r["PULocationID"].(json.Number).Int64()
	do, _ := r["DOLocationID"].(json.Number).Int64()
	dist, _ := r["trip_distance"].(json.Number).Float64()
	pudo = taxi.PUDO(pu, do)
	return pudo, mdl.Predict(pudo, []float64{dist})
}

func TestPredictRoundTrip(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, nil)
	// Ride 0 is complete; find one with missing TLC fields too.
	missing := -1
	for i, r := range rides {
		if _, ok := r["passenger_count"]; !ok {
			missing = i
			break
		}
	}
	if missing < 0 {
		t.Fatal("fixture has no ride with missing fields")
	}
	uid := idMaker()
	for _, i := range []int{0, missing} {
		id := uid(fmt.Sprintf("roundtrip-%d", i))
		r := ride(i, id)
		start := time.Now().UTC().Truncate(time.Millisecond)
		a := e.post(t, "/predict", r, jsonCT)
		end := time.Now().UTC()
		if a.Status != http.StatusOK {
			t.Fatalf("status %d: %s", a.Status, a.Raw)
		}
		pudo, want := expected(t, r)
		if a.Body["id"] != id || a.Body["model_version"] != mdl.Version || a.Body["duration"] != want || len(a.Body) != 3 {
			t.Errorf("answer %s, want id %s duration %v model_version %s", a.Raw, id, want, mdl.Version)
		}

		doc := findDoc(t, e, id)
		if doc.Lookup("_id").StringValue() != id || doc.Lookup("id").StringValue() != id {
			t.Errorf("_id/id: %v %v", doc.Lookup("_id"), doc.Lookup("id"))
		}
		for _, f := range mongodb.TLCFields {
			v, err := doc.LookupErr(f)
			if err != nil {
				t.Errorf("field %s missing from the document", f)
				continue
			}
			in, sent := r[f]
			switch {
			case !sent:
				if v.Type != bson.TypeNull {
					t.Errorf("%s not sent, stored as %v, want null", f, v)
				}
			case f == mongodb.FieldPickupDatetime || f == mongodb.FieldDropoffDatetime:
				if v.StringValue() != in {
					t.Errorf("%s stored %v, sent %v", f, v, in)
				}
			case f == mongodb.FieldStoreAndFwdFlag:
				if v.StringValue() != in {
					t.Errorf("%s stored %v, sent %v", f, v, in)
				}
			default:
				num := in.(json.Number)
				var got float64
				switch v.Type {
				case bson.TypeInt64:
					got = float64(v.Int64())
				case bson.TypeDouble:
					got = v.Double()
				default:
					t.Errorf("%s stored as %v", f, v.Type)
				}
				if w, _ := num.Float64(); w != got {
					t.Errorf("%s stored %v, sent %v", f, got, num)
				}
			}
		}
		if doc.Lookup("PU_DO").StringValue() != pudo || !doc.Lookup("pu_do_known").Boolean() {
			t.Errorf("PU_DO %v known %v, want %s true", doc.Lookup("PU_DO"), doc.Lookup("pu_do_known"), pudo)
		}
		if got := doc.Lookup("prediction").Double(); got != want {
			t.Errorf("stored prediction %v, model says %v", got, want)
		}
		if doc.Lookup("model_version").StringValue() != mdl.Version {
			t.Errorf("model_version %v", doc.Lookup("model_version"))
		}
		at := doc.Lookup("received_at")
		if at.Type != bson.TypeDateTime {
			t.Fatalf("received_at is %v, want a datetime", at.Type)
		}
		if ts := at.Time().UTC(); ts.Before(start) || ts.After(end) {
			t.Errorf("received_at %v not within [%v, %v]", ts, start, end)
		}
		// The batch workflow decodes the same documents.
		var p mongodb.Prediction
		if err := bson.Unmarshal(doc, &p); err != nil {
			t.Fatal(err)
		}
		if p.RideID != id || p.Prediction != want {
			t.Errorf("decoded %+v", p)
		}
	}
}

func TestPredictGeneratesUUID(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, nil)
	for _, body := range []any{ride(1, ""), strings.Replace(mustJSON(t, ride(1, "")), "{", `{"id":null,`, 1)} {
		a := e.post(t, "/predict", body, jsonCT)
		if a.Status != http.StatusOK {
			t.Fatalf("status %d: %s", a.Status, a.Raw)
		}
		id, _ := a.Body["id"].(string)
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || u.String() != id {
			t.Fatalf("id %q is not a canonical UUID v4 (%v)", id, err)
		}
		if doc := findDoc(t, e, id); doc.Lookup("id").StringValue() != id {
			t.Errorf("stored id %v", doc.Lookup("id"))
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPredictUnseenPUDO(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, nil)
	pu, do := int64(0), int64(0)
search:
	for p := int64(1); p <= 265; p++ {
		for d := int64(1); d <= 265; d++ {
			if !mdl.Known(taxi.PUDO(p, d)) {
				pu, do = p, d
				break search
			}
		}
	}
	id := idMaker()("unseen")
	body := fmt.Sprintf(`{"id":%q,"PULocationID":%d,"DOLocationID":%d,"trip_distance":2.5}`, id, pu, do)
	a := e.post(t, "/predict", body, jsonCT)
	if a.Status != http.StatusOK {
		t.Fatalf("status %d: %s", a.Status, a.Raw)
	}
	want := mdl.Intercept + mdl.NumericalCoef[0]*2.5 // an unseen category contributes 0
	if d := a.Body["duration"].(float64); math.Abs(d-want) > 1e-12 {
		t.Errorf("duration %v, want %v", d, want)
	}
	doc := findDoc(t, e, id)
	if doc.Lookup("pu_do_known").Boolean() {
		t.Error("pu_do_known is true for an unseen PU_DO")
	}
	if doc.Lookup("VendorID").Type != bson.TypeNull || doc.Lookup("lpep_pickup_datetime").Type != bson.TypeNull {
		t.Error("absent fields not stored as null")
	}
}

func TestPredictBadInput(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, nil)
	good := `"PULocationID":130,"DOLocationID":205,"trip_distance":3.66`
	cases := []struct {
		name   string
		body   string
		ct     string
		status int
		field  string // must appear in the error
	}{
		{"malformed JSON", `{"PULocationID":130,`, jsonCT, 400, "malformed"},
		{"not JSON", `hello`, jsonCT, 400, "malformed"},
		{"empty body", ``, jsonCT, 400, "empty"},
		{"array", `[1,2]`, jsonCT, 400, "object"},
		{"string", `"ride"`, jsonCT, 400, "object"},
		{"null", `null`, jsonCT, 400, "object"},
		{"trailing garbage", `{` + good + `}xyz`, jsonCT, 400, "trailing"},
		{"two objects", `{` + good + `}{}`, jsonCT, 400, "trailing"},
		{"missing PULocationID", `{"DOLocationID":205,"trip_distance":1}`, jsonCT, 400, "PULocationID"},
		{"null PULocationID", `{"PULocationID":null,"DOLocationID":205,"trip_distance":1}`, jsonCT, 400, "PULocationID"},
		{"string PULocationID", `{"PULocationID":"130","DOLocationID":205,"trip_distance":1}`, jsonCT, 400, "PULocationID"},
		{"fractional PULocationID", `{"PULocationID":130.5,"DOLocationID":205,"trip_distance":1}`, jsonCT, 400, "PULocationID"},
		{"PULocationID 0", `{"PULocationID":0,"DOLocationID":205,"trip_distance":1}`, jsonCT, 400, "PULocationID"},
		{"PULocationID 266", `{"PULocationID":266,"DOLocationID":205,"trip_distance":1}`, jsonCT, 400, "PULocationID"},
		{"huge PULocationID", `{"PULocationID":1e30,"DOLocationID":205,"trip_distance":1}`, jsonCT, 400, "PULocationID"},
		{"bool DOLocationID", `{"PULocationID":130,"DOLocationID":true,"trip_distance":1}`, jsonCT, 400, "DOLocationID"},
		{"missing DOLocationID", `{"PULocationID":130,"trip_distance":1}`, jsonCT, 400, "DOLocationID"},
		{"negative DOLocationID", `{"PULocationID":130,"DOLocationID":-4,"trip_distance":1}`, jsonCT, 400, "DOLocationID"},
		{"missing trip_distance", `{"PULocationID":130,"DOLocationID":205}`, jsonCT, 400, "trip_distance"},
		{"negative trip_distance", `{"PULocationID":130,"DOLocationID":205,"trip_distance":-0.5}`, jsonCT, 400, "trip_distance"},
		{"string trip_distance", `{"PULocationID":130,"DOLocationID":205,"trip_distance":"3"}`, jsonCT, 400, "trip_distance"},
		{"overflowing trip_distance", `{"PULocationID":130,"DOLocationID":205,"trip_distance":1e999}`, jsonCT, 400, "trip_distance"},
		{"NaN trip_distance", `{"PULocationID":130,"DOLocationID":205,"trip_distance":NaN}`, jsonCT, 400, "malformed"},
		{"object trip_distance", `{"PULocationID":130,"DOLocationID":205,"trip_distance":{"v":1}}`, jsonCT, 400, "trip_distance"},
		{"overflowing fare_amount", `{` + good + `,"fare_amount":-1e400}`, jsonCT, 400, "fare_amount"},
		{"fractional passenger_count", `{` + good + `,"passenger_count":1.5}`, jsonCT, 400, "passenger_count"},
		{"numeric store_and_fwd_flag", `{` + good + `,"store_and_fwd_flag":1}`, jsonCT, 400, "store_and_fwd_flag"},
		{"long store_and_fwd_flag", `{` + good + `,"store_and_fwd_flag":"` + strings.Repeat("N", 65) + `"}`, jsonCT, 400, "store_and_fwd_flag"},
		{"bad timestamp", `{` + good + `,"lpep_pickup_datetime":"yesterday"}`, jsonCT, 400, "lpep_pickup_datetime"},
		{"numeric timestamp", `{` + good + `,"lpep_dropoff_datetime":1612137600}`, jsonCT, 400, "lpep_dropoff_datetime"},
		{"unknown field", `{` + good + `,"trip_distnce":3}`, jsonCT, 400, "trip_distnce"},
		{"numeric id", `{"id":42,` + good + `}`, jsonCT, 400, `"id"`},
		{"empty id", `{"id":"",` + good + `}`, jsonCT, 400, `"id"`},
		{"long id", `{"id":"` + strings.Repeat("x", 129) + `",` + good + `}`, jsonCT, 400, `"id"`},
		{"id with a space", `{"id":"a b",` + good + `}`, jsonCT, 400, `"id"`},
		{"id with a control character", `{"id":"a\u0007b",` + good + `}`, jsonCT, 400, `"id"`},
		{"id with invalid UTF-8 escape", `{"id":"\ud800",` + good + `}`, jsonCT, 400, `"id"`},
		{"object id", `{"id":{"$ne":null},` + good + `}`, jsonCT, 400, `"id"`},
		{"body over 64 KiB", `{"id":"big",` + good + `,"store_and_fwd_flag":"` + strings.Repeat(" ", 65<<10) + `"}`, jsonCT, 413, "bytes"},
		{"text/plain", `{` + good + `}`, "text/plain", 415, "Content-Type"},
		{"form", `{` + good + `}`, "application/x-www-form-urlencoded", 415, "Content-Type"},
		{"no content type", `{` + good + `}`, "", 415, "Content-Type"},
		{"malformed content type", `{` + good + `}`, "application/json; =", 415, "Content-Type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := e.post(t, "/predict", c.body, c.ct)
			if a.Status != c.status {
				t.Fatalf("status %d, want %d: %s", a.Status, c.status, a.Raw)
			}
			msg, _ := a.Body["error"].(string)
			if !strings.Contains(msg, c.field) {
				t.Errorf("error %q does not name %s", msg, c.field)
			}
			t.Logf("%d %s", a.Status, msg)
		})
	}
	// No bad request was logged.
	for _, id := range []string{"big", "a b", ""} {
		if id != "" && docExists(t, e, id) {
			t.Errorf("rejected request %q was logged", id)
		}
	}
	if st := e.plog.Stats(); st.Batches != 0 {
		t.Errorf("rejected requests reached the database: %+v", st)
	}

	// Accepted variants: integral floats, space-separated timestamps, charset.
	lenient := idMaker()("lenient")
	ok := `{"id":"` + lenient + `","PULocationID":130.0,"DOLocationID":205,"trip_distance":0,"passenger_count":1.0,` +
		`"lpep_pickup_datetime":"2021-02-01 00:34:03","lpep_dropoff_datetime":null}`
	a := e.post(t, "/predict", ok, "application/json; charset=utf-8")
	if a.Status != http.StatusOK {
		t.Fatalf("status %d: %s", a.Status, a.Raw)
	}
	doc := findDoc(t, e, lenient)
	if doc.Lookup("PULocationID").Int64() != 130 || doc.Lookup("passenger_count").Int64() != 1 ||
		doc.Lookup("lpep_pickup_datetime").StringValue() != "2021-02-01T00:34:03" ||
		doc.Lookup("lpep_dropoff_datetime").Type != bson.TypeNull {
		t.Errorf("stored %v", doc)
	}
}

func TestPredictDuplicateIDFailsOnlyItsRecord(t *testing.T) {
	// A long batch delay makes the concurrent requests share one InsertMany.
	e := newEnv(t, store.LoggerOptions{BatchDelay: 500 * time.Millisecond}, serve.Config{}, nil)
	uid := idMaker()
	dup := uid("dup")
	if a := e.post(t, "/predict", ride(2, dup), jsonCT); a.Status != http.StatusOK {
		t.Fatalf("first request: %d %s", a.Status, a.Raw)
	}
	before := e.plog.Stats()
	ids := []string{uid("dup-n1"), dup, uid("dup-n2"), uid("dup-n3")}
	answers := make([]answer, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.post(t, "/predict", ride(3+i, id), jsonCT)
		}()
	}
	wg.Wait()
	for i, id := range ids {
		a := answers[i]
		if id == dup {
			msg, _ := a.Body["error"].(string)
			if a.Status != http.StatusConflict || !strings.Contains(msg, dup) {
				t.Errorf("duplicate id: %d %s, want 409 naming the id", a.Status, a.Raw)
			}
			continue
		}
		if a.Status != http.StatusOK {
			t.Errorf("%s: %d %s", id, a.Status, a.Raw)
		}
		if !docExists(t, e, id) {
			t.Errorf("%s, in the duplicate's batch, was not stored", id)
		}
	}
	after := e.plog.Stats()
	if after.MultiBatches == before.MultiBatches || after.Duplicates != 1 {
		t.Errorf("stats before %+v after %+v: want the duplicate in a batch with others", before, after)
	}
	// The first record is intact.
	if got := findDoc(t, e, dup).Lookup("PULocationID").Int64(); got != mustInt(t, rides[2]["PULocationID"].(json.Number)) {
		t.Errorf("first record overwritten: PULocationID %d", got)
	}
}

func mustInt(t *testing.T, n json.Number) int64 {
	t.Helper()
	v, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPredictConcurrentRequestsAreGrouped(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, nil)
	const workers, perWorker = 16, 20
	uid := idMaker()
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				a := e.post(t, "/predict", ride((w*perWorker+i)%len(rides), uid(fmt.Sprintf("conc-%d-%d", w, i))), jsonCT)
				if a.Status != http.StatusOK {
					mu.Lock()
					bad++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if bad > 0 {
		t.Fatalf("%d requests failed", bad)
	}
	st := e.srv.Stats()
	if st.Records != workers*perWorker {
		t.Errorf("%d records acknowledged, want %d", st.Records, workers*perWorker)
	}
	if st.MultiBatches == 0 || st.MaxBatch < 2 || st.Batches >= st.Records {
		t.Errorf("no group commit under concurrency: %+v", st)
	}
	t.Logf("%d records in %d InsertMany calls (%d with more than one record, largest %d)", st.Records, st.Batches, st.MultiBatches, st.MaxBatch)
	suffix := uid("") // "-<run>-<n>"
	n, err := e.coll.CountDocuments(context.Background(), bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^conc-.*" + regexp.QuoteMeta(suffix) + "$"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if n != workers*perWorker {
		t.Errorf("%d documents stored, want %d", n, workers*perWorker)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, nil)
	if a := e.get(t, "/healthz"); a.Status != http.StatusOK || a.Body["status"] != "ok" {
		t.Errorf("/healthz: %d %s", a.Status, a.Raw)
	}
	if a := e.get(t, "/readyz"); a.Status != http.StatusOK || a.Body["model_version"] != mdl.Version {
		t.Errorf("/readyz: %d %s", a.Status, a.Raw)
	}
	e.srv.SetDraining()
	if a := e.get(t, "/readyz"); a.Status != http.StatusServiceUnavailable || !strings.Contains(a.Raw, "shutting down") {
		t.Errorf("/readyz while draining: %d %s", a.Status, a.Raw)
	}
	if a := e.get(t, "/nope"); a.Status != http.StatusNotFound {
		t.Errorf("unknown route: %d %s", a.Status, a.Raw)
	}
	if a := e.get(t, "/predict"); a.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET /predict: %d %s", a.Status, a.Raw)
	}
}

// TestReadinessFollowsTheDatabase stops its own FerretDB under a running service
// and starts it again on the same address and files.
func TestReadinessFollowsTheDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			db.Stop()
		}
	}()
	c, err := mongodb.Connect(ctx, db.URI)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	plog := store.NewLogger(c.Database(mongodb.Database).Collection(mongodb.CollectionData), store.LoggerOptions{WriteTimeout: time.Second})
	defer plog.Close(ctx)
	srv, err := serve.New(serve.Config{ReadyTimeout: 300 * time.Millisecond, RequestTimeout: 3 * time.Second}, serve.Deps{
		Model: mdl, Sink: plog, Ping: func(ctx context.Context) error { return mongodb.Ping(ctx, c) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{srv: srv, ts: newHTTPTest(t, srv)}

	if a := e.get(t, "/readyz"); a.Status != http.StatusOK {
		t.Fatalf("/readyz with the database up: %d %s", a.Status, a.Raw)
	}
	if a := e.post(t, "/predict", ride(0, "ready-1"), jsonCT); a.Status != http.StatusOK {
		t.Fatalf("predict: %d %s", a.Status, a.Raw)
	}

	db.Stop()
	stopped = true
	start := time.Now()
	a := e.get(t, "/readyz")
	if a.Status != http.StatusServiceUnavailable || !strings.Contains(a.Raw, "database") {
		t.Errorf("/readyz with the database down: %d %s", a.Status, a.Raw)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("/readyz took %v with the database down", el)
	}
	if a := e.get(t, "/healthz"); a.Status != http.StatusOK {
		t.Errorf("/healthz with the database down: %d", a.Status)
	}
	start = time.Now()
	if a := e.post(t, "/predict", ride(0, "ready-2"), jsonCT); a.Status != http.StatusServiceUnavailable {
		t.Errorf("predict with the database down: %d %s, want 503", a.Status, a.Raw)
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("predict took %v with the database down", el)
	}

	db, err = mongotest.Start(ctx, mongotest.Options{Dir: dir, Addr: db.Addr})
	if err != nil {
		t.Fatal(err)
	}
	stopped = false
	deadline := time.Now().Add(15 * time.Second)
	for {
		a := e.get(t, "/readyz")
		if a.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after the database came back: %s", a.Status, a.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a := e.post(t, "/predict", ride(0, "ready-3"), jsonCT); a.Status != http.StatusOK {
		t.Fatalf("predict after the database came back: %d %s", a.Status, a.Raw)
	}
	// The record from before the outage survived the restart.
	if err := c.Database(mongodb.Database).Collection(mongodb.CollectionData).FindOne(ctx, bson.D{{Key: "_id", Value: "ready-1"}}).Err(); err != nil {
		t.Errorf("ready-1 after restart: %v", err)
	}
}

func TestOnRecordHookAndExtraRoutes(t *testing.T) {
	var mu sync.Mutex
	var got []serve.Record
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, func(d *serve.Deps) {
		d.OnRecord = func(r serve.Record) {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		}
		d.Routes.Ingest = func(r chi.Router) {
			r.Get("/iterate/{dataset}", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"dataset":%q}`, chi.URLParam(r, "dataset"))
			})
		}
	})
	if a := e.get(t, "/iterate/taxi"); a.Status != http.StatusOK || a.Body["dataset"] != "taxi" {
		t.Errorf("added route: %d %s", a.Status, a.Raw)
	}
	hook := idMaker()("hook")
	a := e.post(t, "/predict", ride(5, hook), jsonCT)
	if a.Status != http.StatusOK {
		t.Fatal(a.Raw)
	}
	_ = e.post(t, "/predict", ride(5, hook), jsonCT) // 409: not a logged record
	_ = e.post(t, "/predict", `{}`, jsonCT)          // 400
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("hook called %d times, want 1", len(got))
	}
	r := got[0]
	pudo, want := expected(t, rides[5])
	if r.ID != hook || r.PUDO != pudo || !r.PUDOKnown || r.Prediction != want || r.ModelVersion != mdl.Version ||
		r.Trip.TripDistance == nil || r.Trip.Pickup == nil || r.ReceivedAt.IsZero() || r.ReceivedAt.Location() != time.UTC {
		t.Errorf("hook record %+v", r)
	}
}

func TestPanicIsRecovered(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, func(d *serve.Deps) {
		d.OnRecord = func(serve.Record) { panic("observer bug") }
		d.Logger = discardLogger()
	})
	if a := e.post(t, "/predict", ride(6, idMaker()("panic")), jsonCT); a.Status != http.StatusInternalServerError {
		t.Errorf("panicking hook: %d %s", a.Status, a.Raw)
	}
	if a := e.get(t, "/healthz"); a.Status != http.StatusOK {
		t.Errorf("server down after a panic: %d", a.Status)
	}
}

func TestRequestTimeoutIsHonoured(t *testing.T) {
	// The batch waits 2s for company; the request may wait 200ms.
	e := newEnv(t, store.LoggerOptions{BatchDelay: 2 * time.Second}, serve.Config{RequestTimeout: 200 * time.Millisecond}, func(d *serve.Deps) {
		d.Logger = discardLogger()
	})
	start := time.Now()
	a := e.post(t, "/predict", ride(7, idMaker()("timeout")), jsonCT)
	if a.Status != http.StatusServiceUnavailable || !strings.Contains(a.Raw, "in time") {
		t.Errorf("status %d %s, want 503", a.Status, a.Raw)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("answered after %v", el)
	}
}

func TestNewRejectsMissingDeps(t *testing.T) {
	if _, err := serve.New(serve.Config{}, serve.Deps{Sink: nil, Model: mdl}); err == nil {
		t.Error("no sink accepted")
	}
	if _, err := serve.New(serve.Config{}, serve.Deps{Sink: store.NewLogger(nil, store.LoggerOptions{})}); err == nil {
		t.Error("no model accepted")
	}
	other := *mdl
	other.Categorical = "PU"
	if _, err := serve.New(serve.Config{}, serve.Deps{Model: &other, Sink: store.NewLogger(nil, store.LoggerOptions{})}); err == nil {
		t.Error("model with other features accepted")
	}
}

// FuzzPredictBody: no body makes the handler panic or answer 5xx. Accepted bodies
// are logged to the real store (ids repeat across inputs: 409 is fine).
func FuzzPredictBody(f *testing.F) {
	for _, s := range []string{`{}`, `{"PULocationID":1,"DOLocationID":2,"trip_distance":3}`, `[`, `{"id":"\u00e9"}`,
		`{"id":"fz-1","PULocationID":1e2,"DOLocationID":2,"trip_distance":-0.0}`, `{"lpep_pickup_datetime":"2021-02-01T00:00:00Z"}`,
		`{"id":"fz-2","PULocationID":265,"DOLocationID":1,"trip_distance":1e308,"lpep_pickup_datetime":"2021-02-01T00:00:00+05:00"}`} {
		f.Add([]byte(s))
	}
	plog := store.NewLogger(client.Database(mongodb.Database).Collection(mongodb.CollectionData), store.LoggerOptions{})
	f.Cleanup(func() { _ = plog.Close(context.Background()) })
	srv, err := serve.New(serve.Config{}, serve.Deps{Model: mdl, Sink: plog, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/predict", bytes.NewReader(body))
		req.Header.Set("Content-Type", jsonCT)
		srv.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusConflict, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("body %q: status %d %s", body, w.Code, w.Body.String())
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("body %q: answer %q is not JSON", body, w.Body.String())
		}
	})
}

// TestPredictMutatedBodies posts randomly damaged real rides (a deterministic,
// cheap stand-in for running the fuzzer): never a 5xx or a panic, always a JSON answer.
func TestPredictMutatedBodies(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{}, func(d *serve.Deps) { d.Logger = discardLogger() })
	values := []string{`null`, `true`, `"x"`, `""`, `-1`, `0`, `1.5`, `1e309`, `-1e400`, `265`, `266`, `[]`, `{}`,
		`"2021-02-01T00:00:00"`, `"\u0000"`, `9223372036854775808`, `-0`, `1E2`, `"\ud800"`, `{"$gt":""}`}
	rng := rand.New(rand.NewPCG(1, 2))
	uid := idMaker()
	const n, workers = 800, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				mu.Lock()
				r := ride(rng.IntN(len(rides)), uid(fmt.Sprintf("mut-%d", i)))
				keys := make([]string, 0, len(r))
				for k := range r {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for range rng.IntN(3) {
					r[keys[rng.IntN(len(keys))]] = json.RawMessage(values[rng.IntN(len(values))])
				}
				b, _ := json.Marshal(r)
				for range rng.IntN(3) {
					switch pos := rng.IntN(len(b)); rng.IntN(3) {
					case 0:
						b = append(b[:pos:pos], b[pos+1:]...)
					case 1:
						b = slices.Insert(b, pos, byte(rng.IntN(256)))
					default:
						b[pos] = byte(rng.IntN(128))
					}
				}
				mu.Unlock()
				w := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/predict", bytes.NewReader(b))
				req.Header.Set("Content-Type", jsonCT)
				e.srv.ServeHTTP(w, req)
				mu.Lock()
				codes[w.Code]++
				mu.Unlock()
				switch w.Code {
				case http.StatusOK, http.StatusBadRequest, http.StatusConflict:
				default:
					t.Errorf("body %q: status %d %s", b, w.Code, w.Body.String())
				}
				if !json.Valid(w.Body.Bytes()) {
					t.Errorf("body %q: answer %q is not JSON", b, w.Body.String())
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("answers: %v", codes)
	if codes[http.StatusOK] == 0 || codes[http.StatusBadRequest] == 0 {
		t.Errorf("answers %v: want both accepted and rejected bodies", codes)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newHTTPTest(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// Issue 15: a value outside a configured plausible range is a 400 naming the field
// and the range; the ride is neither predicted nor logged (real embedded store).
// Without a range every finite value is accepted, as before.
func TestPredictPlausibleRange(t *testing.T) {
	e := newEnv(t, store.LoggerOptions{}, serve.Config{PlausibleRanges: map[string]metrics.Range{
		"trip_distance": {Min: 0, Max: 1000}, "fare_amount": {Min: -500, Max: 5000},
	}}, nil)
	id := idMaker()
	for _, c := range []struct {
		name, body, field string
		status            int
	}{
		{"poison distance", `"trip_distance":1e200`, "trip_distance", 400},
		{"largest float", `"trip_distance":1.7976931348623157e308`, "trip_distance", 400},
		{"just above", `"trip_distance":1000.0000001`, "trip_distance", 400},
		{"upper bound", `"trip_distance":1000`, "", 200},
		{"lower bound", `"trip_distance":0`, "", 200},
		{"tiny", `"trip_distance":5e-324`, "", 200},
		{"fare out of range", `"trip_distance":2,"fare_amount":-1e300`, "fare_amount", 400},
		{"fare absent", `"trip_distance":2`, "", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			rid := id(strings.ReplaceAll(c.name, " ", "-"))
			a := e.post(t, "/predict", `{"id":"`+rid+`","PULocationID":1,"DOLocationID":2,`+c.body+`}`, jsonCT)
			if a.Status != c.status {
				t.Fatalf("status %d, want %d: %s", a.Status, c.status, a.Raw)
			}
			if c.status == 400 {
				msg, _ := a.Body["error"].(string)
				if !strings.Contains(msg, `"`+c.field+`"`) || !strings.Contains(msg, "plausible range [") {
					t.Errorf("error %q does not name %s and its range", msg, c.field)
				}
				if docExists(t, e, rid) {
					t.Errorf("refused ride %s was logged", rid)
				}
			}
		})
	}
	open := newEnv(t, store.LoggerOptions{}, serve.Config{}, nil)
	if a := open.post(t, "/predict", `{"id":"`+id("open")+`","PULocationID":1,"DOLocationID":2,"trip_distance":1e5}`, jsonCT); a.Status != 200 {
		t.Errorf("no range configured: %d %s", a.Status, a.Raw)
	}
	for name, r := range map[string]metrics.Range{"PULocationID": {Min: 1, Max: 2}, "distance": {Min: 0, Max: 1}, "trip_distance": {Min: 2, Max: 1}} {
		if _, err := serve.New(serve.Config{PlausibleRanges: map[string]metrics.Range{name: r}}, serve.Deps{Model: mdl, Sink: store.NewLogger(nil, store.LoggerOptions{})}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("range %v of %q: err = %v", r, name, err)
		}
	}
}
