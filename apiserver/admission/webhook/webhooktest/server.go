// Package webhooktest runs admission webhooks for tests: a real HTTPS server in the test
// process, with a certificate for 127.0.0.1 and localhost signed by a CA of its own, whose
// answers a test function decides.
package webhooktest

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/pki"
)

// Handler answers one review; the uid is filled in for it. A nil answer makes the server
// reply with the body "garbage" (not an AdmissionReview).
type Handler func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

// Server is a running webhook.
type Server struct {
	URL      string // https://127.0.0.1:PORT
	CABundle []byte // PEM of the CA that signed the server's certificate
	srv      *httptest.Server

	mu       sync.Mutex
	requests []*admissionv1.AdmissionRequest
	paths    []string
}

// NewServer starts a webhook answering with h on every path; it stops at the end of the test.
func NewServer(t testing.TB, h Handler) *Server {
	t.Helper()
	return NewServerFor(t, h, pki.CertRequest{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
}

// NewServerFor is NewServer with a certificate for other names (a Service's
// NAME.NAMESPACE.svc), listening on all addresses.
func NewServerFor(t testing.TB, h Handler, names pki.CertRequest) *Server {
	t.Helper()
	ca, err := pki.NewCA("webhooktest-ca")
	if err != nil {
		t.Fatal(err)
	}
	names.CommonName, names.Usage = "webhook", pki.ServerAuth
	certPEM, keyPEM, err := ca.Issue(names)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{CABundle: ca.CertPEM}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, review.Request)
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		resp := h(review.Request)
		if resp == nil {
			_, _ = w.Write([]byte("garbage"))
			return
		}
		resp.UID = review.Request.UID
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(admissionv1.AdmissionReview{
			TypeMeta: meta.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Response: resp})
	}))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	// Handshakes that fail on purpose (tests of a wrong caBundle) are not worth a log line.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// Requests are the reviews received so far.
func (s *Server) Requests() []*admissionv1.AdmissionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*admissionv1.AdmissionRequest(nil), s.requests...)
}

// Paths are the URL paths the reviews were posted to.
func (s *Server) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// Allow lets everything through.
func Allow(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true}
}

// Deny refuses with a message and code (0: the server's default, 400).
func Deny(msg string, code int32) Handler {
	return func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return &admissionv1.AdmissionResponse{Result: &meta.Status{Message: msg, Code: code}}
	}
}

// Patch allows with a JSON patch (RFC 6902 operations as JSON).
func Patch(ops string) Handler {
	return func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		pt := admissionv1.PatchTypeJSONPatch
		return &admissionv1.AdmissionResponse{Allowed: true, Patch: []byte(ops), PatchType: &pt}
	}
}
