package openapi

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"strings"

	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// schema is one OpenAPI schema object. Swagger 2.0 and OpenAPI 3.0 share the shape; they
// differ in where references point, in how a reference carries a description (see
// builder.describe) and in oneOf, which only 3.0 has.
type schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	AllOf                []*schema          `json:"allOf,omitempty"`
	OneOf                []*schema          `json:"oneOf,omitempty"`
	Description          string             `json:"description,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	AdditionalProperties *schema            `json:"additionalProperties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	UniqueItems          bool               `json:"uniqueItems,omitempty"`

	// Value validations and the other JSON Schema keywords a custom resource's schema can
	// hold; built-in kinds publish none of them. Nullable exists only in OpenAPI 3.0.
	Title            string          `json:"title,omitempty"`
	Default          json.RawMessage `json:"default,omitempty"`
	Enum             []any           `json:"enum,omitempty"`
	Pattern          string          `json:"pattern,omitempty"`
	Maximum          *float64        `json:"maximum,omitempty"`
	ExclusiveMaximum bool            `json:"exclusiveMaximum,omitempty"`
	Minimum          *float64        `json:"minimum,omitempty"`
	ExclusiveMinimum bool            `json:"exclusiveMinimum,omitempty"`
	MultipleOf       *float64        `json:"multipleOf,omitempty"`
	MaxLength        *int64          `json:"maxLength,omitempty"`
	MinLength        *int64          `json:"minLength,omitempty"`
	MaxItems         *int64          `json:"maxItems,omitempty"`
	MinItems         *int64          `json:"minItems,omitempty"`
	MaxProperties    *int64          `json:"maxProperties,omitempty"`
	MinProperties    *int64          `json:"minProperties,omitempty"`
	Nullable         bool            `json:"nullable,omitempty"`
	Example          json.RawMessage `json:"example,omitempty"`

	// Kubernetes' extensions. The GVK list on a top-level kind is how kubectl explain, kubectl
	// apply (strategic merge patch) and kubectl's field validation find the schema of a kind;
	// the patch extensions tell strategic merge patch how to merge lists.
	GVK []GVK `json:"x-kubernetes-group-version-kind,omitempty"`
	// SelectableFields lists a custom kind's selectableFields (as Kubernetes publishes them:
	// {"fieldPath": "spec.color"}).
	SelectableFields      []SelectableField `json:"x-kubernetes-selectable-fields,omitempty"`
	IntOrString           bool              `json:"x-kubernetes-int-or-string,omitempty"`
	PreserveUnknownFields bool              `json:"x-kubernetes-preserve-unknown-fields,omitempty"`
	PatchMergeKey         string            `json:"x-kubernetes-patch-merge-key,omitempty"`
	PatchStrategy         string            `json:"x-kubernetes-patch-strategy,omitempty"`
	EmbeddedResource      bool              `json:"x-kubernetes-embedded-resource,omitempty"`
	ListType              string            `json:"x-kubernetes-list-type,omitempty"`
	ListMapKeys           []string          `json:"x-kubernetes-list-map-keys,omitempty"`
	MapType               string            `json:"x-kubernetes-map-type,omitempty"`
	Validations           []any             `json:"x-kubernetes-validations,omitempty"`

	wasNullable bool // v2 only: nullable in the CRD's schema (toV2 removed it)
}

// GVK is the value of the x-kubernetes-group-version-kind extension. All three keys are always
// written, group "" included: kubectl explain matches an operation's GVK against a schema's
// list by deep equality of the decoded maps.
// SelectableField is one entry of x-kubernetes-selectable-fields.
type SelectableField struct {
	FieldPath string `json:"fieldPath"`
}

type GVK struct {
	Group   string `json:"group"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// Names of the apimachinery types, as Kubernetes publishes them; clients know some by name.
const (
	metaPrefix      = "io.k8s.apimachinery.pkg.apis.meta.v1."
	quantityName    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	intOrStringName = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	patchName       = metaPrefix + "Patch"
)

var (
	metaPkg         = reflect.TypeFor[meta.TypeMeta]().PkgPath()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	timeType        = reflect.TypeFor[meta.Time]()
	microTimeType   = reflect.TypeFor[meta.MicroTime]()
	durationType    = reflect.TypeFor[meta.Duration]()
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
)

// builder turns Go types into named schemas ("definitions" in 2.0, "components.schemas" in
// 3.0) by reflection: JSON tags name the properties, omitempty/omitzero and pointers make a
// property optional, named structs become references.
type builder struct {
	v3    bool
	defs  map[string]*schema
	names map[reflect.Type]string
	owner map[string]reflect.Type // definition name → the type that took it
	// pkgs maps a Go package path to the "group.version" its definitions are named under,
	// learned from the resources whose types it declares ("core.v1", "apps.v1").
	pkgs map[string]string
}

func newBuilder(v3 bool, resources []Resource) *builder {
	b := &builder{
		v3:    v3,
		defs:  map[string]*schema{},
		names: map[reflect.Type]string{},
		owner: map[string]reflect.Type{},
		pkgs:  map[string]string{},
	}
	for _, r := range resources {
		if r.Type == nil {
			continue
		}
		pkg := r.Type.PkgPath()
		if _, ok := b.pkgs[pkg]; !ok {
			b.pkgs[pkg] = groupShort(r.Group) + "." + r.Version
		}
	}
	return b
}

// groupShort is the group's first label, as Kubernetes names its packages:
// "coordination.k8s.io" → "coordination", "" → "core".
func groupShort(group string) string {
	if group == "" {
		return "core"
	}
	short, _, _ := strings.Cut(group, ".")
	return short
}

func (b *builder) ref(name string) *schema {
	if b.v3 {
		return &schema{Ref: "#/components/schemas/" + name}
	}
	return &schema{Ref: "#/definitions/" + name}
}

// schemaOf is the schema of a value of type t where a property or an item uses it: a
// reference for structs and the apimachinery scalars, inline for the rest. It is nil for
// types JSON cannot carry (funcs, channels), whose fields are left out.
func (b *builder) schemaOf(t reflect.Type) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		// Arbitrary JSON (RawExtension in Kubernetes' types).
		return &schema{Type: "object", PreserveUnknownFields: true}
	}
	if name, ok := b.defineScalar(t); ok {
		return b.ref(name)
	}
	switch t.Kind() {
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return &schema{Type: "integer", Format: "int32"}
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return &schema{Type: "integer", Format: "int64"}
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number", Format: "double"}
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &schema{Type: "string", Format: "byte"} // encoding/json writes base64
		}
		items := b.schemaOf(t.Elem())
		if items == nil {
			return nil
		}
		return &schema{Type: "array", Items: items}
	case reflect.Map:
		values := b.schemaOf(t.Elem())
		if t.Key().Kind() != reflect.String || values == nil {
			return &schema{Type: "object", PreserveUnknownFields: true}
		}
		return &schema{Type: "object", AdditionalProperties: values}
	case reflect.Struct:
		return b.ref(b.define(t))
	}
	return nil
}

// defineScalar defines the apimachinery types that marshal to a JSON scalar under the
// names and shapes Kubernetes gives them.
func (b *builder) defineScalar(t reflect.Type) (string, bool) {
	var name string
	var s *schema
	switch t {
	case timeType:
		name = metaPrefix + "Time"
		s = &schema{Type: "string", Format: "date-time", Description: "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON, as an RFC 3339 timestamp with second precision."}
	case microTimeType:
		name = metaPrefix + "MicroTime"
		s = &schema{Type: "string", Format: "date-time", Description: "MicroTime is version of Time with microsecond level precision."}
	case durationType:
		name = metaPrefix + "Duration"
		s = &schema{Type: "string", Description: "Duration is a wrapper around time.Duration which supports correct marshaling to YAML and JSON. In particular, it marshals into strings, which can be used as map keys in json."}
	case quantityType:
		name = quantityName
		s = &schema{Description: "Quantity is a fixed-point representation of a number, serialized as a string such as \"500m\", \"128Mi\" or \"1.5\" (a number is also accepted)."}
		if b.v3 {
			s.OneOf = []*schema{{Type: "string"}, {Type: "number"}}
		} else {
			s.Type = "string"
		}
	case intOrStringType:
		name = intOrStringName
		s = &schema{Format: "int-or-string", IntOrString: true, Description: "IntOrString is a type that can hold an int32 or a string. When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type. This allows you to have, for example, a JSON field that can accept a name or number."}
		if b.v3 {
			s.OneOf = []*schema{{Type: "integer"}, {Type: "string"}}
		} else {
			// Swagger 2.0 has no oneOf; Kubernetes publishes a string with this format.
			s.Type, s.IntOrString = "string", false
		}
	default:
		return "", false
	}
	b.defs[name] = s
	b.names[t] = name
	return name, true
}

// define makes sure the struct type t has a definition and returns its name.
func (b *builder) define(t reflect.Type) string {
	if name, ok := b.names[t]; ok {
		return name
	}
	name := b.nameOf(t)
	for i := 2; b.owner[name] != nil; i++ { // two Go packages with the same last element
		name = fmt.Sprintf("%s%d", b.nameOf(t), i)
	}
	b.names[t], b.owner[name] = name, t

	s := &schema{Type: "object", Description: typeDoc(t), Properties: map[string]*schema{}}
	b.defs[name] = s // before the fields, so a type that contains itself terminates
	b.addFields(t, s)
	return name
}

// nameOf is the definition name Kubernetes would give t: "io.k8s.api.core.v1.Pod",
// "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".
func (b *builder) nameOf(t reflect.Type) string {
	if t.PkgPath() == metaPkg {
		return metaPrefix + cleanName(t.Name())
	}
	gv, ok := b.pkgs[t.PkgPath()]
	if !ok {
		gv = path.Base(t.PkgPath()) + ".v1"
	}
	return "io.k8s.api." + gv + "." + cleanName(t.Name())
}

// cleanName keeps a definition name to the characters a JSON pointer passes unescaped
// (instantiated generic types are named like "List[pkg/path.T]").
func cleanName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// addFields adds the JSON properties of struct t to s, following encoding/json: embedded
// structs without a JSON name are flattened in, "-" is skipped, unexported fields are not
// serialized.
func (b *builder) addFields(t reflect.Type, s *schema) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.addFields(ft, s)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := b.schemaOf(f.Type)
		if p == nil {
			continue
		}
		s.Properties[name] = b.describe(p, fieldDoc(t, f, name), f.Tag.Get("patchStrategy"), f.Tag.Get("patchMergeKey"))
		if !optional(f, opts) {
			s.Required = append(s.Required, name)
		}
	}
}

// optional: a pointer, or a field encoding/json leaves out when empty or zero.
func optional(f reflect.StructField, opts string) bool {
	if f.Type.Kind() == reflect.Pointer {
		return true
	}
	for _, o := range strings.Split(opts, ",") {
		if o == "omitempty" || o == "omitzero" {
			return true
		}
	}
	return false
}

// describe attaches a description and the strategic-merge-patch extensions to a property.
// A reference in OpenAPI 3.0 ignores its siblings, so there the reference is wrapped in a
// one-element allOf as Kubernetes does (kubectl explain and strategic merge patch both look
// through it); Swagger 2.0 readers (kubectl's openapi v2 parser) take the siblings as they
// are and do not understand allOf.
func (b *builder) describe(p *schema, desc, strategy, mergeKey string) *schema {
	if desc == "" && strategy == "" && mergeKey == "" {
		return p
	}
	if p.Ref != "" && b.v3 {
		p = &schema{AllOf: []*schema{p}}
	}
	p.Description, p.PatchStrategy, p.PatchMergeKey = desc, strategy, mergeKey
	return p
}

// defineKind defines a top-level kind and marks it with its group, version and kind.
func (b *builder) defineKind(r Resource) string {
	if r.Schema != nil {
		return b.defineCustomKind(r) // custom.go
	}
	name := b.define(r.Type)
	s := b.defs[name]
	gvk := GVK{Group: r.Group, Version: r.Version, Kind: r.Kind}
	for _, g := range s.GVK {
		if g == gvk {
			return name
		}
	}
	s.GVK = append(s.GVK, gvk)
	if s.Description == "" {
		s.Description = fmt.Sprintf("%s is a %s object.", r.Kind, apiVersion(r.Group, r.Version))
	}
	return name
}

// defineList defines the list kind of r ("PodList"). skiff's lists are the one generic
// meta.List[T], so the schema is written out rather than reflected.
func (b *builder) defineList(r Resource) string {
	item := b.defineKind(r)
	name := strings.TrimSuffix(item, r.Kind) + r.listKind()
	if _, ok := b.defs[name]; ok {
		return name
	}
	b.defs[name] = &schema{
		Type:        "object",
		Description: fmt.Sprintf("%s is a list of %s objects.", r.listKind(), r.Kind),
		Required:    []string{"items"},
		Properties: map[string]*schema{
			"apiVersion": {Type: "string", Description: commonFieldDocs["apiVersion"]},
			"kind":       {Type: "string", Description: commonFieldDocs["kind"]},
			"items":      {Type: "array", Items: b.ref(item), Description: "List of " + r.Resource + "."},
			"metadata": b.describe(b.ref(b.define(reflect.TypeFor[meta.ListMeta]())),
				"Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds", "", ""),
		},
		GVK: []GVK{{Group: r.Group, Version: r.Version, Kind: r.listKind()}},
	}
	return name
}

// definePatch defines the body of every PATCH: any JSON object (its shape depends on the
// patch type).
func (b *builder) definePatch() string {
	b.defs[patchName] = &schema{Type: "object", Description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}
	return patchName
}

func apiVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}
