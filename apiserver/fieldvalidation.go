package apiserver

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// unknownFields lists the JSON paths in body that the Go type t has no field for
// ("spec.containers[0].imagePullPolicyy"). It walks the decoded document alongside the type,
// so it is exact (a zero value the type would omit is still known).
func unknownFields(body []byte, t reflect.Type) []string {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil
	}
	var out []string
	walkUnknown(doc, t, "", &out)
	return out
}

var (
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

func walkUnknown(v any, t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) || t.Implements(jsonMarshalerType) {
		return // custom encodings (times, quantities, raw JSON) are opaque here
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		fs := jsonFields(t)
		for key, val := range m {
			ft, known := fs[key]
			p := key
			if path != "" {
				p = path + "." + key
			}
			if !known {
				*out = append(*out, p)
				continue
			}
			walkUnknown(val, ft, p, out)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for key, val := range m {
			walkUnknown(val, t.Elem(), path+"["+strconv.Quote(key)+"]", out)
		}
	case reflect.Slice, reflect.Array:
		l, ok := v.([]any)
		if !ok {
			return
		}
		for i, val := range l {
			walkUnknown(val, t.Elem(), path+"["+strconv.Itoa(i)+"]", out)
		}
	}
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of a struct's fields (embedded inline structs flattened)
// to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					m[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
