package certificates

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
)

// The rules below are shared by the API server (validation), the controller manager
// (approving and signing) and the node agent (what it asks for): a node's certificates are
// recognised by their shape, as in Kubernetes' certificate controllers.

// Node identities.
const (
	NodeUserPrefix = "system:node:"
	NodesGroup     = "system:nodes"
)

// ParseCSR decodes the "CERTIFICATE REQUEST" PEM block of a request and checks its
// self-signature, so a request cannot name a key its sender does not hold.
func ParseCSR(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("invalid signature: %w", err)
	}
	return csr, nil
}

// HasCondition reports whether a request has condition t other than False (Approved and
// Denied may only be True).
func HasCondition(st *CertificateSigningRequestStatus, t RequestConditionType) bool {
	for _, c := range st.Conditions {
		if c.Type == t && c.Status != core.ConditionFalse {
			return true
		}
	}
	return false
}

// IsPending: neither approved nor denied.
func IsPending(st *CertificateSigningRequestStatus) bool {
	return !HasCondition(st, CertificateApproved) && !HasCondition(st, CertificateDenied)
}

var (
	clientUsages  = []KeyUsage{UsageDigitalSignature, UsageKeyEncipherment, UsageClientAuth}
	servingUsages = []KeyUsage{UsageDigitalSignature, UsageKeyEncipherment, UsageServerAuth}
)

// checkUsages: every usage allowed, and required present.
func checkUsages(usages, allowed []KeyUsage, required KeyUsage) error {
	if !slices.Contains(usages, required) {
		return fmt.Errorf("usages must include %q", required)
	}
	for _, u := range usages {
		if !slices.Contains(allowed, u) {
			return fmt.Errorf("usage %q is not allowed (allowed: %q)", u, allowed)
		}
	}
	return nil
}

func checkNodeSubject(x *x509.CertificateRequest) error {
	if !slices.Equal(x.Subject.Organization, []string{NodesGroup}) {
		return fmt.Errorf("subject organization is not %s", NodesGroup)
	}
	if !strings.HasPrefix(x.Subject.CommonName, NodeUserPrefix) || len(x.Subject.CommonName) == len(NodeUserPrefix) {
		return fmt.Errorf("subject common name does not begin with %s", NodeUserPrefix)
	}
	if len(x.EmailAddresses) > 0 || len(x.URIs) > 0 {
		return errors.New("email and URI subjectAltNames are not allowed")
	}
	return nil
}

// ValidateNodeClientCSR checks a kubernetes.io/kube-apiserver-client-kubelet request: the
// subject O=system:nodes, CN=system:node:NAME, no subject alternative names, usages client
// auth plus at most digital signature and key encipherment.
func ValidateNodeClientCSR(x *x509.CertificateRequest, usages []KeyUsage) error {
	if err := checkNodeSubject(x); err != nil {
		return err
	}
	if len(x.DNSNames) > 0 || len(x.IPAddresses) > 0 {
		return errors.New("DNS and IP subjectAltNames are not allowed")
	}
	return checkUsages(usages, clientUsages, UsageClientAuth)
}

// ValidateNodeServingCSR checks a kubernetes.io/kubelet-serving request: the node's subject,
// at least one DNS name or IP address, usages server auth plus at most digital signature and
// key encipherment.
func ValidateNodeServingCSR(x *x509.CertificateRequest, usages []KeyUsage) error {
	if err := checkNodeSubject(x); err != nil {
		return err
	}
	if len(x.DNSNames)+len(x.IPAddresses) == 0 {
		return errors.New("at least one DNS or IP subjectAltName is required")
	}
	return checkUsages(usages, servingUsages, UsageServerAuth)
}

// ValidateAPIServerClientCSR checks a kubernetes.io/kube-apiserver-client request.
func ValidateAPIServerClientCSR(x *x509.CertificateRequest, usages []KeyUsage) error {
	if x.Subject.CommonName == "" {
		return errors.New("subject common name is required")
	}
	return checkUsages(usages, clientUsages, UsageClientAuth)
}
