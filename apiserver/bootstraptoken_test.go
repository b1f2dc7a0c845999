package apiserver_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/test/harness"
)

// TestBootstrapToken: a bootstrap token authenticates as system:bootstrap:<id> in
// system:bootstrappers and its extra groups while its secret allows it; expired or deleted,
// it is refused with 401.
func TestBootstrapToken(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{Configure: func(c *apiserver.Config) {
		c.Authorization = "AlwaysAllow" // authentication is under test
	}})
	ctx := context.Background()
	admin := srv.Client(t)
	const path = "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef"
	s := &core.Secret{TypeMeta: meta.TypeMeta{Kind: "Secret", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "kube-system", Name: "bootstrap-token-abcdef"},
		Type:       "bootstrap.kubernetes.io/token",
		StringData: map[string]string{"token-id": "abcdef", "token-secret": "0123456789abcdef",
			"expiration":                     time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"usage-bootstrap-authentication": "true",
			"auth-extra-groups":              "system:bootstrappers:kubeadm:default-node-token"}}
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/namespaces/kube-system/secrets", s, s); err != nil {
		t.Fatal(err)
	}
	tokenClient := newClient(t, srv.TokenConfig("abcdef.0123456789abcdef"))
	u, err := whoami(t, tokenClient)
	if err != nil {
		t.Fatalf("whoami with the bootstrap token: %v", err)
	}
	if u.Username != "system:bootstrap:abcdef" || !slices.Equal(u.Groups,
		[]string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"}) {
		t.Errorf("user %+v", u)
	}
	if _, err := whoami(t, newClient(t, srv.TokenConfig("abcdef.0123456789abcdee"))); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("a wrong secret: %v, want 401", err)
	}

	// Expired: refused at once (the cleaner deletes it later).
	s.StringData = nil // decoding the answer kept the request's stringData, which would win
	s.Data["expiration"] = []byte(time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
	if err := admin.Do(ctx, http.MethodPut, path, s, s); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, "the expired token refused", func() (bool, string) {
		_, err := whoami(t, tokenClient)
		return isStatus(err, http.StatusUnauthorized), errString(err)
	})
	// Valid again, then deleted.
	s.Data["expiration"] = []byte(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if err := admin.Do(ctx, http.MethodPut, path, s, s); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, "the renewed token accepted", func() (bool, string) {
		_, err := whoami(t, tokenClient)
		return err == nil, errString(err)
	})
	if err := admin.Do(ctx, http.MethodDelete, path, nil, nil); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, "the deleted token refused", func() (bool, string) {
		_, err := whoami(t, tokenClient)
		return isStatus(err, http.StatusUnauthorized), errString(err)
	})
}
