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
	// applied: the write is a server-side apply, whose managedFields are already set.
	applied bool
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
	if len(segs) > 3 && segs[2] == subProxy {
		segs = segs[:3] // the rest is the path on the backend (proxySubpath)
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
	r.verb = verbFor(method, collection, legacyWatch || watchParam)
	if r.subresource == subProxy && r.verb == "" {
		r.verb = strings.ToLower(method) // OPTIONS and the like are proxied too
	}
	switch {
	case r.verb == "":
		return nil, errMethodNotAllowed("method " + method + " is not supported")
	case r.verb == "create" && !collection && r.subresource == "":
		return nil, errMethodNotAllowed("POST is not allowed on a named object; use PUT or PATCH")
	}
	if collection && (r.verb == "update" || r.verb == "patch") {
		return nil, errMethodNotAllowed(strings.ToUpper(method) + " requires a name")
	}
	return r, nil
}

// verbFor is the Kubernetes verb of a resource request: an HTTP method on a collection or a
// named object (authorization and the handlers both use it). "" for an unknown method.
func verbFor(method string, collection, watch bool) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case watch:
			return "watch"
		case collection:
			return "list"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if collection {
			return "deletecollection"
		}
		return "delete"
	}
	return ""
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
	case "binding", "eviction", subLog, subExec, subAttach, subPortForward, subEphemeral:
		return k.Resource == "pods" && k.Group == ""
	case subToken:
		return k.Resource == "serviceaccounts" && k.Group == ""
	case subProxy:
		return k.Group == "" && (k.Resource == "pods" || k.Resource == "services" || k.Resource == "nodes")
	case subImages:
		return k.Group == "" && k.Resource == "nodes"
	}
	return false
}
