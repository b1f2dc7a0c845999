package patch

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Directives of a strategic merge patch.
const (
	directiveMarker     = "$patch" // "replace", "delete" or "merge", in a map or a list element
	retainKeysDirective = "$retainKeys"
	deleteFromPrefix    = "$deleteFromPrimitiveList" // + "/<field>": values to remove from a merged primitive list
	setOrderPrefix      = "$setElementOrder"         // + "/<field>": final order of a merged list
)

// StrategicMergePatch applies a Kubernetes strategic merge patch to original, the way
// the Kubernetes API server does (apimachinery's strategicpatch with the server's
// options: $deleteFromPrimitiveList honoured, nulls for absent fields dropped). schema
// is the Go type of the object (a struct or pointer to one); its json, patchStrategy
// and patchMergeKey tags decide how each field merges:
//
//   - objects merge key by key, null deletes a key; fields typed map[string]X too;
//   - lists replace, except with patchStrategy "merge": lists of objects merge element
//     by element on the patchMergeKey field, lists of primitives merge as a set;
//   - patchStrategy "replace" replaces an object field whole;
//   - types with their own MarshalJSON (times, quantities, IntOrString) are atomic;
//   - fields the schema does not know (or a nil schema) get merge patch semantics:
//     objects merge, lists replace.
//
// The directives are "$patch": "replace" | "delete" | "merge" in objects and list
// elements, "$retainKeys", "$deleteFromPrimitiveList/<field>" and
// "$setElementOrder/<field>". Merged lists are ordered as Kubernetes orders them (see
// orderList): the elements the patch names take the patch's order (or
// $setElementOrder's), the others keep their original place relative to those — so
// an element new to the list lands before the original elements that followed the
// last one named, not necessarily at the end.
func StrategicMergePatch(original, patch []byte, schema reflect.Type) ([]byte, error) {
	if schema != nil {
		if schema = deref(schema); schema.Kind() != reflect.Struct {
			return nil, fmt.Errorf("patch: schema %s is not a struct type", schema)
		}
	}
	doc, err := decodeOriginal(original)
	if err != nil {
		return nil, err
	}
	om, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("patch: original document is not a JSON object")
	}
	p, err := decodePatch(patch)
	if err != nil {
		return nil, err
	}
	pm, ok := p.(map[string]any)
	if !ok {
		return nil, badPatch("a strategic merge patch must be a JSON object")
	}
	out, err := mergeMap(om, pm, schema)
	if err != nil {
		return nil, err
	}
	return encode(out)
}

// mergeMap applies patch to original and returns the result; original may be nil (the
// field is new) and is modified in place. t is the Go type original decodes into, nil
// when unknown.
func mergeMap(original, patch map[string]any, t reflect.Type) (map[string]any, error) {
	if d, ok := patch[directiveMarker]; ok {
		switch d {
		case "replace":
			original = nil // the rest of the patch is the whole new value
		case "delete":
			return map[string]any{}, nil
		case "merge": // the default, spelled out
		default:
			return nil, badPatch("unknown directive %s: %s", directiveMarker, brief(d))
		}
		delete(patch, directiveMarker)
	}
	if original == nil {
		original = map[string]any{}
	}
	if err := retainKeys(original, patch); err != nil {
		return nil, err
	}

	// Sorted keys make the outcome (and which error is reported) independent of map order.
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	// $setElementOrder is applied last, but needs the order of the list before the
	// patch touched it: that decides where the elements it does not name end up.
	type ordering struct {
		field         string
		order, server []any
	}
	var orders []ordering
	for _, k := range keys {
		if strings.HasPrefix(k, setOrderPrefix) {
			name, list, err := listDirective(k, setOrderPrefix, patch[k])
			if err != nil {
				return nil, err
			}
			server, _ := original[name].([]any)
			orders = append(orders, ordering{name, list, slices.Clone(server)})
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, deleteFromPrefix) {
			name, list, err := listDirective(k, deleteFromPrefix, patch[k])
			if err != nil {
				return nil, err
			}
			if cur, ok := original[name].([]any); ok {
				gone := indexList(list, "")
				original[name] = slices.DeleteFunc(cur, func(v any) bool { return gone.find(v) >= 0 })
			}
		}
	}

	for _, k := range keys {
		if strings.HasPrefix(k, setOrderPrefix) || strings.HasPrefix(k, deleteFromPrefix) {
			continue
		}
		pv := patch[k]
		if pv == nil {
			delete(original, k)
			continue
		}
		v, keep, err := applyValue(original[k], pv, lookupField(t, k))
		if err != nil {
			return nil, within(k, err)
		}
		if keep {
			original[k] = v
		} else {
			delete(original, k)
		}
	}

	for _, o := range orders {
		key := lookupField(t, o.field).mergeKey
		if pl, ok := patch[o.field].([]any); ok {
			if err := checkOrder(pl, o.order, key); err != nil {
				return nil, within(o.field, err)
			}
		}
		if list, ok := original[o.field].([]any); ok {
			original[o.field] = orderList(list, o.order, o.server, key)
		}
	}
	return original, nil
}

// applyValue applies the patch value p to the original value o (nil when absent) of a
// field described by f. keep is false when the field should disappear.
func applyValue(o, p any, f field) (v any, keep bool, err error) {
	if isAtomic(f.typ) {
		return p, true, nil
	}
	switch pv := p.(type) {
	case map[string]any:
		om, isMap := o.(map[string]any)
		if !isMap && pv[directiveMarker] == "delete" {
			return nil, false, nil // deleting what is not there
		}
		if !isMap || f.replace {
			om = nil
		}
		m, err := mergeMap(om, pv, f.typ)
		return m, true, err
	case []any:
		if f.merge {
			ol, _ := o.([]any)
			l, err := mergeList(ol, pv, f)
			return l, true, err
		}
		l, err := replaceList(pv, elemType(f.typ))
		return l, true, err
	}
	return p, true, nil
}

// replaceList builds a list that replaces the original whole, still resolving the
// directives and nulls inside its elements.
func replaceList(p []any, elem reflect.Type) ([]any, error) {
	out := make([]any, 0, len(p))
	for i, e := range p {
		if e == nil {
			out = append(out, nil)
			continue
		}
		v, keep, err := applyValue(nil, e, field{typ: elem})
		if err != nil {
			return nil, within(fmt.Sprintf("[%d]", i), err)
		}
		if keep {
			out = append(out, v)
		}
	}
	return out, nil
}

// mergeList merges a list whose field has patchStrategy "merge".
func mergeList(original, p []any, f field) ([]any, error) {
	elem := elemType(f.typ)
	if f.mergeKey == "" {
		if slices.ContainsFunc(p, isMap) {
			// Objects cannot be matched without a merge key: replace the list.
			return replaceList(p, elem)
		}
		// A set of primitives: union, without duplicates.
		merged := indexList(nil, "")
		for _, v := range slices.Concat(original, p) {
			if merged.find(v) < 0 {
				merged.add(v)
			}
		}
		return orderList(merged.list, p, original, ""), nil
	}

	key := f.mergeKey
	var elems []any             // the patch elements that merge into or add to the list
	gone := indexList(nil, key) // the elements "$patch": "delete" removes
	replace := false
	for _, e := range p {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, badPatch("element %s of a list merged on %q is not an object", brief(e), key)
		}
		d, ok := m[directiveMarker]
		if !ok {
			elems = append(elems, m)
			continue
		}
		switch d {
		case "delete":
			if _, ok := m[key]; !ok {
				return nil, badPatch("element %s deletes without naming merge key %q", brief(m), key)
			}
			gone.add(m)
		case "replace":
			// Kubernetes drops the marker element and replaces the list with the rest.
			replace = true
		case "merge":
			delete(m, directiveMarker)
			if len(m) > 0 {
				elems = append(elems, m)
			}
		default:
			return nil, badPatch("unknown directive %s: %s", directiveMarker, brief(d))
		}
	}
	if replace {
		return replaceList(elems, elem)
	}
	// Every element with a deleted key goes, duplicates included.
	original = slices.DeleteFunc(original, func(o any) bool { return gone.find(o) >= 0 })

	merged := indexList(original, key)
	for _, e := range elems {
		m := e.(map[string]any)
		kv, ok := m[key]
		if !ok {
			return nil, badPatch("element %s does not contain merge key %q", brief(m), key)
		}
		i := merged.find(m)
		var om map[string]any
		if i >= 0 {
			om, _ = merged.list[i].(map[string]any)
		}
		nm, err := mergeMap(om, m, elem)
		if err != nil {
			return nil, within(fmt.Sprintf("[%s=%s]", key, brief(kv)), err)
		}
		if i >= 0 {
			merged.list[i] = nm
		} else {
			merged.add(nm)
		}
	}
	return orderList(merged.list, elems, original, key), nil
}

// orderList orders a merged list the way Kubernetes does. The elements named in
// order come first in that order; the other ("server-only") elements keep their
// relative order from server, the list before the patch, and each is placed before the
// first named element it preceded in server. Elements new to the list have no place in
// server, so a server-only element never moves ahead of them: without
// $setElementOrder, a new element lands before the server-only elements that follow
// the last named one (apimachinery's mergeSortedSlice). Elements are identified by
// mergeKey, or by value when it is empty.
func orderList(list, order, server []any, mergeKey string) []any {
	inOrder, inServer := indexList(order, mergeKey), indexList(server, mergeKey)
	type elem struct {
		v      any
		order  int // position in order
		server int // position in server, -1 if new
	}
	var named, rest []elem
	for _, v := range list {
		e := elem{v, inOrder.find(v), inServer.find(v)}
		if e.order >= 0 {
			named = append(named, e)
		} else {
			rest = append(rest, e)
		}
	}
	slices.SortStableFunc(named, func(a, b elem) int { return cmp.Compare(a.order, b.order) })
	slices.SortStableFunc(rest, func(a, b elem) int {
		return cmp.Compare(uint(a.server), uint(b.server)) // -1 wraps around: new ones last
	})

	out := make([]any, 0, len(list))
	for len(named) > 0 || len(rest) > 0 {
		next := &named
		switch {
		case len(named) == 0:
			next = &rest
		case len(rest) > 0 && rest[0].server >= 0 && named[0].server >= 0 && rest[0].server < named[0].server:
			next = &rest
		}
		out = append(out, (*next)[0].v)
		*next = (*next)[1:]
	}
	return out
}

// checkOrder enforces what Kubernetes requires of $setElementOrder: every element of
// the patch list (deletions aside) appears in it, in the same relative order.
func checkOrder(patchList, order []any, mergeKey string) error {
	inOrder := indexList(order, mergeKey)
	last := -1
	for _, v := range patchList {
		if m, ok := v.(map[string]any); ok {
			if _, ok := m[directiveMarker]; ok {
				continue
			}
		}
		// find gives the first match; the patch list holds each element once.
		i := inOrder.find(v)
		if i <= last {
			return badPatch("the order of the patch list does not match %s: %s is missing or out of order", setOrderPrefix, brief(v))
		}
		last = i
	}
	return nil
}

// retainKeys applies "$retainKeys": original keeps only the listed fields, and the
// patch may only set listed fields.
func retainKeys(original, patch map[string]any) error {
	rk, ok := patch[retainKeysDirective]
	if !ok {
		return nil
	}
	delete(patch, retainKeysDirective)
	list, ok := rk.([]any)
	if !ok {
		return badPatch("%s must be a list of field names, not %s", retainKeysDirective, brief(rk))
	}
	keep := make(map[string]bool, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return badPatch("%s must be a list of field names, not %s", retainKeysDirective, brief(rk))
		}
		keep[s] = true
	}
	for k, v := range patch {
		if v == nil || strings.HasPrefix(k, setOrderPrefix) || strings.HasPrefix(k, deleteFromPrefix) {
			continue
		}
		if !keep[k] {
			return badPatch("field %q is set by the patch but not listed in %s", k, retainKeysDirective)
		}
	}
	for k := range original {
		if !keep[k] {
			delete(original, k)
		}
	}
	return nil
}

// listDirective splits "$prefix/field" and checks that its value is a list.
func listDirective(key, prefix string, v any) (string, []any, error) {
	name, ok := strings.CutPrefix(key, prefix+"/")
	if !ok || name == "" {
		return "", nil, badPatch("directive %q must have the form %s/<field>", key, prefix)
	}
	list, ok := v.([]any)
	if !ok {
		return "", nil, badPatch("%s must be a list, not %s", key, brief(v))
	}
	return name, list, nil
}

func isMap(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}
