package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// CertificateSigningRequests differ from the generic rules in three ways, as in Kubernetes'
// certificates registry:
//   - who asked is recorded by the server at create (spec.username, uid, groups, extra),
//     never taken from the body: approvers decide on it;
//   - the "approval" subresource writes status.conditions only, "status" everything in
//     status but the Approved and Denied conditions (a signer cannot approve its own work);
//   - a request for the kube-apiserver-client signer may not ask for system:masters.

// subApproval is the subresource `kubectl certificate approve|deny` updates.
const subApproval = "approval"

// setRequester fills a new request's spec with the authenticated user of ctx. A request
// without a user (an in-process caller) keeps empty fields.
func setRequester(ctx context.Context, obj meta.Object) {
	csr, ok := obj.(*certificates.CertificateSigningRequest)
	if !ok {
		return
	}
	csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
	u, ok := authn.UserFrom(ctx)
	if !ok || u == nil {
		return
	}
	csr.Spec.Username, csr.Spec.UID = u.Name, u.UID
	csr.Spec.Groups = slices.Clone(u.Groups)
	if len(u.Extra) > 0 {
		csr.Spec.Extra = make(map[string]certificates.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			csr.Spec.Extra[k] = slices.Clone(v)
		}
	}
}

// admitCSR refuses, at create, a kube-apiserver-client request for a certificate in
// system:masters (Kubernetes' CertificateSubjectRestriction admission plugin): whoever may
// approve client certificates should not thereby be able to mint cluster administrators.
func admitCSR(obj meta.Object) *apiError {
	csr, ok := obj.(*certificates.CertificateSigningRequest)
	if !ok || csr.Spec.SignerName != certificates.KubeAPIServerClientSignerName {
		return nil
	}
	x, err := certificates.ParseCSR(csr.Spec.Request)
	if err != nil {
		return nil // validation reports it
	}
	if slices.Contains(x.Subject.Organization, authn.GroupMasters) {
		return newStatus(http.StatusForbidden, meta.ReasonForbidden,
			fmt.Sprintf("certificatesigningrequests.certificates.k8s.io %q is forbidden: use of %s signer with system:masters group is not allowed",
				csr.Name, certificates.KubeAPIServerClientSignerName),
			&meta.StatusDetails{Name: csr.Name, Group: certificates.GroupName, Kind: "certificatesigningrequests"})
	}
	return nil
}

// prepareCSRUpdate adjusts n, the object an update of a request is about to store (cur with
// in's status for /status, a copy of in for the main resource), for the subresource written.
// It reports whether it handled the subresource.
func prepareCSRUpdate(sub string, n, in, cur meta.Object) bool {
	nc, ok := n.(*certificates.CertificateSigningRequest)
	if !ok {
		return false
	}
	oc := cur.(*certificates.CertificateSigningRequest)
	ic := in.(*certificates.CertificateSigningRequest)
	switch sub {
	case subApproval:
		// Only the conditions change; spec and certificate stay as stored.
		nc.Status.Conditions = ic.Status.Conditions
		nc.Status.Certificate = oc.Status.Certificate
	case "status":
		// Approved and Denied are the approvers' to set, through /approval: the stored ones
		// are kept where the write has them (Kubernetes' preserveConditionInstances), or, if
		// the write added or dropped some, kept instead of the write's.
		for _, t := range []certificates.RequestConditionType{certificates.CertificateApproved, certificates.CertificateDenied} {
			if !preserveConditionInstances(nc, oc, t) {
				nc.Status.Conditions = keepConditions(nc.Status.Conditions, oc.Status.Conditions, t)
			}
		}
	}
	nc.Spec = oc.Spec
	stampConditions(nc, oc)
	return true
}

// preserveConditionInstances puts old's conditions of type t in n's places for them; false
// when n has a different number of them.
func preserveConditionInstances(n, old *certificates.CertificateSigningRequest, t certificates.RequestConditionType) bool {
	indices := func(cs []certificates.CertificateSigningRequestCondition) []int {
		var out []int
		for i, c := range cs {
			if c.Type == t {
				out = append(out, i)
			}
		}
		return out
	}
	oi, ni := indices(old.Status.Conditions), indices(n.Status.Conditions)
	if len(oi) != len(ni) {
		return false
	}
	for i, o := range oi {
		n.Status.Conditions[ni[i]] = old.Status.Conditions[o]
	}
	return true
}

// keepConditions replaces the conditions of the given types in next with those of prev.
func keepConditions(next, prev []certificates.CertificateSigningRequestCondition, types ...certificates.RequestConditionType) []certificates.CertificateSigningRequestCondition {
	out := make([]certificates.CertificateSigningRequestCondition, 0, len(next))
	for _, c := range next {
		if !slices.Contains(types, c.Type) {
			out = append(out, c)
		}
	}
	for _, c := range prev {
		if slices.Contains(types, c.Type) {
			out = append(out, c)
		}
	}
	return out
}

// stampConditions sets the times a client left out: lastUpdateTime now, lastTransitionTime
// now for a new or changed status, else the stored one.
func stampConditions(n, old *certificates.CertificateSigningRequest) {
	now := meta.Now()
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, oc := range old.Status.Conditions {
			if oc.Type == c.Type && oc.Status == c.Status && !oc.LastTransitionTime.IsZero() {
				c.LastTransitionTime = oc.LastTransitionTime
			}
		}
	}
}

// admitCSRUpdate checks that whoever approves, denies or issues a certificate may do so for
// the request's signer (Kubernetes' CertificateApproval and CertificateSigning admission
// plugins): verb approve, or sign, on resource signers of certificates.k8s.io, named by the
// signer or by its domain and "*". Writing /approval alone is not enough: an approver of
// kubelet-serving certificates must not be able to approve client certificates too.
func (s *Server) admitCSRUpdate(ctx context.Context, sub string, old, n meta.Object) *apiError {
	nc, ok := n.(*certificates.CertificateSigningRequest)
	if !ok || s.authorizer == nil {
		return nil
	}
	oc := old.(*certificates.CertificateSigningRequest)
	verb := ""
	switch {
	case sub == subApproval && (decided(&nc.Status) != decided(&oc.Status)):
		verb = "approve"
	case sub == "status" && string(nc.Status.Certificate) != string(oc.Status.Certificate):
		verb = "sign"
	default:
		return nil
	}
	u, _ := authn.UserFrom(ctx)
	if u == nil {
		return nil // an in-process caller
	}
	signer := nc.Spec.SignerName
	names := []string{signer}
	if domain, _, ok := strings.Cut(signer, "/"); ok {
		names = append(names, domain+"/*")
	}
	for _, name := range names {
		d, _, err := s.authorizer.Authorize(ctx, authz.Attributes{User: u, Verb: verb, ResourceRequest: true,
			APIGroup: certificates.GroupName, APIVersion: certificates.Version, Resource: "signers", Name: name})
		if err == nil && d == authz.Allow {
			return nil
		}
	}
	return newStatus(http.StatusForbidden, meta.ReasonForbidden,
		fmt.Sprintf("certificatesigningrequests.certificates.k8s.io %q is forbidden: user not permitted to %s requests with signerName %q", nc.Name, verb, signer),
		&meta.StatusDetails{Name: nc.Name, Group: certificates.GroupName, Kind: "certificatesigningrequests"})
}

// decided summarises the Approved and Denied conditions, which /approval changes.
func decided(st *certificates.CertificateSigningRequestStatus) string {
	return fmt.Sprint(certificates.HasCondition(st, certificates.CertificateApproved), certificates.HasCondition(st, certificates.CertificateDenied))
}
