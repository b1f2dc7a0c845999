package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

const issuer = "https://kubernetes.default.svc.cluster.local"

// objects is a Getter over maps keyed "ns/name".
type objects struct {
	sas     map[string]*core.ServiceAccount
	pods    map[string]*core.Pod
	secrets map[string]*core.Secret
	nodes   map[string]*core.Node
}

func get[T any](m map[string]*T, key string) (*T, error) {
	if o, ok := m[key]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
}

func (o *objects) ServiceAccount(_ context.Context, ns, name string) (*core.ServiceAccount, error) {
	return get(o.sas, ns+"/"+name)
}
func (o *objects) Pod(_ context.Context, ns, name string) (*core.Pod, error) {
	return get(o.pods, ns+"/"+name)
}
func (o *objects) Secret(_ context.Context, ns, name string) (*core.Secret, error) {
	return get(o.secrets, ns+"/"+name)
}
func (o *objects) Node(_ context.Context, name string) (*core.Node, error) { return get(o.nodes, name) }

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func om(ns, name, uid string) meta.ObjectMeta {
	return meta.ObjectMeta{Namespace: ns, Name: name, UID: uid}
}

func world() *objects {
	return &objects{
		sas: map[string]*core.ServiceAccount{"default/robot": {ObjectMeta: om("default", "robot", "sa-1")}},
		pods: map[string]*core.Pod{"default/web": {ObjectMeta: om("default", "web", "pod-1"),
			Spec: core.PodSpec{ServiceAccountName: "robot", NodeName: "n1"}}},
		secrets: map[string]*core.Secret{"default/s": {ObjectMeta: om("default", "s", "secret-1")}},
		nodes:   map[string]*core.Node{"n1": {ObjectMeta: om("", "n1", "node-1")}},
	}
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	key, other := ecKey(t), ecKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w := world()
	sa, pod, node, secret := w.sas["default/robot"], w.pods["default/web"], w.nodes["n1"], w.secrets["default/s"]
	long := meta.NewTime(now.Add(-2 * Leeway))
	recent := meta.NewTime(now.Add(-Leeway / 2))

	type tc struct {
		name     string
		signer   crypto.Signer // default key
		iss      string        // default issuer
		binding  Binding
		auds     []string      // default [issuer]
		issuedAt time.Time     // default now
		exp      time.Duration // default 1h
		edit     func(*Claims)
		world    func(*objects)
		token    func(string) string
		ctxAuds  []string
		wantOK   bool
		wantErr  string // substring; "" with wantOK false means not recognised
		wantUser *authn.User
	}
	cases := []tc{
		{name: "plain", wantOK: true, wantUser: &authn.User{Name: "system:serviceaccount:default:robot", UID: "sa-1",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:default"}}},
		{name: "pod bound", binding: Binding{Pod: pod, Node: node}, wantOK: true, wantUser: &authn.User{
			Name: "system:serviceaccount:default:robot", UID: "sa-1",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:default"},
			Extra: map[string][]string{ExtraPodName: {"web"}, ExtraPodUID: {"pod-1"},
				ExtraNodeName: {"n1"}, ExtraNodeUID: {"node-1"}}}},
		{name: "secret bound", binding: Binding{Secret: secret}, wantOK: true},
		{name: "node bound", binding: Binding{Node: node}, wantOK: true},
		{name: "rsa key", signer: rsaKey, wantOK: true},
		{name: "expired", issuedAt: now.Add(-2 * time.Hour), wantErr: "has expired"},
		{name: "expired within leeway", issuedAt: now.Add(-time.Hour - Leeway/2), wantOK: true},
		{name: "not yet valid", issuedAt: now.Add(10 * time.Minute), wantErr: "not valid yet"},
		{name: "wrong audience", auds: []string{"vault"}, wantErr: "token audiences"},
		{name: "asked-for audience", auds: []string{"vault"}, ctxAuds: []string{"vault"}, wantOK: true},
		{name: "asked for another audience", ctxAuds: []string{"vault"}, wantErr: "token audiences"},
		{name: "other issuer is not ours", iss: "https://elsewhere", wantOK: false},
		{name: "not a JWT", token: func(string) string { return "abcdef.0123456789abcdef" }},
		{name: "other key", signer: other, wantErr: "invalid signature"},
		{name: "forged payload", token: func(s string) string {
			p := strings.Split(s, ".")
			var c map[string]any
			b, _ := b64.DecodeString(p[1])
			json.Unmarshal(b, &c)
			c["sub"] = "system:serviceaccount:kube-system:admin"
			b, _ = json.Marshal(c)
			return p[0] + "." + b64.EncodeToString(b) + "." + p[2]
		}, wantErr: "invalid signature"},
		{name: "alg none", token: func(s string) string {
			p := strings.Split(s, ".")
			return b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + p[1] + "."
		}},
		{name: "deleted service account", world: func(o *objects) { delete(o.sas, "default/robot") }, wantErr: "not found"},
		{name: "recreated service account", world: func(o *objects) {
			o.sas["default/robot"] = &core.ServiceAccount{ObjectMeta: om("default", "robot", "sa-2")}
		}, wantErr: "does not match claim"},
		{name: "service account being deleted", world: func(o *objects) {
			o.sas["default/robot"].DeletionTimestamp = &long
		}, wantErr: "has been deleted"},
		{name: "deleted pod", binding: Binding{Pod: pod}, world: func(o *objects) { delete(o.pods, "default/web") }, wantErr: "invalidated"},
		{name: "recreated pod", binding: Binding{Pod: pod}, world: func(o *objects) {
			o.pods["default/web"] = &core.Pod{ObjectMeta: om("default", "web", "pod-2")}
		}, wantErr: "does not match service account pod ref"},
		{name: "pod deleted long ago", binding: Binding{Pod: pod}, world: func(o *objects) {
			o.pods["default/web"].DeletionTimestamp = &long
		}, wantErr: "invalidated"},
		{name: "pod deleted just now", binding: Binding{Pod: pod}, world: func(o *objects) {
			o.pods["default/web"].DeletionTimestamp = &recent
		}, wantOK: true},
		{name: "deleted secret", binding: Binding{Secret: secret}, world: func(o *objects) { delete(o.secrets, "default/s") }, wantErr: "invalidated"},
		{name: "recreated node", binding: Binding{Node: node}, world: func(o *objects) {
			o.nodes["n1"] = &core.Node{ObjectMeta: om("", "n1", "node-2")}
		}, wantErr: "does not match service account node ref"},
		{name: "subject not matching the claim", edit: func(c *Claims) { c.Subject = "system:serviceaccount:default:other" },
			wantErr: "do not name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := world()
			if c.world != nil {
				c.world(o)
			}
			signer := c.signer
			if signer == nil {
				signer = key
			}
			iss := c.iss
			if iss == "" {
				iss = issuer
			}
			auds := c.auds
			if auds == nil {
				auds = []string{issuer}
			}
			at := c.issuedAt
			if at.IsZero() {
				at = now
			}
			exp := c.exp
			if exp == 0 {
				exp = time.Hour
			}
			s, err := NewSigner(iss, signer)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := NewClaims(sa, c.binding, auds, at, exp)
			if err != nil {
				t.Fatal(err)
			}
			if c.edit != nil {
				c.edit(claims)
			}
			tok, err := s.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			if c.token != nil {
				tok = c.token(tok)
			}
			a := &Authenticator{Issuers: []string{issuer}, Keys: []crypto.PublicKey{key.Public(), rsaKey.Public()},
				Audiences: []string{issuer}, Getter: o, Now: func() time.Time { return now }}
			ctx := context.Background()
			if c.ctxAuds != nil {
				ctx = authn.WithAudiences(ctx, c.ctxAuds)
			}
			u, ok, err := a.AuthenticateToken(ctx, tok)
			if ok != c.wantOK {
				t.Fatalf("ok = %v, want %v (err %v)", ok, c.wantOK, err)
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			}
			if !ok {
				return
			}
			if cid := u.Extra[ExtraCredentialID]; len(cid) != 1 || cid[0] != "JTI="+claims.ID {
				t.Errorf("credential-id = %v, want JTI=%s", cid, claims.ID)
			}
			if c.wantUser != nil {
				delete(u.Extra, ExtraCredentialID)
				if len(u.Extra) == 0 {
					u.Extra = nil
				}
				if !reflect.DeepEqual(u, c.wantUser) {
					t.Errorf("user = %+v, want %+v", u, c.wantUser)
				}
			}
		})
	}
}

// TestTokenShape: the header and claims are those Kubernetes writes.
func TestTokenShape(t *testing.T) {
	key := ecKey(t)
	now := time.Unix(1700000000, 0)
	w := world()
	s, _ := NewSigner(issuer, key)
	c, err := NewClaims(w.sas["default/robot"], Binding{Pod: w.pods["default/web"], Node: w.nodes["n1"]}, []string{"a", "b"}, now, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(tok, ".")
	h, _ := b64.DecodeString(p[0])
	kid, _ := keyID(key.Public())
	if want := `{"alg":"ES256","kid":"` + kid + `"}`; string(h) != want {
		t.Errorf("header %s, want %s", h, want)
	}
	var got map[string]any
	b, _ := b64.DecodeString(p[1])
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": issuer, "sub": "system:serviceaccount:default:robot", "aud": []any{"a", "b"},
		"iat": 1700000000.0, "nbf": 1700000000.0, "exp": 1700000600.0, "jti": c.ID,
		"kubernetes.io": map[string]any{
			"namespace":      "default",
			"serviceaccount": map[string]any{"name": "robot", "uid": "sa-1"},
			"pod":            map[string]any{"name": "web", "uid": "pod-1"},
			"node":           map[string]any{"name": "n1", "uid": "node-1"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claims\n%v\nwant\n%v", got, want)
	}
	if len(p[2]) != b64.EncodedLen(64) {
		t.Errorf("signature of %d chars, want an r||s of 64 bytes", len(p[2]))
	}
}

func TestAudienceAsString(t *testing.T) {
	var c Claims
	if err := json.Unmarshal([]byte(`{"aud":"x","exp":1.7e9}`), &c); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Audience, Audience{"x"}) || c.Expiry != 1700000000 {
		t.Errorf("got %+v", c)
	}
}

func TestSplitUserName(t *testing.T) {
	for in, want := range map[string][2]string{
		"system:serviceaccount:ns:name": {"ns", "name"},
		"system:serviceaccount:ns":      {},
		"system:serviceaccount::name":   {},
		"alice":                         {},
	} {
		ns, name, ok := SplitUserName(in)
		if ok != (want[0] != "") || ns != want[0] || name != want[1] {
			t.Errorf("SplitUserName(%q) = %q %q %v", in, ns, name, ok)
		}
	}
}
