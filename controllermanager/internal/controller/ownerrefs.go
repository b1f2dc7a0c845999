package controller

import (
	"context"
	"fmt"
	"sync"

	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
)

// RefManager adopts and releases the dependents of one owner, as Kubernetes'
// ControllerRefManager: an orphan the selector matches is adopted, a dependent whose labels
// stopped matching is released, and nothing owned by another controller is touched.
type RefManager struct {
	Client *client.Client
	// Resource of the dependents.
	Resource client.Resource
	Owner    meta.Object
	// OwnerRef is the reference to put on adopted dependents (NewControllerRef).
	OwnerRef meta.OwnerReference
	Selector labels.Selector
	// Recheck reads the owner afresh from the API server: adoption needs proof that the
	// owner still exists and is not being deleted, which a cache cannot give.
	Recheck func(ctx context.Context) (meta.Object, error)

	once     sync.Once
	adoptErr error
}

func (m *RefManager) canAdopt(ctx context.Context) error {
	m.once.Do(func() {
		fresh, err := m.Recheck(ctx)
		if err != nil {
			m.adoptErr = err
			return
		}
		fm := fresh.GetObjectMeta()
		if fm.UID != m.Owner.GetObjectMeta().UID {
			m.adoptErr = fmt.Errorf("original %s/%s is gone: got uid %s, wanted %s", fm.Namespace, fm.Name, fm.UID, m.Owner.GetObjectMeta().UID)
			return
		}
		if fm.DeletionTimestamp != nil {
			m.adoptErr = fmt.Errorf("%s/%s has just been deleted", fm.Namespace, fm.Name)
		}
	})
	return m.adoptErr
}

// Claim returns the objects the owner controls after adopting matching orphans and
// releasing owned objects that no longer match. Errors adopting or releasing one object do
// not stop the others; the first is returned (the caller requeues).
func Claim[PT meta.Object](ctx context.Context, m *RefManager, objs []PT) ([]PT, error) {
	var claimed []PT
	var firstErr error
	owner := m.Owner.GetObjectMeta()
	for _, obj := range objs {
		om := obj.GetObjectMeta()
		matches := m.Selector.Matches(labels.Set(om.Labels))
		if ref := meta.GetControllerOf(om); ref != nil {
			if ref.UID != owner.UID {
				continue // someone else's
			}
			if matches {
				claimed = append(claimed, obj)
				continue
			}
			if owner.DeletionTimestamp != nil {
				continue // being deleted: leave the rest to the garbage collector
			}
			if err := m.release(ctx, om); err != nil && firstErr == nil {
				firstErr = err
			}
			continue
		}
		if !matches || owner.DeletionTimestamp != nil || om.DeletionTimestamp != nil {
			continue
		}
		if err := m.canAdopt(ctx); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("can't adopt %s %s: %w", m.Resource.Resource, om.Name, err)
			}
			continue
		}
		if err := m.adopt(ctx, om); err != nil {
			if !client.IsNotFound(err) && firstErr == nil {
				firstErr = err
			}
			continue
		}
		claimed = append(claimed, obj)
	}
	return claimed, firstErr
}

func (m *RefManager) adopt(ctx context.Context, om *meta.ObjectMeta) error {
	refs := append(append([]meta.OwnerReference(nil), om.OwnerReferences...), m.OwnerRef)
	return PatchMetadata(ctx, m.Client, m.Resource, om.Namespace, om.Name, om.ResourceVersion,
		map[string]any{"ownerReferences": refs})
}

func (m *RefManager) release(ctx context.Context, om *meta.ObjectMeta) error {
	var refs []meta.OwnerReference
	for _, r := range om.OwnerReferences {
		if r.UID != m.Owner.GetObjectMeta().UID {
			refs = append(refs, r)
		}
	}
	err := PatchMetadata(ctx, m.Client, m.Resource, om.Namespace, om.Name, om.ResourceVersion,
		map[string]any{"ownerReferences": OrNil(refs)})
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// ControllerUIDIndex indexes objects by the uid of their controller.
const ControllerUIDIndex = "controllerUID"

// IndexByController adds ControllerUIDIndex to an informer (once: several controllers share
// the pod informer, and the first one adds it).
func IndexByController[T any, PT interface {
	*T
	meta.Object
}](inf *informer.Informer[T, PT]) {
	_ = inf.AddIndexers(map[string]informer.IndexFunc[PT]{
		ControllerUIDIndex: func(obj PT) []string {
			if r := meta.GetControllerOf(obj.GetObjectMeta()); r != nil {
				return []string{r.UID}
			}
			return nil
		},
	})
}

// Controlled returns the objects of an informer indexed with IndexByController whose
// controller has uid.
func Controlled[PT meta.Object](idx *informer.Indexer[PT], uid string) []PT {
	out, _ := idx.ByIndex(ControllerUIDIndex, uid)
	return out
}

// ResolveControllerRef is the object of kind that m's controller reference names, from the
// cache idx (Kubernetes' resolveControllerRef): nil when m has no controller, the
// controller is of another kind, or the cached object of that name is another incarnation
// (a different UID).
func ResolveControllerRef[PT meta.Object](m *meta.ObjectMeta, kind string, idx *informer.Indexer[PT]) PT {
	var none PT
	ref := meta.GetControllerOf(m)
	if ref == nil || ref.Kind != kind {
		return none
	}
	o, ok := idx.GetByName(m.Namespace, ref.Name)
	if !ok || o.GetObjectMeta().UID != ref.UID {
		return none
	}
	return o
}
