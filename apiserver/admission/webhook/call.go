package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
)

// maxResponseBytes bounds a webhook's answer (a patch of a large object fits easily).
const maxResponseBytes = 16 << 20

// clients keeps one HTTP client per (CA bundle, server name), so connections to a webhook are
// reused across writes. The API server presents no client certificate, as kube-apiserver
// without an admission kubeconfig does.
type clients struct {
	mu sync.Mutex
	m  map[string]*http.Client
}

func (c *clients) get(caBundle []byte, serverName string) (*http.Client, error) {
	key := string(caBundle) + "\x00" + serverName
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.m[key]; ok {
		return cl, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if len(caBundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caBundle) {
			return nil, errors.New("unable to load root certificates: unable to parse bytes as PEM block")
		}
		cfg.RootCAs = pool
	}
	cl := &http.Client{
		Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
			IdleConnTimeout: 90 * time.Second, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext},
		// A webhook answers; it does not send the API server elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if c.m == nil {
		c.m = map[string]*http.Client{}
	}
	c.m[key] = cl
	return cl, nil
}

// ServiceResolver turns a webhook's service reference into the address to dial, "ip:port".
type ServiceResolver interface {
	ResolveEndpoint(ctx context.Context, namespace, name string, port int32) (string, error)
}

// target is where a hook's request goes: the URL to post to and the name its certificate
// must carry.
func (d *dispatcher) target(ctx context.Context, cc ar.WebhookClientConfig) (*url.URL, string, error) {
	if cc.URL != nil {
		u, err := url.Parse(*cc.URL)
		if err != nil {
			return nil, "", err
		}
		return u, u.Hostname(), nil
	}
	s := cc.Service
	if s == nil {
		return nil, "", errors.New("neither url nor service is set")
	}
	port := deref(s.Port, 443)
	addr, err := d.resolver.ResolveEndpoint(ctx, s.Namespace, s.Name, port)
	if err != nil {
		return nil, "", err
	}
	u := &url.URL{Scheme: "https", Host: addr, Path: deref(s.Path, "")}
	return u, s.Name + "." + s.Namespace + ".svc", nil
}

// call posts the review to the hook and returns its verified answer; every failure is a
// *callError.
func (d *dispatcher) call(ctx context.Context, h *hook, rr *reviewRequest, mutating bool) (*admissionv1.AdmissionResponse, error) {
	fail := func(format string, args ...any) error {
		return &callError{hook: h.name, reason: fmt.Errorf(format, args...)}
	}
	u, serverName, err := d.target(ctx, h.clientConfig)
	if err != nil {
		return nil, fail("failed to resolve the webhook's address: %w", err)
	}
	cl, err := d.clients.get(h.clientConfig.CABundle, serverName)
	if err != nil {
		return nil, fail("could not get REST client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	// Kubernetes tells the webhook how long it has, in whole seconds.
	q := u.Query()
	q.Set("timeout", strconv.Itoa(int(h.timeout/time.Second))+"s")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(rr.body))
	if err != nil {
		return nil, fail("failed to call webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fail("failed to call webhook: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fail("failed to call webhook: %w", err)
	}
	if len(body) > maxResponseBytes {
		return nil, fail("failed to call webhook: response larger than %d bytes", maxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fail("failed to call webhook: the server responded with the status code %d: %s", resp.StatusCode, snippet(body))
	}
	out, err := verifyResponse(rr.uid, mutating, body)
	if err != nil {
		return nil, fail("received invalid webhook response: %w", err)
	}
	return out, nil
}

func snippet(b []byte) string {
	const max = 200
	b = bytes.TrimSpace(b)
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
