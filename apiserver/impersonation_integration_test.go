package apiserver_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/apiserver/audit"
	"github.com/skiff-sh/skiff/test/harness"
)

// TestImpersonationAndAudit: kubectl --as works for an administrator and is refused in
// Kubernetes' words for a user without the impersonate verb; the audit log records both
// with the real and the impersonated user.
func TestImpersonationAndAudit(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "audit.log")
	srv := harness.StartServer(t, harness.ServerOptions{Configure: func(c *apiserver.Config) { c.AuditLogPath = logPath }})
	admin := &harness.Kubectl{Kubeconfig: srv.Kubeconfig}
	// bob in system:masters: RBAC may not let a plain user ask who they are yet.
	out := admin.Run(t, "auth", "whoami", "--as", "bob", "--as-group", "system:masters", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	if out != `bob ["system:masters","system:authenticated"]` {
		t.Errorf("whoami --as bob: %q", out)
	}
	// jane may not impersonate. (kubectl --as with a fresh discovery cache only says
	// "Forbidden: unknown", as against Kubernetes: its discovery fails first; the message is
	// checked on the wire.)
	hc, err := srv.UserConfig(t, "jane", "dev").HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/namespaces/default/pods", nil)
	req.Header.Set("Impersonate-User", "bob")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st meta.Status
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	want := `users "bob" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope`
	if resp.StatusCode != http.StatusForbidden || st.Message != want {
		t.Errorf("jane as bob: %d %q", resp.StatusCode, st.Message)
	}

	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sawAdminAsBob, sawJaneRefused bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev audit.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if ev.Kind != "Event" || ev.APIVersion != "audit.k8s.io/v1" || ev.Level != "Metadata" || ev.AuditID == "" {
			t.Errorf("audit line %s", sc.Text())
		}
		switch {
		case ev.ImpersonatedUser != nil && ev.ImpersonatedUser.Username == "bob" && ev.Verb == "create" &&
			ev.ObjectRef != nil && ev.ObjectRef.Resource == "selfsubjectreviews" && ev.ResponseStatus.Code == 201:
			sawAdminAsBob = ev.User.Username != "bob" && ev.Annotations["authorization.k8s.io/decision"] == "allow"
		case ev.User.Username == "jane" && ev.Verb == "list" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" &&
			ev.ResponseStatus.Code == 403:
			sawJaneRefused = true
		}
	}
	if !sawAdminAsBob || !sawJaneRefused {
		t.Errorf("audit log lacks the impersonated whoami (%v) or jane's refusal (%v)", sawAdminAsBob, sawJaneRefused)
	}
}
