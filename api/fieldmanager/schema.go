package fieldmanager

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/skiff-sh/skiff/api/apiextensions"
)

// TypeKind is the shape of a value as field management sees it.
type TypeKind int

const (
	// Untyped values are deduced from the value: objects are granular maps of untyped
	// values, lists are atomic (structured-merge-diff's __untyped_deduced_).
	Untyped TypeKind = iota
	Scalar
	Map // objects: named Fields, and Elem for any other key
	List
)

// List relationships (x-kubernetes-list-type).
const (
	ListAtomic = "atomic"
	ListSet    = "set"
	ListMap    = "map"
)

// Type describes a value: its kind, how its parts are owned and, for objects, its fields.
type Type struct {
	Kind TypeKind
	// Fields are a Map's named fields (a struct's or a schema's properties).
	Fields map[string]*Type
	// Elem is the type of a Map's other keys (nil: none are declared) or of a List's items.
	Elem *Type
	// Atomic: the Map is owned as a whole (x-kubernetes-map-type / +structType=atomic).
	Atomic bool
	// ListType is a List's relationship; Keys are a "map" list's key fields, KeyDefaults the
	// values of keys an item may omit.
	ListType    string
	Keys        []string
	KeyDefaults map[string]any
}

var untyped = &Type{Kind: Untyped}
var scalar = &Type{Kind: Scalar}

// field is the type of a Map's member name, or nil when the schema does not declare it.
func (t *Type) field(name string) (*Type, bool) {
	if f, ok := t.Fields[name]; ok {
		return f, true
	}
	return t.Elem, false
}

// deduce resolves an Untyped type against a value.
func deduce(t *Type, v any) *Type {
	if t == nil || t.Kind == Untyped {
		switch v.(type) {
		case map[string]any:
			return &Type{Kind: Map, Elem: untyped}
		case []any:
			return &Type{Kind: List, ListType: ListAtomic, Elem: untyped}
		}
		return scalar
	}
	return t
}

// GoOverrides are what Kubernetes' OpenAPI says about a Go type and skiff's struct tags do
// not: types owned as a whole (+structType=atomic) and lists keyed by more than their
// patchMergeKey (+listMapKey), by the Go type's name.
type GoOverrides struct {
	AtomicStructs map[string]bool
	ListKeys      map[string]ListKeys // element type name → keys
}

// ListKeys are the keys of a listType=map list and the defaults of those an item may omit.
type ListKeys struct {
	Keys     []string
	Defaults map[string]any
}

// KubernetesOverrides are the overrides for skiff's built-in kinds.
func KubernetesOverrides() GoOverrides {
	tcp := map[string]any{"protocol": "TCP"}
	return GoOverrides{
		AtomicStructs: map[string]bool{
			"meta.LabelSelector":             true,
			"core.LocalObjectReference":      true,
			"core.ObjectReference":           true,
			"core.TypedLocalObjectReference": true,
			"core.NodeSelector":              true,
			"core.NodeSelectorTerm":          true,
			"core.ConfigMapKeySelector":      true,
			"core.SecretKeySelector":         true,
			"core.ObjectFieldSelector":       true,
			"core.ResourceFieldSelector":     true,
		},
		ListKeys: map[string]ListKeys{
			"core.ContainerPort":            {Keys: []string{"containerPort", "protocol"}, Defaults: tcp},
			"core.ServicePort":              {Keys: []string{"port", "protocol"}, Defaults: tcp},
			"core.TopologySpreadConstraint": {Keys: []string{"topologyKey", "whenUnsatisfiable"}},
		},
	}
}

// FromGoType builds the Type of a Go struct type from its json tags, patchStrategy and
// patchMergeKey tags (merge lists of objects are keyed by their merge key, merge lists of
// scalars are sets, other lists atomic) and the overrides.
func FromGoType(t reflect.Type, o GoOverrides) *Type {
	b := &goBuilder{o: o, seen: map[reflect.Type]*Type{}}
	return b.build(t)
}

type goBuilder struct {
	o    GoOverrides
	seen map[reflect.Type]*Type
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

func (b *goBuilder) build(t reflect.Type) *Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		// Times, quantities, IntOrString, raw JSON: their JSON shape is their own.
		if t.Kind() == reflect.Struct || t.Kind() == reflect.Slice {
			return scalar
		}
	}
	if tt, ok := b.seen[t]; ok {
		return tt
	}
	switch t.Kind() {
	case reflect.Struct:
		tt := &Type{Kind: Map, Fields: map[string]*Type{}, Atomic: b.o.AtomicStructs[t.String()]}
		b.seen[t] = tt
		b.addFields(tt, t)
		return tt
	case reflect.Map:
		tt := &Type{Kind: Map}
		b.seen[t] = tt
		tt.Elem = b.build(t.Elem())
		return tt
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return scalar // []byte is a base64 string
		}
		return &Type{Kind: List, ListType: ListAtomic, Elem: b.build(t.Elem())}
	case reflect.Interface:
		return untyped
	}
	return scalar
}

// addFields adds a struct's json fields, flattening embedded structs as encoding/json does.
func (b *goBuilder) addFields(tt *Type, t reflect.Type) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.addFields(tt, ft)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, dup := tt.Fields[name]; dup {
			continue // the shallower field wins, as in encoding/json
		}
		ft := b.build(sf.Type)
		if ft.Kind == List && strings.Contains(sf.Tag.Get("patchStrategy"), "merge") {
			lt := *ft
			if lt.Elem.Kind == Map {
				elem := sf.Type.Elem()
				for elem.Kind() == reflect.Pointer {
					elem = elem.Elem()
				}
				if k, ok := b.o.ListKeys[elem.String()]; ok {
					lt.ListType, lt.Keys, lt.KeyDefaults = ListMap, k.Keys, k.Defaults
				} else if mk := sf.Tag.Get("patchMergeKey"); mk != "" {
					lt.ListType, lt.Keys = ListMap, []string{mk}
				}
			} else if lt.Elem.Kind == Scalar {
				lt.ListType = ListSet
			}
			ft = &lt
		}
		tt.Fields[name] = ft
	}
}

// FromSchema builds the Type of a custom resource from its structural schema (nil: no
// schema, every field untyped). apiVersion, kind and metadata are typed by meta, the Type of
// meta.ObjectMeta's fields.
func FromSchema(s *apiextensions.JSONSchemaProps, metadata *Type) *Type {
	root := &Type{Kind: Map, Fields: map[string]*Type{}, Elem: untyped}
	if s != nil {
		root = fromProps(s)
		if root.Kind != Map {
			root = &Type{Kind: Map, Fields: map[string]*Type{}}
		}
		if root.Fields == nil {
			root.Fields = map[string]*Type{}
		}
	}
	root.Fields["apiVersion"] = scalar
	root.Fields["kind"] = scalar
	root.Fields["metadata"] = metadata
	return root
}

func fromProps(s *apiextensions.JSONSchemaProps) *Type {
	preserve := s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
	if s.XIntOrString {
		return scalar
	}
	switch s.Type {
	case "object":
		t := &Type{Kind: Map, Atomic: s.XMapType != nil && *s.XMapType == "atomic"}
		if len(s.Properties) > 0 {
			t.Fields = make(map[string]*Type, len(s.Properties))
			for name, p := range s.Properties {
				t.Fields[name] = fromProps(&p)
			}
		}
		switch {
		case s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil:
			t.Elem = fromProps(s.AdditionalProperties.Schema)
		case preserve || (s.AdditionalProperties != nil && s.AdditionalProperties.Allows):
			t.Elem = untyped
		}
		if s.XEmbeddedResource {
			if t.Fields == nil {
				t.Fields = map[string]*Type{}
			}
			for _, f := range []string{"apiVersion", "kind"} {
				if _, ok := t.Fields[f]; !ok {
					t.Fields[f] = scalar
				}
			}
			if _, ok := t.Fields["metadata"]; !ok {
				t.Fields["metadata"] = &Type{Kind: Map, Elem: untyped}
			}
		}
		return t
	case "array":
		t := &Type{Kind: List, ListType: ListAtomic, Elem: untyped}
		if s.Items != nil && s.Items.Schema != nil {
			t.Elem = fromProps(s.Items.Schema)
		}
		if s.XListType != nil {
			t.ListType = *s.XListType
		}
		if t.ListType == ListMap {
			t.Keys = s.XListMapKeys
			if s.Items != nil && s.Items.Schema != nil {
				for _, k := range t.Keys {
					if p, ok := s.Items.Schema.Properties[k]; ok && len(p.Default) > 0 {
						var v any
						if json.Unmarshal(p.Default, &v) == nil {
							if t.KeyDefaults == nil {
								t.KeyDefaults = map[string]any{}
							}
							t.KeyDefaults[k] = normalize(v)
						}
					}
				}
			}
		}
		return t
	case "":
		if preserve {
			return untyped
		}
		return untyped
	}
	return scalar
}

// normalize turns float64 numbers from encoding/json into json.Number.
func normalize(v any) any {
	if f, ok := v.(float64); ok {
		b, _ := json.Marshal(f)
		return json.Number(b)
	}
	return v
}
