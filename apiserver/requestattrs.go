package apiserver

import (
	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/apiserver/authz"
)

// requestAttributes resolves what a request asks to do from its method and path alone, as
// Kubernetes' RequestInfoFactory does, before any handler runs: authorization (and the
// audit log) must know the resource, namespace and verb of every request, including those
// the handlers will refuse. Paths outside /api/v1/... and /apis/GROUP/VERSION/RESOURCE...
// (discovery, /version, /healthz, /openapi, /metrics) are non-resource requests.
func requestAttributes(req *http.Request) authz.Attributes {
	a := authz.Attributes{Path: req.URL.Path}
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case len(segs) >= 3 && segs[0] == "api":
		a.APIVersion, segs = segs[1], segs[2:]
	case len(segs) >= 4 && segs[0] == "apis":
		a.APIGroup, a.APIVersion, segs = segs[1], segs[2], segs[3:]
	default:
		a.Verb = strings.ToLower(req.Method)
		if a.Verb == "head" {
			a.Verb = "get"
		}
		return a
	}
	a.ResourceRequest = true
	legacyWatch := false
	if segs[0] == "watch" {
		legacyWatch, segs = true, segs[1:]
	}
	// namespaces/NS/RESOURCE... is a namespaced resource; namespaces/NS[/status|finalize]
	// is the namespace itself.
	if len(segs) >= 3 && segs[0] == "namespaces" {
		a.Namespace, segs = segs[1], segs[2:]
		if a.APIGroup == "" && len(segs) == 1 && (segs[0] == "status" || segs[0] == "finalize") {
			a.Resource, a.Name, a.Subresource, a.Namespace = "namespaces", a.Namespace, segs[0], ""
			segs = nil
		}
	} else if len(segs) == 2 && segs[0] == "namespaces" {
		// GET /api/v1/namespaces/NS: the object NS; its namespace is itself (as Kubernetes).
		a.Namespace = segs[1]
	}
	if len(segs) > 0 {
		a.Resource = segs[0]
	}
	if len(segs) > 1 {
		a.Name = segs[1]
	}
	if len(segs) > 2 {
		a.Subresource = strings.Join(segs[2:], "/")
	}
	if len(segs) > 3 {
		// A proxy path (pods/NAME/proxy/PATH...) keeps only "proxy" as the subresource.
		a.Subresource = segs[2]
	}
	q := req.URL.Query()
	collection := a.Name == ""
	a.Verb = verbFor(req.Method, collection, legacyWatch || isTrue(q.Get("watch")))
	if a.Verb == "" {
		a.Verb = strings.ToLower(req.Method)
	}
	// A list or watch of one object by name (kubectl get pod x -w) is authorized as that
	// object, so resourceNames rules apply, as in Kubernetes.
	if collection && (a.Verb == "list" || a.Verb == "watch") {
		for _, term := range strings.Split(q.Get("fieldSelector"), ",") {
			if name, ok := strings.CutPrefix(term, "metadata.name=="); ok {
				a.Name = name
			} else if name, ok := strings.CutPrefix(term, "metadata.name="); ok {
				a.Name = name
			}
		}
	}
	return a
}
