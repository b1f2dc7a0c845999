package apiserver

import (
	"encoding/json"
	"net/http"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/fields"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/tables"
)

// Server-side printing: the client asks for it in its Accept header (kubectl get sends
// application/json;as=Table;v=v1;g=meta.k8s.io, ...; negotiation.go decides).

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

func (s *Server) writeTable(w http.ResponseWriter, req *http.Request, f format, k *registry.Kind, objs []meta.Object, lm meta.ListMeta) {
	b := s.tableJSON(req, k, objs, lm, false)
	if f.enc == encYAML {
		if y, err := yaml.JSONToYAML(b); err == nil {
			w.Header().Set("Content-Type", encYAML.contentType())
			w.WriteHeader(http.StatusOK)
			w.Write(y)
			return
		}
	}
	writeRaw(w, http.StatusOK, b)
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
