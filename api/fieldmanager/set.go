package fieldmanager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Set is a set of paths, stored as a tree: members are the paths that end at this level,
// children the sets below an element. A path can be both a member and have children (a list
// item owned as a whole and field by field), which FieldsV1 writes as ".": {}.
type Set struct {
	members  map[string]PathElement // serialized element → element
	children map[string]*childSet
}

type childSet struct {
	pe  PathElement
	set *Set
}

// NewSet returns a set holding the given paths.
func NewSet(paths ...Path) *Set {
	s := &Set{}
	for _, p := range paths {
		s.Insert(p)
	}
	return s
}

// Insert adds a path (an empty path is ignored).
func (s *Set) Insert(p Path) {
	for len(p) > 1 {
		s = s.child(p[0])
		p = p[1:]
	}
	if len(p) == 1 {
		if s.members == nil {
			s.members = map[string]PathElement{}
		}
		s.members[p[0].serialize()] = p[0]
	}
}

func (s *Set) child(pe PathElement) *Set {
	k := pe.serialize()
	if c, ok := s.children[k]; ok {
		return c.set
	}
	if s.children == nil {
		s.children = map[string]*childSet{}
	}
	c := &childSet{pe: pe, set: &Set{}}
	s.children[k] = c
	return c.set
}

// Has reports whether p is a member.
func (s *Set) Has(p Path) bool {
	for len(p) > 1 {
		c, ok := s.children[p[0].serialize()]
		if !ok {
			return false
		}
		s, p = c.set, p[1:]
	}
	if len(p) == 0 {
		return false
	}
	_, ok := s.members[p[0].serialize()]
	return ok
}

// Empty reports whether the set has no member at any depth.
func (s *Set) Empty() bool {
	if s == nil {
		return true
	}
	if len(s.members) > 0 {
		return false
	}
	for _, c := range s.children {
		if !c.set.Empty() {
			return false
		}
	}
	return true
}

// Union returns the paths in s or o.
func (s *Set) Union(o *Set) *Set {
	out := &Set{}
	out.addAll(s)
	out.addAll(o)
	return out
}

func (s *Set) addAll(o *Set) {
	if o == nil {
		return
	}
	for k, pe := range o.members {
		if s.members == nil {
			s.members = map[string]PathElement{}
		}
		s.members[k] = pe
	}
	for _, c := range o.children {
		s.child(c.pe).addAll(c.set)
	}
}

// Difference returns the paths of s not in o.
func (s *Set) Difference(o *Set) *Set {
	out := &Set{}
	if s == nil {
		return out
	}
	for k, pe := range s.members {
		if o == nil || !hasKey(o.members, k) {
			if out.members == nil {
				out.members = map[string]PathElement{}
			}
			out.members[k] = pe
		}
	}
	for k, c := range s.children {
		var sub *Set
		if o != nil {
			if oc, ok := o.children[k]; ok {
				sub = c.set.Difference(oc.set)
			}
		}
		if sub == nil {
			sub = c.set.Union(nil)
		}
		if !sub.Empty() {
			out.child(c.pe).addAll(sub)
		}
	}
	return out
}

// Intersection returns the paths in both s and o.
func (s *Set) Intersection(o *Set) *Set {
	out := &Set{}
	if s == nil || o == nil {
		return out
	}
	for k, pe := range s.members {
		if hasKey(o.members, k) {
			if out.members == nil {
				out.members = map[string]PathElement{}
			}
			out.members[k] = pe
		}
	}
	for k, c := range s.children {
		if oc, ok := o.children[k]; ok {
			if sub := c.set.Intersection(oc.set); !sub.Empty() {
				out.child(c.pe).addAll(sub)
			}
		}
	}
	return out
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// WithPrefix returns the set below the element path p (nil when there is none).
func (s *Set) WithPrefix(pe PathElement) *Set {
	if s == nil {
		return nil
	}
	if c, ok := s.children[pe.serialize()]; ok {
		return c.set
	}
	return nil
}

// HasPrefix reports whether p is a member or has members below it.
func (s *Set) HasPrefix(p Path) bool {
	for len(p) > 0 {
		if len(p) == 1 && hasKey(s.members, p[0].serialize()) {
			return true
		}
		c, ok := s.children[p[0].serialize()]
		if !ok {
			return false
		}
		s, p = c.set, p[1:]
	}
	return !s.Empty()
}

func sortedMembers(m map[string]PathElement) []PathElement {
	out := make([]PathElement, 0, len(m))
	for _, pe := range m {
		out = append(out, pe)
	}
	slices.SortFunc(out, PathElement.Compare)
	return out
}

func (s *Set) sortedChildren() []*childSet {
	out := make([]*childSet, 0, len(s.children))
	for _, c := range s.children {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *childSet) int { return a.pe.Compare(b.pe) })
	return out
}

// Paths lists the members in structured-merge-diff's iteration order: a level's members,
// then its children's, each in element order (the order conflicts are reported in).
func (s *Set) Paths() []Path {
	var out []Path
	s.iterate(nil, func(p Path) { out = append(out, slices.Clone(p)) })
	return out
}

func (s *Set) iterate(prefix Path, fn func(Path)) {
	if s == nil {
		return
	}
	for _, pe := range sortedMembers(s.members) {
		fn(append(prefix, pe))
	}
	for _, c := range s.sortedChildren() {
		c.set.iterate(append(prefix, c.pe), fn)
	}
}

// MarshalJSON writes the set as FieldsV1.
func (s *Set) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	s.emit(&b, false)
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (s *Set) emit(b *bytes.Buffer, self bool) {
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	if self && !s.Empty() {
		sep()
		b.WriteString(`".":{}`)
	}
	members, children := sortedMembers(s.members), s.sortedChildren()
	for len(members) > 0 || len(children) > 0 {
		var pe PathElement
		var sub *Set
		var member bool
		switch {
		case len(children) == 0 || (len(members) > 0 && members[0].Compare(children[0].pe) < 0):
			pe, member, members = members[0], true, members[1:]
		case len(members) == 0 || members[0].Compare(children[0].pe) > 0:
			pe, sub, children = children[0].pe, children[0].set, children[1:]
		default:
			pe, member, sub = members[0], true, children[0].set
			members, children = members[1:], children[1:]
		}
		sep()
		key, _ := json.Marshal(pe.serialize())
		b.Write(key)
		b.WriteString(":{")
		if sub != nil {
			sub.emit(b, member)
		}
		b.WriteByte('}')
	}
}

// UnmarshalJSON reads FieldsV1. Elements of kinds it does not know are dropped, as
// structured-merge-diff drops them.
func (s *Set) UnmarshalJSON(data []byte) error {
	v, err := decodeValue(data)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("FieldsV1 is not a JSON object")
	}
	*s = Set{}
	return s.read(m)
}

func (s *Set) read(m map[string]any) error {
	for k, v := range m {
		if k == "." {
			continue
		}
		pe, err := parsePathElement(k)
		if err == errUnknownElement {
			continue
		}
		if err != nil {
			return err
		}
		sub, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("FieldsV1: the value of %q is not an object", k)
		}
		_, member := sub["."]
		hasChildren := len(sub) > 1 || (len(sub) == 1 && !member)
		if !hasChildren || member {
			if s.members == nil {
				s.members = map[string]PathElement{}
			}
			s.members[pe.serialize()] = pe
		}
		if hasChildren {
			if err := s.child(pe).read(sub); err != nil {
				return err
			}
		}
	}
	return nil
}
