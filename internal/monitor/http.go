package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"
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
// over service.iterate_max_body_bytes or with more than service.iterate_max_records
// records (nothing of it is kept). Errors are {"error": "..."}.
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
		recs, err := d.decodeRecords(body, m.cfg.Service.IterateMaxRecords)
		if errors.Is(err, errTooManyRecords) {
			m.met.rejected.WithLabelValues(name, "too_large").Inc()
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
			return
		}
		if err != nil {
			m.met.rejected.WithLabelValues(name, "bad_request").Inc()
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		d.observeRecords(recs)
		writeJSON(w, http.StatusOK, map[string]any{"dataset": name, "accepted": recs.n})
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

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
