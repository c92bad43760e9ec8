package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/mongotest"
	"github.com/modelmon/modelmon/internal/serve"
	"github.com/modelmon/modelmon/internal/store"
)

const (
	modelPath = "../../models/duration_model.json"
	ridesPath = "../../testdata/online/rides.jsonl"
)

// One embedded FerretDB, client, model and ride fixture for the test binary.
var (
	ferret *mongotest.Server
	client *mongo.Client
	mdl    *model.Model
	rides  []map[string]any // real TLC rides (February 2021), without id
)

func TestMain(m *testing.M) {
	os.Exit(mongotest.Main(m, func(ctx context.Context, s *mongotest.Server) (func(), error) {
		ferret = s
		var err error
		if mdl, err = model.Load(modelPath); err != nil {
			return nil, err
		}
		if rides, err = readRides(ridesPath); err != nil {
			return nil, err
		}
		if client, err = mongodb.Connect(ctx, s.URI); err != nil {
			return nil, err
		}
		return func() { _ = client.Disconnect(context.Background()) }, nil
	}))
}

func readRides(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// ride returns a copy of fixture i with the given id ("" for none).
func ride(i int, id string) map[string]any {
	r := make(map[string]any, len(rides[i])+1)
	for k, v := range rides[i] {
		r[k] = v
	}
	if id != "" {
		r["id"] = id
	}
	return r
}

// testEnv is a service on the shared FerretDB, behind an httptest server.
type testEnv struct {
	srv  *serve.Server
	ts   *httptest.Server
	plog *store.Logger
	coll *mongo.Collection
}

func newEnv(t *testing.T, lopts store.LoggerOptions, cfg serve.Config, edit func(*serve.Deps)) *testEnv {
	t.Helper()
	coll := client.Database(mongodb.Database).Collection(mongodb.CollectionData)
	plog := store.NewLogger(coll, lopts)
	deps := serve.Deps{
		Model: mdl,
		Sink:  plog,
		Ping:  func(ctx context.Context) error { return mongodb.Ping(ctx, client) },
	}
	if edit != nil {
		edit(&deps)
	}
	srv, err := serve.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := plog.Close(ctx); err != nil {
			t.Errorf("close prediction log: %v", err)
		}
	})
	return &testEnv{srv: srv, ts: ts, plog: plog, coll: coll}
}

type answer struct {
	Status int
	Body   map[string]any
	Raw    string
	Header http.Header
}

// post sends body (marshalled unless it is a string or []byte) to path.
func (e *testEnv) post(t *testing.T, path string, body any, contentType string) answer {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, e.ts.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return do(t, req)
}

func (e *testEnv) get(t *testing.T, path string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: res.StatusCode, Raw: string(raw), Header: res.Header}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, body %s", req.Method, req.URL.Path, ct, raw)
	}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		t.Errorf("%s %s: answer is not a JSON object: %q", req.Method, req.URL.Path, raw)
	}
	return a
}
