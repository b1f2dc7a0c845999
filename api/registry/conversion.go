package registry

import (
	"fmt"

	"github.com/skiff-sh/skiff/api/meta"
)

// Conversion makes a built-in kind's version a served-only one: objects are stored as Storage
// (another version of the kind, or the kind of another group that Kubernetes stores them as:
// events.k8s.io/v1 Events are core/v1 Events) and converted on the way in and out of a request.
// It is the typed counterpart of a custom resource's StorageVersion, whose conversion is None:
// the API server calls both through the same two edges (toStorageVersion, toVersion).
type Conversion struct {
	// Storage is the kind objects are stored as: its key prefix, Go type and watch cache.
	Storage *Kind
	// ToStorage converts an object of this version into a new object of the storage kind.
	ToStorage func(meta.Object) (meta.Object, error)
	// FromStorage converts a stored object into a new object of this version; the stored
	// object may be a watch cache's and is never modified.
	FromStorage func(meta.Object) (meta.Object, error)
}

// NewStored returns a new empty object of the kind objects of k are stored as.
func (k *Kind) NewStored() meta.Object {
	if k.Conversion != nil {
		return k.Conversion.Storage.New()
	}
	return k.New()
}

// convertible adapts typed conversion functions between a served type S and a storage type T.
func convertible[S, T any](storage Kind, to func(*S) (*T, error), from func(*T) (*S, error)) option {
	return func(k *Kind) {
		st := storage
		k.Conversion = &Conversion{
			Storage: &st,
			ToStorage: func(o meta.Object) (meta.Object, error) {
				s, ok := any(o).(*S)
				if !ok {
					return nil, fmt.Errorf("registry: %s/%s: cannot convert a %T", k.APIVersion(), k.Kind, o)
				}
				t, err := to(s)
				if err != nil {
					return nil, err
				}
				return any(t).(meta.Object), nil
			},
			FromStorage: func(o meta.Object) (meta.Object, error) {
				t, ok := any(o).(*T)
				if !ok {
					return nil, fmt.Errorf("registry: %s/%s: cannot convert a stored %T", k.APIVersion(), k.Kind, o)
				}
				s, err := from(t)
				if err != nil {
					return nil, err
				}
				return any(s).(meta.Object), nil
			},
		}
	}
}
