package apiserver

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission/noderestriction"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz/node"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// Node identity in the API server: the Node authorizer's graph, fed by the pod watch cache,
// and NodeRestriction admission on every write a node makes.

// setUpNodeAuthorizer makes the Node authorizer and keeps its graph current from the pod
// and claim watch caches until ctx ends. Call it before setUpSecurity, which puts it in the
// chain.
func (s *Server) setUpNodeAuthorizer(ctx context.Context) {
	g := node.NewGraph()
	s.nodeAuthorizer = node.New(g)
	log := s.log.With("component", "node-authorizer")
	podKind, _ := s.reg.Lookup("", "v1", "pods")
	go follow(ctx, s.caches[podKind], g.Reset, func(t string, o meta.Object) {
		if p, ok := o.(*core.Pod); ok {
			if t == meta.Deleted {
				g.DeletePod(p)
			} else {
				g.SetPod(p)
			}
		}
	}, log)
	pvcKind, _ := s.reg.Lookup("", "v1", "persistentvolumeclaims")
	go follow(ctx, s.caches[pvcKind], g.ResetClaims, func(t string, o meta.Object) {
		if c, ok := o.(*core.PersistentVolumeClaim); ok {
			if t == meta.Deleted {
				g.DeleteClaim(c)
			} else {
				g.SetClaim(c)
			}
		}
	}, log)
}

// follow feeds a watch cache to apply: the whole state first (after reset), then every
// change. A watcher cut off (slow, or the cache relisted) starts over from a fresh state.
func follow(ctx context.Context, c *watchcache.Cache, reset func(), apply func(string, meta.Object), log interface{ Warn(string, ...any) }) {
	for ctx.Err() == nil {
		w, err := c.Watch(ctx, 0, nil, watchcache.WatchOptions{SendInitialState: true})
		if err != nil {
			if errors.Is(err, watchcache.ErrCacheStopped) || ctx.Err() != nil {
				return
			}
			log.Warn("watch for the node graph", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		reset()
		for ev := range w.ResultChan() {
			if ev.Type == meta.Added || ev.Type == meta.Modified || ev.Type == meta.Deleted {
				apply(ev.Type, ev.Object)
			}
		}
		if err := w.Err(); err != nil && ctx.Err() == nil {
			log.Warn("watch for the node graph ended; starting over", "err", err)
		}
	}
}

// getPod reads a pod from the watch cache (admission of writes whose body is not the pod).
func (s *Server) getPod(namespace, name string) (*core.Pod, bool) {
	podKind, _ := s.reg.Lookup("", "v1", "pods")
	o, ok := s.caches[podKind].Get(podKind.Key(namespace, name))
	if !ok {
		return nil, false
	}
	p, ok := o.(*core.Pod)
	return p, ok
}

// admitNodeWrite runs NodeRestriction for a write of kind k by the user of ctx; obj is what
// would be stored (nil on delete), old what is stored (nil on create).
func (s *Server) admitNodeWrite(ctx context.Context, op noderestriction.Operation, k *registry.Kind, sub, ns, name string, obj, old meta.Object) *apiError {
	u, _ := authn.UserFrom(ctx)
	if _, isNode := node.NodeName(u); !isNode {
		return nil
	}
	err := noderestriction.Admit(noderestriction.Attributes{User: u, Operation: op, Group: k.Group, Resource: k.Resource,
		Subresource: sub, Namespace: ns, Name: name, Object: obj, OldObject: old}, s.getPod)
	if err == nil {
		return nil
	}
	return newStatus(http.StatusForbidden, meta.ReasonForbidden, k.Resource+" \""+name+"\" is forbidden: "+err.Error(),
		&meta.StatusDetails{Name: name, Group: k.Group, Kind: k.Resource})
}
