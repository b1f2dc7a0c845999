package apiserver

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// admissionObjects lets admission plugins read the server's watch caches (admission.Objects).
type admissionObjects struct{ s *Server }

var _ admission.Objects = admissionObjects{}

func (o admissionObjects) kind(group, resource string) (*registry.Kind, error) {
	for _, k := range o.s.reg.Kinds() {
		if k.Group == group && k.Resource == resource {
			return k, nil
		}
	}
	return nil, fmt.Errorf("admission: no kind %q in group %q", resource, group)
}

func (o admissionObjects) Get(ctx context.Context, group, resource, namespace, name string) (meta.Object, error) {
	k, err := o.kind(group, resource)
	if err != nil {
		return nil, err
	}
	key := k.Key(namespace, name)
	if obj, ok := o.s.cache(k).Get(key); ok {
		return obj, nil
	}
	// The cache may lag an object written a moment ago: ask storage before saying no.
	obj := k.New()
	if err := o.s.store.Get(ctx, key, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func (o admissionObjects) List(group, resource, namespace string) []meta.Object {
	k, err := o.kind(group, resource)
	if err != nil {
		return nil
	}
	items, _ := o.s.cache(k).List(func(obj meta.Object) bool {
		return namespace == "" || obj.GetObjectMeta().Namespace == namespace
	})
	return items
}
