package serve

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Routes are the routes that other packages add to the service. Each goes into its
// group of the route tree built by (*Server).routes, so that what protects a route
// (concurrency cap, ingest token) is decided there and nowhere else.
type Routes struct {
	// Ingest mounts the routes that feed or read the live monitor
	// ((*monitor.Monitor).Routes: POST /iterate/{dataset}, GET
	// /monitor/{dataset}/report). They sit under the concurrency cap and, when
	// Config.IngestToken is set, require it.
	Ingest func(r chi.Router)
	// Metrics, when set, is served at /metrics, outside the cap (a scrape still
	// answers while the service is overloaded) and without the token.
	Metrics http.Handler
	// Extra mounts other routes (e.g. a benchmark's GET /debug/stats): under the
	// cap, no token. s is the server being built (e.g. for s.Stats).
	Extra func(r chi.Router, s *Server)
}

// routes builds the whole route tree of the service:
//
//	Deps.Middleware (outermost: the HTTP metrics see every answer), request id
//	(requestContext), panic recovery; then
//	group: request timeout (deadline)
//	    GET /healthz, GET /readyz, /metrics no cap, no token
//	group: concurrency cap (503 + Retry-After beyond Config.MaxConcurrent)
//	    POST /predict                       + JSON body limits (415, 413); its one
//	                                        wait, the log's acknowledgement, is
//	                                        bounded by the timeout in the handler
//	    group: request timeout (deadline)
//	        group: ingest token (401)
//	            Routes.Ingest               /iterate/{dataset}, /monitor/{dataset}/report
//	        Routes.Extra
//
// Unmatched paths answer 404 and wrong methods 405, as JSON errors.
func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.deps.Middleware...)
	r.Use(s.requestContext, s.recoverer)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
	})

	// Probes and scrapes: never capped, so that a load balancer and Prometheus
	// see an overloaded service as alive.
	r.Group(func(r chi.Router) {
		r.Use(s.deadline)
		r.Get("/healthz", s.healthz)
		r.Get("/readyz", s.readyz)
		if h := s.deps.Routes.Metrics; h != nil {
			r.Handle("/metrics", h)
		}
	})

	r.Group(func(r chi.Router) {
		if s.cfg.MaxConcurrent > 0 {
			r.Use(LimitConcurrency(s.cfg.MaxConcurrent))
		}
		r.With(jsonBody(s.cfg.MaxBodyBytes)).Post("/predict", s.predict)
		r.Group(func(r chi.Router) {
			r.Use(s.deadline)
			if mount := s.deps.Routes.Ingest; mount != nil {
				r.Group(func(r chi.Router) {
					if s.cfg.IngestToken != "" {
						r.Use(RequireToken(s.cfg.IngestToken))
					}
					mount(r)
				})
			}
			if mount := s.deps.Routes.Extra; mount != nil {
				r.Group(func(r chi.Router) { mount(r, s) })
			}
		})
	})
	return r
}
