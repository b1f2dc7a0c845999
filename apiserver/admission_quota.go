package apiserver

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission/resourcequota"
	"github.com/skiff-sh/skiff/storage"
)

// quotaStore is the ResourceQuota plugin's window on quotas (resourcequota.Store): the watch
// cache for reads, etcd after a conflict, and a compare-and-swap status write.
type quotaStore struct{ s *Server }

var _ resourcequota.Store = quotaStore{}

func (q quotaStore) kind() *registry.Kind {
	k, _ := q.s.reg.Lookup("", "v1", "resourcequotas")
	return k
}

func (q quotaStore) Cached(namespace string) []*core.ResourceQuota {
	items, _ := q.s.cache(q.kind()).List(func(o meta.Object) bool { return o.GetObjectMeta().Namespace == namespace })
	out := make([]*core.ResourceQuota, 0, len(items))
	for _, it := range items {
		out = append(out, it.(*core.ResourceQuota))
	}
	return out
}

func (q quotaStore) Live(ctx context.Context, namespace string) ([]*core.ResourceQuota, error) {
	k := q.kind()
	res, err := q.s.store.List(ctx, k.Prefix(namespace), k.New, storage.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*core.ResourceQuota, 0, len(res.Items))
	for _, it := range res.Items {
		out = append(out, it.(*core.ResourceQuota))
	}
	return out, nil
}

// UpdateStatus writes rq.Status only if the stored quota is still at rq.ResourceVersion: the
// charge was computed from that version, and any other write (another request's charge, the
// controller's recalculation, a spec change) invalidates it.
func (q quotaStore) UpdateStatus(ctx context.Context, rq *core.ResourceQuota) (*core.ResourceQuota, error) {
	k := q.kind()
	// rq is the stored quota at rq.ResourceVersion with a new status: as the "cached" copy
	// (with its old status blanked so the write is never taken for a no-op) it makes the
	// update one etcd transaction conditioned on that revision, without a read first.
	base := *rq
	base.Status = core.ResourceQuotaStatus{}
	obj, err := q.s.store.GuaranteedUpdate(ctx, k.Key(rq.Namespace, rq.Name), k.New, func(cur meta.Object) (meta.Object, error) {
		c := cur.(*core.ResourceQuota)
		if c.ResourceVersion != rq.ResourceVersion || c.UID != rq.UID {
			return nil, fmt.Errorf("quota %s/%s changed since it was read: %w", rq.Namespace, rq.Name, storage.ErrConflict)
		}
		n := *c
		n.Status = rq.Status
		return &n, nil
	}, storage.WithCachedObject(&base))
	if err != nil {
		return nil, err
	}
	return obj.(*core.ResourceQuota), nil
}
