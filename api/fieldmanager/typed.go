package fieldmanager

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// itemPE is the element that selects a list item: its key fields in a "map" list, its value
// in a "set", its index otherwise.
func itemPE(t *Type, item any, i int) (PathElement, error) {
	switch t.ListType {
	case ListMap:
		m, ok := item.(map[string]any)
		if !ok {
			return PathElement{}, fmt.Errorf("associative list with keys has an element that is not a map type")
		}
		key := make([]KeyField, 0, len(t.Keys))
		for _, k := range t.Keys {
			if v, ok := m[k]; ok {
				key = append(key, KeyField{k, v})
			} else if d, ok := t.KeyDefaults[k]; ok {
				key = append(key, KeyField{k, d})
			} else if len(t.Keys) == 1 {
				return PathElement{}, fmt.Errorf("associative list with keys has an element that omits key field %q (and doesn't have default value)", k)
			}
		}
		if len(key) == 0 {
			return PathElement{}, fmt.Errorf("associative list with keys has an element that omits all key fields %q (and doesn't have default values for any key fields)", t.Keys)
		}
		slices.SortFunc(key, func(a, b KeyField) int { return strings.Compare(a.Name, b.Name) })
		return PathElement{Kind: 'k', Key: key}, nil
	case ListSet:
		switch item.(type) {
		case map[string]any, []any:
			return PathElement{}, fmt.Errorf("associative list without keys has an element that's a map type")
		}
		return PathElement{Kind: 'v', Value: item}, nil
	}
	return PathElement{Kind: 'i', Index: i}, nil
}

// pathError is a problem with a value at a path (Kubernetes words: ".spec.ports: element 0:
// associative list with keys has an element that omits key field ...").
type pathError struct {
	path Path
	err  error
}

func (e *pathError) Error() string {
	if len(e.path) == 0 {
		return e.err.Error()
	}
	return e.path.String() + ": " + e.err.Error()
}

// FieldSet is the set of fields a value sets (structured-merge-diff's ToFieldSet): its
// scalars, atomic lists and maps, list items, map entries that are not named fields, and
// empty or null values. Duplicate items of a keyed list are owned as one, without children.
func FieldSet(v any, t *Type) (*Set, error) {
	return fieldSet(v, t, false)
}

// configFieldSet is FieldSet of an applied configuration, which may not hold duplicate keys.
func configFieldSet(v any, t *Type) (*Set, error) {
	return fieldSet(v, t, true)
}

func fieldSet(v any, t *Type, strict bool) (*Set, error) {
	s := &Set{}
	var unknown []error
	if err := toSet(v, t, nil, s, strict, &unknown); err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, joinValidationErrors(unknown)
	}
	return s, nil
}

// joinValidationErrors words several errors as structured-merge-diff's ValidationErrors: one
// alone as it is, several under "errors:", one per line, here in path order.
func joinValidationErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = "  " + e.Error()
	}
	slices.Sort(msgs)
	return errors.New("errors:\n" + strings.Join(msgs, "\n"))
}

// toSet adds the fields v sets to s. Fields the schema does not declare are collected in
// unknown (every one is reported, as Kubernetes does), the rest of the value still walked.
func toSet(v any, t *Type, path Path, s *Set, strict bool, unknown *[]error) error {
	t = deduce(t, v)
	switch t.Kind {
	case List:
		if t.ListType == ListAtomic || t.ListType == "" {
			s.Insert(path)
			return nil
		}
		list, _ := v.([]any)
		pes := make([]PathElement, len(list))
		seen := map[string]int{}
		for i, item := range list {
			pe, err := itemPE(t, item, i)
			if err != nil {
				return &pathError{path, fmt.Errorf("element %d: %w", i, err)}
			}
			pes[i] = pe
			seen[pe.serialize()]++
			if strict && seen[pe.serialize()] > 1 {
				return &pathError{append(slices.Clip(path), pe), fmt.Errorf("duplicate entries for key %s", pe.String())}
			}
		}
		for i, item := range list {
			p := append(slices.Clip(path), pes[i])
			if seen[pes[i].serialize()] > 1 {
				s.Insert(p)
				continue
			}
			if err := toSet(item, t.Elem, p, s, strict, unknown); err != nil {
				return err
			}
			s.Insert(p)
		}
	case Map:
		if t.Atomic {
			s.Insert(path)
			return nil
		}
		m, _ := v.(map[string]any)
		for k, val := range m {
			ft, named := t.field(k)
			if ft == nil && !named {
				*unknown = append(*unknown, &pathError{append(slices.Clip(path), fieldPE(k)), fmt.Errorf("field not declared in schema")})
				continue
			}
			p := append(slices.Clip(path), fieldPE(k))
			if err := toSet(val, ft, p, s, strict, unknown); err != nil {
				return err
			}
			if vm, isMap := val.(map[string]any); val == nil || (isMap && len(vm) == 0) || !named {
				s.Insert(p)
			}
		}
	default:
		s.Insert(path)
	}
	return nil
}

// Comparison is what changed between two values.
type Comparison struct {
	Added, Modified, Removed *Set
}

// Compare compares two values of type t as structured-merge-diff does: a path is added or
// removed when it exists on one side only (so a new object, map or list item is itself
// added, with its fields), modified when a scalar or atomic value differs. A value absent
// from an object and a value null are different (null is a value); empty and null lists or
// maps compare as leaves.
func Compare(lhs, rhs any, t *Type) (*Comparison, error) {
	c := &Comparison{Added: &Set{}, Modified: &Set{}, Removed: &Set{}}
	if err := compare(lhs, rhs, true, true, t, nil, c, false); err != nil {
		return nil, err
	}
	return c, nil
}

// compare walks one path; hasL/hasR say whether the value exists on each side.
func compare(l, r any, hasL, hasR bool, t *Type, path Path, c *Comparison, inLeaf bool) error {
	switch {
	case !hasL:
		t = deduce(t, r)
	case !hasR:
		t = deduce(t, l)
	default:
		tl, tr := deduce(t, l), deduce(t, r)
		if tl.Kind != tr.Kind {
			// A deduced value changing shape is a change of the whole value.
			if !inLeaf {
				c.Modified.Insert(path)
			}
			return nil
		}
		t = tl
	}
	leaf := func() {
		if inLeaf {
			return
		}
		inLeaf = true
		switch {
		case !hasL:
			c.Added.Insert(path)
		case !hasR:
			c.Removed.Insert(path)
		case !jsonEqual(l, r):
			c.Modified.Insert(path)
		}
	}
	switch t.Kind {
	case List:
		ll, _ := l.([]any)
		rl, _ := r.([]any)
		if t.ListType == ListAtomic || t.ListType == "" || (len(ll) == 0 && len(rl) == 0) {
			leaf()
			break
		}
		if err := compareLists(ll, rl, t, path, c, inLeaf); err != nil {
			return err
		}
	case Map:
		lm, _ := l.(map[string]any)
		rm, _ := r.(map[string]any)
		if t.Atomic || (len(lm) == 0 && len(rm) == 0) {
			leaf()
			break
		}
		for k, lv := range lm {
			rv, ok := rm[k]
			ft, _ := t.field(k)
			if err := compare(lv, rv, true, ok, ft, append(slices.Clip(path), fieldPE(k)), c, inLeaf); err != nil {
				return err
			}
		}
		for k, rv := range rm {
			if _, ok := lm[k]; ok {
				continue
			}
			ft, _ := t.field(k)
			if err := compare(nil, rv, false, true, ft, append(slices.Clip(path), fieldPE(k)), c, inLeaf); err != nil {
				return err
			}
		}
	default:
		leaf()
	}
	if !inLeaf && len(path) > 0 {
		if !hasL {
			c.Added.Insert(path)
		} else if !hasR {
			c.Removed.Insert(path)
		}
	}
	return nil
}

func compareLists(ll, rl []any, t *Type, path Path, c *Comparison, inLeaf bool) error {
	type items struct {
		pe   PathElement
		l, r []any
	}
	var order []string
	byKey := map[string]*items{}
	add := func(list []any, left bool) error {
		for i, item := range list {
			pe, err := itemPE(t, item, i)
			if err != nil {
				return &pathError{path, fmt.Errorf("element %d: %w", i, err)}
			}
			k := pe.serialize()
			it, ok := byKey[k]
			if !ok {
				it = &items{pe: pe}
				byKey[k] = it
				order = append(order, k)
			}
			if left {
				it.l = append(it.l, item)
			} else {
				it.r = append(it.r, item)
			}
		}
		return nil
	}
	if err := add(ll, true); err != nil {
		return err
	}
	if err := add(rl, false); err != nil {
		return err
	}
	for _, k := range order {
		it := byKey[k]
		p := append(slices.Clip(path), it.pe)
		switch {
		case len(it.l) <= 1 && len(it.r) <= 1:
			var lv, rv any
			if len(it.l) == 1 {
				lv = it.l[0]
			}
			if len(it.r) == 1 {
				rv = it.r[0]
			}
			if err := compare(lv, rv, len(it.l) == 1, len(it.r) == 1, t.Elem, p, c, inLeaf); err != nil {
				return err
			}
		case len(it.l) >= 2 && len(it.r) >= 2:
			if !jsonEqual(it.l, it.r) {
				c.Modified.Insert(p)
			}
		case len(it.l) >= 2:
			if len(it.r) == 1 {
				if err := compare(nil, it.r[0], false, true, t.Elem, p, c, inLeaf); err != nil {
					return err
				}
			}
			c.Removed.Insert(p)
		default:
			if len(it.l) == 1 {
				if err := compare(it.l[0], nil, true, false, t.Elem, p, c, inLeaf); err != nil {
					return err
				}
			}
			c.Added.Insert(p)
		}
	}
	return nil
}

// jsonEqual compares decoded JSON values (numbers by value).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
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
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if valueRank(a) != valueRank(b) {
		return false
	}
	return compareValues(a, b) == 0
}

// Merge merges an applied configuration into a live value (structured-merge-diff's Merge):
// the configuration's scalars and atomic values win, objects merge field by field, keyed
// lists and sets item by item (the configuration's items in its order, then the live
// items it does not name, where they were). It returns a new value; the inputs are not
// changed.
func Merge(live, config any, t *Type) (any, error) {
	return merge(live, config, t, nil)
}

func merge(l, r any, t *Type, path Path) (any, error) {
	t = deduce(t, r)
	switch t.Kind {
	case Map:
		rm, ok := r.(map[string]any)
		lm, lok := l.(map[string]any)
		if !ok || t.Atomic || !lok {
			return deepCopy(r), nil
		}
		out := make(map[string]any, len(lm)+len(rm))
		for k, v := range lm {
			out[k] = v
		}
		for k, rv := range rm {
			ft, _ := t.field(k)
			lv, ok := lm[k]
			if !ok {
				out[k] = deepCopy(rv)
				continue
			}
			mv, err := merge(lv, rv, ft, append(slices.Clip(path), fieldPE(k)))
			if err != nil {
				return nil, err
			}
			out[k] = mv
		}
		return out, nil
	case List:
		rl, ok := r.([]any)
		ll, lok := l.([]any)
		if !ok || !lok || t.ListType == ListAtomic || t.ListType == "" {
			return deepCopy(r), nil
		}
		return mergeLists(ll, rl, t, path)
	}
	return r, nil
}

// mergeLists merges keyed lists or sets. As in structured-merge-diff, the result holds the
// live items not in the configuration, with the configuration's items in its own order
// placed at the position of the first of them the live list holds.
func mergeLists(ll, rl []any, t *Type, path Path) (any, error) {
	rKeys := make([]string, len(rl))
	rByKey := map[string]int{}
	for i, item := range rl {
		pe, err := itemPE(t, item, i)
		if err != nil {
			return nil, &pathError{path, fmt.Errorf("element %d: %w", i, err)}
		}
		k := pe.serialize()
		if _, dup := rByKey[k]; dup {
			return nil, &pathError{append(slices.Clip(path), pe), fmt.Errorf("duplicate entries for key %s", pe.String())}
		}
		rKeys[i], rByKey[k] = k, i
	}
	lByKey := map[string]any{}
	lKeys := make([]string, len(ll))
	for i, item := range ll {
		pe, err := itemPE(t, item, i)
		if err != nil {
			return nil, &pathError{path, fmt.Errorf("element %d: %w", i, err)}
		}
		lKeys[i] = pe.serialize()
		if _, ok := lByKey[lKeys[i]]; !ok {
			lByKey[lKeys[i]] = item
		}
	}
	out := make([]any, 0, len(ll)+len(rl))
	emitted := false
	emitConfig := func() error {
		if emitted {
			return nil
		}
		emitted = true
		for i, item := range rl {
			lv, ok := lByKey[rKeys[i]]
			if !ok {
				out = append(out, deepCopy(item))
				continue
			}
			pe, _ := itemPE(t, item, i)
			mv, err := merge(lv, item, t.Elem, append(slices.Clip(path), pe))
			if err != nil {
				return err
			}
			out = append(out, mv)
		}
		return nil
	}
	for i, item := range ll {
		if _, inConfig := rByKey[lKeys[i]]; inConfig {
			if err := emitConfig(); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, item)
	}
	if err := emitConfig(); err != nil {
		return nil, err
	}
	return out, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// RemoveItems removes from a value the members of s: object fields, list and set items
// (structured-merge-diff's RemoveItems: a member goes with everything below it; an object
// or list left empty becomes null).
func RemoveItems(v any, t *Type, s *Set) any {
	if s == nil || s.Empty() {
		return v
	}
	t = deduce(t, v)
	switch t.Kind {
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, val := range m {
			pe := fieldPE(k)
			if hasKey(s.members, pe.serialize()) {
				continue
			}
			if sub := s.WithPrefix(pe); !sub.Empty() {
				ft, _ := t.field(k)
				val = RemoveItems(val, ft, sub)
			}
			out[k] = val
		}
		if len(out) == 0 {
			return nil // as structured-merge-diff leaves it
		}
		return out
	case List:
		l, ok := v.([]any)
		if !ok || t.ListType == ListAtomic || t.ListType == "" {
			return v
		}
		out := make([]any, 0, len(l))
		for i, item := range l {
			pe, err := itemPE(t, item, i)
			if err != nil {
				out = append(out, item)
				continue
			}
			if hasKey(s.members, pe.serialize()) {
				continue
			}
			if sub := s.WithPrefix(pe); !sub.Empty() {
				item = RemoveItems(item, t.Elem, sub)
			}
			out = append(out, item)
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}
