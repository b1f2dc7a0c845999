package apiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/test/harness"
)

// whoami asks SelfSubjectReview as the client's user.
func whoami(t *testing.T, c *client.Client) (authentication.UserInfo, error) {
	t.Helper()
	var out authentication.SelfSubjectReview
	err := c.Do(context.Background(), http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
		&authentication.SelfSubjectReview{TypeMeta: meta.TypeMeta{Kind: "SelfSubjectReview", APIVersion: "authentication.k8s.io/v1"}}, &out)
	return out.Status.UserInfo, err
}

func newClient(t *testing.T, cfg *client.Config) *client.Client {
	t.Helper()
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// claims decodes a JWT's payload (no verification: the server did that).
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func isStatus(err error, code int) bool {
	var se *client.StatusError
	return errors.As(err, &se) && int(se.Status.Code) == code
}

// TestServiceAccountTokens: kubectl create token (protobuf body), the token authenticates as
// the ServiceAccount with Kubernetes' groups and extras, a pod-bound token dies with its
// pod, a deleted ServiceAccount's token is refused, and TokenReview tells all of it.
func TestServiceAccountTokens(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{Configure: func(c *apiserver.Config) {
		c.ServiceAccountMaxTokenExpiration = 2 * time.Hour
		// Authentication is under test here, not RBAC: every authenticated user may act.
		c.Authorization = "AlwaysAllow"
	}})
	ctx := context.Background()
	admin := srv.Client(t)
	kubectl := &harness.Kubectl{Kubeconfig: srv.Kubeconfig}
	kubectl.Run(t, "create", "serviceaccount", "robot")
	var sa core.ServiceAccount
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/namespaces/default/serviceaccounts/robot", nil, &sa); err != nil {
		t.Fatal(err)
	}

	token := strings.TrimSpace(kubectl.Run(t, "create", "token", "robot", "--duration", "10m"))
	c := claims(t, token)
	if c["sub"] != "system:serviceaccount:default:robot" || c["iss"] != apiserver.DefaultServiceAccountIssuer ||
		c["exp"].(float64)-c["iat"].(float64) != 600 {
		t.Errorf("claims %v", c)
	}
	u, err := whoami(t, newClient(t, srv.TokenConfig(token)))
	if err != nil {
		t.Fatalf("whoami with the token: %v", err)
	}
	if u.Username != "system:serviceaccount:default:robot" || u.UID != sa.UID ||
		!slices.Equal(u.Groups, []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}) ||
		len(u.Extra["authentication.kubernetes.io/credential-id"]) != 1 {
		t.Errorf("user %+v", u)
	}

	// Another audience: not for this server, but TokenReview asked for it says who it is.
	vault := strings.TrimSpace(kubectl.Run(t, "create", "token", "robot", "--audience", "vault"))
	if _, err := whoami(t, newClient(t, srv.TokenConfig(vault))); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("a token for another audience: %v, want 401", err)
	}
	review := func(token string, auds ...string) authentication.TokenReviewStatus {
		t.Helper()
		var out authentication.TokenReview
		in := &authentication.TokenReview{TypeMeta: meta.TypeMeta{Kind: "TokenReview", APIVersion: "authentication.k8s.io/v1"},
			Spec: authentication.TokenReviewSpec{Token: token, Audiences: auds}}
		if err := admin.Do(ctx, http.MethodPost, "/apis/authentication.k8s.io/v1/tokenreviews", in, &out); err != nil {
			t.Fatalf("TokenReview: %v", err)
		}
		return out.Status
	}
	if st := review(vault, "vault", "other"); !st.Authenticated || st.User.Username != "system:serviceaccount:default:robot" ||
		!slices.Equal(st.Audiences, []string{"vault"}) || !slices.Contains(st.User.Groups, "system:authenticated") {
		t.Errorf("review of the vault token for vault: %+v", st)
	}
	if st := review(vault); st.Authenticated || !strings.Contains(st.Error, "audiences") {
		t.Errorf("review of the vault token for the API server: %+v", st)
	}
	if st := review(token); !st.Authenticated || !slices.Equal(st.Audiences, []string{apiserver.DefaultServiceAccountIssuer}) {
		t.Errorf("review of the API token: %+v", st)
	}
	if st := review("abcdef.0123456789abcdef"); st.Authenticated {
		t.Errorf("review of an unknown bootstrap token: %+v", st)
	}

	// Limits: under ten minutes is invalid; over the maximum is shortened with a warning.
	if _, errOut, err := kubectl.Exec([]string{"create", "token", "robot", "--duration", "5m"}, ""); err == nil ||
		!strings.Contains(errOut, "may not specify a duration less than 10 minutes") {
		t.Errorf("a 5m token: %v %s", err, errOut)
	}
	long, errOut, err := kubectl.Exec([]string{"create", "token", "robot", "--duration", "5h"}, "")
	if err != nil || !strings.Contains(errOut, "shortened to 7200 seconds") {
		t.Errorf("a 5h token: %v %s", err, errOut)
	} else if c := claims(t, strings.TrimSpace(long)); c["exp"].(float64)-c["iat"].(float64) != 7200 {
		t.Errorf("a 5h token lasts %v s", c["exp"].(float64)-c["iat"].(float64))
	}
	if _, errOut, err := kubectl.Exec([]string{"create", "token", "nobody"}, ""); err == nil ||
		!strings.Contains(errOut, `serviceaccounts "nobody" not found`) {
		t.Errorf("a token for a missing account: %v %s", err, errOut)
	}

	// A pod-bound token carries the pod and is refused once the pod is gone.
	pod := &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: core.PodSpec{ServiceAccountName: "robot", Containers: []core.Container{{Name: "c", Image: "busybox"}}}}
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/namespaces/default/pods", pod, pod); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := kubectl.Exec([]string{"create", "token", "robot", "--bound-object-kind", "Pod", "--bound-object-name", "nope"}, ""); err == nil ||
		!strings.Contains(errOut, `pods "nope" not found`) {
		t.Errorf("a token bound to a missing pod: %v %s", err, errOut)
	}
	bound := strings.TrimSpace(kubectl.Run(t, "create", "token", "robot", "--bound-object-kind", "Pod", "--bound-object-name", "web"))
	u, err = whoami(t, newClient(t, srv.TokenConfig(bound)))
	if err != nil || !slices.Equal(u.Extra["authentication.kubernetes.io/pod-name"], []string{"web"}) ||
		!slices.Equal(u.Extra["authentication.kubernetes.io/pod-uid"], []string{pod.UID}) {
		t.Errorf("whoami with the pod-bound token: %+v %v", u, err)
	}
	// A node agent's 3607 s pod token lasts a year, warning after the hour; others do not.
	c = claims(t, strings.TrimSpace(kubectl.Run(t, "create", "token", "robot", "--duration", "3607s",
		"--bound-object-kind", "Pod", "--bound-object-name", "web")))
	k8s, _ := c["kubernetes.io"].(map[string]any)
	if c["exp"].(float64)-c["iat"].(float64) != 365*24*3600 || k8s["warnafter"].(float64)-c["iat"].(float64) != 3607 {
		t.Errorf("extended token claims %v", c)
	}
	c = claims(t, strings.TrimSpace(kubectl.Run(t, "create", "token", "robot", "--duration", "3607s")))
	if c["exp"].(float64)-c["iat"].(float64) != 3607 {
		t.Errorf("an unbound 3607 s token lasts %v s", c["exp"].(float64)-c["iat"].(float64))
	}
	zero := int64(0)
	if err := admin.Do(ctx, http.MethodDelete, "/api/v1/namespaces/default/pods/web", &meta.DeleteOptions{GracePeriodSeconds: &zero}, nil); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, "the pod-bound token refused", func() (bool, string) {
		_, err := whoami(t, newClient(t, srv.TokenConfig(bound)))
		return isStatus(err, http.StatusUnauthorized), errString(err)
	})

	// A deleted ServiceAccount's token is refused though it has not expired.
	kubectl.Run(t, "delete", "serviceaccount", "robot")
	harness.Eventually(t, 10*time.Second, "the deleted account's token refused", func() (bool, string) {
		_, err := whoami(t, newClient(t, srv.TokenConfig(token)))
		return isStatus(err, http.StatusUnauthorized), errString(err)
	})
	if st := review(token); st.Authenticated || !strings.Contains(st.Error, "not found") {
		t.Errorf("review of the deleted account's token: %+v", st)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestServiceAccountIssuerDiscovery: the OpenID discovery document names the issuer and
// the key set, and the key set's key verifies a token the server issued.
func TestServiceAccountIssuerDiscovery(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{})
	kubectl := &harness.Kubectl{Kubeconfig: srv.Kubeconfig}
	kubectl.Run(t, "create", "serviceaccount", "robot")
	token := strings.TrimSpace(kubectl.Run(t, "create", "token", "robot"))
	hc := srv.HTTPClient(t)
	get := func(path string, out any) {
		t.Helper()
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	get("/.well-known/openid-configuration", &doc)
	if doc.Issuer != apiserver.DefaultServiceAccountIssuer || !strings.HasSuffix(doc.JWKSURI, "/openid/v1/jwks") ||
		!slices.Equal(doc.Algs, []string{"ES256"}) {
		t.Errorf("discovery document %+v", doc)
	}
	var set struct {
		Keys []struct{ Kid, Kty, Crv, X, Y string }
	}
	get("/openid/v1/jwks", &set)
	parts := strings.Split(token, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h struct{ Kid string }
	json.Unmarshal(hb, &h)
	if len(set.Keys) != 1 || set.Keys[0].Kid != h.Kid || set.Keys[0].Crv != "P-256" {
		t.Fatalf("key set %+v, token kid %q", set, h.Kid)
	}
	num := func(s string) *big.Int {
		b, _ := base64.RawURLEncoding.DecodeString(s)
		return new(big.Int).SetBytes(b)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: num(set.Keys[0].X), Y: num(set.Keys[0].Y)}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Errorf("the published key does not verify the token")
	}
}
