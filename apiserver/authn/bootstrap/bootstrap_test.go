package bootstrap

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/bootstraptoken"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

type secrets map[string]*core.Secret

func (m secrets) Secret(_ context.Context, ns, name string) (*core.Secret, error) {
	if s, ok := m[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%s/%s: %w", ns, name, ErrNotFound)
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	good := func() *core.Secret {
		return &core.Secret{
			ObjectMeta: meta.ObjectMeta{Namespace: "kube-system", Name: "bootstrap-token-abcdef"},
			Type:       bootstraptoken.SecretType,
			Data: map[string][]byte{
				"token-id": []byte("abcdef"), "token-secret": []byte("0123456789abcdef"),
				"expiration":                     []byte("2026-01-02T00:00:00Z"),
				"usage-bootstrap-authentication": []byte("true"),
				"auth-extra-groups":              []byte("system:bootstrappers:kubeadm:default-node-token"),
			},
		}
	}
	deleted := meta.NewTime(now)
	cases := []struct {
		name   string
		token  string
		edit   func(*core.Secret)
		noSec  bool
		wantOK bool
	}{
		{name: "good", wantOK: true},
		{name: "no expiration", edit: func(s *core.Secret) { delete(s.Data, "expiration") }, wantOK: true},
		{name: "wrong secret", token: "abcdef.0123456789abcdee"},
		{name: "not a bootstrap token", token: "hello"},
		{name: "no secret", noSec: true},
		{name: "expired", edit: func(s *core.Secret) { s.Data["expiration"] = []byte("2026-01-01T11:00:00Z") }},
		{name: "bad expiration", edit: func(s *core.Secret) { s.Data["expiration"] = []byte("soon") }},
		{name: "being deleted", edit: func(s *core.Secret) { s.DeletionTimestamp = &deleted }},
		{name: "wrong type", edit: func(s *core.Secret) { s.Type = core.SecretTypeOpaque }},
		{name: "not for authentication", edit: func(s *core.Secret) { delete(s.Data, "usage-bootstrap-authentication") }},
		{name: "id mismatch", edit: func(s *core.Secret) { s.Data["token-id"] = []byte("zzzzzz") }},
		{name: "bad extra group", edit: func(s *core.Secret) { s.Data["auth-extra-groups"] = []byte("system:masters") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good()
			if c.edit != nil {
				c.edit(s)
			}
			m := secrets{}
			if !c.noSec {
				m["kube-system/bootstrap-token-abcdef"] = s
			}
			tok := c.token
			if tok == "" {
				tok = "abcdef.0123456789abcdef"
			}
			a := &Authenticator{Secrets: m, Now: func() time.Time { return now }}
			u, ok, err := a.AuthenticateToken(context.Background(), tok)
			if err != nil || ok != c.wantOK {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, c.wantOK)
			}
			if ok {
				want := &authn.User{Name: "system:bootstrap:abcdef",
					Groups: []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"}}
				if !reflect.DeepEqual(u, want) {
					t.Errorf("user %+v, want %+v", u, want)
				}
			}
		})
	}
}
