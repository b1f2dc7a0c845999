package apiserver

import (
	"encoding/json"
	"fmt"
	"reflect"

	"net/http"
	"strings"
	"sync"

	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/policy"

	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/openapi"
)

// openAPIDocs are the documents of one set of registered kinds (the Go types' and the
// CRDs' schemas), generated when first asked for: building them is most of a server's
// start-up CPU (the protobuf form above all), which a test's short-lived server and every
// CRD change need not pay until a client reads them.
type openAPIDocs struct {
	once  sync.Once
	res   []openapi.Resource
	gvs   []registry.GroupVersion
	built *builtOpenAPIDocs
}

type builtOpenAPIDocs struct {
	v2    []byte
	v2pb  []byte
	index []byte
	byGV  map[string][]byte // "api/v1", "apis/apps/v1"
}

// get builds the documents the first time.
func (d *openAPIDocs) get() *builtOpenAPIDocs {
	d.once.Do(func() { d.built = buildOpenAPIDocs(d.res, d.gvs) })
	return d.built
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
			subs = append(subs, "binding", "eviction", subEphemeral, subLog, subExec, subAttach, subPortForward)
			types["binding"] = reflect.TypeFor[core.Binding]()
			types["eviction"] = reflect.TypeFor[policy.Eviction]()
		}
		r := openapi.Resource{Group: k.Group, Version: k.Version, Kind: k.Kind, Resource: k.Resource,
			Namespaced: k.Namespaced, Type: k.Type, ListKind: k.ListKind(), Subresources: subs, SubresourceTypes: types, Verbs: kindVerbs(k)}
		if k.Custom != nil {
			r.Type = nil
			r.SelectableFields = k.Custom.SelectableFields
			r.Schema = []byte(`{"type":"object","x-kubernetes-preserve-unknown-fields":true}`)
			if k.Custom.Schema != nil {
				r.Schema, _ = json.Marshal(k.Custom.Schema.Props)
			}
		}
		res = append(res, r)
	}
	return &openAPIDocs{res: res, gvs: reg.GroupVersions()}
}

func buildOpenAPIDocs(res []openapi.Resource, gvs []registry.GroupVersion) *builtOpenAPIDocs {
	d := &builtOpenAPIDocs{v2: openapi.V2Document(res), index: openapi.V3Index(res), byGV: map[string][]byte{}}
	// kubectl's client-side validation downloads /openapi/v2 as protobuf only.
	pb, err := openapi.V2Protobuf(res)
	if err != nil {
		panic(fmt.Sprintf("openapi v2 protobuf: %v", err))
	}
	d.v2pb = pb
	for _, gv := range gvs {
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
		w.Write(s.openAPI().v2pb) // with the extensions' (aggregator_openapi.go)
		return
	}
	writeRaw(w, http.StatusOK, s.openAPI().v2)
}

func (s *Server) openAPIV3Index(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, s.openAPI().index)
}

func (s *Server) openAPIV3Doc(w http.ResponseWriter, req *http.Request) {
	path := strings.TrimPrefix(req.URL.Path, "/openapi/v3/")
	doc, ok := s.openAPI().byGV[path]
	if !ok {
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
		return
	}
	// The index links documents with a hash query: a changed document gets a new URL.
	w.Header().Set("Cache-Control", "public, immutable")
	w.Header().Set("Etag", `"`+openapi.Hash(doc)+`"`)
	writeRaw(w, http.StatusOK, doc)
}
