// Package unstructured holds objects of kinds skiff learns only at run time: the custom
// resources a CustomResourceDefinition defines. There is no Go type to decode them into, so an
// Unstructured keeps what every object shares typed (apiVersion, kind, metadata: the API
// server's generic code reads and writes those) and every other top-level field as plain JSON
// values (map[string]any, []any, string, bool, int64, float64, nil).
package unstructured

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// Unstructured is one custom resource. It is a meta.Object: the metadata is a real
// meta.ObjectMeta, so names, labels, finalizers, owner references and resourceVersions work
// on it as on any kind. Unknown metadata fields are dropped on decode, as Kubernetes does.
type Unstructured struct {
	meta.TypeMeta
	meta.ObjectMeta
	// Fields are the top-level fields besides apiVersion, kind and metadata (spec, status,
	// data, ...). Numbers are int64 when integral and in range, float64 otherwise.
	Fields map[string]any
	// OnDecode, if set on an empty object, is called once UnmarshalJSON has filled it in,
	// then cleared: how a kind applies its schema's defaults to every object read from
	// storage (registry.Kind.New sets it).
	OnDecode func(*Unstructured)
}

// New returns an empty object of the given apiVersion and kind.
func New(apiVersion, kind string) *Unstructured {
	return &Unstructured{TypeMeta: meta.TypeMeta{APIVersion: apiVersion, Kind: kind}}
}

// UnmarshalJSON decodes an object; the top level must be a JSON object.
func (u *Unstructured) UnmarshalJSON(b []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return err
	}
	if top == nil {
		return errors.New("Object 'Kind' is missing in 'null'")
	}
	hook := u.OnDecode
	*u = Unstructured{}
	defer func() {
		if hook != nil {
			hook(u)
		}
	}()
	for k, raw := range top {
		switch k {
		case "apiVersion", "kind":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil && string(raw) != "null" {
				return fmt.Errorf("%s: must be a string", k)
			}
			if k == "kind" {
				u.Kind = s
			} else {
				u.APIVersion = s
			}
		case "metadata":
			if string(raw) == "null" {
				continue
			}
			if err := json.Unmarshal(raw, &u.ObjectMeta); err != nil {
				return fmt.Errorf("metadata: %w", err)
			}
		default:
			v, err := DecodeValue(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if u.Fields == nil {
				u.Fields = make(map[string]any, len(top))
			}
			u.Fields[k] = v
		}
	}
	return nil
}

// MarshalJSON encodes apiVersion, kind and metadata first, then the fields by name.
func (u *Unstructured) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	put := func(k string, v any) error {
		enc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(k))
		b.WriteByte(':')
		b.Write(enc)
		return nil
	}
	if u.APIVersion != "" {
		put("apiVersion", u.APIVersion)
	}
	if u.Kind != "" {
		put("kind", u.Kind)
	}
	if err := put("metadata", &u.ObjectMeta); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(u.Fields))
	for k := range u.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := put(k, u.Fields[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Object returns the whole object as one JSON value (a map), metadata included: the form
// schema validation and CEL rules see. The map shares Fields' values.
func (u *Unstructured) Object() map[string]any {
	m := make(map[string]any, len(u.Fields)+3)
	for k, v := range u.Fields {
		m[k] = v
	}
	if u.APIVersion != "" {
		m["apiVersion"] = u.APIVersion
	}
	if u.Kind != "" {
		m["kind"] = u.Kind
	}
	md, _ := json.Marshal(&u.ObjectMeta)
	mv, _ := DecodeValue(md)
	m["metadata"] = mv
	return m
}

// DeepCopy copies the object; nothing is shared with u.
func (u *Unstructured) DeepCopy() *Unstructured {
	b, _ := json.Marshal(u)
	n := &Unstructured{}
	n.UnmarshalJSON(b)
	return n
}

// DecodeValue decodes any JSON value with integers kept exact (int64), as Kubernetes'
// unstructured decoding does.
func DecodeValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return convertNumbers(v), nil
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = convertNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = convertNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return v
}

// NestedField returns the value at path below fields ("spec", "replicas").
func NestedField(obj map[string]any, path ...string) (any, bool) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// SetNestedField sets the value at path, creating the maps on the way (a non-map in the way
// is replaced).
func SetNestedField(obj map[string]any, v any, path ...string) {
	m := obj
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// ParsePath splits a JSON path of the simple form CRDs use (".spec.replicas") into its
// field names.
func ParsePath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "."), ".")
}

// DeepCopyValue copies a JSON value.
func DeepCopyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = DeepCopyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = DeepCopyValue(e)
		}
		return s
	}
	return v
}
