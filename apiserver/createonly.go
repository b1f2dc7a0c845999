package apiserver

import (
	"context"
	"net/http"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
)

// Create-only kinds (registry.Kind.CreateOnly) are questions a client asks by POSTing an
// object: "may this user do this?" (SubjectAccessReview and friends), "who is this token?"
// (TokenReview), "who am I?" (SelfSubjectReview). Nothing is stored: the server decodes the
// body as any other create (JSON, YAML or protobuf; unknown fields per fieldValidation),
// sets the namespace of a namespaced one from the path, hands it to the kind's handler and
// answers 201 Created with the object the handler returns (the question with its status
// filled in), as Kubernetes does.
//
// Adding such a kind is two lines: its registry entry with the createOnly option
// (api/registry/kinds.go), and its handler in createOnlyHandlers below. The kind then gets
// no watch cache and no etcd key (server.go New), discovery and OpenAPI list the verb
// "create" only, and every other verb on it is 405 Method Not Allowed.

// createOnlyHandler answers one question. obj is the decoded request body (a pointer to the
// kind's type, TypeMeta set, namespace set from the path for a namespaced kind). The user
// asking is authn.UserFrom(ctx). The returned object is written back with 201; a returned
// error is written as its Status.
type createOnlyHandler func(ctx context.Context, k *registry.Kind, obj meta.Object) (meta.Object, *apiError)

// createOnlyHandlers lists the handler of each create-only resource, by "group/resource".
func (s *Server) createOnlyHandlers() map[string]createOnlyHandler {
	return map[string]createOnlyHandler{
		"authentication.k8s.io/tokenreviews":             s.tokenReview,
		"authentication.k8s.io/selfsubjectreviews":       s.selfSubjectReview,
		"authorization.k8s.io/subjectaccessreviews":      s.subjectAccessReview, // accessreview.go
		"authorization.k8s.io/selfsubjectaccessreviews":  s.selfSubjectAccessReview,
		"authorization.k8s.io/localsubjectaccessreviews": s.localSubjectAccessReview,
		"authorization.k8s.io/selfsubjectrulesreviews":   s.selfSubjectRulesReview,
	}
}

// serveCreateOnly serves every request to a create-only resource.
func (s *Server) serveCreateOnly(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	if r.verb != "create" || r.subresource != "" {
		writeError(w, errMethodNotAllowed("the server does not allow this method on the requested resource"))
		return
	}
	// A question has no table form: a client that accepts only a Table gets 406, before
	// the question is answered (negotiation.go).
	if _, aerr := responseFormat(w, false); aerr != nil {
		writeError(w, aerr)
		return
	}
	h, ok := s.createOnlyHandlers()[k.Group+"/"+k.Resource]
	if !ok {
		writeError(w, newStatus(http.StatusNotFound, meta.ReasonNotFound, "the server could not find the requested resource", nil))
		return
	}
	obj, aerr := s.readObject(w, req, k)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if k.Namespaced {
		m := obj.GetObjectMeta()
		if m.Namespace == "" {
			m.Namespace = r.namespace
		} else if m.Namespace != r.namespace {
			writeError(w, errBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
	}
	out, aerr := h(req.Context(), k, obj)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeAPIObject(w, http.StatusCreated, out)
}
