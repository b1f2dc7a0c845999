package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"slices"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517), as kube-apiserver serves them at
// /openid/v1/jwks so that other systems can verify ServiceAccount tokens.
type JWK struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	Alg string `json:"alg"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKS is the key set of keys, in order, without duplicates.
func JWKS(keys []crypto.PublicKey) ([]byte, error) {
	set := struct {
		Keys []JWK `json:"keys"`
	}{Keys: []JWK{}}
	seen := map[string]bool{}
	for _, k := range keys {
		kid, err := keyID(k)
		if err != nil {
			return nil, err
		}
		if seen[kid] {
			continue
		}
		seen[kid] = true
		alg, err := algorithmFor(k)
		if err != nil {
			return nil, err
		}
		j := JWK{Use: "sig", Kid: kid, Alg: alg.name}
		switch k := k.(type) {
		case *ecdsa.PublicKey:
			j.Kty, j.Crv = "EC", k.Curve.Params().Name
			size := (k.Curve.Params().BitSize + 7) / 8
			j.X, j.Y = b64.EncodeToString(k.X.FillBytes(make([]byte, size))), b64.EncodeToString(k.Y.FillBytes(make([]byte, size)))
		case *rsa.PublicKey:
			j.Kty = "RSA"
			j.N, j.E = b64.EncodeToString(k.N.Bytes()), b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())
		}
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

// Algorithms are the JWS algorithms of keys, for the discovery document.
func Algorithms(keys []crypto.PublicKey) []string {
	var out []string
	for _, k := range keys {
		if a, err := algorithmFor(k); err == nil && !slices.Contains(out, a.name) {
			out = append(out, a.name)
		}
	}
	return out
}
