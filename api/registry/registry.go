// Package registry is the one place that lists the kinds skiff serves: for each, its group,
// version, resource name, scope, short names, subresources and the fields its field
// selectors support. Adding a kind is one entry in kinds.go.
package registry

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/unstructured"
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
	// Custom is set on the kinds a CustomResourceDefinition defines (custom.go).
	Custom *Custom
	// Conversion is set on a served version of a built-in kind that is stored as another
	// (conversion.go): objects live in etcd and the watch cache as Conversion.Storage and are
	// converted at the edges of a request, as a custom resource's versions are.
	Conversion *Conversion
	// Fields returns the kind's own selectable fields (metadata.name and metadata.namespace are
	// added for every kind). Nil means only those two. Selectors are matched against stored
	// objects: for a kind with a Conversion, Fields takes an object of the storage kind and
	// names the fields as this version calls them.
	Fields func(obj meta.Object) map[string]string
}

// New returns a new empty object of the kind, with its TypeMeta set.
func (k *Kind) New() meta.Object {
	if k.Custom != nil {
		u := unstructured.New(k.APIVersion(), k.Kind)
		// A webhook-converted version other than the storage one gets its defaults after
		// conversion (the API server applies them), not on an object still in storage form.
		converted := k.Custom.Webhook != nil && k.APIVersion() != k.Custom.StorageVersion
		if s := k.Custom.Schema; s != nil && s.HasDefaults() && !converted {
			// Defaults apply on every read from storage too, as in Kubernetes: a default
			// added to the schema shows on objects stored before it.
			u.OnDecode = func(u *unstructured.Unstructured) { s.DefaultFields(u) }
		}
		return u
	}
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
	if k.Custom != nil {
		return true
	}
	_, ok := k.Type.FieldByName("Spec")
	return ok
}

// SelectableFields returns the field set a field selector is matched against.
func (k *Kind) SelectableFields(obj meta.Object) map[string]string {
	m := obj.GetObjectMeta()
	var f map[string]string
	if c := k.Conversion; c != nil && k.Fields != nil && reflect.TypeOf(obj).Elem() != c.Storage.Type {
		// An object in this version (not the stored one Fields reads): convert it first.
		if st, err := c.ToStorage(obj); err == nil {
			obj = st
		}
	}
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
	_, ok := k.Fields(k.NewStored())[field]
	return ok
}

// Key returns the etcd key of an object. Core kinds omit the group segment.
func (k *Kind) Key(namespace, name string) string {
	return k.Prefix(namespace) + name
}

// Prefix returns the etcd key prefix of the kind, or of one namespace of it; it ends in "/".
// A converted version's objects are under its storage kind's prefix.
func (k *Kind) Prefix(namespace string) string {
	if k.Conversion != nil {
		return k.Conversion.Storage.Prefix(namespace)
	}
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

// Registry holds the served kinds. The built-in kinds are fixed at New; the kinds a
// CustomResourceDefinition defines come and go at run time (Replace, Remove). Readers never
// lock: every change publishes a new immutable snapshot, so a lookup sees the registry either
// before or after a change, never half of one, and a *Kind it got stays valid (if stale) for
// the request that holds it.
type Registry struct {
	mu   sync.Mutex // serializes writers
	snap atomic.Pointer[snapshot]
}

type snapshot struct {
	kinds []*Kind
	byGVR map[string]*Kind
	byGVK map[string]*Kind
}

func gvrKey(group, version, resource string) string { return group + "/" + version + "/" + resource }

func (s *snapshot) add(k *Kind) error {
	if k.Singular == "" {
		k.Singular = strings.ToLower(k.Kind)
	}
	gvr := gvrKey(k.Group, k.Version, k.Resource)
	if _, dup := s.byGVR[gvr]; dup {
		return fmt.Errorf("registry: %s registered twice", gvr)
	}
	gvk := k.Group + "/" + k.Version + "/" + k.Kind
	if _, dup := s.byGVK[gvk]; dup {
		return fmt.Errorf("registry: kind %s registered twice", gvk)
	}
	s.byGVR[gvr] = k
	s.byGVK[gvk] = k
	s.kinds = append(s.kinds, k)
	return nil
}

// New builds a registry from kinds; duplicate resources are a programming error.
func New(kinds ...Kind) *Registry {
	s := &snapshot{byGVR: map[string]*Kind{}, byGVK: map[string]*Kind{}}
	for i := range kinds {
		if err := s.add(&kinds[i]); err != nil {
			panic(err.Error())
		}
	}
	r := &Registry{}
	r.snap.Store(s)
	return r
}

// Replace swaps the kinds a CustomResourceDefinition defines for kinds (none: it only
// removes). Every kind must carry Custom.CRD == crd. A kind that would take a resource or
// kind name another definition (or a built-in kind) serves is refused, and nothing changes.
func (r *Registry) Replace(crd string, kinds []Kind) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	s := &snapshot{byGVR: make(map[string]*Kind, len(old.byGVR)), byGVK: make(map[string]*Kind, len(old.byGVK))}
	for _, k := range old.kinds {
		if k.Custom != nil && k.Custom.CRD == crd {
			continue
		}
		s.add(k)
	}
	for i := range kinds {
		k := kinds[i]
		if k.Custom == nil || k.Custom.CRD != crd {
			return fmt.Errorf("registry: kind %s is not defined by %s", k.Kind, crd)
		}
		if err := s.add(&k); err != nil {
			return err
		}
	}
	r.snap.Store(s)
	return nil
}

// Remove drops the kinds a CustomResourceDefinition defines.
func (r *Registry) Remove(crd string) { r.Replace(crd, nil) }

// Lookup finds a kind by group, version and resource.
func (r *Registry) Lookup(group, version, resource string) (*Kind, bool) {
	k, ok := r.snap.Load().byGVR[gvrKey(group, version, resource)]
	return k, ok
}

// LookupKind finds a kind by group, version and kind name.
func (r *Registry) LookupKind(group, version, kind string) (*Kind, bool) {
	k, ok := r.snap.Load().byGVK[group+"/"+version+"/"+kind]
	return k, ok
}

// Kinds returns every kind, the built-in ones in registration order first. The slice is
// shared: callers must not modify it.
func (r *Registry) Kinds() []*Kind { return r.snap.Load().kinds }

// GroupVersions returns the served group versions, the core group first, then by group name;
// the versions of one group in the order their kinds were added (a definition adds its
// versions most preferred first).
func (r *Registry) GroupVersions() []GroupVersion {
	seen := map[GroupVersion]bool{}
	var out []GroupVersion
	for _, k := range r.Kinds() {
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
