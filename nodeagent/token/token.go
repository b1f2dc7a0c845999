// Package token is the node agent's ServiceAccount token manager, Kubernetes' kubelet token
// manager: it asks the API server for the bound tokens pods' projected volumes hold
// (TokenRequest, POST .../serviceaccounts/NAME/token), keeps each until it is due for
// refresh — 80% of its lifetime passed, or older than 24 hours — and answers from that cache
// in between, so that a pod sync every few seconds costs no API call. A token that cannot be
// refreshed is still served while it is valid.
package token

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/internal/clock"
)

const (
	// maxTTL is the age past which a token is refreshed whatever its expiration.
	maxTTL = 24 * time.Hour
	// maxJitter spreads the refreshes of tokens issued together.
	maxJitter = 10 * time.Second
)

// Requester asks the API server for a token of the ServiceAccount namespace/name.
type Requester func(ctx context.Context, namespace, name string, tr *authentication.TokenRequest) (*authentication.TokenRequest, error)

// Manager caches tokens. Its zero value is not usable: use New.
type Manager struct {
	request Requester
	clock   clock.Clock
	// jitter is how much earlier than the rule a refresh may come (tests: none).
	jitter func() time.Duration

	mu    sync.Mutex
	cache map[string]*authentication.TokenRequest
}

// New returns a Manager requesting tokens with request and telling time with c (nil: the
// wall clock).
func New(request Requester, c clock.Clock) *Manager {
	if c == nil {
		c = clock.Real{}
	}
	return &Manager{
		request: request,
		clock:   c,
		jitter:  func() time.Duration { return time.Duration(rand.Float64() * float64(maxJitter)) },
		cache:   map[string]*authentication.TokenRequest{},
	}
}

// WithoutJitter makes refreshes happen exactly on the rule (for tests).
func (m *Manager) WithoutJitter() *Manager {
	m.jitter = func() time.Duration { return 0 }
	return m
}

// Token returns a valid token for the ServiceAccount namespace/name as tr asks (audiences,
// expirationSeconds, bound object), from the cache unless it is due for refresh.
func (m *Manager) Token(ctx context.Context, namespace, name string, tr *authentication.TokenRequest) (*authentication.TokenRequest, error) {
	key := cacheKey(namespace, name, tr)
	m.mu.Lock()
	cached, ok := m.cache[key]
	m.mu.Unlock()
	if ok && !m.requiresRefresh(cached) {
		return cached, nil
	}
	got, err := m.request(ctx, namespace, name, tr)
	if err != nil {
		if ok && !m.expired(cached) {
			// Refreshing early leaves room for failures: the old token still works.
			return cached, nil
		}
		return nil, fmt.Errorf("failed to fetch token: %w", err)
	}
	if got.Spec.ExpirationSeconds == nil {
		// What we asked for; the answer repeats it, but do not trust a server to.
		got.Spec.ExpirationSeconds = tr.Spec.ExpirationSeconds
	}
	m.mu.Lock()
	m.cache[key] = got
	m.mu.Unlock()
	return got, nil
}

// ForgetPod drops the tokens bound to pod uid (its volumes are gone), and any expired ones.
func (m *Manager) ForgetPod(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, tr := range m.cache {
		if ref := tr.Spec.BoundObjectRef; ref != nil && ref.UID == uid || m.expired(tr) {
			delete(m.cache, k)
		}
	}
}

// requiresRefresh is kubelet's rule: refresh once the token is older than 24 hours, or
// within 20% of its lifetime of expiring, each less a random jitter of up to 10 s.
func (m *Manager) requiresRefresh(tr *authentication.TokenRequest) bool {
	if tr.Spec.ExpirationSeconds == nil {
		return false
	}
	now := m.clock.Now()
	ttl := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	exp := tr.Status.ExpirationTimestamp.Time
	iat := exp.Add(-ttl)
	jitter := m.jitter()
	if now.After(iat.Add(maxTTL - jitter)) {
		return true
	}
	return now.After(exp.Add(-ttl*20/100 - jitter))
}

func (m *Manager) expired(tr *authentication.TokenRequest) bool {
	return !m.clock.Now().Before(tr.Status.ExpirationTimestamp.Time)
}

// cacheKey names one token: the account and everything the request asks for.
func cacheKey(namespace, name string, tr *authentication.TokenRequest) string {
	var exp int64
	if tr.Spec.ExpirationSeconds != nil {
		exp = *tr.Spec.ExpirationSeconds
	}
	var ref string
	if r := tr.Spec.BoundObjectRef; r != nil {
		ref = r.APIVersion + "/" + r.Kind + "/" + r.Name + "/" + r.UID
	}
	return fmt.Sprintf("%q/%q/%q/%d/%q", namespace, name, tr.Spec.Audiences, exp, ref)
}
