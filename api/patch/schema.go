package patch

import (
	"encoding/json"
	"reflect"
	"strings"
)

// field is what a strategic merge patch needs to know about one JSON field, read from
// the Go type that holds it.
type field struct {
	typ      reflect.Type // the field's Go type; nil when the schema does not know it
	merge    bool         // patchStrategy includes "merge": the list merges
	replace  bool         // patchStrategy "replace": the object replaces whole
	mergeKey string       // patchMergeKey: the element field that identifies a list element
}

// lookupField describes the JSON member name of a value of type t: a struct field found
// through its json tag, or any value of a map. ("retainKeys" in patchStrategy needs no
// bit: the $retainKeys directive in the patch is what the server acts on.)
func lookupField(t reflect.Type, name string) field {
	t = deref(t)
	if t == nil {
		return field{}
	}
	switch t.Kind() {
	case reflect.Map:
		return field{typ: t.Elem()}
	case reflect.Struct:
		sf, ok := structField(t, name)
		if !ok {
			return field{}
		}
		f := field{typ: sf.Type, mergeKey: sf.Tag.Get("patchMergeKey")}
		for s := range strings.SplitSeq(sf.Tag.Get("patchStrategy"), ",") {
			switch s {
			case "merge":
				f.merge = true
			case "replace":
				f.replace = true
			}
		}
		return f
	}
	return field{}
}

// structField finds the field encoding/json would use for name: it looks at the
// struct's own fields first, then level by level into embedded structs that have no
// json name (`json:",inline"` or untagged), which encoding/json flattens. An embedded
// struct with a name (`json:"metadata"`) is an ordinary field.
func structField(t reflect.Type, name string) (reflect.StructField, bool) {
	level := []reflect.Type{t}
	seen := map[reflect.Type]bool{}
	for len(level) > 0 {
		var next []reflect.Type
		for _, st := range level {
			if seen[st] {
				continue
			}
			seen[st] = true
			for i := range st.NumField() {
				sf := st.Field(i)
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				jsonName, _, _ := strings.Cut(tag, ",")
				if sf.Anonymous {
					// Like encoding/json: an embedded struct counts even when its type is
					// unexported, since its fields may be exported.
					ft := deref(sf.Type)
					if ft.Kind() == reflect.Struct && jsonName == "" {
						next = append(next, ft)
						continue
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				if jsonName == "" {
					jsonName = sf.Name
				}
				if jsonName == name {
					return sf, true
				}
			}
		}
		level = next
	}
	return reflect.StructField{}, false
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// isAtomic reports whether values of t encode themselves (metav1.Time, Quantity,
// IntOrString, RawExtension): their JSON shape is theirs, not their fields', so a patch
// replaces them whole.
func isAtomic(t reflect.Type) bool {
	return t != nil && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType))
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// elemType is the element type of a list-typed field, nil when unknown.
func elemType(t reflect.Type) reflect.Type {
	t = deref(t)
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}
