package authn

import (
	"crypto/x509"
	"fmt"
	"net/http"
)

// X509 authenticates a client certificate signed by one of roots: the user is its
// CommonName, the groups its Organizations. A request without a client certificate is not
// recognised; one from another CA (or expired) is refused.
func X509(roots *x509.CertPool) Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (*User, bool, error) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return nil, false, nil
		}
		certs := r.TLS.PeerCertificates
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return nil, false, fmt.Errorf("verifying certificate %s: %w", certs[0].Subject, err)
		}
		c := certs[0]
		if c.Subject.CommonName == "" {
			return nil, false, fmt.Errorf("client certificate has no CommonName")
		}
		return &User{Name: c.Subject.CommonName, Groups: append([]string(nil), c.Subject.Organization...)}, true, nil
	})
}
