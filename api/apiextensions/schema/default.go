package schema

import (
	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/unstructured"
)

// Default fills in the schema's defaults, as Kubernetes does on create, on update and on every
// read from storage: a property with a default that is absent (or null without nullable) gets
// a copy of it, then defaulting descends into what is there.
func Default(s *apiextensions.JSONSchemaProps, x any) {
	if s == nil {
		return
	}
	switch t := x.(type) {
	case map[string]any:
		for name := range s.Properties {
			ps := s.Properties[name]
			cur, present := t[name]
			if len(ps.Default) > 0 && (!present || (cur == nil && !ps.Nullable)) {
				if d, err := unstructured.DecodeValue(ps.Default); err == nil {
					t[name] = d
				}
			}
			if v, ok := t[name]; ok {
				Default(&ps, v)
			}
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			for k, v := range t {
				if _, known := s.Properties[k]; !known {
					Default(s.AdditionalProperties.Schema, v)
				}
			}
		}
	case []any:
		if s.Items != nil && s.Items.Schema != nil {
			for i, v := range t {
				if v == nil && len(s.Items.Schema.Default) > 0 && !s.Items.Schema.Nullable {
					if d, err := unstructured.DecodeValue(s.Items.Schema.Default); err == nil {
						t[i] = d
						v = d
					}
				}
				Default(s.Items.Schema, v)
			}
		}
	}
}
