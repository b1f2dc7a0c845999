package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
)

func (s *Server) serveResource(w http.ResponseWriter, req *http.Request, r *request) {
	if r.kind.CreateOnly {
		s.serveCreateOnly(w, req, r) // createonly.go
		return
	}
	if r.kind.Custom != nil && s.cache(r.kind) == nil {
		// The definition went away after the path was resolved.
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
		return
	}
	switch r.subresource {
	case "scale":
		s.serveScale(w, req, r)
		return
	case "binding":
		if r.verb == "create" {
			s.bind(w, req, r)
			return
		}
	case "eviction":
		if r.verb == "create" {
			s.evict(w, req, r)
			return
		}
	case subToken:
		if r.verb == "create" {
			s.createToken(w, req, r)
			return
		}
	case subLog, subExec, subAttach, subPortForward:
		s.serveNodeSubresource(w, req, r)
		return
	case subProxy:
		s.serveProxy(w, req, r) // proxy.go
		return
	case subImages:
		s.serveNodeImages(w, req, r) // nodeimages.go
		return
	}
	if r.subresource != "" && r.verb != "get" && r.verb != "update" && r.verb != "patch" {
		writeError(w, errMethodNotAllowed(fmt.Sprintf("%s is not supported on %s/%s", r.verb, r.kind.Resource, r.subresource)))
		return
	}
	switch r.verb {
	case "get":
		s.get(w, req, r)
	case "list":
		s.list(w, req, r)
	case "watch":
		s.watch(w, req, r)
	case "create":
		s.create(w, req, r)
	case "update":
		s.update(w, req, r)
	case "patch":
		s.patch(w, req, r)
	case "delete":
		s.delete(w, req, r)
	case "deletecollection":
		s.deleteCollection(w, req, r)
	}
}

// writeObject answers with one object of kind k, in the served version and the negotiated
// encoding (a Table row when the client asked for server-side printing).
func (s *Server) writeObject(w http.ResponseWriter, req *http.Request, code int, k *registry.Kind, obj meta.Object) {
	obj, aerr := s.toVersion(req.Context(), k, obj)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	f, aerr := responseFormat(w, false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if f.table {
		s.writeTable(w, req, f, k, []meta.Object{obj}, meta.ListMeta{ResourceVersion: obj.GetObjectMeta().ResourceVersion})
		return
	}
	writeEncoded(w, code, f.enc, obj)
}

// dryRun reports whether the request asks for everything but the write.
func dryRun(req *http.Request) bool { return len(req.URL.Query()["dryRun"]) > 0 }

// deepCopy copies obj through JSON (objects are small; this keeps types free of generated code).
func deepCopy(k *registry.Kind, obj meta.Object) meta.Object {
	b, _ := json.Marshal(obj)
	n := k.New()
	json.Unmarshal(b, n)
	return n
}

// Finalizers the garbage collector honours for the two non-default propagation policies.
const (
	finalizerOrphan     = "orphan"
	finalizerForeground = "foregroundDeletion"
)
