package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/fields"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/tables"
)

// wantsTable reports whether the client asked for server-side printing (kubectl get does:
// Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ...).
func wantsTable(req *http.Request) bool {
	for _, part := range strings.Split(req.Header.Get("Accept"), ",") {
		if strings.Contains(part, "as=Table") && strings.Contains(part, "g=meta.k8s.io") &&
			(strings.Contains(part, "v=v1;") || strings.HasSuffix(part, "v=v1") || strings.Contains(part, "v=v1beta1")) {
			return true
		}
	}
	return false
}

// acceptsOnlyTable: the client asked for a Table and for nothing a kind without printing
// could answer with (no plain media type beside it); such a kind answers 406, as Kubernetes.
func acceptsOnlyTable(req *http.Request) bool {
	if !wantsTable(req) {
		return false
	}
	for _, part := range strings.Split(req.Header.Get("Accept"), ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.Contains(params, "as=") {
			continue
		}
		switch strings.TrimSpace(mt) {
		case "*/*", "application/*", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf":
			return false
		}
	}
	return true
}

// errNotAcceptable is Kubernetes' answer when nothing the client accepts can be written.
func errNotAcceptable() *apiError {
	return newStatus(http.StatusNotAcceptable, meta.ReasonNotAcceptable,
		"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", nil)
}

func (s *Server) tableJSON(req *http.Request, k *registry.Kind, objs []meta.Object, lm meta.ListMeta, noHeaders bool) []byte {
	include, err := tables.ParseIncludeObject(req.URL.Query().Get("includeObject"))
	if err != nil {
		include = tables.IncludeMetadata
	}
	p := tables.For(k.Group, k.Kind)
	switch {
	case k.Custom != nil:
		p = tables.Custom(k.Custom.PrinterColumns)
	case k.Conversion != nil:
		p = convertedPrinter(k)
	}
	t := tables.Build(p, objs, time.Now(), include, noHeaders)
	t.TypeMeta = meta.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}
	t.ListMeta = lm
	b, _ := json.Marshal(t)
	return b
}

func (s *Server) writeTable(w http.ResponseWriter, req *http.Request, k *registry.Kind, objs []meta.Object, lm meta.ListMeta) {
	writeRaw(w, http.StatusOK, s.tableJSON(req, k, objs, lm, false))
}

// andName narrows a field selector to one object name.
func andName(sel fields.Selector, name string) fields.Selector {
	one := fields.OneTermEqualSelector("metadata.name", name)
	if sel.Empty() {
		return one
	}
	both, err := fields.Parse(sel.String() + "," + one.String())
	if err != nil {
		return one
	}
	return both
}

// convertedPrinter prints a served-only version with its storage kind's columns, as Kubernetes
// prints every version from the one internal type (kubectl get hpa shows the same TARGETS for
// autoscaling/v1 and v2); rows are computed on the object converted back to storage.
func convertedPrinter(k *registry.Kind) tables.Printer {
	st := k.Conversion.Storage
	p := tables.For(st.Group, st.Kind)
	row := p.Row
	p.Row = func(obj meta.Object, now time.Time) meta.TableRow {
		if so, err := k.Conversion.ToStorage(obj); err == nil {
			obj = so
		}
		return row(obj, now)
	}
	return p
}
