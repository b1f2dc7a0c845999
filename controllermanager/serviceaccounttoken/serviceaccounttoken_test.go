package serviceaccounttoken_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/serviceaccounttoken"
	"github.com/skiff-sh/skiff/pki"
)

func tokenSecret(name, account string) *core.Secret {
	return &core.Secret{TypeMeta: meta.TypeMeta{Kind: "Secret", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name, Annotations: map[string]string{core.ServiceAccountNameKey: account}},
		Type:       core.SecretTypeServiceAccountToken}
}

// whoami is who the API server says a token is ("" and the error if refused).
func whoami(t *testing.T, e *testenv.Env, token string) (string, error) {
	c, err := client.New(e.Server.TokenConfig(token))
	if err != nil {
		t.Fatal(err)
	}
	var out authentication.SelfSubjectReview
	err = c.Do(context.Background(), http.MethodPost, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
		&authentication.SelfSubjectReview{TypeMeta: meta.TypeMeta{Kind: "SelfSubjectReview", APIVersion: "authentication.k8s.io/v1"}}, &out)
	return out.Status.UserInfo.Username, err
}

// TestTokenSecrets: a token Secret gets a token the API server accepts (with the CA and the
// namespace beside it); one naming a missing account is deleted; deleting the account
// deletes its Secret and the token stops working.
func TestTokenSecrets(t *testing.T) {
	e := testenv.New(t)
	key, err := serviceaccount.LoadSigningKey(e.Server.PKI.File(pki.SAKey))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Create(t, e, controller.ServiceAccounts, &core.ServiceAccount{TypeMeta: meta.TypeMeta{Kind: "ServiceAccount", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "robot"}})
	testenv.Create(t, e, controller.Secrets, tokenSecret("robot-token", "robot"))
	testenv.Create(t, e, controller.Secrets, tokenSecret("ghost-token", "ghost"))
	e.Start(t, mustNew(t, e, serviceaccounttoken.Options{SigningKey: key, RootCA: e.Server.PKI.CA.CertPEM}))

	var token string
	testenv.Eventually(t, "the token secret filled in", func() (bool, string) {
		s := testenv.Get[core.Secret](t, e, controller.Secrets, "default", "robot-token")
		if s == nil {
			return false, "gone"
		}
		token = string(s.Data["token"])
		return token != "" && string(s.Data["namespace"]) == "default" && string(s.Data["ca.crt"]) == string(e.Server.PKI.CA.CertPEM) &&
			s.Annotations[core.ServiceAccountUIDKey] != "", s.Annotations[core.ServiceAccountUIDKey]
	})
	if user, err := whoami(t, e, token); err != nil || user != "system:serviceaccount:default:robot" {
		t.Errorf("whoami with the secret's token: %q %v", user, err)
	}
	testenv.Eventually(t, "the ghost's token secret deleted", func() (bool, string) {
		return testenv.Get[core.Secret](t, e, controller.Secrets, "default", "ghost-token") == nil, "still there"
	})

	if err := client.For[core.ServiceAccount](e.Client, controller.ServiceAccounts).Delete(context.Background(), "default", "robot", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the account's token secret deleted and its token refused", func() (bool, string) {
		_, err := whoami(t, e, token)
		return testenv.Get[core.Secret](t, e, controller.Secrets, "default", "robot-token") == nil && client.IsUnauthorized(err), errString(err)
	})
}

func mustNew(t *testing.T, e *testenv.Env, o serviceaccounttoken.Options) *serviceaccounttoken.Controller {
	c, err := serviceaccounttoken.New(e.CC, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func errString(err error) string {
	if err == nil {
		return "accepted"
	}
	return err.Error()
}
