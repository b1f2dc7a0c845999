package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// continueToken is Kubernetes' format, so tokens look familiar: base64url(JSON) holding the
// revision of the first page and the key to start the next one from, relative to the prefix.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

const continueAPIVersion = "meta.k8s.io/v1"

// latestRevision in a token means "the rest of the list at the newest revision": the token
// a list whose revision was compacted away offers (Kubernetes uses -1 too, so that a token
// without a revision stays invalid).
const latestRevision = -1

// ContinueExpiredError: a paginated list's revision was compacted away. Continue reads the
// rest of the list from the same key at the newest revision, an inconsistent list the client
// may accept (Kubernetes returns it in the 410's metadata).
type ContinueExpiredError struct {
	Continue string
	err      error
}

func (e *ContinueExpiredError) Error() string { return e.err.Error() }
func (e *ContinueExpiredError) Unwrap() error { return e.err }

func encodeContinue(key, prefix string, rev int64) (string, error) {
	rel, ok := strings.CutPrefix(key, prefix)
	if !ok || rel == "" {
		return "", fmt.Errorf("continue key %q is not under %q", key, prefix)
	}
	data, err := json.Marshal(continueToken{APIVersion: continueAPIVersion, ResourceVersion: rev, StartKey: rel})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(data), nil
}

// decodeContinue returns the revision (0 for a token that reads the rest at the newest one)
// and the absolute start key. The key is cleaned like a path so a forged token cannot read
// outside prefix ("../secrets/..."), whatever its revision.
func decodeContinue(token, prefix string) (int64, string, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	var c continueToken
	if err := json.Unmarshal(data, &c); err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	if c.APIVersion != continueAPIVersion {
		return 0, "", fmt.Errorf("%w: unsupported version %q", ErrInvalidContinue, c.APIVersion)
	}
	if (c.ResourceVersion <= 0 && c.ResourceVersion != latestRevision) || c.StartKey == "" {
		return 0, "", fmt.Errorf("%w: missing revision or start key", ErrInvalidContinue)
	}
	abs := "/" + c.StartKey
	if path.Clean(abs) != abs {
		return 0, "", fmt.Errorf("%w: start key %q is not clean", ErrInvalidContinue, c.StartKey)
	}
	if c.ResourceVersion == latestRevision {
		return 0, prefix + c.StartKey, nil // 0: read the rest at the newest revision
	}
	return c.ResourceVersion, prefix + c.StartKey, nil
}
