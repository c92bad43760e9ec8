package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"path"
	"strings"
)

// LimitConcurrency is middleware that lets at most max requests run at once; the
// others get an immediate 503 with Retry-After: 1 (no queueing: a queue would only
// add latency to an overloaded service). Requests whose path is one of exempt (such
// as the health checks) are not counted.
func LimitConcurrency(max int, exempt ...string) func(http.Handler) http.Handler {
	sem := make(chan struct{}, max)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, p := range exempt {
				if r.URL.Path == p {
					next.ServeHTTP(w, r)
					return
				}
			}
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
// request whose (cleaned, case-folded) path is one of prefixes or under it; it
// answers 401 with WWW-Authenticate otherwise. The comparison takes constant time.
// Other paths pass through. An empty token is a programming error (panic).
func RequireToken(token string, prefixes ...string) func(http.Handler) http.Handler {
	if token == "" {
		panic("serve: RequireToken with an empty token")
	}
	want := sha256.Sum256([]byte(token))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !protected(r, prefixes) {
				next.ServeHTTP(w, r)
				return
			}
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

func protected(r *http.Request, prefixes []string) bool {
	paths := []string{r.URL.Path}
	if r.URL.RawPath != "" {
		paths = append(paths, r.URL.RawPath)
	}
	for _, p := range paths {
		p = strings.ToLower(path.Clean("/" + p))
		for _, pre := range prefixes {
			if p == pre || strings.HasPrefix(p, pre+"/") {
				return true
			}
		}
	}
	return false
}
