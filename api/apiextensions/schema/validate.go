// Package schema applies a CustomResourceDefinition's structural OpenAPI v3 schema to custom
// resources: validation (with Kubernetes' field paths and messages, every failing field
// named), defaulting, pruning of unknown fields, CEL rules (x-kubernetes-validations), and the
// checks a schema itself must pass to be accepted (structural.go).
//
// Values are the JSON values of package unstructured: map[string]any, []any, string, bool,
// int64, float64 and nil.
package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/unstructured"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Schema is a compiled structural schema: the CRD's JSONSchemaProps with its patterns and
// CEL rules compiled once. It is safe for concurrent use.
type Schema struct {
	Props       *apiextensions.JSONSchemaProps
	patterns    sync.Map // pattern string → *regexp.Regexp
	cel         *celRules
	hasDefaults bool
}

// HasDefaults reports whether any field of the schema has a default.
func (s *Schema) HasDefaults() bool { return s.hasDefaults }

// DefaultFields applies the defaults to an object's top-level fields (metadata has none).
func (s *Schema) DefaultFields(u *unstructured.Unstructured) {
	if u.Fields == nil {
		u.Fields = map[string]any{}
	}
	Default(s.Props, u.Fields)
	if len(u.Fields) == 0 {
		u.Fields = nil
	}
}

// PruneFields drops the unknown top-level fields of an object and returns their paths.
func (s *Schema) PruneFields(u *unstructured.Unstructured) []string {
	var pruned []string
	prune(s.Props, u.Fields, nil, false, &pruned)
	return pruned
}

func anyDefault(s *apiextensions.JSONSchemaProps) bool {
	if s == nil {
		return false
	}
	if len(s.Default) > 0 {
		return true
	}
	for k := range s.Properties {
		p := s.Properties[k]
		if anyDefault(&p) {
			return true
		}
	}
	if s.Items != nil && anyDefault(s.Items.Schema) {
		return true
	}
	return s.AdditionalProperties != nil && anyDefault(s.AdditionalProperties.Schema)
}

// Compile prepares props for validating objects; errors in the schema itself are reported by
// ValidateStructural, so Compile only fails on what that would have caught.
func Compile(props *apiextensions.JSONSchemaProps) (*Schema, error) {
	s := &Schema{Props: props, hasDefaults: anyDefault(props)}
	rules, err := compileCEL(props, nil)
	if err != nil {
		return nil, err
	}
	s.cel = rules
	return s, nil
}

func (s *Schema) pattern(p string) (*regexp.Regexp, error) {
	if re, ok := s.patterns.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	s.patterns.Store(p, re)
	return re, nil
}

// Validate checks a whole object (as unstructured.Unstructured.Object returns it) against the
// schema. old is the object before an update (nil on create): CEL transition rules see it as
// oldSelf.
func (s *Schema) Validate(obj, old map[string]any) field.ErrorList {
	v := &validator{s: s}
	v.value(s.Props, obj, nil, true)
	if s.cel != nil {
		var oldv any
		if old != nil {
			oldv = old
		}
		v.errs = append(v.errs, s.cel.validate(s.Props, obj, oldv, nil)...)
	}
	return v.errs
}

type validator struct {
	s    *Schema
	errs field.ErrorList
}

func (v *validator) add(e *field.Error) { v.errs = append(v.errs, e) }

// pathName is how kube-openapi names a field in its messages.
func pathName(p *field.Path) string {
	if p == nil {
		return "<root>"
	}
	return p.String()
}

// typeOf is the JSON Schema type name of a value.
func typeOf(x any) string {
	switch t := x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64, int, int32:
		return "integer"
	case float64:
		if t == math.Trunc(t) && !math.IsInf(t, 0) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", x)
}

func typeMatches(want string, x any) bool {
	got := typeOf(x)
	switch want {
	case "number":
		return got == "number" || got == "integer"
	default:
		return want == got
	}
}

// value validates x at path p against s. root is true for the object itself (and embedded
// resources), whose apiVersion, kind and metadata are always allowed.
func (v *validator) value(s *apiextensions.JSONSchemaProps, x any, p *field.Path, root bool) {
	if s == nil {
		return
	}
	if x == nil {
		if s.Nullable || (s.Type == "" && !s.XIntOrString) {
			return
		}
		want := s.Type
		if s.XIntOrString {
			want = "integer,string"
		}
		v.add(field.TypeInvalid(p, "null", fmt.Sprintf("%s in body must be of type %s: %q", pathName(p), want, "null")))
		return
	}
	switch {
	case s.XIntOrString:
		if t := typeOf(x); t != "integer" && t != "string" {
			v.add(field.TypeInvalid(p, x, fmt.Sprintf("%s in body must be of type integer,string: %q", pathName(p), t)))
			return
		}
	case s.Type != "":
		if !typeMatches(s.Type, x) {
			v.add(field.TypeInvalid(p, typeOf(x), fmt.Sprintf("%s in body must be of type %s: %q", pathName(p), s.Type, typeOf(x))))
			return
		}
	}
	v.enum(s, x, p)
	switch t := x.(type) {
	case string:
		v.str(s, t, p)
	case int64:
		v.number(s, float64(t), x, p)
	case float64:
		v.number(s, t, x, p)
	case []any:
		v.array(s, t, p)
	case map[string]any:
		v.object(s, t, p, root)
	}
	v.combinators(s, x, p, root)
}

func (v *validator) enum(s *apiextensions.JSONSchemaProps, x any, p *field.Path) {
	if len(s.Enum) == 0 {
		return
	}
	var allowed []string
	for _, raw := range s.Enum {
		e, err := unstructured.DecodeValue(raw)
		if err != nil {
			continue
		}
		if equalValues(e, x) {
			return
		}
		if str, ok := e.(string); ok {
			allowed = append(allowed, str)
		} else {
			allowed = append(allowed, string(raw))
		}
	}
	v.add(field.NotSupported(p, x, allowed))
}

func (v *validator) str(s *apiextensions.JSONSchemaProps, x string, p *field.Path) {
	n := int64(len([]rune(x)))
	if s.MaxLength != nil && n > *s.MaxLength {
		v.add(field.TooLong(p, "", int(*s.MaxLength)))
	}
	if s.MinLength != nil && n < *s.MinLength {
		v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should be at least %d chars long", pathName(p), *s.MinLength)))
	}
	if s.Pattern != "" {
		if re, err := v.s.pattern(s.Pattern); err == nil && !re.MatchString(x) {
			v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should match '%s'", pathName(p), s.Pattern)))
		}
	}
	if s.Format != "" && !checkFormat(s.Format, x) {
		v.add(field.TypeInvalid(p, x, fmt.Sprintf("%s in body must be of type %s: %q", pathName(p), s.Format, x)))
	}
}

func (v *validator) number(s *apiextensions.JSONSchemaProps, f float64, x any, p *field.Path) {
	if s.Maximum != nil {
		if s.ExclusiveMaximum && f >= *s.Maximum {
			v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should be less than %v", pathName(p), *s.Maximum)))
		} else if f > *s.Maximum {
			v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should be less than or equal to %v", pathName(p), *s.Maximum)))
		}
	}
	if s.Minimum != nil {
		if s.ExclusiveMinimum && f <= *s.Minimum {
			v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should be greater than %v", pathName(p), *s.Minimum)))
		} else if f < *s.Minimum {
			v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should be greater than or equal to %v", pathName(p), *s.Minimum)))
		}
	}
	if s.MultipleOf != nil && *s.MultipleOf > 0 {
		if q := f / *s.MultipleOf; q != math.Trunc(q) {
			v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should be a multiple of %v", pathName(p), *s.MultipleOf)))
		}
	}
}

func (v *validator) array(s *apiextensions.JSONSchemaProps, x []any, p *field.Path) {
	n := int64(len(x))
	if s.MaxItems != nil && n > *s.MaxItems {
		v.add(field.TooMany(p, int(n), int(*s.MaxItems)))
	}
	if s.MinItems != nil && n < *s.MinItems {
		v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should have at least %d items", pathName(p), *s.MinItems)))
	}
	if s.UniqueItems {
		for i := range x {
			for j := 0; j < i; j++ {
				if equalValues(x[i], x[j]) {
					v.add(field.Invalid(p, x, fmt.Sprintf("%s in body shouldn't contain duplicates", pathName(p))))
					i = len(x)
					break
				}
			}
		}
	}
	v.listType(s, x, p)
	if s.Items != nil && s.Items.Schema != nil {
		for i, e := range x {
			v.value(s.Items.Schema, e, p.Index(i), s.Items.Schema.XEmbeddedResource)
		}
	}
}

// listType enforces x-kubernetes-list-type: set items are unique, map items unique by their
// keys (Kubernetes reports the later duplicate, by index).
func (v *validator) listType(s *apiextensions.JSONSchemaProps, x []any, p *field.Path) {
	if s.XListType == nil {
		return
	}
	switch *s.XListType {
	case "set":
		for i := range x {
			for j := 0; j < i; j++ {
				if equalValues(x[i], x[j]) {
					v.add(field.Duplicate(p.Index(i), x[i]))
					break
				}
			}
		}
	case "map":
		seen := map[string]bool{}
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				continue
			}
			key := map[string]any{}
			for _, k := range s.XListMapKeys {
				key[k] = m[k]
			}
			b, _ := json.Marshal(key)
			if seen[string(b)] {
				v.add(field.Duplicate(p.Index(i), key))
			}
			seen[string(b)] = true
		}
	}
}

func (v *validator) object(s *apiextensions.JSONSchemaProps, x map[string]any, p *field.Path, root bool) {
	n := int64(len(x))
	if s.MaxProperties != nil && n > *s.MaxProperties {
		v.add(field.TooMany(p, int(n), int(*s.MaxProperties)))
	}
	if s.MinProperties != nil && n < *s.MinProperties {
		v.add(field.Invalid(p, x, fmt.Sprintf("%s in body should have at least %d properties", pathName(p), *s.MinProperties)))
	}
	for _, r := range s.Required {
		if _, ok := x[r]; !ok {
			v.add(field.Required(child(p, r), ""))
		}
	}
	if s.XEmbeddedResource {
		for _, r := range []string{"apiVersion", "kind"} {
			if str, _ := x[r].(string); str == "" {
				if _, listed := s.Properties[r]; !listed || !containsString(s.Required, r) {
					v.add(field.Required(child(p, r), "must not be empty"))
				}
			}
		}
	}
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if (root || s.XEmbeddedResource) && k == "metadata" {
			// Object metadata is validated as ObjectMeta by the API server; the schema may
			// only constrain name and generateName there.
			if ps, ok := s.Properties[k]; ok {
				md, _ := x[k].(map[string]any)
				for _, f := range []string{"name", "generateName"} {
					if fs, ok := ps.Properties[f]; ok {
						if val, ok := md[f]; ok {
							v.value(&fs, val, child(p, k).Child(f), false)
						}
					}
				}
			}
			continue
		}
		if ps, ok := s.Properties[k]; ok {
			v.value(&ps, x[k], child(p, k), ps.XEmbeddedResource)
		} else if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			as := s.AdditionalProperties.Schema
			v.value(as, x[k], p.Key(k), as.XEmbeddedResource)
		}
	}
}

// combinators: allOf, anyOf, oneOf and not carry value validations only (structural schemas
// forbid types and defaults under them), so a failing branch is judged silently.
func (v *validator) combinators(s *apiextensions.JSONSchemaProps, x any, p *field.Path, root bool) {
	for i := range s.AllOf {
		v.value(&s.AllOf[i], x, p, root)
	}
	passes := func(sub *apiextensions.JSONSchemaProps) bool {
		t := &validator{s: v.s}
		t.value(sub, x, p, root)
		return len(t.errs) == 0
	}
	if len(s.AnyOf) > 0 {
		ok := false
		for i := range s.AnyOf {
			if passes(&s.AnyOf[i]) {
				ok = true
				break
			}
		}
		if !ok {
			v.add(field.Invalid(p, x, fmt.Sprintf("%s in body must validate at least one schema (anyOf)", pathName(p))))
		}
	}
	if len(s.OneOf) > 0 {
		n := 0
		for i := range s.OneOf {
			if passes(&s.OneOf[i]) {
				n++
			}
		}
		if n != 1 {
			v.add(field.Invalid(p, x, fmt.Sprintf("%s in body must validate one and only one schema (oneOf)", pathName(p))))
		}
	}
	if s.Not != nil && passes(s.Not) {
		v.add(field.Invalid(p, x, fmt.Sprintf("%s in body must not validate the schema (not)", pathName(p))))
	}
}

func child(p *field.Path, name string) *field.Path {
	if p == nil {
		return field.NewPath(name)
	}
	return p.Child(name)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// equalValues compares JSON values, numbers by value (1 == 1.0).
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case float64:
			return float64(x) == y
		}
		return false
	case float64:
		switch y := b.(type) {
		case int64:
			return x == float64(y)
		case float64:
			return x == y
		}
		return false
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !equalValues(e, f) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

var _ = strings.TrimSpace
