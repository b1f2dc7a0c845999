package authn

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// RequestHeaderConfig is kube-apiserver's requestheader authentication: a front proxy
// (another API server's aggregator, an authenticating proxy) that presents a client
// certificate of Roots, with a CommonName in AllowedNames (empty: any), says who is asking
// in request headers.
type RequestHeaderConfig struct {
	Roots        *x509.CertPool
	AllowedNames []string
	// UsernameHeaders are tried in order (the first with a value names the user); every
	// value of every GroupHeaders header is a group; a header named EXTRA-PREFIX+KEY gives
	// the extra KEY (lower-cased, URL-unescaped) its values.
	UsernameHeaders, GroupHeaders, ExtraHeaderPrefixes []string
}

// RequestHeader authenticates the user a front proxy names. A request without a client
// certificate of the front-proxy CA is not recognised (the headers mean nothing then: the
// API server drops them, see Headers); one from that CA with a name not allowed is
// refused; one from an allowed proxy that names no user is not recognised.
func RequestHeader(c RequestHeaderConfig) Authenticator {
	cache := &verifiedCache{m: map[[32]byte]time.Time{}}
	return AuthenticatorFunc(func(r *http.Request) (*User, bool, error) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return nil, false, nil
		}
		certs := r.TLS.PeerCertificates
		key := chainKey(certs)
		now := time.Now()
		if !cache.valid(key, now) {
			inter := x509.NewCertPool()
			for _, ic := range certs[1:] {
				inter.AddCert(ic)
			}
			if _, err := certs[0].Verify(x509.VerifyOptions{Roots: c.Roots, Intermediates: inter, CurrentTime: now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				return nil, false, nil // not a front proxy: perhaps a client certificate of the cluster CA
			}
			until := now.Add(time.Minute)
			for _, ic := range certs {
				if ic.NotAfter.Before(until) {
					until = ic.NotAfter
				}
			}
			cache.add(key, until, now)
		}
		if cn := certs[0].Subject.CommonName; len(c.AllowedNames) > 0 && !slices.Contains(c.AllowedNames, cn) {
			return nil, false, fmt.Errorf("x509: subject with cn=%s is not in the allowed list", cn)
		}
		var name string
		for _, h := range c.UsernameHeaders {
			if name = r.Header.Get(h); name != "" {
				break
			}
		}
		if name == "" {
			return nil, false, nil
		}
		u := &User{Name: name}
		for _, h := range c.GroupHeaders {
			u.Groups = append(u.Groups, r.Header.Values(h)...)
		}
		for h, vs := range r.Header {
			for _, prefix := range c.ExtraHeaderPrefixes {
				if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
					continue
				}
				k := strings.ToLower(h[len(prefix):])
				if unescaped, err := url.PathUnescape(k); err == nil {
					k = unescaped
				}
				if u.Extra == nil {
					u.Extra = map[string][]string{}
				}
				u.Extra[k] = append(u.Extra[k], vs...)
			}
		}
		return u, true, nil
	})
}

// Headers are the header names and prefixes c reads, which the API server removes from
// every request once it is authenticated: only an authenticated front proxy may say who is
// asking, and no handler (or server proxied to) sees what a client wrote there itself.
func (c RequestHeaderConfig) Headers() (names, prefixes []string) {
	return append(slices.Clone(c.UsernameHeaders), c.GroupHeaders...), slices.Clone(c.ExtraHeaderPrefixes)
}
