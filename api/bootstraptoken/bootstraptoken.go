// Package bootstraptoken holds the rules of Kubernetes bootstrap tokens, shared by the API
// server (which authenticates them) and the controller manager (which deletes expired ones):
// a token "abcdef.0123456789abcdef" is the Secret kube-system/bootstrap-token-abcdef of type
// bootstrap.kubernetes.io/token holding its id, secret, expiration and usages.
package bootstraptoken

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
)

// Names and keys, as k8s.io/cluster-bootstrap/token/api declares them.
const (
	// Namespace holds the token secrets.
	Namespace = "kube-system"
	// SecretPrefix + token id is a token's Secret name.
	SecretPrefix = "bootstrap-token-"
	// SecretType is the type of token secrets.
	SecretType core.SecretType = "bootstrap.kubernetes.io/token"

	KeyTokenID     = "token-id"
	KeyTokenSecret = "token-secret"
	// KeyExpiration is an RFC 3339 time after which the token is refused and deleted.
	KeyExpiration  = "expiration"
	KeyDescription = "description"
	// KeyExtraGroups is a comma-separated list of groups besides system:bootstrappers.
	KeyExtraGroups = "auth-extra-groups"
	// KeyUsageAuthentication "true" lets the token authenticate to the API server.
	KeyUsageAuthentication = "usage-bootstrap-authentication"
	// KeyUsageSigning "true" lets the token sign the cluster-info ConfigMap.
	KeyUsageSigning = "usage-bootstrap-signing"

	// UserPrefix + token id is the user a token authenticates as.
	UserPrefix = "system:bootstrap:"
	// DefaultGroup is every bootstrap token user's group.
	DefaultGroup = "system:bootstrappers"
)

var (
	tokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
	groupRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)
)

// Parse splits a token into its id and secret; ok is false for anything not of the form
// [a-z0-9]{6}.[a-z0-9]{16}.
func Parse(token string) (id, secret string, ok bool) {
	m := tokenRE.FindStringSubmatch(token)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// SecretName is the name of token id's Secret.
func SecretName(id string) string { return SecretPrefix + id }

// Data returns a key of the secret's data ("" if absent).
func Data(s *core.Secret, key string) string {
	if s.Data == nil {
		return ""
	}
	return string(s.Data[key])
}

// Expired reports whether the token secret's expiration has passed. An expiration that
// does not parse counts as passed, as in Kubernetes: a token must never outlive its date
// for a typo.
func Expired(s *core.Secret, now time.Time) bool {
	if Data(s, KeyExpiration) == "" {
		return false
	}
	exp, ok := Expiration(s)
	return !ok || !now.Before(exp)
}

// Expiration is the secret's expiration time, if it has a valid one.
func Expiration(s *core.Secret) (time.Time, bool) {
	v := Data(s, KeyExpiration)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// Groups is system:bootstrappers plus the secret's extra groups, sorted and without
// duplicates; an extra group outside system:bootstrappers:* is an error.
func Groups(s *core.Secret) ([]string, error) {
	groups := []string{DefaultGroup}
	for _, g := range strings.Split(Data(s, KeyExtraGroups), ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if !groupRE.MatchString(g) {
			return nil, fmt.Errorf("bootstrap group %q is invalid (must match %s)", g, groupRE)
		}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	return groups, nil
}
