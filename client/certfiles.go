package client

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// A client certificate that is renewed while the program runs (a node agent rotates its
// own) is given as files: every new TLS connection presents what the files hold then, and
// CloseConnections makes the open connections go, so the next requests authenticate with
// the new certificate (the API server reads the identity from each connection's handshake).

// certFiles loads a certificate and key from files, again whenever the certificate file
// changes.
type certFiles struct {
	certFile, keyFile string
	mu                sync.Mutex
	mod               time.Time
	cert              *tls.Certificate
}

func (f *certFiles) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	st, err := os.Stat(f.certFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cert != nil && st.ModTime().Equal(f.mod) {
		return f.cert, nil
	}
	c, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	f.cert, f.mod = &c, st.ModTime()
	return f.cert, nil
}

// connTracker remembers the client's open connections so they can be closed at once.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

func (t *connTracker) track(c net.Conn) net.Conn {
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	if t.conns == nil {
		t.conns = map[net.Conn]struct{}{}
	}
	t.conns[tc] = struct{}{}
	t.mu.Unlock()
	return tc
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	conns := make([]net.Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// CloseConnections closes every connection the client has open; requests in flight fail
// (watches end and are restarted by their informers) and new ones connect afresh.
func (c *Client) CloseConnections() {
	if c.conns != nil {
		c.conns.closeAll()
	}
}
