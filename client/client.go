// Package client talks to a skiff (or Kubernetes) API server: a REST client over HTTP/2 with
// client-side rate limiting, typed errors, and a generic typed client per resource
// (For[core.Pod](c, PodsResource).Get(...)) in place of generated clientsets.
//
// Subpackages build the controller machinery on top: informer (list+watch caches),
// workqueue (deduplicating, rate-limited queues of keys) and leaderelection.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/client/internal/tokenbucket"
)

// Client is safe for concurrent use; make one per process and share it.
type Client struct {
	base      string // scheme://host[:port][/prefix], no trailing slash
	http      *http.Client
	token     string
	userAgent string
	timeout   time.Duration
	limiter   *tokenbucket.Bucket // nil: unlimited
	conns     *connTracker        // the open connections (CloseConnections)
}

// maxRetries bounds how often one request is retried on a 429/5xx that carries
// Retry-After (the server asking us to come back), as client-go does.
const maxRetries = 10

// New makes a Client for cfg.
func New(cfg *Config) (*Client, error) {
	host := cfg.Host
	if host == "" {
		return nil, errors.New("client: Config.Host is empty")
	}
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("client: bad host %q: %w", cfg.Host, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: bad host %q: scheme must be http or https", cfg.Host)
	}
	conns := &connTracker{}
	tr, err := cfg.trackedTransport(conns)
	if err != nil {
		return nil, err
	}
	c := &Client{
		conns:     conns,
		base:      strings.TrimRight(u.String(), "/"),
		http:      &http.Client{Transport: tr}, // no Timeout: it would cut watches
		token:     cfg.BearerToken,
		userAgent: cfg.UserAgent,
		timeout:   cfg.Timeout,
	}
	if c.userAgent == "" {
		c.userAgent = defaultUserAgent()
	}
	if cfg.QPS > 0 {
		burst := cfg.Burst
		if burst < 1 {
			burst = max(1, int(cfg.QPS))
		}
		c.limiter = tokenbucket.New(float64(cfg.QPS), burst)
	}
	return c, nil
}

// Host is the base URL requests go to.
func (c *Client) Host() string { return c.base }

// request is one API call.
type request struct {
	method      string
	path        string // absolute path, may carry a query
	query       url.Values
	body        []byte
	contentType string
}

// Do sends one request to path (absolute, e.g. "/api/v1/namespaces", may include a query)
// and decodes a successful JSON answer into out (nil: discard). body may be nil, []byte
// or json.RawMessage (sent as is), or anything json.Marshal takes. An error answer is a
// *StatusError.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	data, err := encodeBody(body)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: method, path: path, body: data}, out)
}

func encodeBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case nil:
		return nil, nil
	case []byte:
		return b, nil
	case json.RawMessage:
		return b, nil
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("client: encode request body: %w", err)
	}
	return data, nil
}

// do sends r and decodes the answer into out.
func (c *Client) do(ctx context.Context, r request, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
		return nil
	}
	err = json.NewDecoder(resp.Body).Decode(out)
	if errors.Is(err, io.EOF) {
		return nil // an empty answer (204 No Content): out stays as it was
	}
	if err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", r.method, r.path, err)
	}
	return nil
}

// send performs r and returns a 2xx response (body open) or an error. It waits for the
// rate limiter and retries when the server answers 429/5xx with Retry-After.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	target := c.base + r.path
	if len(r.query) > 0 {
		sep := "?"
		if strings.Contains(r.path, "?") {
			sep = "&"
		}
		target += sep + r.query.Encode()
	}
	for attempt := 0; ; attempt++ {
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
			}
		}
		var body io.Reader
		if r.body != nil {
			body = bytes.NewReader(r.body)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, target, body)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.userAgent)
		if r.body != nil {
			ct := r.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
		}
		for _, w := range resp.Header.Values("Warning") {
			slog.WarnContext(ctx, "API server warning", "method", r.method, "path", r.path, "warning", w)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if wait, ok := retryAfter(resp); ok && attempt < maxRetries {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
			}
		}
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, newStatusError(resp.StatusCode, data))
	}
}

// retryAfter says whether the server asked to retry, and after how long.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return 0, false
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 0 {
		return 0, false
	}
	return min(time.Duration(secs)*time.Second, 30*time.Second), true
}
