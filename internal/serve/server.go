// Package serve is the online prediction service: an http.Handler (go-chi) that
// predicts a ride's duration with the trip-duration model and logs every prediction
// to MongoDB through a group-commit store.Logger before it answers, plus Run, which
// wires it to a database and an HTTP server with graceful shutdown. `go run ./online`
// is Run with flags; a dev stack or the live-monitoring feature embeds New or Run and
// adds its routes through Deps.Routes / Options.Routes (routes.go builds the tree).
//
// Routes:
//
//	POST /predict  one ride (TLC column names, optional "id") -> {"id","duration","model_version"}
//	GET  /healthz  the process is up
//	GET  /readyz   the model is loaded and the database answers a ping
//
// plus, from Routes, /metrics and the live monitor's /iterate/{dataset} and
// /monitor/{dataset}/report (behind the ingest token).
//
// POST /predict answers 200 only once the record is acknowledged by the database.
// Input errors are 400 {"error": "..."} naming the field (unknown fields included:
// they are rejected so that typos are caught), 413 for a body over MaxBodyBytes, 415
// for a Content-Type that is not JSON, 409 for an id that is already logged, 503 when
// the prediction log cannot take or acknowledge the record (see README in online/).
package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/spool"
	"github.com/modelmon/modelmon/internal/store"
	"github.com/modelmon/modelmon/internal/taxi"
)

// Config are the HTTP knobs of the service. Zero values take the defaults.
type Config struct {
	// RequestTimeout bounds every request (context deadline); default 5s.
	RequestTimeout time.Duration
	// ReadyTimeout bounds the database ping of /readyz; default 1s.
	ReadyTimeout time.Duration
	// MaxBodyBytes is the largest /predict body; default 64 KiB.
	MaxBodyBytes int64
	// MaxConcurrent caps the requests being handled at once (health checks and
	// /metrics excepted); over it the answer is an immediate 503 with
	// Retry-After. Default 1024; negative: no cap.
	MaxConcurrent int
	// IngestToken, when set, is required as "Authorization: Bearer <token>" by
	// the routes of Routes.Ingest (/iterate/{dataset}, /monitor/{dataset}/report;
	// 401 otherwise, compared in constant time). /predict stays open.
	IngestToken string
	// PlausibleRanges bound numerical /predict fields by JSON name (e.g.
	// trip_distance: [0, 1e6]); a ride with a value outside is answered 400
	// naming the field and the range, and is neither predicted nor logged.
	// onlineapp fills it from the monitoring config's plausible_ranges of the
	// dataset /predict feeds. Nil: any finite value.
	PlausibleRanges map[string]metrics.Range
}

// Defaults of Config.
const (
	DefaultRequestTimeout = 5 * time.Second
	DefaultReadyTimeout   = time.Second
	DefaultMaxBodyBytes   = 64 << 10
	DefaultMaxConcurrent  = 1024
)

func (c *Config) setDefaults() {
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
}

// Sink stores one prediction document and returns when it is acknowledged;
// *store.Logger is the implementation. Its errors store.ErrDuplicateID and
// store.ErrOverloaded map to 409 and 503. A Sink may also bound its own wait
// (LogWithin, as *store.Logger does: boundedSink); /predict then passes
// Config.RequestTimeout to it instead of a context deadline.
type Sink interface {
	Log(ctx context.Context, doc any) error
}

// Record is one logged prediction, as given to Deps.OnRecord.
type Record struct {
	ID           string
	Trip         taxi.Trip // the request's TLC fields; absent ones are nil
	PUDO         string
	PUDOKnown    bool    // PUDO was seen in training (an unseen one contributes 0)
	Prediction   float64 // minutes
	ModelVersion string
	ReceivedAt   time.Time // UTC
}

// Deps are what the service uses.
type Deps struct {
	// Model predicts; required. Its features must be PU_DO and trip_distance.
	Model *model.Model
	// Sink logs every prediction before the answer; required.
	Sink Sink
	// Ping checks the database for /readyz; nil means no database check.
	Ping func(ctx context.Context) error
	// Logger; nil is slog.Default().
	Logger *slog.Logger
	// OnRecord, when set, is called once for every prediction after its record
	// is acknowledged and before the answer, on the request's goroutine: it must
	// be safe for concurrent use and fast (hand heavy work to a channel).
	OnRecord func(Record)
	// Middleware runs before the service's own (request id, recovery, timeout,
	// concurrency cap, token), so that it sees every answer, including recovered
	// panics, timeouts and refusals (e.g. the HTTP metrics).
	Middleware []func(http.Handler) http.Handler
	// Routes are the routes added to the service's own, each in its group.
	Routes Routes
	// Spool, when set, is the prediction log's spool: /readyz reports its backlog
	// and stays 200 while the database is down and the spool has room.
	Spool *spool.Spool
	// Now and NewID replace time.Now and UUID v4 generation (tests).
	Now   func() time.Time
	NewID func() string
}

// Server is the service's http.Handler.
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	router   chi.Router
	draining atomic.Bool
	ranges   []plausibleRange // cfg.PlausibleRanges sorted by name
}

// New builds the service's route tree (see routes.go): its middleware (request id,
// panic recovery, request timeout, concurrency cap, ingest token), the routes
// /predict, /healthz and /readyz, and those of Deps.Routes.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	if deps.Model == nil {
		return nil, errors.New("serve: a model is required")
	}
	if deps.Sink == nil {
		return nil, errors.New("serve: a prediction sink is required")
	}
	m := deps.Model
	if m.Categorical != taxi.FeatureCategorical || len(m.Numerical) != 1 || m.Numerical[0] != taxi.FeatureDistance ||
		len(m.NumericalCoef) != len(m.Numerical) {
		return nil, fmt.Errorf("serve: model %s has features %q + %q, want %q + [%q]",
			m.Version, m.Categorical, m.Numerical, taxi.FeatureCategorical, taxi.FeatureDistance)
	}
	for name, r := range cfg.PlausibleRanges {
		if (&rideRequest{}).floatField(name) == nil {
			return nil, fmt.Errorf("serve: plausible range of %q: not a numerical /predict field", name)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("serve: plausible range of %q: %w", name, err)
		}
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.NewID == nil {
		deps.NewID = newUUID
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger, ranges: sortedRanges(cfg.PlausibleRanges)}
	s.router = s.routes()
	return s, nil
}

// Routes is the service's route tree, read-only (for chi.Walk, e.g. to list the
// routes and the middleware of each).
func (s *Server) Routes() chi.Routes { return s.router }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// SetDraining makes /readyz answer 503 "shutting down" (set it before
// http.Server.Shutdown so that load balancers stop sending).
func (s *Server) SetDraining() { s.draining.Store(true) }

// ModelVersion is the version of the model being served.
func (s *Server) ModelVersion() string { return s.deps.Model.Version }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "shutting down"})
		return
	}
	out := map[string]any{"status": "ready", "model_version": s.deps.Model.Version}
	var spoolFull bool
	if sp := s.deps.Spool; sp != nil {
		st := sp.Stats()
		out["spool_records"], out["spool_bytes"] = st.Records, st.Bytes
		spoolFull = st.Bytes+s.cfg.MaxBodyBytes*4 > sp.MaxBytes()
	}
	if s.deps.Ping != nil {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
		err := s.deps.Ping(ctx)
		cancel()
		if err != nil {
			s.log.WarnContext(r.Context(), "database ping failed", "err", err, "spooling", s.deps.Spool != nil)
			out["reason"] = "database: " + err.Error()
			if s.deps.Spool == nil || spoolFull {
				if spoolFull {
					out["reason"] = out["reason"].(string) + "; spool full"
				}
				out["status"] = "unavailable"
				writeJSON(w, http.StatusServiceUnavailable, out)
				return
			}
			// Predictions are durable in the spool and drained when the
			// database is back.
			out["status"] = "degraded"
		}
	}
	writeJSON(w, http.StatusOK, out)
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *Server) predict(w http.ResponseWriter, r *http.Request) {
	// jsonBody (routes.go) has checked the Content-Type and bounded the body.
	receivedAt := s.deps.Now().UTC()
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 2*int(s.cfg.MaxBodyBytes) {
			bodyPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	var req rideRequest
	if err := decodeRide(buf.Bytes(), s.ranges, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := req.ID.V
	if !req.ID.Set {
		id = s.deps.NewID()
	}
	m := s.deps.Model
	pudo := taxi.PUDO(req.PULocationID.V, req.DOLocationID.V)
	var num [1]float64
	num[0] = req.TripDistance.V
	pred, known := m.PredictKnown(pudo, num[:])
	if math.IsNaN(pred) || math.IsInf(pred, 0) {
		writeError(w, http.StatusBadRequest, (&inputError{Field: fieldDistance, Msg: "out of range: the prediction is not a finite number"}).Error())
		return
	}
	trip := req.trip()
	doc := mongodb.Prediction{
		ID: id, RideID: id,
		PUDO: pudo, PUDOKnown: known,
		Prediction: pred, ModelVersion: m.Version, ReceivedAt: receivedAt,
	}
	doc.SetTripTimes(&trip) // the timestamps are formatted into the record's BSON by Log
	if err := s.logRecord(r.Context(), &doc); err != nil {
		s.logError(w, r, id, err)
		return
	}
	if s.deps.OnRecord != nil {
		s.deps.OnRecord(Record{
			ID: id, Trip: trip, PUDO: pudo, PUDOKnown: known,
			Prediction: pred, ModelVersion: m.Version, ReceivedAt: receivedAt,
		})
	}
	// The answer reuses the body's buffer (decoding copied what it keeps).
	out := buf.AvailableBuffer()[:0]
	out = append(out, `{"id":`...)
	out = appendJSONString(out, id)
	out = append(out, `,"duration":`...)
	out = strconv.AppendFloat(out, pred, 'g', -1, 64)
	out = append(out, `,"model_version":`...)
	out = appendJSONString(out, m.Version)
	out = append(out, "}\n"...)
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = contentLength(len(out))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// smallLengths are the Content-Length header values of short answers, allocated once.
var smallLengths = func() (v [512][]string) {
	for n := range v {
		v[n] = []string{strconv.Itoa(n)}
	}
	return v
}()

// contentLength is the Content-Length header value for n bytes; callers must not
// modify it.
func contentLength(n int) []string {
	if n < len(smallLengths) {
		return smallLengths[n]
	}
	return []string{strconv.Itoa(n)}
}

// logError answers a prediction whose record was not stored.
func (s *Server) logError(w http.ResponseWriter, r *http.Request, id string, err error) {
	switch {
	case errors.Is(err, store.ErrDuplicateID):
		writeError(w, http.StatusConflict, fmt.Sprintf("id %q is already logged: ids must be unique", id))
	case errors.Is(err, store.ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "prediction log is overloaded, retry later")
	case errors.Is(err, store.ErrClosed):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "shutting down")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		s.log.DebugContext(r.Context(), "client gone before the acknowledgement", "id", id, "request_id", middleware.GetReqID(r.Context()))
		writeError(w, http.StatusServiceUnavailable, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		s.log.WarnContext(r.Context(), "prediction not acknowledged in time", "id", id, "request_id", middleware.GetReqID(r.Context()), "err", err)
		writeError(w, http.StatusServiceUnavailable, "prediction log did not acknowledge the record in time; it may or may not be stored (a retry with the same id answers 409 if it was)")
	default:
		s.log.ErrorContext(r.Context(), "prediction not logged", "id", id, "request_id", middleware.GetReqID(r.Context()), "err", err)
		writeError(w, http.StatusServiceUnavailable, "prediction log unavailable")
	}
}

var jsonContentType = []string{"application/json"}

// isJSON accepts application/json and application/*+json, with parameters.
func isJSON(ct string) bool {
	if ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// appendJSONString appends s as encoding/json writes it (HTML characters escaped).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = contentLength(len(b))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// requestContext gives every request its id (chi's middleware.RequestID: the
// X-Request-Id header or chi's host/random-counter form, read with
// middleware.GetReqID).
func (s *Server) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(middleware.RequestIDHeader)
		if id == "" {
			id = newRequestID()
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), middleware.RequestIDKey, id)))
	})
}

// deadline bounds the request by Config.RequestTimeout (a context deadline that
// handlers honour). POST /predict is not behind it: its only wait, the prediction
// log's acknowledgement, is bounded by predict itself (logRecord), without a new
// context per request.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// boundedSink is a Sink that bounds its own wait (*store.Logger): the handler
// needs no context deadline for it.
type boundedSink interface {
	LogWithin(ctx context.Context, doc any, d time.Duration) error
}

// logRecord logs doc through the Sink within Config.RequestTimeout: a deadline
// error (context.DeadlineExceeded) when the acknowledgement does not come in time.
func (s *Server) logRecord(ctx context.Context, doc any) error {
	if b, ok := s.deps.Sink.(boundedSink); ok {
		return b.LogWithin(ctx, doc, s.cfg.RequestTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.deps.Sink.Log(ctx, doc)
}

// reqIDPrefix is chi's request-id prefix ("host/random"), read once from
// middleware.RequestID.
var reqIDPrefix = func() string {
	var id string
	middleware.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		id = middleware.GetReqID(r.Context())
	})).ServeHTTP(nil, &http.Request{Header: http.Header{}})
	if i := strings.LastIndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return "modelmon"
}()

// newRequestID is fmt.Sprintf("%s-%06d", prefix, counter), as chi's RequestID
// makes it, on chi's counter.
func newRequestID() string {
	n := middleware.NextRequestID()
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], n, 10)
	var b strings.Builder
	b.Grow(len(reqIDPrefix) + 1 + max(6, len(d)))
	b.WriteString(reqIDPrefix)
	b.WriteByte('-')
	for range 6 - len(d) {
		b.WriteByte('0')
	}
	b.Write(d)
	return b.String()
}

// recoverer turns a panic into a 500 and an error log with the stack.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel value, as net/http compares it
				panic(rec)
			}
			s.log.ErrorContext(r.Context(), "panic in handler", "panic", fmt.Sprint(rec),
				"method", r.Method, "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()),
				"stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}
