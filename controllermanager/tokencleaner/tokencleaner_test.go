package tokencleaner_test

import (
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/bootstraptoken"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/tokencleaner"
)

func secret(ns, name string, typ core.SecretType, expiration string) *core.Secret {
	s := &core.Secret{TypeMeta: meta.TypeMeta{Kind: "Secret", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name}, Type: typ,
		StringData: map[string]string{"token-id": name[len(name)-6:], "token-secret": "0123456789abcdef"}}
	if expiration != "" {
		s.StringData["expiration"] = expiration
	}
	return s
}

func TestTokenCleaner(t *testing.T) {
	e := testenv.New(t)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, s := range []*core.Secret{
		secret("kube-system", "bootstrap-token-aaaaaa", bootstraptoken.SecretType, past),
		secret("kube-system", "bootstrap-token-bbbbbb", bootstraptoken.SecretType, future),
		secret("kube-system", "bootstrap-token-cccccc", bootstraptoken.SecretType, ""),
		secret("kube-system", "bootstrap-token-dddddd", bootstraptoken.SecretType, "not a date"),
		// Not token secrets: left alone whatever they hold.
		secret("kube-system", "other-eeeeee", core.SecretTypeOpaque, past),
		secret("default", "bootstrap-token-ffffff", bootstraptoken.SecretType, past),
	} {
		testenv.Create(t, e, controller.Secrets, s)
	}
	e.Start(t, tokencleaner.New(e.CC))
	left := func() string {
		out := ""
		for _, k := range [][2]string{{"kube-system", "bootstrap-token-aaaaaa"}, {"kube-system", "bootstrap-token-bbbbbb"},
			{"kube-system", "bootstrap-token-cccccc"}, {"kube-system", "bootstrap-token-dddddd"},
			{"kube-system", "other-eeeeee"}, {"default", "bootstrap-token-ffffff"}} {
			if testenv.Get[core.Secret](t, e, controller.Secrets, k[0], k[1]) != nil {
				out += k[1] + " "
			}
		}
		return out
	}
	testenv.Eventually(t, "the expired and the unparsable tokens deleted", func() (bool, string) {
		got := left()
		return got == "bootstrap-token-bbbbbb bootstrap-token-cccccc other-eeeeee bootstrap-token-ffffff ", got
	})
}
