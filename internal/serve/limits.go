package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// LimitConcurrency is middleware that lets at most max requests run at once through
// the routes it wraps (one count shared by all of them); the others get an immediate
// 503 with Retry-After: 1 (no queueing: a queue would only add latency to an
// overloaded service). Routes that must answer under overload (the health checks)
// are simply not wrapped: see (*Server).routes.
func LimitConcurrency(max int) func(http.Handler) http.Handler {
	sem := make(chan struct{}, max)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				next.ServeHTTP(w, r)
			default:
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusServiceUnavailable, "too many requests in progress, retry later")
			}
		})
	}
}

// RequireToken is middleware that requires "Authorization: Bearer <token>" on every
// request of the routes it wraps; it answers 401 with WWW-Authenticate otherwise.
// The comparison takes constant time. An empty token is a programming error (panic).
func RequireToken(token string) func(http.Handler) http.Handler {
	if token == "" {
		panic("serve: RequireToken with an empty token")
	}
	want := sha256.Sum256([]byte(token))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			const scheme = "bearer "
			ok := false
			if len(auth) > len(scheme) && strings.EqualFold(auth[:len(scheme)], scheme) {
				got := sha256.Sum256([]byte(strings.TrimSpace(auth[len(scheme):])))
				ok = subtle.ConstantTimeCompare(got[:], want[:]) == 1
			}
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="modelmon"`)
				writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// jsonBody is the body guard of /predict: 415 for a Content-Type that is not JSON,
// 413 for a declared Content-Length over max, and a body bounded to max bytes (the
// handler answers 413 when it reaches the bound).
func jsonBody(max int64) func(http.Handler) http.Handler {
	tooLarge := fmt.Sprintf("body larger than %d bytes", max)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !isJSON(r.Header.Get("Content-Type")) {
				writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
				return
			}
			if r.ContentLength > max {
				writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			next.ServeHTTP(w, r)
		})
	}
}
