package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"
)

// The JOSE part of a ServiceAccount token: a JWS in compact serialization
// (base64url(header).base64url(payload).base64url(signature)), written by hand because
// only a few algorithms are needed: ES256/384/512 and RS256/384/512, as kube-apiserver
// accepts (it signs with RS256 for RSA keys and ES256 for P-256 keys).

var (
	// ErrMalformed: the token is not a compact JWS this package reads.
	ErrMalformed = errors.New("malformed token")
	// ErrSignature: no configured key verifies the token's signature.
	ErrSignature = errors.New("invalid signature")
)

var b64 = base64.RawURLEncoding

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
}

// algorithm is one JWS "alg".
type algorithm struct {
	name string
	hash func() hash.Hash
	// ecSize is the byte length of r and s for ECDSA (0 for RSA).
	ecSize int
}

var algorithms = map[string]algorithm{
	"ES256": {"ES256", sha256.New, 32},
	"ES384": {"ES384", sha512.New384, 48},
	"ES512": {"ES512", sha512.New, 66},
	"RS256": {"RS256", sha256.New, 0},
	"RS384": {"RS384", sha512.New384, 0},
	"RS512": {"RS512", sha512.New, 0},
}

// algorithmFor is the algorithm a key signs with: ES* by curve for ECDSA, RS256 for RSA.
func algorithmFor(pub crypto.PublicKey) (algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return algorithms["ES256"], nil
		case elliptic.P384():
			return algorithms["ES384"], nil
		case elliptic.P521():
			return algorithms["ES512"], nil
		}
		return algorithm{}, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PublicKey:
		return algorithms["RS256"], nil
	}
	return algorithm{}, fmt.Errorf("unsupported key type %T", pub)
}

// keyID is Kubernetes' "kid" for a public key: base64url(SHA-256(PKIX DER)), so that
// verifiers (and OIDC discovery clients) can pick the key.
func keyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return b64.EncodeToString(sum[:]), nil
}

// sign returns the compact JWS of payload signed by key.
func sign(key crypto.Signer, kid string, payload []byte) (string, error) {
	alg, err := algorithmFor(key.Public())
	if err != nil {
		return "", err
	}
	h, _ := json.Marshal(header{Alg: alg.name, Kid: kid})
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(payload)
	d := alg.hash()
	d.Write([]byte(input))
	digest := d.Sum(nil)
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return "", err
		}
		// JWS wants r || s, each left-padded to the curve size, not ASN.1.
		sig = make([]byte, 2*alg.ecSize)
		r.FillBytes(sig[:alg.ecSize])
		s.FillBytes(sig[alg.ecSize:])
	default:
		if sig, err = key.Sign(rand.Reader, digest, hashOf(alg)); err != nil {
			return "", err
		}
	}
	return input + "." + b64.EncodeToString(sig), nil
}

func hashOf(alg algorithm) crypto.Hash {
	switch alg.name[2:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

// jws is a parsed, not yet verified token.
type jws struct {
	header  header
	input   string // header.payload, what the signature covers
	payload []byte
	sig     []byte
}

// looksLikeJWT is the cheap test kube-apiserver makes before trying to parse: three
// dot-separated parts. Other tokens (bootstrap, static) go to other authenticators.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

func parse(token string) (*jws, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrMalformed
	}
	hb, err1 := b64.DecodeString(parts[0])
	payload, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	if _, ok := algorithms[h.Alg]; !ok {
		return nil, fmt.Errorf("%w: unsupported algorithm %q", ErrMalformed, h.Alg)
	}
	return &jws{header: h, input: parts[0] + "." + parts[1], payload: payload, sig: sig}, nil
}

// verify checks the signature with one public key. The algorithm must be the one the key
// type allows: an RSA key never verifies an ES256 header and vice versa.
func (t *jws) verify(pub crypto.PublicKey) bool {
	alg := algorithms[t.header.Alg]
	d := alg.hash()
	d.Write([]byte(t.input))
	digest := d.Sum(nil)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		want, err := algorithmFor(k)
		if err != nil || want.name != alg.name || len(t.sig) != 2*alg.ecSize {
			return false
		}
		r := new(big.Int).SetBytes(t.sig[:alg.ecSize])
		s := new(big.Int).SetBytes(t.sig[alg.ecSize:])
		return ecdsa.Verify(k, digest, r, s)
	case *rsa.PublicKey:
		if alg.ecSize != 0 {
			return false
		}
		return rsa.VerifyPKCS1v15(k, hashOf(alg), digest, t.sig) == nil
	}
	return false
}
