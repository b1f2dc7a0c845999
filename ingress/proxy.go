package ingress

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/ingress/table"
)

// handler routes each request by the table in force when it arrives.
type handler struct {
	current *atomic.Pointer[table.Table]
	proxy   *httputil.ReverseProxy
	log     *slog.Logger
}

type ctxKey struct{}

// target is where a request goes, chosen before the proxy rewrites it.
type target struct {
	addr    string
	backend *table.Backend
}

func newHandler(current *atomic.Pointer[table.Table], log *slog.Logger) *handler {
	h := &handler{current: current, log: log}
	transport := &http.Transport{
		Proxy:                 nil, // straight to pod IPs, never through an environment proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Backends speak HTTP/1.1 (as every ingress controller's upstreams do by default),
		// which is also what lets Upgrade (WebSocket) through.
		ForceAttemptHTTP2: false,
	}
	h.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(ctxKey{}).(*target)
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", t.addr
			// The backend sees the Host the client asked for, as behind any ingress.
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			if _, port, err := net.SplitHostPort(localAddr(pr.In)); err == nil {
				pr.Out.Header.Set("X-Forwarded-Port", port)
			}
		},
		Transport: transport,
		// Flush at once: streamed responses (server-sent events, chunked logs) pass through
		// as they are written.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			t := r.Context().Value(ctxKey{}).(*target)
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			h.log.Debug("backend unreachable", "backend", t.backend.String(), "endpoint", t.addr, "err", err)
			http.Error(w, "502 bad gateway: "+t.backend.String()+" did not answer", http.StatusBadGateway)
		},
	}
	return h
}

func localAddr(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a.String()
	}
	return ""
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := h.current.Load().Match(r.Host, r.URL.Path)
	if b == nil {
		http.Error(w, "404 page not found (no Ingress rule matches "+r.Host+r.URL.Path+")", http.StatusNotFound)
		return
	}
	addr, ok := b.Pick()
	if !ok {
		msg := "no ready endpoints"
		if b.Err != "" {
			msg = b.Err
		}
		http.Error(w, "503 service unavailable: "+b.String()+": "+msg, http.StatusServiceUnavailable)
		return
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, &target{addr: addr, backend: b})
	h.proxy.ServeHTTP(w, r.WithContext(ctx))
}
