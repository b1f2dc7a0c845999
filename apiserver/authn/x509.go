package authn

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// X509 authenticates a client certificate signed by one of roots: the user is its
// CommonName, the groups its Organizations. A request without a client certificate is not
// recognised; one from another CA (or expired) is refused.
//
// Verifying a chain costs a signature check per certificate, and a client sends the same
// certificate with every request (many requests per connection), so a successful
// verification is remembered for a minute (never past the certificate's expiry), keyed by
// the whole chain. A failed one is not: it is rare and must stay refused.
func X509(roots *x509.CertPool) Authenticator {
	cache := &verifiedCache{m: map[[32]byte]time.Time{}}
	return AuthenticatorFunc(func(r *http.Request) (*User, bool, error) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return nil, false, nil
		}
		certs := r.TLS.PeerCertificates
		c := certs[0]
		key := chainKey(certs)
		now := time.Now()
		if !cache.valid(key, now) {
			inter := x509.NewCertPool()
			for _, ic := range certs[1:] {
				inter.AddCert(ic)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				return nil, false, fmt.Errorf("verifying certificate %s: %w", c.Subject, err)
			}
			until := now.Add(time.Minute)
			for _, ic := range certs {
				if ic.NotAfter.Before(until) {
					until = ic.NotAfter
				}
			}
			cache.add(key, until, now)
		}
		if c.Subject.CommonName == "" {
			return nil, false, fmt.Errorf("client certificate has no CommonName")
		}
		return &User{Name: c.Subject.CommonName, Groups: append([]string(nil), c.Subject.Organization...)}, true, nil
	})
}

func chainKey(certs []*x509.Certificate) [32]byte {
	h := sha256.New()
	for _, c := range certs {
		h.Write(c.Raw)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// verifiedCache remembers verified chains until a deadline; it holds at most
// maxVerified entries (expired ones are dropped first, then it starts over).
type verifiedCache struct {
	mu sync.RWMutex
	m  map[[32]byte]time.Time
}

const maxVerified = 4096

func (v *verifiedCache) valid(k [32]byte, now time.Time) bool {
	v.mu.RLock()
	until, ok := v.m[k]
	v.mu.RUnlock()
	return ok && now.Before(until)
}

func (v *verifiedCache) add(k [32]byte, until, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerified {
		for key, u := range v.m {
			if !now.Before(u) {
				delete(v.m, key)
			}
		}
		if len(v.m) >= maxVerified {
			clear(v.m)
		}
	}
	v.m[k] = until
}
