package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// Warnings for the client (Kubernetes' "Warning: 299" response headers, which kubectl and
// client-go print): whatever handles a request adds them with addWarnings, from any depth,
// and withWarnings writes them as headers just before the response status goes out.

type warningsKey struct{}

type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

// addWarnings records msgs for the request of ctx (a message already recorded is not
// repeated: an update retried on a conflict runs its admission again).
func addWarnings(ctx context.Context, msgs ...string) {
	rec, _ := ctx.Value(warningsKey{}).(*warningRecorder)
	if rec == nil || len(msgs) == 0 {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
next:
	for _, m := range msgs {
		for _, have := range rec.msgs {
			if have == m {
				continue next
			}
		}
		rec.msgs = append(rec.msgs, m)
	}
}

// withWarnings is the filter that lets handlers add warnings.
func withWarnings(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &warningRecorder{}
		ww := &warningWriter{ResponseWriter: w, rec: rec}
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), warningsKey{}, rec)))
	})
}

type warningWriter struct {
	http.ResponseWriter
	rec     *warningRecorder
	flushed bool
}

func (w *warningWriter) writeHeaders() {
	if w.flushed {
		return
	}
	w.flushed = true
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	for _, m := range w.rec.msgs {
		w.Header().Add("Warning", fmt.Sprintf("299 - %s", strconv.Quote(m)))
	}
}

func (w *warningWriter) WriteHeader(code int) {
	w.writeHeaders()
	w.ResponseWriter.WriteHeader(code)
}

func (w *warningWriter) Write(b []byte) (int, error) {
	w.writeHeaders()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack (watch, exec) underneath.
func (w *warningWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush serves watches, which assert http.Flusher.
func (w *warningWriter) Flush() {
	w.writeHeaders()
	http.NewResponseController(w.ResponseWriter).Flush()
}
