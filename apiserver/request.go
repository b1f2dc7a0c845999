package apiserver

import (
	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/registry"
)

// request is what the path and method of an API call resolve to.
type request struct {
	kind        *registry.Kind
	namespace   string
	name        string
	subresource string
	verb        string // get list watch create update patch delete deletecollection
}

// parseResourcePath resolves the part of an API path after the group version
// ("namespaces/default/pods/web/status"). Namespaces are the one ambiguity: in the core group,
// "namespaces/foo/status" is a subresource of namespace foo, not a resource "status" in it.
func (s *Server) parseResourcePath(group, version string, segs []string, method string, watchParam bool) (*request, *apiError) {
	r := &request{}
	legacyWatch := false
	if len(segs) > 0 && segs[0] == "watch" {
		legacyWatch, segs = true, segs[1:]
	}
	if len(segs) >= 3 && segs[0] == "namespaces" {
		nsSub := group == "" && len(segs) == 3 && (segs[2] == "status" || segs[2] == "finalize")
		if !nsSub {
			r.namespace, segs = segs[1], segs[2:]
		}
	}
	if len(segs) == 0 || len(segs) > 3 {
		return nil, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	}
	k, ok := s.reg.Lookup(group, version, segs[0])
	if !ok {
		return nil, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	}
	r.kind = k
	if !k.Namespaced && r.namespace != "" {
		return nil, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
	}
	if len(segs) >= 2 {
		r.name = segs[1]
	}
	if len(segs) == 3 {
		r.subresource = segs[2]
		if !s.hasSubresource(k, r.subresource) {
			return nil, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil)
		}
	}
	collection := r.name == ""
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case legacyWatch || watchParam:
			r.verb = "watch"
		case collection:
			r.verb = "list"
		default:
			r.verb = "get"
		}
	case http.MethodPost:
		r.verb = "create"
		if !collection && r.subresource == "" {
			return nil, errMethodNotAllowed("POST is not allowed on a named object; use PUT or PATCH")
		}
	case http.MethodPut:
		r.verb = "update"
	case http.MethodPatch:
		r.verb = "patch"
	case http.MethodDelete:
		r.verb = "delete"
		if collection {
			r.verb = "deletecollection"
		}
	default:
		return nil, errMethodNotAllowed("method " + method + " is not supported")
	}
	if collection && (r.verb == "update" || r.verb == "patch") {
		return nil, errMethodNotAllowed(strings.ToUpper(method) + " requires a name")
	}
	return r, nil
}

func (s *Server) hasSubresource(k *registry.Kind, sub string) bool {
	switch sub {
	case "status":
		return k.Status
	case "scale":
		return k.Scale
	case "finalize":
		return k.Resource == "namespaces" && k.Group == ""
	case subApproval:
		return k.Resource == "certificatesigningrequests" && k.Group == certificates.GroupName
	case "binding", "eviction", subLog, subExec, subAttach, subPortForward:
		return k.Resource == "pods" && k.Group == ""
	case subToken:
		return k.Resource == "serviceaccounts" && k.Group == ""
	}
	return false
}
