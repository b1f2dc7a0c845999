package admissioncel

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"

	"github.com/skiff-sh/skiff/api/apiextensions"
)

// TypeBuilder declares the object types a typed environment checks expressions against, as
// Kubernetes derives them from OpenAPI schemas: from the Go types of built-in kinds (their
// JSON field names and types) and from the structural schemas of custom resources. A field
// whose type the builder cannot tell (a value with its own JSON encoding: times, quantities,
// int-or-strings; a schema that preserves unknown fields) is dyn, so checking never warns
// about what it does not know. It is a types.Provider; build all types before compiling.
type TypeBuilder struct {
	*types.Registry
	structs map[string]map[string]*types.Type
	goTypes map[reflect.Type]*types.Type
	n       int
}

// NewTypeBuilder makes an empty builder (CEL's standard types only).
func NewTypeBuilder() *TypeBuilder {
	return &TypeBuilder{Registry: types.NewEmptyRegistry(), structs: map[string]map[string]*types.Type{}, goTypes: map[reflect.Type]*types.Type{}}
}

// Types returns the declared types for object (and params, nil for dyn).
func (b *TypeBuilder) Types(object, params *types.Type) *Types {
	return &Types{Provider: b, Object: object, Params: params}
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// FromGo is the CEL type of values of Go type t, as encoding/json writes them.
func (b *TypeBuilder) FromGo(t reflect.Type) *types.Type {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return types.DynType // its own encoding (a time, a quantity, an int-or-string)
	}
	switch t.Kind() {
	case reflect.Bool:
		return types.BoolType
	case reflect.String:
		return types.StringType
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return types.IntType
	case reflect.Float32, reflect.Float64:
		return types.DoubleType
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return types.BytesType
		}
		return types.NewListType(b.FromGo(t.Elem()))
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return types.DynType
		}
		return types.NewMapType(types.StringType, b.FromGo(t.Elem()))
	case reflect.Struct:
		if ot, ok := b.goTypes[t]; ok {
			return ot
		}
		name := b.name(t.PkgPath() + "." + t.Name())
		ot := types.NewObjectType(name)
		b.goTypes[t] = ot
		fields := map[string]*types.Type{}
		b.structs[name] = fields
		b.goFields(t, fields)
		return ot
	}
	return types.DynType
}

// goFields adds the JSON fields of struct t, inline (embedded) structs flattened.
func (b *TypeBuilder) goFields(t reflect.Type, fields map[string]*types.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct || strings.Contains(opts, "inline") {
			b.goFields(ft, fields)
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = b.FromGo(f.Type)
	}
}

// FromSchema is the CEL type of values a custom resource's schema describes. root adds the
// fields every object has (apiVersion, kind, metadata as ObjectMeta) where the schema does
// not declare them.
func (b *TypeBuilder) FromSchema(s *apiextensions.JSONSchemaProps, root bool, objectMeta reflect.Type) *types.Type {
	if s == nil {
		return types.DynType
	}
	if s.XIntOrString {
		return types.DynType
	}
	switch s.Type {
	case "boolean":
		return types.BoolType
	case "integer":
		return types.IntType
	case "number":
		return types.DoubleType
	case "string":
		switch s.Format {
		case "byte":
			return types.BytesType
		}
		return types.StringType
	case "array":
		if s.Items == nil || s.Items.Schema == nil {
			return types.NewListType(types.DynType)
		}
		return types.NewListType(b.FromSchema(s.Items.Schema, false, nil))
	case "object":
		if len(s.Properties) == 0 {
			if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
				return types.NewMapType(types.StringType, b.FromSchema(s.AdditionalProperties.Schema, false, nil))
			}
			if !root {
				return types.DynType // preserves unknown fields, or an embedded resource
			}
		}
		if s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
			return types.DynType
		}
		name := b.name("schema")
		fields := map[string]*types.Type{}
		b.structs[name] = fields
		for k := range s.Properties {
			p := s.Properties[k]
			fields[k] = b.FromSchema(&p, false, nil)
		}
		if root {
			for _, k := range []string{"apiVersion", "kind"} {
				if _, ok := fields[k]; !ok {
					fields[k] = types.StringType
				}
			}
			if objectMeta != nil {
				fields["metadata"] = b.FromGo(objectMeta)
			}
		}
		return types.NewObjectType(name)
	}
	return types.DynType
}

// name makes a unique object type name.
func (b *TypeBuilder) name(base string) string {
	b.n++
	return "skiff." + strings.NewReplacer("/", ".", "-", "_").Replace(base) + "_" + strconv.Itoa(b.n)
}

// FindStructType is the types.Provider method: the builder's object types, then CEL's.
func (b *TypeBuilder) FindStructType(name string) (*types.Type, bool) {
	if _, ok := b.structs[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return b.Registry.FindStructType(name)
}

// FindStructFieldNames is the types.Provider method.
func (b *TypeBuilder) FindStructFieldNames(name string) ([]string, bool) {
	if fields, ok := b.structs[name]; ok {
		out := make([]string, 0, len(fields))
		for k := range fields {
			out = append(out, k)
		}
		return out, true
	}
	return b.Registry.FindStructFieldNames(name)
}

// FindStructFieldType is the types.Provider method.
func (b *TypeBuilder) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if fields, ok := b.structs[name]; ok {
		t, ok := fields[field]
		if !ok {
			return nil, false
		}
		return &types.FieldType{Type: t}, true
	}
	return b.Registry.FindStructFieldType(name, field)
}
