package openapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// Custom resources have no Go type: their schema is the CustomResourceDefinition's
// openAPIV3Schema (Resource.Schema), published under the name Kubernetes gives it (the group
// reversed: "com.example.v1.Widget") with apiVersion, kind and metadata filled in, so
// kubectl explain shows the definition's descriptions.

// customName is the definition name of a custom kind.
func customName(r Resource) string {
	parts := strings.Split(r.Group, ".")
	slices.Reverse(parts)
	return strings.Join(parts, ".") + "." + r.Version + "." + r.Kind
}

func (b *builder) defineCustomKind(r Resource) string {
	name := customName(r)
	if _, ok := b.defs[name]; ok {
		return name
	}
	var raw map[string]any
	json.Unmarshal(r.Schema, &raw)
	s := fromJSONSchema(raw)
	if s.Type == "" {
		s.Type = "object"
	}
	if s.Properties == nil {
		s.Properties = map[string]*schema{}
	}
	s.Properties["apiVersion"] = &schema{Type: "string", Description: commonFieldDocs["apiVersion"]}
	s.Properties["kind"] = &schema{Type: "string", Description: commonFieldDocs["kind"]}
	s.Properties["metadata"] = b.describe(b.ref(b.define(reflect.TypeFor[meta.ObjectMeta]())),
		"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", "", "")
	s.GVK = []GVK{{Group: r.Group, Version: r.Version, Kind: r.Kind}}
	b.defs[name] = s
	return name
}

// fromJSONSchema turns a CRD schema (decoded JSON) into the published schema object, keeping
// what clients read: types, formats, descriptions, structure and Kubernetes' extensions.
func fromJSONSchema(m map[string]any) *schema {
	s := &schema{}
	s.Type, _ = m["type"].(string)
	s.Format, _ = m["format"].(string)
	s.Description, _ = m["description"].(string)
	s.IntOrString, _ = m["x-kubernetes-int-or-string"].(bool)
	s.PreserveUnknownFields, _ = m["x-kubernetes-preserve-unknown-fields"].(bool)
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if str, ok := r.(string); ok {
				s.Required = append(s.Required, str)
			}
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		s.Properties = map[string]*schema{}
		for k, v := range props {
			if pm, ok := v.(map[string]any); ok {
				s.Properties[k] = fromJSONSchema(pm)
			}
		}
	}
	if items, ok := m["items"].(map[string]any); ok {
		s.Items = fromJSONSchema(items)
	}
	if ap, ok := m["additionalProperties"].(map[string]any); ok {
		s.AdditionalProperties = fromJSONSchema(ap)
	}
	return s
}
