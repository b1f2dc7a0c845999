// Package registry is the one place that lists the kinds skiff serves: for each, its group,
// version, resource name, scope, short names, subresources and the fields its field
// selectors support. Adding a kind is one entry in kinds.go.
package registry

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// Kind describes one served resource.
type Kind struct {
	Group      string // "" for the core group
	Version    string
	Kind       string // "Pod"
	Resource   string // "pods"
	Singular   string // "pod"
	Namespaced bool
	ShortNames []string
	Categories []string
	// Type is the struct type of the kind (core.Pod, not *core.Pod).
	Type reflect.Type
	// Status: the kind has a /status subresource; writes to the main resource keep the stored
	// status and writes to /status keep everything else.
	Status bool
	// Scale: the kind has a /scale subresource over spec.replicas.
	Scale bool
	// CreateOnly: objects of the kind are never stored. They are questions asked by POSTing
	// one to the collection (SubjectAccessReview, TokenReview, SelfSubjectReview, ...), and
	// the answer is the same object with its status filled in. For such a kind the API server
	// keeps no watch cache and writes no etcd key; discovery lists the verb "create" only;
	// every other verb is 405. The answer comes from the handler registered for the resource
	// in the API server (apiserver/createonly.go: Server.handleCreateOnly).
	CreateOnly bool
	// Fields returns the kind's own selectable fields (metadata.name and metadata.namespace are
	// added for every kind). Nil means only those two.
	Fields func(obj meta.Object) map[string]string
}

// New returns a new empty object of the kind, with its TypeMeta set.
func (k *Kind) New() meta.Object {
	obj := reflect.New(k.Type).Interface().(meta.Object)
	tm := obj.GetTypeMeta()
	tm.Kind, tm.APIVersion = k.Kind, k.APIVersion()
	return obj
}

// APIVersion is "v1" for the core group, else "group/version".
func (k *Kind) APIVersion() string {
	if k.Group == "" {
		return k.Version
	}
	return k.Group + "/" + k.Version
}

// GroupVersion is APIVersion under its discovery name.
func (k *Kind) GroupVersion() string { return k.APIVersion() }

// ListKind is "PodList".
func (k *Kind) ListKind() string { return k.Kind + "List" }

// HasSpec reports whether the kind has a spec field (generation is tracked only for those).
func (k *Kind) HasSpec() bool {
	_, ok := k.Type.FieldByName("Spec")
	return ok
}

// SelectableFields returns the field set a field selector is matched against.
func (k *Kind) SelectableFields(obj meta.Object) map[string]string {
	m := obj.GetObjectMeta()
	var f map[string]string
	if k.Fields != nil {
		f = k.Fields(obj)
	} else {
		f = make(map[string]string, 2)
	}
	f["metadata.name"] = m.Name
	if k.Namespaced {
		f["metadata.namespace"] = m.Namespace
	}
	return f
}

// SupportsField reports whether a field selector may use field.
func (k *Kind) SupportsField(field string) bool {
	if field == "metadata.name" || (field == "metadata.namespace" && k.Namespaced) {
		return true
	}
	if k.Fields == nil {
		return false
	}
	_, ok := k.Fields(k.New())[field]
	return ok
}

// Key returns the etcd key of an object. Core kinds omit the group segment.
func (k *Kind) Key(namespace, name string) string {
	return k.Prefix(namespace) + name
}

// Prefix returns the etcd key prefix of the kind, or of one namespace of it; it ends in "/".
func (k *Kind) Prefix(namespace string) string {
	var b strings.Builder
	b.WriteString("/registry/")
	if k.Group != "" {
		b.WriteString(k.Group)
		b.WriteByte('/')
	}
	b.WriteString(k.Resource)
	b.WriteByte('/')
	if k.Namespaced && namespace != "" {
		b.WriteString(namespace)
		b.WriteByte('/')
	}
	return b.String()
}

// Registry holds the served kinds.
type Registry struct {
	kinds []*Kind
	byGVR map[string]*Kind
	byGVK map[string]*Kind
}

// New builds a registry from kinds; duplicate resources are a programming error.
func New(kinds ...Kind) *Registry {
	r := &Registry{byGVR: map[string]*Kind{}, byGVK: map[string]*Kind{}}
	for i := range kinds {
		k := &kinds[i]
		if k.Singular == "" {
			k.Singular = strings.ToLower(k.Kind)
		}
		gvr := k.Group + "/" + k.Version + "/" + k.Resource
		if _, dup := r.byGVR[gvr]; dup {
			panic(fmt.Sprintf("registry: %s registered twice", gvr))
		}
		r.byGVR[gvr] = k
		r.byGVK[k.Group+"/"+k.Version+"/"+k.Kind] = k
		r.kinds = append(r.kinds, k)
	}
	return r
}

// Lookup finds a kind by group, version and resource.
func (r *Registry) Lookup(group, version, resource string) (*Kind, bool) {
	k, ok := r.byGVR[group+"/"+version+"/"+resource]
	return k, ok
}

// LookupKind finds a kind by group, version and kind name.
func (r *Registry) LookupKind(group, version, kind string) (*Kind, bool) {
	k, ok := r.byGVK[group+"/"+version+"/"+kind]
	return k, ok
}

// Kinds returns every kind, in registration order.
func (r *Registry) Kinds() []*Kind { return r.kinds }

// GroupVersions returns the served group versions, the core group first, then by name.
func (r *Registry) GroupVersions() []GroupVersion {
	seen := map[GroupVersion]bool{}
	var out []GroupVersion
	for _, k := range r.kinds {
		gv := GroupVersion{k.Group, k.Version}
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Group == "") != (out[j].Group == "") {
			return out[i].Group == ""
		}
		return out[i].Group < out[j].Group
	})
	return out
}

// GroupVersion names one served API version.
type GroupVersion struct{ Group, Version string }

func (gv GroupVersion) String() string {
	if gv.Group == "" {
		return gv.Version
	}
	return gv.Group + "/" + gv.Version
}

// define builds a Kind for the struct type T.
func define[T any](group, version, kind, resource string, namespaced bool) Kind {
	return Kind{Group: group, Version: version, Kind: kind, Resource: resource, Namespaced: namespaced,
		Type: reflect.TypeFor[T]()}
}
