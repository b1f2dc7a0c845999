package serviceaccount

import (
	"context"
	"crypto"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
)

func TestLegacy(t *testing.T) {
	key := ecKey(t)
	now := time.Now()
	s, err := NewSigner(issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	w := world()
	tok, err := SignLegacy(s, w.sas["default/robot"], "robot-token")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		legacy  bool
		edit    func(o *objects)
		wantOK  bool
		wantErr string
	}{
		{name: "valid", legacy: true, wantOK: true},
		{name: "legacy tokens off", legacy: false},
		{name: "secret holds another token", legacy: true, edit: func(o *objects) {
			o.secrets["default/robot-token"].Data["token"] = []byte("x")
		}, wantErr: "does not match"},
		{name: "secret deleted", legacy: true, edit: func(o *objects) { delete(o.secrets, "default/robot-token") }, wantErr: "invalidated"},
		{name: "account recreated", legacy: true, edit: func(o *objects) { o.sas["default/robot"].UID = "sa-2" }, wantErr: "does not match claim"},
		{name: "account deleted", legacy: true, edit: func(o *objects) { delete(o.sas, "default/robot") }, wantErr: "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := world()
			o.secrets["default/robot-token"] = &core.Secret{ObjectMeta: om("default", "robot-token", "st-1"),
				Type: core.SecretTypeServiceAccountToken, Data: map[string][]byte{"token": []byte(tok)}}
			if c.edit != nil {
				c.edit(o)
			}
			a := &Authenticator{Issuers: []string{issuer}, Keys: []crypto.PublicKey{key.Public()}, Audiences: []string{issuer},
				Getter: o, Legacy: c.legacy, Now: func() time.Time { return now }}
			u, ok, err := a.AuthenticateToken(context.Background(), tok)
			if ok != c.wantOK || (c.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("ok %v err %v; want ok %v err %q", ok, err, c.wantOK, c.wantErr)
			}
			if ok && (u.Name != "system:serviceaccount:default:robot" || u.UID != "sa-1" || len(u.Groups) != 2) {
				t.Errorf("user %+v", u)
			}
		})
	}
	// Forged: another key's legacy token is refused even though the secret holds it.
	forger, _ := NewSigner(issuer, ecKey(t))
	forged, _ := SignLegacy(forger, w.sas["default/robot"], "robot-token")
	o := world()
	o.secrets["default/robot-token"] = &core.Secret{ObjectMeta: om("default", "robot-token", "st-1"), Data: map[string][]byte{"token": []byte(forged)}}
	a := &Authenticator{Issuers: []string{issuer}, Keys: []crypto.PublicKey{key.Public()}, Audiences: []string{issuer}, Getter: o, Legacy: true}
	if _, ok, err := a.AuthenticateToken(context.Background(), forged); ok || err == nil {
		t.Errorf("forged legacy token: ok %v err %v", ok, err)
	}
}
