package schema

import (
	"sort"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Prune drops every field the schema does not specify (unless x-kubernetes-preserve-unknown-fields
// keeps it) from obj, a whole object, and returns the paths of what it dropped in order
// (".spec.foo" style, as Kubernetes' unknown-field warnings name them, without the dot).
// apiVersion, kind and metadata are kept at the root and in embedded resources.
func Prune(s *apiextensions.JSONSchemaProps, obj map[string]any) []string {
	var pruned []string
	prune(s, obj, nil, true, &pruned)
	return pruned
}

func prune(s *apiextensions.JSONSchemaProps, x any, p *field.Path, root bool, out *[]string) {
	if s == nil {
		return
	}
	switch t := x.(type) {
	case map[string]any:
		preserve := s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if root && (k == "apiVersion" || k == "kind" || k == "metadata") {
				continue
			}
			if ps, ok := s.Properties[k]; ok {
				prune(&ps, t[k], child(p, k), ps.XEmbeddedResource, out)
				continue
			}
			if s.AdditionalProperties != nil {
				if as := s.AdditionalProperties.Schema; as != nil {
					prune(as, t[k], p.Key(k), as.XEmbeddedResource, out)
				}
				continue
			}
			if preserve {
				continue
			}
			delete(t, k)
			*out = append(*out, child(p, k).String())
		}
	case []any:
		if s.Items != nil && s.Items.Schema != nil {
			for i, v := range t {
				prune(s.Items.Schema, v, p.Index(i), s.Items.Schema.XEmbeddedResource, out)
			}
		}
	}
}
