package table

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/networking"
)

// Certificate chooses the certificate for a TLS handshake's server name (SNI): the
// precise host's, else the wildcard's covering it ("*.foo.com" for "bar.foo.com"), else
// the table's default (the one of a TLS entry without hosts), else nil (the caller has a
// fallback certificate of its own).
func (t *Table) Certificate(serverName string) *tls.Certificate {
	if t == nil {
		return nil
	}
	host := NormalizeHost(serverName)
	if c, ok := t.certs[host]; ok {
		return c
	}
	if _, rest, ok := strings.Cut(host, "."); ok && rest != "" {
		if c, ok := t.certs["*."+rest]; ok {
			return c
		}
	}
	return t.defCert
}

// tls loads the certificates an Ingress names. Hosts of an entry default to the
// Ingress's rule hosts; an entry covering no host at all supplies the default certificate.
func (b *builder) tls(ing *networking.Ingress) {
	// Entries naming hosts first: hosts an entry takes from the rules are only a default.
	entries := slices.Clone(ing.Spec.TLS)
	slices.SortStableFunc(entries, func(a, b networking.IngressTLS) int {
		return cmp.Compare(min(len(b.Hosts), 1), min(len(a.Hosts), 1))
	})
	for _, entry := range entries {
		if entry.SecretName == "" {
			continue // TLS passthrough by SNI alone: nothing to terminate with
		}
		ref := ing.Namespace + "/" + entry.SecretName
		secret, ok := b.in.Secret(ing.Namespace, entry.SecretName)
		if !ok {
			b.problem(ing, ReasonSecretNotFound, "TLS secret %q not found (or not of type %s); hosts %s are served with the default certificate", ref, core.SecretTypeTLS, strings.Join(entry.Hosts, ","))
			continue
		}
		cert, err := b.in.Certs.get(secret)
		if err != nil {
			b.problem(ing, ReasonBadTLSSecret, "TLS secret %q: %v", ref, err)
			continue
		}
		// Hosts taken from the rules are a default: another entry naming a host wins.
		hosts, implicit := entry.Hosts, len(entry.Hosts) == 0
		if implicit {
			for _, r := range ing.Spec.Rules {
				if r.Host != "" {
					hosts = append(hosts, r.Host)
				}
			}
		}
		if len(hosts) == 0 {
			if b.t.defCert == nil {
				b.t.defCert = cert
			}
			continue
		}
		for _, h := range hosts {
			h = strings.ToLower(h)
			if owner, taken := b.certOwner[h]; taken {
				if owner != ref && !implicit {
					b.problem(ing, ReasonConflict, "TLS host %q uses secret %s of an older Ingress, not %s", h, owner, ref)
				}
				continue
			}
			b.certOwner[h] = ref
			b.t.certs[h] = cert
		}
	}
}

// CertCache keeps parsed key pairs by Secret uid and resourceVersion, so an unchanged
// Secret is parsed once however often the table is rebuilt, and a changed one at once.
// Safe for concurrent use. The zero value is ready; a nil cache parses every time.
type CertCache struct {
	mu sync.Mutex
	m  map[string]certEntry
}

type certEntry struct {
	rv   string
	cert *tls.Certificate
	err  error
}

func (c *CertCache) get(s *core.Secret) (*tls.Certificate, error) {
	if c == nil {
		return ParseSecret(s)
	}
	k := s.Namespace + "/" + s.Name + "/" + string(s.UID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.rv == s.ResourceVersion && s.ResourceVersion != "" {
		return e.cert, e.err
	}
	cert, err := ParseSecret(s)
	if c.m == nil {
		c.m = map[string]certEntry{}
	}
	c.m[k] = certEntry{rv: s.ResourceVersion, cert: cert, err: err}
	return cert, err
}

// Retain drops the entries of Secrets not in keep ("namespace/name"), so that deleted
// Secrets do not stay in memory.
func (c *CertCache) Retain(keep func(namespace, name string) bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		parts := strings.SplitN(k, "/", 3)
		if !keep(parts[0], parts[1]) {
			delete(c.m, k)
		}
	}
}

// ParseSecret reads the key pair of a kubernetes.io/tls Secret.
func ParseSecret(s *core.Secret) (*tls.Certificate, error) {
	if s.Type != core.SecretTypeTLS {
		return nil, fmt.Errorf("type is %q, want %s", s.Type, core.SecretTypeTLS)
	}
	crt, key := s.Data[core.TLSCertKey], s.Data[core.TLSPrivateKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return nil, errors.New("tls.crt and tls.key must both be set")
	}
	cert, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return nil, fmt.Errorf("malformed key pair: %w", err)
	}
	return &cert, nil
}
