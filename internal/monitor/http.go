package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/modelmon/modelmon/internal/report"
)

// Routes mounts the monitor's endpoints on r:
//
//	POST /iterate/{dataset}         records for a dataset's window (the seed's API)
//	GET  /monitor/{dataset}/report  the latest computed report (JSON)
func (m *Monitor) Routes(r chi.Router) {
	r.Method(http.MethodPost, "/iterate/{dataset}", m.IterateHandler())
	r.Method(http.MethodGet, "/monitor/{dataset}/report", m.ReportHandler())
}

// IterateHandler serves POST /iterate/{dataset}: the body is one JSON object or an
// array of them (the seed's Evidently API), field names are column names: the
// configured features, the prediction column and the target column; other fields are
// ignored. null is a missing value. Numerical fields take numbers or numeric strings;
// categorical fields take strings, numbers (132 and 132.0 are the category "132") or
// booleans. A record without a prediction still feeds the data drift and quality of
// its features.
//
// Answers: 200 {"dataset": ..., "accepted": n}; 404 for an unknown dataset; 400 naming
// the record and field for a bad body (nothing of that body is kept); 413 for a body
// over service.iterate_max_body_bytes. Errors are {"error": "..."}.
func (m *Monitor) IterateHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "dataset")
		d, ok := m.datasets[name]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown dataset %q", name))
			return
		}
		limit := m.cfg.Service.IterateMaxBodyBytes
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				m.met.rejected.WithLabelValues(name, "too_large").Inc()
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", limit))
				return
			}
			m.met.rejected.WithLabelValues(name, "bad_request").Inc()
			writeError(w, http.StatusBadRequest, "read body: "+err.Error())
			return
		}
		recs, err := d.decodeRecords(body)
		if err != nil {
			m.met.rejected.WithLabelValues(name, "bad_request").Inc()
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		d.observeRecords(recs)
		writeJSON(w, http.StatusOK, map[string]any{"dataset": name, "accepted": len(recs)})
	})
}

// ReportHandler serves GET /monitor/{dataset}/report: the latest computed report of
// the window against the reference, with computed_at; 404 before the first one.
func (m *Monitor) ReportHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "dataset")
		d, ok := m.datasets[name]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown dataset %q", name))
			return
		}
		last := d.last.Load()
		if last == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("dataset %q has no computed window yet", name))
			return
		}
		// Encoded when computed (a report that does not encode is a failed
		// computation and never replaces the previous one), so this cannot fail.
		w.Header().Set("Content-Type", "application/json")
		w.Write(last.body)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// decodeRecords parses an /iterate body into records of d's columns.
func (d *dataset) decodeRecords(body []byte) ([]record, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("empty body: want a JSON object or an array of objects")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var objs []map[string]any
	switch body[0] {
	case '{':
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		objs = []map[string]any{o}
	case '[':
		if err := dec.Decode(&objs); err != nil {
			return nil, fmt.Errorf("invalid JSON: want an array of objects: %w", err)
		}
	default:
		return nil, errors.New("want a JSON object or an array of objects")
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: trailing data after the value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: trailing data after the value")
	}
	recs := make([]record, len(objs))
	predCol, tgtCol := d.cfg.PredictionColumn(), d.cfg.TargetColumn()
	for i, o := range objs {
		if o == nil {
			return nil, fmt.Errorf("record %d: null: want an object", i)
		}
		rec := record{
			num: make([]float64, len(d.numNames)), numOK: make([]bool, len(d.numNames)),
			cat: make([]string, len(d.catNames)), catOK: make([]bool, len(d.catNames)),
		}
		var err error
		for j, n := range d.numNames {
			if rec.num[j], rec.numOK[j], err = numField(o[n]); err != nil {
				return nil, fmt.Errorf("record %d: field %q: %w", i, n, err)
			}
		}
		for j, n := range d.catNames {
			if rec.cat[j], rec.catOK[j], err = catField(o[n]); err != nil {
				return nil, fmt.Errorf("record %d: field %q: %w", i, n, err)
			}
		}
		if rec.pred, rec.predOK, err = numField(o[predCol]); err != nil {
			return nil, fmt.Errorf("record %d: field %q (prediction): %w", i, predCol, err)
		}
		if rec.tgt, rec.tgtOK, err = numField(o[tgtCol]); err != nil {
			return nil, fmt.Errorf("record %d: field %q (target): %w", i, tgtCol, err)
		}
		recs[i] = rec
	}
	return recs, nil
}

func numField(v any) (float64, bool, error) {
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s is not a float64", x)
		}
		return f, true, nil
	case string:
		if x == "" {
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%q is not a number", truncate(x))
		}
		return f, !math.IsNaN(f) && !math.IsInf(f, 0), nil
	case bool:
		return 0, false, errors.New("a boolean is not a number")
	default:
		return 0, false, fmt.Errorf("want a number, got %s", jsonKind(v))
	}
}

func catField(v any) (string, bool, error) {
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return "", false, fmt.Errorf("%s is not a float64", x)
		}
		return report.FormatCategoryNumber(f), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	default:
		return "", false, fmt.Errorf("want a string or number, got %s", jsonKind(v))
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
