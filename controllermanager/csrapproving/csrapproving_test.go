package csrapproving

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"testing"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/core"
)

// grants allows "user subresource" pairs and records what was asked.
type grants struct {
	allow map[string]bool
	asked []string
}

func (g *grants) Allowed(_ context.Context, csr *certificates.CertificateSigningRequest, sub string) (bool, error) {
	g.asked = append(g.asked, csr.Spec.Username+" "+sub)
	return g.allow[csr.Spec.Username+" "+sub], nil
}

func request(t *testing.T, tmpl x509.CertificateRequest) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func noNodes(string) (*core.Node, bool) { return nil, false }

func TestDecideServing(t *testing.T) {
	nodes := func(name string) (*core.Node, bool) {
		if name != "n1" {
			return nil, false
		}
		return &core.Node{Status: core.NodeStatus{Addresses: []core.NodeAddress{
			{Type: core.NodeInternalIP, Address: "10.0.0.5"}, {Type: core.NodeHostName, Address: "n1.lan"}}}}, true
	}
	subject := pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}
	usages := []certificates.KeyUsage{"digital signature", "server auth"}
	for _, tc := range []struct {
		name   string
		user   string
		groups []string
		tmpl   x509.CertificateRequest
		want   bool
	}{
		{"own name and address", "system:node:n1", []string{"system:nodes"},
			x509.CertificateRequest{Subject: subject, DNSNames: []string{"n1", "n1.lan"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.5")}}, true},
		{"an address it does not report", "system:node:n1", []string{"system:nodes"},
			x509.CertificateRequest{Subject: subject, IPAddresses: []net.IP{net.ParseIP("10.0.0.6")}}, false},
		{"another name", "system:node:n1", []string{"system:nodes"},
			x509.CertificateRequest{Subject: subject, DNSNames: []string{"kubernetes.default"}}, false},
		{"asked by someone else", "system:bootstrap:abcdef", []string{"system:bootstrappers"},
			x509.CertificateRequest{Subject: subject, DNSNames: []string{"n1"}}, false},
		{"claiming to be in system:nodes without being a node", "system:node:n1", []string{"system:authenticated"},
			x509.CertificateRequest{Subject: subject, DNSNames: []string{"n1"}}, false},
		{"a node that does not exist", "system:node:n9", []string{"system:nodes"},
			x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n9", Organization: []string{"system:nodes"}}, DNSNames: []string{"n9"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			csr := &certificates.CertificateSigningRequest{Spec: certificates.CertificateSigningRequestSpec{
				Request: request(t, tc.tmpl), SignerName: certificates.KubeletServingSignerName, Usages: usages,
				Username: tc.user, Groups: tc.groups}}
			cond, err := Decide(context.Background(), &grants{}, nodes, csr)
			if err != nil {
				t.Fatal(err)
			}
			if (cond != nil) != tc.want {
				t.Errorf("approved = %v, want %v", cond != nil, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	node := func(cn string) x509.CertificateRequest {
		return x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}}
	}
	clientUsages := []certificates.KeyUsage{"digital signature", "client auth"}
	allow := map[string]bool{
		"system:bootstrap:abcdef nodeclient":     true,
		"system:node:n1 selfnodeclient":          true,
		"system:bootstrap:nobody selfnodeclient": true, // never asked: not a renewal
	}
	for _, tc := range []struct {
		name      string
		user      string
		signer    string
		tmpl      x509.CertificateRequest
		usages    []certificates.KeyUsage
		wantMsg   string // "" = stays pending
		wantAsked []string
	}{
		{"bootstrap token joins", "system:bootstrap:abcdef", certificates.KubeAPIServerClientKubeletSignerName, node("system:node:n1"), clientUsages,
			"Auto approving kubelet client certificate after SubjectAccessReview.", []string{"system:bootstrap:abcdef nodeclient"}},
		{"with key encipherment (RSA keys)", "system:bootstrap:abcdef", certificates.KubeAPIServerClientKubeletSignerName, node("system:node:n1"),
			[]certificates.KeyUsage{"digital signature", "key encipherment", "client auth"}, "Auto approving kubelet client certificate after SubjectAccessReview.",
			[]string{"system:bootstrap:abcdef nodeclient"}},
		{"node renews itself", "system:node:n1", certificates.KubeAPIServerClientKubeletSignerName, node("system:node:n1"), clientUsages,
			"Auto approving self kubelet client certificate after SubjectAccessReview.", []string{"system:node:n1 selfnodeclient"}},
		{"node asks for another node", "system:node:n1", certificates.KubeAPIServerClientKubeletSignerName, node("system:node:n2"), clientUsages,
			"", []string{"system:node:n1 nodeclient"}},
		{"requester not allowed", "mallory", certificates.KubeAPIServerClientKubeletSignerName, node("system:node:n1"), clientUsages,
			"", []string{"mallory nodeclient"}},
		{"wrong organization", "system:bootstrap:abcdef", certificates.KubeAPIServerClientKubeletSignerName,
			x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:masters"}}}, clientUsages, "", nil},
		{"not a node name", "system:bootstrap:abcdef", certificates.KubeAPIServerClientKubeletSignerName, node("admin"), clientUsages, "", nil},
		{"server auth usage", "system:bootstrap:abcdef", certificates.KubeAPIServerClientKubeletSignerName, node("system:node:n1"),
			[]certificates.KeyUsage{"digital signature", "client auth", "server auth"}, "", nil},
		{"SANs on a client certificate", "system:bootstrap:abcdef", certificates.KubeAPIServerClientKubeletSignerName,
			x509.CertificateRequest{Subject: node("system:node:n1").Subject, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 1)}}, clientUsages, "", nil},
		{"serving certificates need the node's addresses", "system:node:n1", certificates.KubeletServingSignerName,
			x509.CertificateRequest{Subject: node("system:node:n1").Subject, DNSNames: []string{"n1"}},
			[]certificates.KeyUsage{"digital signature", "server auth"}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &grants{allow: allow}
			csr := &certificates.CertificateSigningRequest{Spec: certificates.CertificateSigningRequestSpec{
				Request: request(t, tc.tmpl), SignerName: tc.signer, Usages: tc.usages, Username: tc.user}}
			cond, err := Decide(context.Background(), g, noNodes, csr)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.wantMsg == "" && cond != nil:
				t.Errorf("approved: %+v", cond)
			case tc.wantMsg != "" && cond == nil:
				t.Errorf("left pending")
			case cond != nil && (cond.Message != tc.wantMsg || cond.Type != certificates.CertificateApproved || cond.Status != "True" || cond.Reason != "AutoApproved"):
				t.Errorf("condition %+v", cond)
			}
			if len(g.asked) != len(tc.wantAsked) || (len(g.asked) > 0 && g.asked[0] != tc.wantAsked[0]) {
				t.Errorf("asked %v, want %v", g.asked, tc.wantAsked)
			}
		})
	}
}
