package apiserver

import (
	"context"
	"net/http"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
)

// Request timeouts, as kube-apiserver has them: a request that is not long-running gets a
// deadline (Config.RequestTimeout, or its own shorter ?timeout=), so a slow client or a
// stuck read cannot hold the server's memory and goroutines without bound. The deadline
// covers reading the body: a client that stalls mid-body is cut off when it passes, and its
// buffer freed. What the deadline interrupts answers 504 Timeout.

// longRunningSubresources are Kubernetes' (LongRunningRequestCheck): they stream for as long
// as the client wants; and skiff's nodes/images, an upload as long as the image is big.
var longRunningSubresources = map[string]bool{"attach": true, "exec": true, "proxy": true, "log": true, "portforward": true, subImages: true}

// longRunning reports whether r is a watch or a streaming subresource, judged from its path
// as authorization judges it.
func longRunning(r *http.Request) bool {
	a := requestAttributes(r)
	return a.Verb == "watch" || longRunningSubresources[a.Subresource]
}

// withTimeout gives requests that are not long-running their deadline.
func (s *Server) withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if longRunning(r) {
			next.ServeHTTP(w, r)
			return
		}
		d := s.cfg.RequestTimeout
		if v := r.URL.Query().Get("timeout"); v != "" {
			if t, err := time.ParseDuration(v); err == nil && t > 0 && t < d {
				d = t
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		// The body is read under the same deadline (readBody clears it once read).
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// errTimeout is Kubernetes' answer when a request's deadline passes.
func errTimeout(err error) *apiError {
	return newStatus(http.StatusGatewayTimeout, meta.ReasonTimeout,
		"Timeout: request did not complete within requested timeout - "+err.Error(), nil)
}
