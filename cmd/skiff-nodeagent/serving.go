package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/certificate"
	"github.com/skiff-sh/skiff/nodeagent/server"
	"github.com/skiff-sh/skiff/pki"
)

// servingOptions say how the node agent's port is secured.
type servingOptions struct {
	certFile, keyFile string // --tls-cert-file, --tls-private-key-file
	clientCAFile      string // --client-ca-file
	clientCAData      []byte // the cluster CA from the kubeconfig, when no file is given
	certDir           string // where a requested certificate is kept (joined nodes)
	nodeName          string
	requestServing    bool // ask for a kubelet-serving certificate (joined nodes)
	log               *slog.Logger
}

// servingFile is a joined node's serving certificate and key, under --cert-dir.
const servingFile = "node-serving-current.pem"

// servingTLS builds the port's TLS: the serving certificate given on the command line (the
// launcher issues one for its nodes), or for a joined node one asked for through a
// kubernetes.io/kubelet-serving CertificateSigningRequest (approved for the node's own
// name and reported addresses, signed by the cluster CA, so the API server verifies it like
// the others); client certificates are verified against the cluster CA. Nil (plain HTTP)
// only when none of this is configured.
func servingTLS(ctx context.Context, o servingOptions, c *client.Client, nodeIP string) (*server.TLS, error) {
	caPEM := o.clientCAData
	if o.clientCAFile != "" {
		b, err := os.ReadFile(o.clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--client-ca-file: %w", err)
		}
		caPEM = b
	}
	if o.certFile == "" && !o.requestServing {
		if o.clientCAFile != "" {
			return nil, errors.New("--client-ca-file needs --tls-cert-file and --tls-private-key-file")
		}
		o.log.Warn("serving logs and exec over plain HTTP to anyone: no --tls-cert-file and no cluster CA in the kubeconfig (development only)")
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no client CA: give --client-ca-file (the cluster CA)")
	}
	t := &server.TLS{ClientCAs: pool}
	if o.certFile != "" {
		pair, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return nil, fmt.Errorf("serving certificate: %w", err)
		}
		t.Certificate = &pair
		return t, nil
	}
	file := filepath.Join(o.certDir, servingFile)
	// Serve at once, with the certificate kept from a previous run or else a self-signed
	// one (the kubelet's default), and swap in a cluster-signed one when it is issued: the
	// request can only be approved once the Node is registered with its addresses, which
	// happens after this. Like the client certificate, it is renewed at 70-90 % of its
	// lifetime.
	h := &certHolder{}
	var issued *x509.Certificate
	if pair, err := tls.LoadX509KeyPair(file, file); err == nil && validFor(pair, time.Hour) {
		h.set(&pair)
		issued, _ = x509.ParseCertificate(pair.Certificate[0])
	} else {
		self, err := selfSigned(o.nodeName, nodeIP)
		if err != nil {
			return nil, err
		}
		h.set(&self)
	}
	t.GetCertificate = h.get
	go func() {
		rotation := &certificate.Manager{}
		for ctx.Err() == nil {
			if issued != nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(rotation.RotationDeadline(issued))):
				}
			}
			pair, err := requestServing(ctx, c, o.nodeName, nodeIP, file)
			if err == nil {
				h.set(&pair)
				issued, _ = x509.ParseCertificate(pair.Certificate[0])
				o.log.Info("serving certificate issued by the cluster", "expires", issued.NotAfter)
				continue
			}
			if ctx.Err() == nil {
				o.log.Warn("serving certificate request; retrying (kubectl logs/exec to this node fail until it is issued)", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(30 * time.Second):
			}
		}
	}()
	return t, nil
}

// certHolder is the serving certificate in use, replaced when a new one is issued.
type certHolder struct {
	mu   sync.Mutex
	cert *tls.Certificate
}

func (h *certHolder) set(c *tls.Certificate) {
	h.mu.Lock()
	h.cert = c
	h.mu.Unlock()
}

func (h *certHolder) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cert, nil
}

// waitRegistered waits until the Node reports nodeIP among its addresses, which the
// approver checks the request's addresses against.
func waitRegistered(ctx context.Context, c *client.Client, nodeName, nodeIP string) error {
	nodes := client.For[core.Node](c, client.Resource{Version: "v1", Resource: "nodes"})
	for {
		if n, err := nodes.Get(ctx, "", nodeName); err == nil {
			for _, a := range n.Status.Addresses {
				if a.Address == nodeIP {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func validFor(pair tls.Certificate, d time.Duration) bool {
	c, err := x509.ParseCertificate(pair.Certificate[0])
	return err == nil && time.Until(c.NotAfter) > d
}

// requestServing asks for the node's serving certificate and keeps it in file.
func requestServing(ctx context.Context, c *client.Client, nodeName, nodeIP, file string) (tls.Certificate, error) {
	key, err := pki.NewKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: certificates.NodeUserPrefix + nodeName, Organization: []string{certificates.NodesGroup}},
		DNSNames: []string{nodeName},
	}
	if ip := net.ParseIP(nodeIP); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	if err := waitRegistered(ctx, c, nodeName, nodeIP); err != nil {
		return tls.Certificate{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	certPEM, err := certificate.Request(ctx, c, key, tmpl, certificates.KubeletServingSignerName,
		[]certificates.KeyUsage{certificates.UsageDigitalSignature, certificates.UsageServerAuth}, 0)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	data := append(append([]byte{}, certPEM...), keyPEM...)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// selfSigned is the kubelet's fallback serving certificate.
func selfSigned(nodeName, nodeIP string) (tls.Certificate, error) {
	key, err := pki.NewKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: nodeName + "@self-signed"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, DNSNames: []string{nodeName}}
	if ip := net.ParseIP(nodeIP); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
