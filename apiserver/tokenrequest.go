package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authn/serviceaccount"
)

// subToken is the ServiceAccount subresource that issues tokens (kubectl create token, the
// node agent's projected volumes).
const subToken = "token"

// TokenRequest limits, as Kubernetes has them.
const (
	defaultTokenExpirationSeconds = 3600
	minTokenExpirationSeconds     = 600
	maxTokenExpirationSeconds     = 1 << 32
	// warnOnlyTokenExpirationSeconds is the odd duration node agents ask for, so that the
	// server can tell their tokens from others and extend them.
	warnOnlyTokenExpirationSeconds = 60*60 + 7
	extendedTokenExpiration        = 365 * 24 * time.Hour
)

// tokenRequestKind decodes a TokenRequest body like any kind's (unknown fields per
// fieldValidation) and names it in Invalid errors.
var tokenRequestKind = &registry.Kind{Group: authentication.GroupName, Version: authentication.Version,
	Kind: "TokenRequest", Resource: "tokenrequests", Type: reflect.TypeFor[authentication.TokenRequest]()}

// createToken serves POST .../serviceaccounts/NAME/token as Kubernetes' TokenREST.Create:
// the ServiceAccount must exist, the token is for spec.audiences (default the API server's),
// lasts spec.expirationSeconds (default an hour, at least ten minutes, at most the
// configured maximum: longer requests are shortened with a warning), and is bound to the Pod,
// Secret or Node spec.boundObjectRef names, which must exist (with that uid, if given).
func (s *Server) createToken(w http.ResponseWriter, req *http.Request, r *request) {
	if s.saTokens == nil || s.saTokens.signer == nil {
		writeError(w, newStatus(http.StatusNotFound, meta.ReasonNotFound, "the server could not find the requested resource", nil))
		return
	}
	obj, aerr := s.readObject(w, req, tokenRequestKind)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	tr := obj.(*authentication.TokenRequest)
	if tr.Name != "" && tr.Name != r.name {
		writeError(w, errInvalid(tokenRequestKind, r.name, field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), tr.Name, "must match the service account name if specified")}))
		return
	}
	if tr.Namespace != "" && tr.Namespace != r.namespace {
		writeError(w, errInvalid(tokenRequestKind, r.name, field.ErrorList{field.Invalid(field.NewPath("metadata", "namespace"), tr.Namespace, "must match the service account namespace if specified")}))
		return
	}
	ctx := req.Context()
	g := cacheGetter{s}
	sa, err := g.ServiceAccount(ctx, r.namespace, r.name)
	if err != nil {
		writeError(w, getterError(r.kind, r.name, err))
		return
	}
	if len(tr.Spec.Audiences) == 0 {
		tr.Spec.Audiences = append([]string(nil), s.cfg.APIAudiences...)
	}
	if tr.Spec.ExpirationSeconds == nil {
		d := int64(defaultTokenExpirationSeconds)
		tr.Spec.ExpirationSeconds = &d
	}
	tr.Name, tr.Namespace = sa.Name, sa.Namespace
	now := time.Now()
	tr.CreationTimestamp = meta.NewTime(now)
	tr.Status = authentication.TokenRequestStatus{}
	if errs := validateTokenRequest(tr); len(errs) > 0 {
		writeError(w, errInvalid(tokenRequestKind, "", errs))
		return
	}
	// A node gets tokens only bound to one of its own pods (NodeRestriction).
	if aerr := s.admit(ctx, admissionAttributes(ctx, admission.Create, r.kind, "token", r.namespace, r.name, tr, nil, dryRun(req)), nil); aerr != nil {
		writeError(w, aerr)
		return
	}
	binding, aerr := s.tokenBinding(req, r, tr.Spec.BoundObjectRef)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if max := int64(s.cfg.ServiceAccountMaxTokenExpiration / time.Second); max > 0 && *tr.Spec.ExpirationSeconds > max {
		w.Header().Add("Warning", fmt.Sprintf(`299 - "requested expiration of %d seconds shortened to %d seconds"`, *tr.Spec.ExpirationSeconds, max))
		*tr.Spec.ExpirationSeconds = max
	}
	exp := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	tokenExp := exp
	// A node agent's kube-api-access token (pod-bound, 3607 s, for this server): as
	// Kubernetes (--service-account-extend-token-expiration, on by default), it stays valid
	// for a year so that a pod outliving an agent that failed to refresh it keeps working;
	// the agent still refreshes it by the hour it was told.
	extended := binding.Pod != nil && *tr.Spec.ExpirationSeconds == warnOnlyTokenExpirationSeconds &&
		len(authn.Intersect(tr.Spec.Audiences, s.cfg.APIAudiences)) == len(tr.Spec.Audiences)
	if extended {
		tokenExp = extendedTokenExpiration
	}
	claims, err := serviceaccount.NewClaims(sa, binding, tr.Spec.Audiences, now, tokenExp)
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	if extended {
		warn := serviceaccount.NewNumericDate(now.Add(exp))
		claims.Kubernetes.WarnAfter = &warn
	}
	token, err := s.saTokens.signer.Sign(claims)
	if err != nil {
		writeError(w, errInternal(fmt.Errorf("failed to generate token: %w", err)))
		return
	}
	// The expiration is computed from the same instant as the claim, so it is never later.
	tr.Status = authentication.TokenRequestStatus{Token: token, ExpirationTimestamp: meta.NewTime(now.Add(exp))}
	writeAPIObject(w, http.StatusCreated, tr)
}

// validateTokenRequest is Kubernetes' ValidateTokenRequest.
func validateTokenRequest(tr *authentication.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "expirationSeconds")
	switch exp := *tr.Spec.ExpirationSeconds; {
	case exp < minTokenExpirationSeconds:
		errs = append(errs, field.Invalid(p, exp, "may not specify a duration less than 10 minutes"))
	case exp > maxTokenExpirationSeconds:
		errs = append(errs, field.Invalid(p, exp, "may not specify a duration larger than 2^32 seconds"))
	}
	return errs
}

// tokenBinding resolves spec.boundObjectRef. A pod-bound token also records the pod's node
// (by name only if the Node object is gone), as Kubernetes does.
func (s *Server) tokenBinding(req *http.Request, r *request, ref *authentication.BoundObjectReference) (serviceaccount.Binding, *apiError) {
	var b serviceaccount.Binding
	if ref == nil {
		return b, nil
	}
	ctx := req.Context()
	g := cacheGetter{s}
	group, version := "", ref.APIVersion
	if i := strings.LastIndex(ref.APIVersion, "/"); i >= 0 {
		group, version = ref.APIVersion[:i], ref.APIVersion[i+1:]
	}
	var uid string
	var err error
	switch {
	case group == "" && ref.Kind == "Pod":
		if b.Pod, err = g.Pod(ctx, r.namespace, ref.Name); err != nil {
			return b, getterError(s.coreKind("pods"), ref.Name, err)
		}
		if b.Pod.Spec.ServiceAccountName != r.name {
			return b, errBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", r.name))
		}
		uid = b.Pod.UID
		if n := b.Pod.Spec.NodeName; n != "" {
			if b.Node, err = g.Node(ctx, n); err != nil {
				b.Node = &core.Node{ObjectMeta: meta.ObjectMeta{Name: n}}
			}
		}
	case group == "" && ref.Kind == "Secret":
		if b.Secret, err = g.Secret(ctx, r.namespace, ref.Name); err != nil {
			return b, getterError(s.coreKind("secrets"), ref.Name, err)
		}
		uid = b.Secret.UID
	case group == "" && ref.Kind == "Node":
		if b.Node, err = g.Node(ctx, ref.Name); err != nil {
			return b, getterError(s.coreKind("nodes"), ref.Name, err)
		}
		uid = b.Node.UID
	default:
		return b, errBadRequest(fmt.Sprintf("cannot bind token to object of type %s/%s, Kind=%s", group, version, ref.Kind))
	}
	if ref.UID != "" && ref.UID != uid {
		return b, newStatus(http.StatusConflict, meta.ReasonConflict, fmt.Sprintf(
			"Operation cannot be fulfilled on %s %q: the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated",
			ref.Kind, ref.Name, ref.UID), &meta.StatusDetails{Name: ref.Name, Group: group, Kind: ref.Kind})
	}
	return b, nil
}

// getterError is a cacheGetter error as a Status: 404 for a missing object.
func getterError(k *registry.Kind, name string, err error) *apiError {
	if errors.Is(err, serviceaccount.ErrNotFound) {
		return errNotFound(k, name)
	}
	return toAPIError(k, name, err)
}

// coreKind is a core/v1 kind by resource.
func (s *Server) coreKind(resource string) *registry.Kind {
	k, _ := s.reg.Lookup("", "v1", resource)
	return k
}
