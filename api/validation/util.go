package validation

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// semanticEqual compares two API values by their JSON form. That is the equality that
// matters on the wire: a nil and an empty list, or two spellings of one quantity, are the
// same value to a client, and reflect.DeepEqual would call them different.
func semanticEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	return bytes.Equal(ja, jb)
}

// changedFields names the top-level JSON fields that differ between two structs of the
// same type, for messages that say which part of an immutable spec was changed.
func changedFields(a, b any) []string {
	var ma, mb map[string]json.RawMessage
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if json.Unmarshal(ja, &ma) != nil || json.Unmarshal(jb, &mb) != nil {
		return nil
	}
	var changed []string
	for k, va := range ma {
		if vb, ok := mb[k]; !ok || !bytes.Equal(va, vb) {
			changed = append(changed, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// sortedKeys returns a map's keys in order, so errors come out in a stable order.
func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// oneOf counts the non-nil pointer fields of a "union" struct such as a VolumeSource, in
// declaration order, returning their JSON names. Reflection keeps this correct however many
// volume types the API grows: a union is valid when exactly one member is set.
func oneOf(union any) []string {
	v := reflect.ValueOf(union)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var set []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Pointer || v.Field(i).IsNil() {
			continue
		}
		set = append(set, jsonName(f))
	}
	return set
}

// jsonName is the wire name of a struct field.
func jsonName(f reflect.StructField) string {
	if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
		return tag
	}
	r, n := utf8.DecodeRuneInString(f.Name)
	return string(unicode.ToLower(r)) + f.Name[n:]
}
