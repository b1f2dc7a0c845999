package apiserver

import (
	"encoding/json"
	"net/http"

	"github.com/skiff-sh/skiff/apiserver/authn/serviceaccount"
)

// ServiceAccount issuer discovery, as kube-apiserver serves it: an OpenID Connect discovery
// document and the key set, so that systems outside the cluster (a cloud's workload
// identity, Vault) can verify ServiceAccount tokens with the public keys alone. RBAC grants
// them to ServiceAccounts (system:service-account-issuer-discovery); an administrator may
// bind them to system:unauthenticated to publish them.

const (
	openIDConfigPath = "/.well-known/openid-configuration"
	openIDKeysPath   = "/openid/v1/jwks"
)

// openIDConfiguration serves the discovery document. The key set's URL is this server's,
// as the client reached it (Kubernetes uses its external address).
func (s *Server) openIDConfiguration(w http.ResponseWriter, req *http.Request) {
	t := s.saTokens
	if t == nil || t.authn == nil {
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
		return
	}
	doc := map[string]any{
		"issuer":                                t.authn.Issuers[0],
		"jwks_uri":                              "https://" + req.Host + openIDKeysPath,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": serviceaccount.Algorithms(t.authn.Keys),
	}
	b, _ := json.Marshal(doc)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeRaw(w, http.StatusOK, b)
}

// openIDKeys serves the key set.
func (s *Server) openIDKeys(w http.ResponseWriter, _ *http.Request) {
	t := s.saTokens
	if t == nil || t.authn == nil {
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
		return
	}
	b, err := serviceaccount.JWKS(t.authn.Keys)
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
