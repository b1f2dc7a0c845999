// Package webhookclient is how the API server calls out to webhooks: admission webhooks
// (apiserver/admission/webhook) and custom resource conversion webhooks
// (apiserver/crconversion) share it, as Kubernetes' k8s.io/apiserver/pkg/util/webhook serves
// both. A webhook is reached by URL or through a Service's ready endpoints, over TLS verified
// with the webhook's caBundle (or the system roots), and answers one JSON review per POST.
package webhookclient

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
)

// MaxResponseBytes bounds a webhook's answer (a patch of a large object, or a list of
// converted objects, fits easily).
const MaxResponseBytes = 16 << 20

// ErrBadCABundle is a caBundle without a PEM certificate, worded as Kubernetes words it.
var ErrBadCABundle = errors.New("unable to load root certificates: unable to parse bytes as PEM block")

// ClientConfig is where a webhook is and how its certificate is checked: the fields both
// admissionregistration's and apiextensions' WebhookClientConfig carry.
type ClientConfig struct {
	URL      *string
	Service  *ServiceReference
	CABundle []byte
}

// ServiceReference is a webhook behind a Service; Port defaults to 443.
type ServiceReference struct {
	Namespace, Name string
	Path            *string
	Port            *int32
}

// ServiceResolver turns a webhook's service reference into the address to dial, "ip:port".
type ServiceResolver interface {
	ResolveEndpoint(ctx context.Context, namespace, name string, port int32) (string, error)
}

// Client posts reviews to webhooks. It keeps one HTTP client per (CA bundle, server name),
// so connections to a webhook are reused across calls. The API server presents no client
// certificate, as kube-apiserver without an admission kubeconfig does.
type Client struct {
	resolver ServiceResolver
	mu       sync.Mutex
	m        map[string]*http.Client
}

// New returns a client that reaches service references through resolver.
func New(resolver ServiceResolver) *Client {
	return &Client{resolver: resolver, m: map[string]*http.Client{}}
}

// CheckCABundle reports whether a non-empty bundle holds at least one PEM certificate.
func CheckCABundle(caBundle []byte) error {
	if len(caBundle) == 0 {
		return nil
	}
	if !x509.NewCertPool().AppendCertsFromPEM(caBundle) {
		return ErrBadCABundle
	}
	return nil
}

func (c *Client) httpClient(caBundle []byte, serverName string) (*http.Client, error) {
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
			return nil, ErrBadCABundle
		}
		cfg.RootCAs = pool
	}
	cl := &http.Client{
		Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
			IdleConnTimeout: 90 * time.Second, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext},
		// A webhook answers; it does not send the API server elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.m[key] = cl
	return cl, nil
}

// target is where a call goes: the URL to post to and the name the certificate must carry.
func (c *Client) target(ctx context.Context, cc ClientConfig) (*url.URL, string, error) {
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
	port := int32(443)
	if s.Port != nil {
		port = *s.Port
	}
	addr, err := c.resolver.ResolveEndpoint(ctx, s.Namespace, s.Name, port)
	if err != nil {
		return nil, "", err
	}
	u := &url.URL{Scheme: "https", Host: addr}
	if s.Path != nil {
		u.Path = *s.Path
	}
	return u, s.Name + "." + s.Namespace + ".svc", nil
}

// Post sends body (JSON) to the webhook and returns its answer, which must come with status
// 200. The webhook is told how long it has (?timeout=Ns), as Kubernetes tells it. Errors are
// worded as Kubernetes words them: "failed to resolve ...", "could not get REST client: ...",
// "failed to call webhook: ...".
func (c *Client) Post(ctx context.Context, cc ClientConfig, timeout time.Duration, body []byte) ([]byte, error) {
	u, serverName, err := c.target(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve the webhook's address: %w", err)
	}
	cl, err := c.httpClient(cc.CABundle, serverName)
	if err != nil {
		return nil, fmt.Errorf("could not get REST client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	q := u.Query()
	q.Set("timeout", strconv.Itoa(int(timeout/time.Second))+"s")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("failed to call webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to call webhook: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("failed to call webhook: %w", err)
	}
	if len(out) > MaxResponseBytes {
		return nil, fmt.Errorf("failed to call webhook: response larger than %d bytes", MaxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to call webhook: the server responded with the status code %d: %s", resp.StatusCode, snippet(out))
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
