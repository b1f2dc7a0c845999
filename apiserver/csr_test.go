package apiserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// startSecure serves an in-process API server; requests come from the administrator
// (kubernetes-admin in system:masters), who the CSR tests expect as requester.
func startSecure(t *testing.T) *api {
	t.Helper()
	s := harness.StartServer(t, harness.ServerOptions{})
	return &api{t: t, base: s.URL, hc: s.HTTPClient(t)}
}

func csrPEM(t *testing.T, cn string, orgs ...string) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func csrBody(t *testing.T, name, signer, request string) string {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"request": []byte(request), "signerName": signer,
			"usages":   []string{"digital signature", "client auth"},
			"username": "someone-else", "groups": []string{"system:masters"}},
	})
	return string(b)
}

const csrPath = "/apis/certificates.k8s.io/v1/certificatesigningrequests"

func TestCSRRequesterAndApproval(t *testing.T) {
	a := startSecure(t)
	created := a.must(201, "POST", csrPath, csrBody(t, "node-1", "kubernetes.io/kube-apiserver-client-kubelet",
		csrPEM(t, "system:node:node-1", "system:nodes")))
	if u := get(created, "spec", "username"); u != "kubernetes-admin" {
		t.Errorf("spec.username = %v, want the authenticated user kubernetes-admin, never the body's", u)
	}
	if g, _ := json.Marshal(get(created, "spec", "groups")); string(g) != `["system:masters","system:authenticated"]` {
		t.Errorf("spec.groups = %s", g)
	}

	// kubectl get csr: the columns and the Pending condition.
	code, raw := a.rawAccept("GET", csrPath, "application/json;as=Table;v=v1;g=meta.k8s.io")
	if code != 200 || !strings.Contains(raw, `"Requestor"`) || !strings.Contains(raw, `"RequestedDuration"`) || !strings.Contains(raw, `"Pending"`) {
		t.Fatalf("table: %d %s", code, raw)
	}

	// kubectl certificate approve: the whole object to /approval with a condition added; the
	// certificate it carries is ignored.
	created["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Approved", "status": "True", "reason": "KubectlApprove"}},
		"certificate": []byte("junk")}
	body, _ := json.Marshal(created)
	approved := a.must(200, "PUT", csrPath+"/node-1/approval", string(body))
	conds, _ := get(approved, "status", "conditions").([]any)
	if len(conds) != 1 || get(conds[0].(map[string]any), "type") != "Approved" || get(conds[0].(map[string]any), "lastUpdateTime") == nil {
		t.Fatalf("conditions after approve: %v", conds)
	}
	if c := get(approved, "status", "certificate"); c != nil {
		t.Errorf("approval wrote the certificate: %v", c)
	}
	// A patch of /approval keeps the metadata it changes, as Kubernetes (conformance CSR spec).
	code, pm := a.do("PATCH", csrPath+"/node-1/approval", "application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"patchedapproval":"true"}},"status":{"conditions":[{"type":"Approved","status":"True","reason":"again"}]}}`))
	if code != 200 || get(pm, "metadata", "annotations", "patchedapproval") != "true" {
		t.Errorf("approval patch with an annotation: %d %v", code, get(pm, "metadata"))
	}
	approved = pm

	// A status write cannot drop Approved (it is kept), nor a spec change sneak in.
	approved["status"] = map[string]any{}
	approved["spec"].(map[string]any)["signerName"] = "example.com/other"
	body, _ = json.Marshal(approved)
	after := a.must(200, "PUT", csrPath+"/node-1/status", string(body))
	if conds, _ := get(after, "status", "conditions").([]any); len(conds) != 1 {
		t.Errorf("status write removed Approved: %v", conds)
	}
	if s := get(after, "spec", "signerName"); s != "kubernetes.io/kube-apiserver-client-kubelet" {
		t.Errorf("spec changed through status: %v", s)
	}

	// A status write appending a condition keeps the order it wrote (Approved stays in its
	// place, as Kubernetes' preserveConditionInstances): the conformance CSR spec checks the
	// last condition is the one it appended.
	conds, _ = get(after, "status", "conditions").([]any)
	after["status"] = map[string]any{"conditions": append(conds, map[string]any{"type": "StatusUpdate", "status": "True", "reason": "E2E"})}
	body, _ = json.Marshal(after)
	after = a.must(200, "PUT", csrPath+"/node-1/status", string(body))
	if conds, _ := get(after, "status", "conditions").([]any); len(conds) != 2 || get(conds[0].(map[string]any), "type") != "Approved" ||
		get(conds[1].(map[string]any), "type") != "StatusUpdate" {
		t.Errorf("conditions after a status write appending one: %v", conds)
	}

	// Denying an approved request is refused: the two are mutually exclusive.
	after["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Denied", "status": "True"}}}
	body, _ = json.Marshal(after)
	if code, m := a.do("PUT", csrPath+"/node-1/approval", "", body); code != 422 {
		t.Errorf("approved then denied: %d %v", code, m)
	}
}

func TestCSRValidationAndRestriction(t *testing.T) {
	a := startSecure(t)
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"no signer", csrBody(t, "a", "", csrPEM(t, "x")), 422},
		{"signer without domain", csrBody(t, "b", "signer", csrPEM(t, "x")), 422},
		{"not a CSR", csrBody(t, "c", "example.com/s", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 422},
		{"masters through the client signer", csrBody(t, "d", "kubernetes.io/kube-apiserver-client", csrPEM(t, "root", "system:masters")), 403},
		{"ok", csrBody(t, "e", "example.com/s", csrPEM(t, "x")), 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, m := a.do("POST", csrPath, "", []byte(tc.body)); code != tc.want {
				t.Errorf("got %d, want %d: %v", code, tc.want, m)
			}
		})
	}
	var bad map[string]any
	json.Unmarshal([]byte(csrBody(t, "f", "example.com/s", csrPEM(t, "x"))), &bad)
	bad["spec"].(map[string]any)["usages"] = []string{"client auth", "teleport"}
	body, _ := json.Marshal(bad)
	if code, m := a.do("POST", csrPath, "", body); code != 422 || !strings.Contains(m["message"].(string), "teleport") {
		t.Errorf("unknown usage: %d %v", code, m)
	}
}

func (a *api) rawAccept(method, path, accept string) (int, string) {
	a.t.Helper()
	req := httptest.NewRequest(method, a.base+path, nil)
	req.RequestURI = ""
	req.Header.Set("Accept", accept)
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
