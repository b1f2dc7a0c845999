package serviceaccount

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

// Legacy tokens are the long-lived ones Kubernetes keeps in Secrets of type
// kubernetes.io/service-account-token (the token controller of the controller manager
// fills them in): no audience, no expiry, valid while the Secret holds that very token and
// the ServiceAccount exists with the uid the token names.

// LegacyIssuer is the iss of legacy tokens.
const LegacyIssuer = "kubernetes/serviceaccount"

// LegacyClaims are a legacy token's claims, as Kubernetes' legacyPrivateClaims.
type LegacyClaims struct {
	Issuer             string `json:"iss"`
	Subject            string `json:"sub"`
	Namespace          string `json:"kubernetes.io/serviceaccount/namespace"`
	SecretName         string `json:"kubernetes.io/serviceaccount/secret.name"`
	ServiceAccountName string `json:"kubernetes.io/serviceaccount/service-account.name"`
	ServiceAccountUID  string `json:"kubernetes.io/serviceaccount/service-account.uid"`
}

// SignLegacy returns the legacy token of sa kept in the secret secretName.
func SignLegacy(s *Signer, sa *core.ServiceAccount, secretName string) (string, error) {
	payload, err := json.Marshal(&LegacyClaims{
		Issuer: LegacyIssuer, Subject: UserName(sa.Namespace, sa.Name), Namespace: sa.Namespace,
		SecretName: secretName, ServiceAccountName: sa.Name, ServiceAccountUID: sa.UID,
	})
	if err != nil {
		return "", err
	}
	return sign(s.key, s.kid, payload)
}

// validateLegacy checks a verified legacy token against the Secret holding it and its
// ServiceAccount (Kubernetes' legacyValidator with lookup).
func (a *Authenticator) validateLegacy(ctx context.Context, token string, payload []byte, now time.Time) (*authn.User, error) {
	var c LegacyClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	switch {
	case c.Subject == "":
		return nil, errors.New("sub claim is missing")
	case c.Namespace == "":
		return nil, errors.New("namespace claim is missing")
	case c.SecretName == "":
		return nil, errors.New("secretName claim is missing")
	case c.ServiceAccountName == "":
		return nil, errors.New("serviceAccountName claim is missing")
	case c.ServiceAccountUID == "":
		return nil, errors.New("serviceAccountUID claim is missing")
	}
	if ns, name, ok := SplitUserName(c.Subject); !ok || ns != c.Namespace || name != c.ServiceAccountName {
		return nil, errors.New("sub claim is invalid")
	}
	secret, err := a.Getter.Secret(ctx, c.Namespace, c.SecretName)
	if err != nil || gone(&secret.ObjectMeta, now) {
		return nil, errors.New("token has been invalidated")
	}
	if subtle.ConstantTimeCompare(secret.Data[core.ServiceAccountTokenKey], []byte(token)) != 1 {
		return nil, errors.New("token does not match server's copy")
	}
	acct, err := a.Getter.ServiceAccount(ctx, c.Namespace, c.ServiceAccountName)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("serviceaccounts %q not found", c.ServiceAccountName)
		}
		return nil, err
	}
	if gone(&acct.ObjectMeta, now) {
		return nil, errors.New("service account has been deleted")
	}
	if acct.UID != c.ServiceAccountUID {
		return nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", acct.UID, c.ServiceAccountUID)
	}
	return &authn.User{
		Name:   c.Subject,
		UID:    c.ServiceAccountUID,
		Groups: []string{authn.GroupServiceAccounts, authn.GroupServiceAccountsPrefix + c.Namespace},
	}, nil
}
