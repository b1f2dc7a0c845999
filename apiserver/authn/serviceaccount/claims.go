package serviceaccount

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Claims are the JWT claims of a ServiceAccount token, as Kubernetes writes them: the
// registered claims and the private "kubernetes.io" claim naming the ServiceAccount and
// the object the token is bound to.
type Claims struct {
	Issuer     string      `json:"iss,omitempty"`
	Subject    string      `json:"sub,omitempty"`
	Audience   Audience    `json:"aud,omitempty"`
	Expiry     NumericDate `json:"exp,omitempty"`
	NotBefore  NumericDate `json:"nbf,omitempty"`
	IssuedAt   NumericDate `json:"iat,omitempty"`
	ID         string      `json:"jti,omitempty"`
	Kubernetes *Kubernetes `json:"kubernetes.io,omitempty"`
}

// Kubernetes is the private claim.
type Kubernetes struct {
	Namespace      string       `json:"namespace,omitempty"`
	ServiceAccount Ref          `json:"serviceaccount,omitempty"`
	Pod            *Ref         `json:"pod,omitempty"`
	Secret         *Ref         `json:"secret,omitempty"`
	Node           *Ref         `json:"node,omitempty"`
	WarnAfter      *NumericDate `json:"warnafter,omitempty"`
}

// Ref names an object by name and uid.
type Ref struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// Audience is the "aud" claim: written as an array, read from an array or a single string
// (RFC 7519 allows both).
type Audience []string

func (a *Audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// NumericDate is seconds since the epoch. Other issuers may write fractions; they are
// truncated.
type NumericDate int64

// NewNumericDate is t in whole seconds.
func NewNumericDate(t time.Time) NumericDate { return NumericDate(t.Unix()) }

// Time is the date as a time.
func (d NumericDate) Time() time.Time { return time.Unix(int64(d), 0) }

func (d *NumericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(b)), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("invalid NumericDate %s", b)
	}
	*d = NumericDate(f)
	return nil
}
