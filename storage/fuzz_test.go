package storage

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecodeContinue: a continue token comes back from the client unchecked. No token may
// panic, every refusal is ErrInvalidContinue, and an accepted one never reaches outside
// the prefix it was decoded for.
func FuzzDecodeContinue(f *testing.F) {
	const prefix = "/registry/pods/"
	good, err := encodeContinue(prefix+"ns/b", prefix, 42)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, "", "e30", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiIuLi9zZWNyZXRzL3gifQ", "!!!", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiYSJ9", forged(-1, "../secrets/x")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		rev, key, err := decodeContinue(token, prefix)
		if err != nil {
			if !errors.Is(err, ErrInvalidContinue) {
				t.Fatalf("decodeContinue(%q) error is not ErrInvalidContinue: %v", token, err)
			}
			return
		}
		if rev < 0 || !strings.HasPrefix(key, prefix) || strings.Contains(key[len(prefix)-1:], "/../") {
			t.Fatalf("decodeContinue(%q) = %d, %q: outside %s", token, rev, key, prefix)
		}
		encRev := rev
		if rev == 0 { // the token of a compacted list: the rest at the newest revision
			encRev = latestRevision
		}
		again, err := encodeContinue(key, prefix, encRev)
		if err != nil {
			t.Fatalf("an accepted token's key %q does not encode: %v", key, err)
		}
		if r2, k2, err := decodeContinue(again, prefix); err != nil || r2 != rev || k2 != key {
			t.Fatalf("round trip of %q: %d %q %v", token, r2, k2, err)
		}
	})
}

// forged is a token as a client could write it.
func forged(rv int64, start string) string {
	b, _ := json.Marshal(continueToken{APIVersion: continueAPIVersion, ResourceVersion: rv, StartKey: start})
	return base64.RawURLEncoding.EncodeToString(b)
}

// FuzzParseResourceVersion: resourceVersion is user input on every read and write.
func FuzzParseResourceVersion(f *testing.F) {
	for _, s := range []string{"", "0", "1", "42", "-1", "9223372036854775807", "9223372036854775808", "01", "1e3", " 1", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rv string) {
		n, err := ParseResourceVersion(rv)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseResourceVersion(%q) = %d", rv, n)
		}
		if rv != "" {
			if m, err := strconv.ParseInt(rv, 10, 64); err != nil || m != n {
				t.Fatalf("ParseResourceVersion(%q) = %d, strconv says %d %v", rv, n, m, err)
			}
		}
	})
}
