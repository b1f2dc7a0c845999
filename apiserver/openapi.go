package apiserver

import (
	"fmt"
	"reflect"

	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/policy"

	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/openapi"
)

// openAPIDocs are generated once at start-up from the registered kinds' Go types.
type openAPIDocs struct {
	v2    []byte
	v2pb  []byte
	index []byte
	byGV  map[string][]byte // "api/v1", "apis/apps/v1"
}

func newOpenAPIDocs(reg *registry.Registry) *openAPIDocs {
	var res []openapi.Resource
	for _, k := range reg.Kinds() {
		var subs []string
		if k.Status {
			subs = append(subs, "status")
		}
		if k.Scale {
			subs = append(subs, "scale")
		}
		types := map[string]reflect.Type{}
		if k.Scale {
			types["scale"] = reflect.TypeFor[autoscaling.Scale]()
		}
		if k.Group == "" && k.Resource == "pods" {
			subs = append(subs, "binding", "eviction", subLog, subExec, subAttach, subPortForward)
			types["binding"] = reflect.TypeFor[core.Binding]()
			types["eviction"] = reflect.TypeFor[policy.Eviction]()
		}
		res = append(res, openapi.Resource{Group: k.Group, Version: k.Version, Kind: k.Kind, Resource: k.Resource,
			Namespaced: k.Namespaced, Type: k.Type, ListKind: k.ListKind(), Subresources: subs, SubresourceTypes: types, Verbs: kindVerbs(k)})
	}
	d := &openAPIDocs{v2: openapi.V2Document(res), index: openapi.V3Index(res), byGV: map[string][]byte{}}
	// kubectl's client-side validation downloads /openapi/v2 as protobuf only.
	pb, err := openapi.V2Protobuf(res)
	if err != nil {
		panic(fmt.Sprintf("openapi v2 protobuf: %v", err))
	}
	d.v2pb = pb
	for _, gv := range reg.GroupVersions() {
		path := "api/" + gv.Version
		if gv.Group != "" {
			path = "apis/" + gv.Group + "/" + gv.Version
		}
		d.byGV[path] = openapi.V3Document(gv.String(), res)
	}
	return d
}

func (s *Server) openAPIV2(w http.ResponseWriter, req *http.Request) {
	accept := req.Header.Get("Accept")
	if strings.Contains(accept, "protobuf") && !strings.Contains(accept, "json") {
		w.Header().Set("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
		w.WriteHeader(http.StatusOK)
		w.Write(s.docs.v2pb)
		return
	}
	writeRaw(w, http.StatusOK, s.docs.v2)
}

func (s *Server) openAPIV3Index(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, s.docs.index)
}

func (s *Server) openAPIV3Doc(w http.ResponseWriter, req *http.Request) {
	path := strings.TrimPrefix(req.URL.Path, "/openapi/v3/")
	doc, ok := s.docs.byGV[path]
	if !ok {
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
		return
	}
	// The index links documents with a hash query; the content never changes while we run.
	w.Header().Set("Cache-Control", "public, immutable")
	w.Header().Set("Etag", `"`+openapi.Hash(doc)+`"`)
	writeRaw(w, http.StatusOK, doc)
}
