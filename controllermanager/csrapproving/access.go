package csrapproving

import (
	"context"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/client"
)

// SubjectAccessReviewer asks the API server (authorization.k8s.io/v1 SubjectAccessReview)
// whether a request's recorded requester may create certificatesigningrequests/SUB: the
// same authorizers (RBAC) as any request decide, over the user the API server wrote into
// the request at create.
type SubjectAccessReviewer struct{ Client *client.Client }

// The wire shape of a SubjectAccessReview, only the fields used here.
type sar struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Spec       sarSpec `json:"spec"`
	Status     struct {
		Allowed bool   `json:"allowed"`
		Denied  bool   `json:"denied,omitempty"`
		Reason  string `json:"reason,omitempty"`
	} `json:"status,omitempty"`
}

type sarSpec struct {
	ResourceAttributes *resourceAttributes                `json:"resourceAttributes,omitempty"`
	User               string                             `json:"user,omitempty"`
	Groups             []string                           `json:"groups,omitempty"`
	Extra              map[string]certificates.ExtraValue `json:"extra,omitempty"`
	UID                string                             `json:"uid,omitempty"`
}

type resourceAttributes struct {
	Verb        string `json:"verb,omitempty"`
	Group       string `json:"group,omitempty"`
	Version     string `json:"version,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

// Allowed implements Access.
func (r *SubjectAccessReviewer) Allowed(ctx context.Context, csr *certificates.CertificateSigningRequest, sub string) (bool, error) {
	in := sar{APIVersion: "authorization.k8s.io/v1", Kind: "SubjectAccessReview", Spec: sarSpec{
		User: csr.Spec.Username, Groups: csr.Spec.Groups, Extra: csr.Spec.Extra, UID: csr.Spec.UID,
		ResourceAttributes: &resourceAttributes{Verb: "create", Group: certificates.GroupName,
			Resource: "certificatesigningrequests", Subresource: sub},
	}}
	var out sar
	if err := r.Client.Do(ctx, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", &in, &out); err != nil {
		return false, err
	}
	return out.Status.Allowed, nil
}
