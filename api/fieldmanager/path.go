// Package fieldmanager tracks which client manages which fields of an object
// (metadata.managedFields) and merges server-side apply configurations, as Kubernetes'
// structured-merge-diff and apiserver fieldmanager do. It works on objects as decoded JSON
// (map[string]any, []any, json.Number, string, bool, nil) described by a Type tree built from
// a Go type or a CustomResourceDefinition's schema; field sets serialize to FieldsV1
// byte-for-byte as Kubernetes writes them.
package fieldmanager

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// PathElement is one step into an object: a field name ('f'), a list item selected by its
// key fields ('k'), a set item selected by its value ('v') or an atomic list's index ('i').
type PathElement struct {
	Kind  byte
	Name  string     // 'f'
	Key   []KeyField // 'k', sorted by name
	Value any        // 'v', a normalized JSON scalar
	Index int        // 'i'
}

// KeyField is one key field of a list item ('k' elements).
type KeyField struct {
	Name  string
	Value any
}

// Path is a sequence of path elements from the object's root.
type Path []PathElement

func fieldPE(name string) PathElement { return PathElement{Kind: 'f', Name: name} }

// String is the human form Kubernetes prints in conflicts: .spec.containers[name="app"].image.
func (p Path) String() string {
	var b strings.Builder
	for _, e := range p {
		b.WriteString(e.String())
	}
	return b.String()
}

func (e PathElement) String() string {
	switch e.Kind {
	case 'f':
		return "." + e.Name
	case 'k':
		parts := make([]string, len(e.Key))
		for i, f := range e.Key {
			parts[i] = f.Name + "=" + valueString(f.Value)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case 'v':
		return "[=" + valueString(e.Value) + "]"
	case 'i':
		return "[" + strconv.Itoa(e.Index) + "]"
	}
	return "{{invalid path element}}"
}

// serialize is the FieldsV1 key of the element: f:name, k:{"name":"x"}, v:"x", i:0.
func (e PathElement) serialize() string {
	switch e.Kind {
	case 'f':
		return "f:" + e.Name
	case 'k':
		var b strings.Builder
		b.WriteString("k:{")
		for i, f := range e.Key {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(marshalValue(f.Name))
			b.WriteByte(':')
			b.Write(marshalValue(f.Value))
		}
		b.WriteByte('}')
		return b.String()
	case 'v':
		return "v:" + string(marshalValue(e.Value))
	case 'i':
		return "i:" + strconv.Itoa(e.Index)
	}
	return ""
}

var errUnknownElement = errors.New("unknown path element type")

// parsePathElement reads a FieldsV1 key.
func parsePathElement(s string) (PathElement, error) {
	if len(s) < 2 || s[1] != ':' {
		return PathElement{}, fmt.Errorf("invalid path element %q", s)
	}
	body := s[2:]
	switch s[0] {
	case 'f':
		return fieldPE(body), nil
	case 'v':
		v, err := decodeValue([]byte(body))
		if err != nil {
			return PathElement{}, fmt.Errorf("path element %q: %w", s, err)
		}
		return PathElement{Kind: 'v', Value: v}, nil
	case 'k':
		v, err := decodeValue([]byte(body))
		if err != nil {
			return PathElement{}, fmt.Errorf("path element %q: %w", s, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return PathElement{}, fmt.Errorf("path element %q: key is not an object", s)
		}
		key := make([]KeyField, 0, len(m))
		for n, fv := range m {
			key = append(key, KeyField{n, fv})
		}
		slices.SortFunc(key, func(a, b KeyField) int { return strings.Compare(a.Name, b.Name) })
		return PathElement{Kind: 'k', Key: key}, nil
	case 'i':
		i, err := strconv.Atoi(body)
		if err != nil {
			return PathElement{}, fmt.Errorf("path element %q: %w", s, err)
		}
		return PathElement{Kind: 'i', Index: i}, nil
	}
	return PathElement{}, errUnknownElement
}

// kindOrder is structured-merge-diff's order of element kinds: fields, keys, values, indexes.
func kindOrder(k byte) int { return strings.IndexByte("fkvi", k) }

// Compare orders path elements as structured-merge-diff does (FieldsV1 keys are written in
// this order).
func (e PathElement) Compare(o PathElement) int {
	if c := kindOrder(e.Kind) - kindOrder(o.Kind); c != 0 {
		return sign(c)
	}
	switch e.Kind {
	case 'f':
		return strings.Compare(e.Name, o.Name)
	case 'k':
		for i := 0; ; i++ {
			if i >= len(e.Key) || i >= len(o.Key) {
				return sign(len(e.Key) - len(o.Key))
			}
			if c := strings.Compare(e.Key[i].Name, o.Key[i].Name); c != 0 {
				return c
			}
			if c := compareValues(e.Key[i].Value, o.Key[i].Value); c != 0 {
				return c
			}
		}
	case 'v':
		return compareValues(e.Value, o.Value)
	case 'i':
		return sign(e.Index - o.Index)
	}
	return 0
}

func sign(i int) int {
	switch {
	case i < 0:
		return -1
	case i > 0:
		return 1
	}
	return 0
}

// valueRank is structured-merge-diff's order of value types: numbers, strings, booleans,
// lists, maps, null.
func valueRank(v any) int {
	switch v.(type) {
	case json.Number, int64, float64, int:
		return 0
	case string:
		return 1
	case bool:
		return 2
	case []any:
		return 3
	case map[string]any:
		return 4
	}
	return 5
}

func compareValues(a, b any) int {
	ra, rb := valueRank(a), valueRank(b)
	if ra != rb {
		return sign(ra - rb)
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case []any:
		y := b.([]any)
		for i := 0; ; i++ {
			if i >= len(x) || i >= len(y) {
				return sign(len(x) - len(y))
			}
			if c := compareValues(x[i], y[i]); c != 0 {
				return c
			}
		}
	case map[string]any:
		y := b.(map[string]any)
		return strings.Compare(string(marshalValue(x)), string(marshalValue(y)))
	case nil:
		return 0
	}
	fa, ia, aInt := number(a)
	fb, ib, bInt := number(b)
	if aInt && bInt {
		return sign(int(max(min(ia-ib, 1), -1)))
	}
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

// number reads a JSON number as an integer when it is one.
func number(v any) (float64, int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return float64(i), i, true
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f, 0, false
	case int64:
		return float64(x), x, true
	case int:
		return float64(x), int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return x, int64(x), true
		}
		return x, 0, false
	}
	return 0, 0, false
}

// valueString prints a value as structured-merge-diff's value.ToString does.
func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = valueString(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k + "=" + valueString(x[k]))
		}
		return b.String()
	}
	f, i, isInt := number(v)
	if isInt {
		return strconv.FormatInt(i, 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// marshalValue writes a JSON value with sorted object keys (encoding/json sorts map keys,
// and json.Number keeps the number's text).
func marshalValue(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// decodeValue decodes JSON keeping numbers as json.Number.
func decodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
