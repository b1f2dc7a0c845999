package patch

import (
	"encoding/json"
	"slices"
	"strconv"
)

// listIndex finds the elements of a list by identity — the merge key's value for lists
// of objects, the value itself for lists of primitives — through a map rather than a
// scan. Patched lists can be long (a request may carry a hundred thousand elements) and
// a quadratic merge would let one request burn the server's CPU.
type listIndex struct {
	mergeKey string
	list     []any
	pos      map[string]int // scalar identity → first position
}

func indexList(list []any, mergeKey string) *listIndex {
	x := &listIndex{mergeKey: mergeKey, list: make([]any, 0, len(list)), pos: make(map[string]int, len(list))}
	for _, v := range list {
		x.add(v)
	}
	return x
}

// id is the value that identifies v, if it has one.
func (x *listIndex) id(v any) (any, bool) {
	if x.mergeKey == "" {
		return v, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	kv, ok := m[x.mergeKey]
	return kv, ok
}

func (x *listIndex) add(v any) {
	if id, ok := x.id(v); ok {
		if k, ok := scalarKey(id); ok {
			if _, dup := x.pos[k]; !dup {
				x.pos[k] = len(x.list)
			}
		}
	}
	x.list = append(x.list, v)
}

// find returns the position of the first element with the same identity as v, or -1.
func (x *listIndex) find(v any) int {
	id, ok := x.id(v)
	if !ok {
		return -1
	}
	if k, ok := scalarKey(id); ok {
		if i, ok := x.pos[k]; ok {
			return i
		}
		return -1
	}
	// Objects or arrays as identities are rare (a list of objects without a merge
	// key being ordered); scanning is fine for them.
	return slices.IndexFunc(x.list, func(e any) bool {
		eid, ok := x.id(e)
		return ok && jsonEqual(eid, id)
	})
}

// scalarKey maps a JSON scalar to a string that is equal exactly when jsonEqual says
// the scalars are. Objects and arrays have none.
func scalarKey(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "null", true
	case bool:
		return strconv.FormatBool(x), true
	case string:
		return "s" + x, true
	case json.Number:
		return "n" + numberKey(x), true
	}
	return "", false
}

// numberKey canonicalises a JSON number: integers exactly, anything else through
// float64, so 1, 1.0 and 1e0 share a key. (Exact rational arithmetic would let a
// number like 1e999999999 allocate without bound.)
func numberKey(n json.Number) string {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	if f, err := strconv.ParseFloat(string(n), 64); err == nil {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return string(n)
}
