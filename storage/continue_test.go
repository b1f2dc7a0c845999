package storage

import (
	"encoding/base64"
	"errors"
	"testing"
)

func TestContinueToken(t *testing.T) {
	const prefix = "/registry/pods/"
	token, err := encodeContinue(prefix+"ns/a\x00", prefix, 42)
	if err != nil {
		t.Fatal(err)
	}
	rev, key, err := decodeContinue(token, prefix)
	if err != nil || rev != 42 || key != prefix+"ns/a\x00" {
		t.Fatalf("round trip = %d %q %v", rev, key, err)
	}

	forge := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	tests := []struct {
		name, token string
	}{
		{"not base64", "%%%"},
		{"not json", forge("nope")},
		{"other version", forge(`{"v":"v2","rv":1,"start":"a"}`)},
		{"no revision", forge(`{"v":"meta.k8s.io/v1","start":"a"}`)},
		{"no key", forge(`{"v":"meta.k8s.io/v1","rv":1}`)},
		{"escapes the prefix", forge(`{"v":"meta.k8s.io/v1","rv":1,"start":"../secrets/x"}`)},
		{"escapes the prefix at the newest revision", forge(`{"v":"meta.k8s.io/v1","rv":-1,"start":"../secrets/x"}`)},
		{"other negative revision", forge(`{"v":"meta.k8s.io/v1","rv":-2,"start":"a"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := decodeContinue(tt.token, prefix); !errors.Is(err, ErrInvalidContinue) {
				t.Fatalf("got %v, want ErrInvalidContinue", err)
			}
		})
	}
}
