package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Config says how to reach and authenticate to an API server.
type Config struct {
	// Host is the server's base URL, e.g. "https://10.0.0.1:6443". A bare "host:port" means https.
	Host string
	// Servers are more API servers of the same cluster (URLs like Host): when no connection
	// can be made to the server in use, the next one is dialed (failover.go). Every request
	// path is the same on each.
	Servers []string
	// BearerToken is sent as "Authorization: Bearer <token>" when set.
	BearerToken string
	TLS         TLSConfig
	// QPS and Burst bound the requests this client sends (a token bucket shared by every
	// request, watches included). QPS 0 means unlimited; Burst defaults to max(1, QPS).
	QPS   float32
	Burst int
	// UserAgent defaults to "<program> (<os>/<arch>) skiff".
	UserAgent string
	// Timeout bounds every request except watches (a watch lasts as long as its context).
	// 0 means no timeout beyond the caller's context.
	Timeout time.Duration
}

// TLSConfig holds PEM data, not file paths: LoadKubeconfig reads the files.
type TLSConfig struct {
	// CAData verifies the server; empty means the system roots.
	CAData []byte
	// CertData and KeyData are the client certificate and key.
	CertData []byte
	KeyData  []byte
	// ServerName overrides the name checked against the server certificate.
	ServerName string
	// Insecure skips server verification. For development only.
	Insecure bool
	// CertFile and KeyFile, instead of CertData and KeyData, are read at every new
	// connection (again when the certificate file changes): for a certificate that is
	// rotated while the program runs (certfiles.go).
	CertFile, KeyFile string
}

func (c *TLSConfig) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.Insecure, //nolint:gosec // explicitly asked for
	}
	if len(c.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.CAData) {
			return nil, errors.New("client: no certificates found in CA data")
		}
		tc.RootCAs = pool
	}
	if len(c.CertData) > 0 || len(c.KeyData) > 0 {
		cert, err := tls.X509KeyPair(c.CertData, c.KeyData)
		if err != nil {
			return nil, fmt.Errorf("client: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	} else if c.CertFile != "" {
		f := &certFiles{certFile: c.CertFile, keyFile: c.KeyFile}
		if _, err := f.get(nil); err != nil {
			return nil, err
		}
		tc.GetClientCertificate = f.get
	}
	return tc, nil
}

// transport is tuned for a control-plane client: HTTP/2 over TLS (one connection carries
// every request and watch), and for plain HTTP enough idle keep-alive connections that
// many requests in flight do not each pay for a new TCP connection.
func (c *Config) transport() (*http.Transport, error) {
	return c.trackedTransport(nil)
}

// trackedTransport is transport with every connection it dials recorded in t (if not nil).
func (c *Config) trackedTransport(t *connTracker) (*http.Transport, error) {
	tc, err := c.TLS.tlsConfig()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	if t != nil {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return t.track(conn), nil
		}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true, // a custom TLS config turns HTTP/2 off unless forced
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		HTTP2: &http.HTTP2Config{
			// A watch can sit silent for minutes; pings find a dead connection (a server
			// that went away without a FIN) instead of waiting on it forever.
			SendPingTimeout: 30 * time.Second,
			PingTimeout:     15 * time.Second,
		},
	}
	if len(c.Servers) > 0 {
		addrs, err := serverAddrs(c)
		if err != nil {
			return nil, err
		}
		f := &failoverDialer{addrs: addrs, tls: tc, tracker: t, dialer: dialer}
		// A proxy would dial the servers itself: failover talks to them directly.
		tr.Proxy = nil
		tr.DialContext, tr.DialTLSContext = f.dialPlain, f.dialTLS
	}
	return tr, nil
}

func defaultUserAgent() string {
	return fmt.Sprintf("%s (%s/%s) skiff", filepath.Base(os.Args[0]), runtime.GOOS, runtime.GOARCH)
}

// HTTPClient is a plain *http.Client with the config's TLS settings and bearer token, for
// the requests the typed client does not make (health checks, raw paths, streams).
func (c *Config) HTTPClient() (*http.Client, error) {
	tr, err := c.transport()
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = tr
	if c.BearerToken != "" {
		rt = bearerTransport{token: c.BearerToken, next: tr}
	}
	return &http.Client{Transport: rt, Timeout: c.Timeout}, nil
}

type bearerTransport struct {
	token string
	next  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
