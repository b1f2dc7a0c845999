// Package admissiontest helps unit-test admission plugins: Objects is an in-memory
// admission.Objects holding whatever objects a test gives it.
package admissiontest

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/storage"
)

// Objects is an in-memory admission.Objects. The kind of each object is found from its Go
// type in skiff's registry.
type Objects struct {
	mu    sync.Mutex
	reg   *registry.Registry
	items map[string]meta.Object // group/resource/namespace/name
}

// NewObjects holds objs.
func NewObjects(objs ...meta.Object) *Objects {
	o := &Objects{reg: registry.Default(), items: map[string]meta.Object{}}
	for _, obj := range objs {
		o.Add(obj)
	}
	return o
}

func key(group, resource, namespace, name string) string {
	return group + "/" + resource + "/" + namespace + "/" + name
}

func (o *Objects) kind(obj meta.Object) *registry.Kind {
	t := reflect.TypeOf(obj).Elem()
	for _, k := range o.reg.Kinds() {
		if k.Type == t {
			return k
		}
	}
	panic(fmt.Sprintf("admissiontest: %T is no registered kind", obj))
}

// Add stores obj (replacing one of the same name).
func (o *Objects) Add(obj meta.Object) {
	k := o.kind(obj)
	m := obj.GetObjectMeta()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items[key(k.Group, k.Resource, m.Namespace, m.Name)] = obj
}

// Get returns the object or an error wrapping storage.ErrNotFound.
func (o *Objects) Get(_ context.Context, group, resource, namespace, name string) (meta.Object, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if obj, ok := o.items[key(group, resource, namespace, name)]; ok {
		return obj, nil
	}
	return nil, fmt.Errorf("%s %s/%s: %w", resource, namespace, name, storage.ErrNotFound)
}

// List returns the objects of a kind in namespace ("" for all).
func (o *Objects) List(group, resource, namespace string) []meta.Object {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []meta.Object
	for _, obj := range o.items {
		k := o.kind(obj)
		if k.Group == group && k.Resource == resource && (namespace == "" || obj.GetObjectMeta().Namespace == namespace) {
			out = append(out, obj)
		}
	}
	return out
}
