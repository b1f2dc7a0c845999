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
	if keep, _ := raw["x-kubernetes-preserve-unknown-fields"].(bool); keep && !b.v3 {
		// As kube-apiserver's buildKubeNative: a bare object for v2, not even apiVersion,
		// kind and metadata, or kubectl's v2 validation would refuse every other field.
		b.defs[name] = &schema{Type: "object", GVK: []GVK{{Group: r.Group, Version: r.Version, Kind: r.Kind}},
			SelectableFields: selectable(r)}
		return name
	}
	s := fromJSONSchema(raw, b.v3)
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
	s.SelectableFields = selectable(r)
	b.defs[name] = s
	return name
}

func selectable(r Resource) []SelectableField {
	var out []SelectableField
	for _, f := range r.SelectableFields {
		out = append(out, SelectableField{FieldPath: f})
	}
	return out
}

// fromJSONSchema turns a CRD schema (decoded JSON) into the published schema object: what
// Kubernetes publishes of a structural schema — types, formats, descriptions, structure, value
// validations, defaults and its extensions — except the junctors (allOf, anyOf, oneOf, not).
// For OpenAPI v2 it makes the changes kube-apiserver's ToStructuralOpenAPIV2 makes, so that
// kubectl's v2 parser copes: nullable (not in v2) drops the type, items and properties of its
// schema and the field from its parent's required list; x-kubernetes-preserve-unknown-fields
// drops items and properties, and an "object" or "array" left without them loses its type.
func fromJSONSchema(m map[string]any, v3 bool) *schema {
	s := &schema{}
	s.Type, _ = m["type"].(string)
	s.Format, _ = m["format"].(string)
	s.Description, _ = m["description"].(string)
	s.Title, _ = m["title"].(string)
	s.Pattern, _ = m["pattern"].(string)
	s.Enum, _ = m["enum"].([]any)
	s.Default = rawJSON(m, "default")
	s.Example = rawJSON(m, "example")
	s.Maximum, s.Minimum, s.MultipleOf = number(m, "maximum"), number(m, "minimum"), number(m, "multipleOf")
	s.ExclusiveMaximum, _ = m["exclusiveMaximum"].(bool)
	s.ExclusiveMinimum, _ = m["exclusiveMinimum"].(bool)
	s.MaxLength, s.MinLength = integer(m, "maxLength"), integer(m, "minLength")
	s.MaxItems, s.MinItems = integer(m, "maxItems"), integer(m, "minItems")
	s.MaxProperties, s.MinProperties = integer(m, "maxProperties"), integer(m, "minProperties")
	s.UniqueItems, _ = m["uniqueItems"].(bool)
	s.Nullable, _ = m["nullable"].(bool)
	s.IntOrString, _ = m["x-kubernetes-int-or-string"].(bool)
	s.PreserveUnknownFields, _ = m["x-kubernetes-preserve-unknown-fields"].(bool)
	s.EmbeddedResource, _ = m["x-kubernetes-embedded-resource"].(bool)
	s.ListType, _ = m["x-kubernetes-list-type"].(string)
	s.ListMapKeys = strings_(m["x-kubernetes-list-map-keys"])
	s.MapType, _ = m["x-kubernetes-map-type"].(string)
	s.Validations, _ = m["x-kubernetes-validations"].([]any)
	s.Required = strings_(m["required"])
	if props, ok := m["properties"].(map[string]any); ok {
		s.Properties = map[string]*schema{}
		for k, v := range props {
			if pm, ok := v.(map[string]any); ok {
				s.Properties[k] = fromJSONSchema(pm, v3)
			}
		}
	}
	if items, ok := m["items"].(map[string]any); ok {
		s.Items = fromJSONSchema(items, v3)
	}
	if ap, ok := m["additionalProperties"].(map[string]any); ok {
		s.AdditionalProperties = fromJSONSchema(ap, v3)
	}
	if !v3 {
		toV2(s)
	}
	return s
}

// toV2 is kube-apiserver's ToStructuralOpenAPIV2 for one schema whose children are done.
func toV2(s *schema) {
	if s.Nullable {
		s.Type, s.Nullable, s.Items, s.Properties = "", false, nil, nil
		s.wasNullable = true
	}
	if s.PreserveUnknownFields {
		s.Items, s.Properties = nil, nil
	}
	if s.Items == nil && s.Type == "array" {
		s.Type = ""
	}
	if s.PreserveUnknownFields && s.Type == "object" {
		s.Type = ""
	}
	for _, name := range slices.Clone(s.Required) {
		if p := s.Properties[name]; p != nil && p.wasNullable {
			s.Required = slices.DeleteFunc(s.Required, func(r string) bool { return r == name })
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.wasNullable {
		s.Required = nil
	}
	if len(s.Required) == 0 {
		s.Required = nil
	}
}

func rawJSON(m map[string]any, key string) json.RawMessage {
	v, ok := m[key]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

func number(m map[string]any, key string) *float64 {
	if f, ok := m[key].(float64); ok {
		return &f
	}
	return nil
}

func integer(m map[string]any, key string) *int64 {
	if f, ok := m[key].(float64); ok {
		n := int64(f)
		return &n
	}
	return nil
}

// strings_ is a JSON array of strings; other elements are skipped.
func strings_(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if str, ok := e.(string); ok {
			out = append(out, str)
		}
	}
	return out
}
