package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// FuzzIterateDecode: POST /iterate/{dataset} answers 2xx or 4xx with a JSON body for
// any body, never a 5xx or a panic. Corpus: testdata/fuzz/FuzzIterateDecode.
func FuzzIterateDecode(f *testing.F) {
	dir := f.TempDir()
	yaml := "datasets:\n  rides:\n    column_mapping:\n      categorical_features: [zone]\n      numerical_features: [distance]\n" +
		"      target: duration\n    reference_file: ref.csv\nservice:\n  window_size: 4\n  calculation_period_sec: 1\n  iterate_max_body_bytes: 4096\n"
	if err := os.WriteFile(filepath.Join(dir, "ref.csv"), []byte(refCSV), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(yaml), 0o644); err != nil {
		f.Fatal(err)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	m, err := New(context.Background(), cfg, prometheus.NewRegistry(), quietLogger())
	if err != nil {
		f.Fatal(err)
	}
	r := chi.NewRouter()
	m.Routes(r)
	for _, s := range []string{`{"zone":"a","distance":1.5,"prediction":10,"duration":11}`,
		`[{"zone":"b","distance":"2.5"},{"zone":132.0,"distance":null}]`, `[]`, `{}`, `[`, `null`, `"x"`,
		`{"zone":true,"distance":1e309}`, `{"distance":"NaN"}`, `[[]]`, `{"zone":{"$gt":""}}`} {
		f.Add("rides", []byte(s))
	}
	f.Add("nope", []byte(`{}`))
	f.Fuzz(func(t *testing.T, dataset string, body []byte) {
		req, err := http.NewRequest(http.MethodPost, "/iterate/"+dataset, bytes.NewReader(body))
		if err != nil {
			return // not a URL: never reaches a handler
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("dataset %q body %q: status %d %s", dataset, body, w.Code, w.Body.String())
		}
		if w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("body %q: answer %q is not JSON", body, w.Body.String())
		}
	})
}
