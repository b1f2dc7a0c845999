package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Failing over between API servers. A client given several servers (Config.Servers) keeps
// sending to the one that last answered, and when a new connection to it cannot be made (the
// server died, its machine is gone) it dials the next one. The choice is made per
// connection, never per request: nothing has been sent on a connection that could not be
// dialed, so failing over never repeats a request. Requests in flight on a connection that
// breaks fail as they would with one server, and their callers retry as they always do
// (informers relist and rewatch, controllers requeue); the retry dials a live server.
//
// Each server's certificate is checked against that server's own address (or
// TLS.ServerName), so the servers need no certificates naming each other.

// failoverDialer dials the first reachable of addrs, starting with the last that answered.
type failoverDialer struct {
	addrs   []string // host:port
	tls     *tls.Config
	tracker *connTracker // nil: not tracked
	dialer  *net.Dialer

	mu  sync.Mutex
	cur int
}

// serverAddrs are host:port of Host and Servers, in that order, without duplicates.
func serverAddrs(cfg *Config) ([]string, error) {
	var out []string
	for _, s := range append([]string{cfg.Host}, cfg.Servers...) {
		u, err := parseServer(s)
		if err != nil {
			return nil, err
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
		}
		if !contains(out, host) {
			out = append(out, host)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseServer reads a server URL as Config.Host takes it (a bare host:port is https).
func parseServer(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("client: bad server %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: bad server %q: scheme must be http or https", s)
	}
	return u, nil
}

func (f *failoverDialer) current() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

func (f *failoverDialer) answered(i int) {
	f.mu.Lock()
	f.cur = i
	f.mu.Unlock()
}

// dialPlain is the transport's DialContext for http servers: addr (Host's) is replaced by
// the server chosen.
func (f *failoverDialer) dialPlain(ctx context.Context, network, _ string) (net.Conn, error) {
	return f.each(ctx, func(ctx context.Context, addr string) (net.Conn, error) {
		return f.tcp(ctx, network, addr)
	})
}

// dialTLS is the transport's DialTLSContext for https servers: a TLS connection verified
// against the server dialed. It returns the *tls.Conn itself, so that the transport sees
// the ALPN answer and speaks HTTP/2.
func (f *failoverDialer) dialTLS(ctx context.Context, network, _ string) (net.Conn, error) {
	return f.each(ctx, func(ctx context.Context, addr string) (net.Conn, error) {
		raw, err := f.tcp(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := f.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		conn := tls.Client(raw, cfg)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	})
}

func (f *failoverDialer) tcp(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := f.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if f.tracker != nil {
		conn = f.tracker.track(conn)
	}
	return conn, nil
}

// perServerDialTimeout bounds one server's attempt when others are left to try: a machine
// that is gone answers nothing, and the next server should not wait the full 30 s for it.
const perServerDialTimeout = 5 * time.Second

// each tries dial on every server in turn, from the one that last answered.
func (f *failoverDialer) each(ctx context.Context, dial func(context.Context, string) (net.Conn, error)) (net.Conn, error) {
	start := f.current()
	var errs []error
	for i := range f.addrs {
		idx := (start + i) % len(f.addrs)
		actx, cancel := context.WithTimeout(ctx, perServerDialTimeout)
		conn, err := dial(actx, f.addrs[idx])
		cancel()
		if err == nil {
			f.answered(idx)
			return conn, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", f.addrs[idx], err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("no API server answered: %w", errors.Join(errs...))
}
