package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// fieldProblems lists, in the order they appear in body, the JSON paths that the Go type t
// has no field for ("unknown field \"spec.containers[0].imagePullPolicyy\"") and the object
// keys given twice ("duplicate field \"spec.replicas\""), worded as Kubernetes' strict
// decoding does. It reads the document's tokens alongside the type, so it is exact (a zero
// value the type would omit is still known) and sees what decoding into a map would hide.
func fieldProblems(body []byte, t reflect.Type) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out []string
	if err := walkFields(dec, t, "", &out); err != nil {
		return nil // not JSON: decoding reports it
	}
	return out
}

var (
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// walkFields reads one JSON value from dec, which t (nil: unknown) is to hold.
func walkFields(dec *json.Decoder, t reflect.Type, path string, out *[]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshalerType) || t.Implements(jsonMarshalerType)) {
		t = nil // custom encodings (times, quantities, raw JSON) are opaque here
	}
	switch delim {
	case '{':
		var fs map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fs = jsonFields(t)
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			var vt reflect.Type
			switch {
			case fs != nil:
				p := key
				if path != "" {
					p = path + "." + key
				}
				known := false
				if vt, known = fs[key]; !known {
					*out = append(*out, fmt.Sprintf("unknown field %q", p))
				} else if seen[key] {
					*out = append(*out, fmt.Sprintf("duplicate field %q", p))
				}
				seen[key] = true
				if err := walkFields(dec, vt, p, out); err != nil {
					return err
				}
				continue
			case t != nil && t.Kind() == reflect.Map:
				vt = t.Elem()
			}
			if err := walkFields(dec, vt, path+"["+strconv.Quote(key)+"]", out); err != nil {
				return err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkFields(dec, et, path+"["+strconv.Itoa(i)+"]", out); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
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
