// Package field is Kubernetes' field error vocabulary: a Path into an object, an Error that
// names the path, the offending value and why it is wrong, and an ErrorList of them. The
// text of every error is byte-for-byte what the Kubernetes API server prints, because
// kubectl shows it to users and tests (ours and theirs) compare it.
package field

import (
	"strconv"
	"strings"
)

// Path is a path from an object's root to one of its fields. Each Path is an immutable
// node pointing at its parent, so a parent can be shared by many children without copying.
type Path struct {
	name    string // a struct field name, or the index/key when bracketed
	bracket bool   // an index or map key, rendered in brackets
	parent  *Path
}

// NewPath starts a path at the named root field, with optional further children.
func NewPath(name string, more ...string) *Path {
	p := &Path{name: name}
	for _, n := range more {
		p = &Path{name: n, parent: p}
	}
	return p
}

// Root returns the first step of the path.
func (p *Path) Root() *Path {
	for p.parent != nil {
		p = p.parent
	}
	return p
}

// Child returns the path to a struct field (or several nested ones) below p.
func (p *Path) Child(name string, more ...string) *Path {
	r := NewPath(name, more...)
	r.Root().parent = p
	return r
}

// Index returns the path to element i of the list at p: "spec.containers[0]".
func (p *Path) Index(i int) *Path {
	return &Path{name: strconv.Itoa(i), bracket: true, parent: p}
}

// Key returns the path to the map entry key at p: "metadata.labels[app]".
func (p *Path) Key(key string) *Path {
	return &Path{name: key, bracket: true, parent: p}
}

// String renders the path as Kubernetes does: fields joined by dots, indexes and keys in
// brackets. A nil path renders as "<nil>", as in Kubernetes.
func (p *Path) String() string {
	if p == nil {
		return "<nil>"
	}
	var steps []*Path
	for q := p; q != nil; q = q.parent {
		steps = append(steps, q)
	}
	var b strings.Builder
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		// Indexes, keys and (as in Kubernetes) empty names render in brackets: the root
		// path "" of a whole-object error prints as "[]".
		if s.bracket || s.name == "" {
			b.WriteString("[" + s.name + "]")
			continue
		}
		if i < len(steps)-1 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	return b.String()
}
