package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"testing"
)

// TestJWKS: each key comes back from its JWK, with the kid tokens carry, once.
func TestJWKS(t *testing.T) {
	ec := ecKey(t)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, err := JWKS([]crypto.PublicKey{ec.Public(), rk.Public(), ec.Public()})
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []JWK }
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("%d keys, want 2: %s", len(set.Keys), b)
	}
	num := func(s string) *big.Int {
		d, err := b64.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return new(big.Int).SetBytes(d)
	}
	e := set.Keys[0]
	got := &ecdsa.PublicKey{Curve: elliptic.P256(), X: num(e.X), Y: num(e.Y)}
	kid, _ := keyID(ec.Public())
	if e.Kty != "EC" || e.Crv != "P-256" || e.Alg != "ES256" || e.Use != "sig" || e.Kid != kid || !got.Equal(ec.Public()) {
		t.Errorf("EC key %+v", e)
	}
	r := set.Keys[1]
	gotR := &rsa.PublicKey{N: num(r.N), E: int(num(r.E).Int64())}
	if r.Kty != "RSA" || r.Alg != "RS256" || !gotR.Equal(rk.Public()) {
		t.Errorf("RSA key %+v", r)
	}
	if a := Algorithms([]crypto.PublicKey{ec.Public(), rk.Public(), ec.Public()}); len(a) != 2 || a[0] != "ES256" || a[1] != "RS256" {
		t.Errorf("algorithms %v", a)
	}
}
