// Package dashboard is skiff's teaching view: a small web server (`skiff dashboard`) that
// watches the cluster with skiff's own client and shows, live, the nodes with their pods,
// the workload chains (Deployment → ReplicaSet → Pods, Service → EndpointSlice → Pods) and
// each pod's journey through the components. The browser gets a new rendering of its page
// over Server-Sent Events whenever a watch delivers a change; the page is plain HTML, CSS
// and JavaScript embedded in the binary.
//
// Like `kubectl proxy`, it serves on loopback only and talks to the API server with the
// credentials it was given (the cluster's admin kubeconfig); it only reads.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/client"
)

// Config configures a Dashboard.
type Config struct {
	// Client reaches the API server (required).
	Client *client.Client
	// Addr is where to listen; it must be a loopback address. Port 0 picks a free one.
	// Default "127.0.0.1:8080".
	Addr string
	// ProbeInterval is how often the API server's /readyz is checked (default 1s): two
	// failures in a row mark the cluster disconnected.
	ProbeInterval time.Duration
	Log           *slog.Logger
}

// Dashboard serves the pages and keeps the watches.
type Dashboard struct {
	cfg Config
	ln  net.Listener

	mu        sync.Mutex
	cur       *session // the session whose caches the pages show; nil before the first sync
	connected bool
	lastErr   string
	changed   chan struct{} // closed and replaced on every change: a broadcast
	gone      *deletedPods  // pods deleted while watched, across sessions
}

// New checks cfg and binds the listening socket, so URL is known before Run.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Client == nil {
		return nil, errors.New("dashboard: Config.Client is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: address %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("dashboard: address %q is not loopback: the dashboard acts with the cluster's admin credentials", cfg.Addr)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return &Dashboard{cfg: cfg, ln: ln, changed: make(chan struct{}), gone: newDeletedPods(maxDeletedPods)}, nil
}

// URL is the address to open in a browser.
func (d *Dashboard) URL() string { return "http://" + d.ln.Addr().String() + "/" }

// Run serves and watches until ctx ends.
func (d *Dashboard) Run(ctx context.Context) error {
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go d.supervise(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(d.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx) // open event streams end with their requests' context (ctx)
	return nil
}

// bump tells every open page that something changed.
func (d *Dashboard) bump() {
	d.mu.Lock()
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

// state is what a page is rendered from, taken together under the lock; wake is closed at
// the next change after it.
func (d *Dashboard) state() (s *session, connected bool, lastErr string, wake <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur, d.connected, d.lastErr, d.changed
}

// supervise keeps the dashboard connected: it probes the API server, and when the cluster
// is (back) up and no session is live, starts a new one; when it goes away, it ends the
// session (its caches stay on screen, marked disconnected).
func (d *Dashboard) supervise(ctx context.Context) {
	var pending *session // started, waiting for its first lists
	var syncedC <-chan struct{}
	fails := 0
	tick := time.NewTicker(d.cfg.ProbeInterval)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, max(d.cfg.ProbeInterval, 2*time.Second))
		err := d.cfg.Client.Do(pctx, http.MethodGet, "/readyz", nil, nil)
		cancel()
		_, connected, _, _ := d.state()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			fails = 0
			if !connected && pending == nil {
				pending = startSession(ctx, d.cfg.Client, d.bump, d.gone)
				syncedC = pending.synced
			}
		default:
			fails++
			if pending != nil {
				pending.cancel()
				pending, syncedC = nil, nil
			}
			if fails >= 2 && connected {
				d.cfg.Log.Warn("cluster unreachable", "err", err)
				d.mu.Lock()
				d.connected, d.lastErr = false, err.Error()
				d.cur.cancel()
				d.mu.Unlock()
				d.bump()
			} else if !connected {
				d.mu.Lock()
				d.lastErr = err.Error()
				d.mu.Unlock()
				d.bump()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-syncedC:
			d.mu.Lock()
			d.cur, d.connected, d.lastErr = pending, true, ""
			d.mu.Unlock()
			d.cfg.Log.Info("watching the cluster", "server", d.cfg.Client.Host())
			pending, syncedC = nil, nil
			d.bump()
		}
	}
}
