package certificate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
)

// Manager keeps a node's client certificate in one PEM file (certificate and key, like the
// kubelet's kubelet-client-current.pem), which the node's kubeconfig names for both
// client-certificate and client-key.
type Manager struct {
	NodeName string
	// File is the PEM file of the current certificate and key.
	File string
	// Duration is the validity asked for (0: the signer's default, a year).
	Duration time.Duration
	Log      *slog.Logger
	// now and jitter are replaced by tests.
	now    func() time.Time
	jitter func() float64
}

// Usages of a node client certificate (ECDSA keys: no key encipherment).
var clientUsages = []certificates.KeyUsage{certificates.UsageDigitalSignature, certificates.UsageClientAuth}

// Current returns the certificate in File, if it exists and has not expired.
func (m *Manager) Current() (*x509.Certificate, bool) {
	pair, err := tls.LoadX509KeyPair(m.File, m.File)
	if err != nil || len(pair.Certificate) == 0 {
		return nil, false
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || m.clock().After(c.NotAfter) {
		return nil, false
	}
	return c, true
}

func (m *Manager) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// Bootstrap makes sure File holds a valid certificate: if not, it asks for one with the
// bootstrap client (a bootstrap token's).
func (m *Manager) Bootstrap(ctx context.Context, bootstrap *client.Client) error {
	if _, ok := m.Current(); ok {
		return nil
	}
	if bootstrap == nil {
		return fmt.Errorf("no valid client certificate in %s and no bootstrap kubeconfig", m.File)
	}
	m.log().Info("requesting a client certificate with the bootstrap credentials", "node", m.NodeName)
	return m.renew(ctx, bootstrap)
}

// renew asks for a new certificate with c and writes it with its new key.
func (m *Manager) renew(ctx context.Context, c *client.Client) error {
	key, err := pki.NewKey()
	if err != nil {
		return err
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: certificates.NodeUserPrefix + m.NodeName, Organization: []string{certificates.NodesGroup}}}
	certPEM, err := Request(ctx, c, key, tmpl, certificates.KubeAPIServerClientKubeletSignerName, clientUsages, m.Duration)
	if err != nil {
		return err
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return err
	}
	return writeAtomic(m.File, append(append([]byte{}, certPEM...), keyPEM...))
}

// RotationDeadline is when a certificate should be renewed: at a random point between 70 %
// and 90 % of its lifetime (the kubelet's rule), so nodes that joined together do not all
// renew at once.
func (m *Manager) RotationDeadline(c *x509.Certificate) time.Time {
	j := 0.0
	if m.jitter != nil {
		j = m.jitter()
	} else {
		j = rand.Float64()
	}
	life := c.NotAfter.Sub(c.NotBefore)
	return c.NotBefore.Add(life*7/10 + time.Duration(float64(life/5)*j))
}

// Run renews the certificate with the node's own client (as system:node:NAME) at each
// rotation deadline until ctx ends, closing c's connections after each renewal so that
// requests go on with the new certificate.
func (m *Manager) Run(ctx context.Context, c *client.Client) {
	for {
		cur, ok := m.Current()
		wait := time.Duration(0)
		if ok {
			wait = m.RotationDeadline(cur).Sub(m.clock())
		}
		if wait > 0 {
			m.log().Info("client certificate rotation scheduled", "expires", cur.NotAfter, "rotation", m.clock().Add(wait).Round(time.Second))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		err := m.renew(ctx, c)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			m.log().Warn("client certificate rotation failed; retrying", "err", err)
			retry := time.NewTimer(30 * time.Second)
			select {
			case <-ctx.Done():
				retry.Stop()
				return
			case <-retry.C:
			}
			continue
		}
		if c2, ok := m.Current(); ok {
			m.log().Info("client certificate rotated", "expires", c2.NotAfter)
		}
		c.CloseConnections()
	}
}

func (m *Manager) log() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.Default()
}

// writeAtomic writes a private file: a reader sees the old content or the new, never half.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
