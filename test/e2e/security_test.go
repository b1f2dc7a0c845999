package e2e

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
)

// The secure default as a user meets it: the real skiff-apiserver with its TLS port,
// client certificates, RBAC and ServiceAccount tokens, driven by the real kubectl.

// status GETs path with hc and returns the code and the Status message (if any).
func status(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st struct {
		Kind, Message string
	}
	json.Unmarshal(b, &st)
	if st.Kind == "Status" {
		return resp.StatusCode, st.Message
	}
	return resp.StatusCode, string(b)
}

func TestUnauthenticatedAccess(t *testing.T) {
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	// Anonymous: verifies the server with the CA but presents no certificate.
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: api.PKI.CA.Pool()}}, Timeout: 10 * time.Second}
	for _, path := range []string{"/version", "/healthz", "/livez", "/readyz", "/api", "/apis"} {
		// Public paths become readable once the bootstrap policy is reconciled (by watch).
		harness.Eventually(t, 20*time.Second, "anonymous GET "+path, func() (bool, string) {
			code, msg := status(t, anon, api.URL+path)
			return code == 200, msg
		})
	}
	code, msg := status(t, anon, api.URL+"/api/v1/namespaces/default/pods")
	want := `pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"`
	if code != 403 || msg != want {
		t.Errorf("anonymous list pods: %d %q, want 403 %q", code, msg, want)
	}
	code, msg = status(t, anon, api.URL+"/api/v1/secrets")
	if code != 403 || !strings.Contains(msg, "at the cluster scope") {
		t.Errorf("anonymous list secrets: %d %q", code, msg)
	}

	// Plain HTTP on the API port is refused.
	resp, err := http.Get(strings.Replace(api.URL, "https://", "http://", 1) + "/api/v1/namespaces")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || strings.Contains(string(b), "NamespaceList") {
			t.Errorf("plain HTTP answered %d: %s", resp.StatusCode, b)
		}
	}

	// A certificate from another CA, and a forged bearer token: 401, and nothing written.
	other, err := pki.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, _ := other.Issue(pki.CertRequest{CommonName: "mallory", Organization: []string{"system:masters"}, Usage: pki.ClientAuth})
	forged, _ := (&client.Config{Host: api.URL, TLS: client.TLSConfig{CAData: api.PKI.CA.CertPEM, CertData: cert, KeyData: key}}).HTTPClient()
	if code, msg := status(t, forged, api.URL+"/api/v1/namespaces"); code != 401 || msg != "Unauthorized" {
		t.Errorf("certificate from another CA: %d %q, want 401 Unauthorized", code, msg)
	}
	bad, _ := (&client.Config{Host: api.URL, BearerToken: "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", TLS: client.TLSConfig{CAData: api.PKI.CA.CertPEM}}).HTTPClient()
	req, _ := http.NewRequest("POST", api.URL+"/api/v1/namespaces/default/configmaps", strings.NewReader(`{"metadata":{"name":"evil"}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = bad.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("forged token create: %d, want 401", resp.StatusCode)
	}
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	if out, _, err := k.Exec([]string{"get", "configmap", "evil"}, ""); err == nil {
		t.Errorf("a refused request wrote an object: %s", out)
	}
}

func TestRBACGrantAndRevokeWithKubectl(t *testing.T) {
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	admin := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	jane := &harness.Kubectl{Kubeconfig: writeKubeconfig(t, api.UserConfig(t, "jane", "developers"))}

	_, errOut, err := jane.Exec([]string{"get", "pods"}, "")
	want := `pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"`
	if err == nil || !strings.Contains(errOut, want) {
		t.Fatalf("jane before any binding: err %v, stderr %q; want %q", err, errOut, want)
	}
	// can-i exits 1 when the answer is no.
	if out, _, _ := admin.Exec([]string{"auth", "can-i", "list", "pods", "--as", "jane"}, ""); strings.TrimSpace(out) != "no" {
		t.Errorf("can-i --as jane before the binding: %q", out)
	}
	admin.Run(t, "create", "rolebinding", "jane-view", "--clusterrole", "view", "--user", "jane")
	harness.Eventually(t, 20*time.Second, "jane may list pods after the RoleBinding", func() (bool, string) {
		out, errOut, err := jane.Exec([]string{"get", "pods"}, "")
		return err == nil, out + errOut
	})
	if out := strings.TrimSpace(admin.Run(t, "auth", "can-i", "list", "pods", "--as", "jane")); out != "yes" {
		t.Errorf("can-i --as jane after the binding: %q", out)
	}
	// view does not read Secrets, nor write anything.
	if _, errOut, err := jane.Exec([]string{"get", "secrets"}, ""); err == nil || !strings.Contains(errOut, "forbidden") {
		t.Errorf("jane read secrets with view: %v %s", err, errOut)
	}
	if _, errOut, err := jane.Exec([]string{"create", "configmap", "x"}, ""); err == nil || !strings.Contains(errOut, "forbidden") {
		t.Errorf("jane created a configmap with view: %v %s", err, errOut)
	}
	// Escalation: jane, allowed to manage RoleBindings in default, cannot bind cluster-admin.
	admin.Run(t, "create", "role", "binder", "--verb", "create,get,list", "--resource", "rolebindings.rbac.authorization.k8s.io")
	admin.Run(t, "create", "rolebinding", "jane-binder", "--role", "binder", "--user", "jane")
	harness.Eventually(t, 20*time.Second, "jane may create rolebindings", func() (bool, string) {
		out, _, _ := admin.Exec([]string{"auth", "can-i", "create", "rolebindings", "--as", "jane"}, "")
		return strings.TrimSpace(out) == "yes", out
	})
	_, errOut, err = jane.Exec([]string{"create", "rolebinding", "jane-admin", "--clusterrole", "cluster-admin", "--user", "jane"}, "")
	if err == nil || !strings.Contains(errOut, "forbidden") {
		t.Errorf("jane escalated to cluster-admin: %v %s", err, errOut)
	}
	if out, _, err := admin.Exec([]string{"get", "rolebinding", "jane-admin"}, ""); err == nil {
		t.Errorf("the refused RoleBinding exists: %s", out)
	}
	// Impersonation needs permission.
	if _, errOut, err := jane.Exec([]string{"get", "pods", "--as", "admin"}, ""); err == nil || !strings.Contains(errOut, "cannot impersonate") {
		t.Errorf("jane impersonated without permission: %v %s", err, errOut)
	}
	// Revoke.
	admin.Run(t, "delete", "rolebinding", "jane-view")
	harness.Eventually(t, 20*time.Second, "jane may no longer list pods", func() (bool, string) {
		out, errOut, err := jane.Exec([]string{"get", "pods"}, "")
		return err != nil && strings.Contains(errOut, "forbidden"), out + errOut
	})
	if out := admin.Run(t, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); out != "kubernetes-admin" {
		t.Errorf("whoami as admin: %q", out)
	}
}

func TestServiceAccountTokenWithKubectl(t *testing.T) {
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	admin := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	admin.Run(t, "create", "serviceaccount", "sa1")
	token := strings.TrimSpace(admin.Run(t, "create", "token", "sa1", "--duration", "10m"))
	cfg := &client.Config{Host: api.URL, BearerToken: token, TLS: client.TLSConfig{CAData: api.PKI.CA.CertPEM}}
	sa := &harness.Kubectl{Kubeconfig: writeKubeconfig(t, cfg)}
	if out := sa.Run(t, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); out != "system:serviceaccount:default:sa1" {
		t.Errorf("whoami with the token: %q", out)
	}
	_, errOut, err := sa.Exec([]string{"get", "pods"}, "")
	want := `pods is forbidden: User "system:serviceaccount:default:sa1" cannot list resource "pods" in API group "" in the namespace "default"`
	if err == nil || !strings.Contains(errOut, want) {
		t.Fatalf("token before a binding: %v %q", err, errOut)
	}
	admin.Run(t, "create", "rolebinding", "sa1-view", "--clusterrole", "view", "--serviceaccount", "default:sa1")
	harness.Eventually(t, 20*time.Second, "the ServiceAccount may list pods", func() (bool, string) {
		out, errOut, err := sa.Exec([]string{"get", "pods"}, "")
		return err == nil, out + errOut
	})
	// A deleted ServiceAccount's token stops working (401), even though it has not expired.
	admin.Run(t, "delete", "serviceaccount", "sa1")
	harness.Eventually(t, 20*time.Second, "the deleted ServiceAccount's token refused", func() (bool, string) {
		_, errOut, err := sa.Exec([]string{"get", "pods"}, "")
		return err != nil && strings.Contains(errOut, "Unauthorized"), errOut
	})
}

func writeKubeconfig(t *testing.T, cfg *client.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := client.WriteKubeconfig(path, "skiff", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// A node agent's identity (system:node:NAME in system:nodes) reaches only its own objects:
// the Node authorizer and NodeRestriction, through the real binaries and kubectl.
func TestNodeIdentityIsRestricted(t *testing.T) {
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	admin := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	n1 := &harness.Kubectl{Kubeconfig: writeKubeconfig(t, api.UserConfig(t, "system:node:n1", "system:nodes"))}
	admin.RunStdin(t, `apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
---
apiVersion: v1
kind: Secret
metadata: {name: mine}
stringData: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: theirs}
stringData: {k: v}
---
apiVersion: v1
kind: Pod
metadata: {name: on-n1}
spec:
  nodeName: n1
  automountServiceAccountToken: false
  containers: [{name: c, image: busybox}]
  volumes: [{name: s, secret: {secretName: mine}}]
---
apiVersion: v1
kind: Pod
metadata: {name: on-n2}
spec:
  nodeName: n2
  automountServiceAccountToken: false
  containers: [{name: c, image: busybox}]
  volumes: [{name: s, secret: {secretName: theirs}}]
`, "apply", "-f", "-")
	// Its own objects: yes (the graph of pod references follows the pod watch).
	harness.Eventually(t, 20*time.Second, "n1 reads the secret its pod uses", func() (bool, string) {
		out, errOut, err := n1.Exec([]string{"get", "secret", "mine", "-o", "name"}, "")
		return err == nil, out + errOut
	})
	n1.Run(t, "label", "node", "n1", "skiff.test/seen=yes")
	n1.Run(t, "get", "pods", "-o", "name")
	// Anything else: no, and nothing changes.
	for _, args := range [][]string{
		{"get", "secret", "theirs"},
		{"label", "node", "n2", "skiff.test/seen=yes"},
		{"delete", "pod", "on-n2"},
		{"create", "configmap", "x"},
	} {
		_, errOut, err := n1.Exec(args, "")
		if err == nil || !strings.Contains(strings.ToLower(errOut), "forbidden") {
			t.Errorf("node n1: kubectl %s: err %v, stderr %q; want forbidden", strings.Join(args, " "), err, errOut)
		}
	}
	if out := admin.Run(t, "get", "node", "n2", "-o", "jsonpath={.metadata.labels.skiff\\.test/seen}"); out != "" {
		t.Errorf("n2 was labelled by n1: %q", out)
	}
	admin.Run(t, "get", "pod", "on-n2")
}
