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
// watch cache until ctx ends. Call it before setUpSecurity, which puts it in the chain.
func (s *Server) setUpNodeAuthorizer(ctx context.Context) {
	g := node.NewGraph()
	s.nodeAuthorizer = node.New(g)
	podKind, _ := s.reg.Lookup("", "v1", "pods")
	go feedGraph(ctx, s.caches[podKind], g, s.log.With("component", "node-authorizer"))
}

// feedGraph follows the pod cache: the whole state first, then every change. A watcher
// cut off (slow, or the cache relisted) starts over from a fresh state.
func feedGraph(ctx context.Context, c *watchcache.Cache, g *node.Graph, log interface{ Warn(string, ...any) }) {
	for ctx.Err() == nil {
		w, err := c.Watch(ctx, 0, nil, watchcache.WatchOptions{SendInitialState: true})
		if err != nil {
			if errors.Is(err, watchcache.ErrCacheStopped) || ctx.Err() != nil {
				return
			}
			log.Warn("pod watch for the node graph", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		g.Reset()
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*core.Pod)
			if !ok {
				continue
			}
			switch ev.Type {
			case meta.Added, meta.Modified:
				g.SetPod(p)
			case meta.Deleted:
				g.DeletePod(p)
			}
		}
		if err := w.Err(); err != nil && ctx.Err() == nil {
			log.Warn("pod watch for the node graph ended; starting over", "err", err)
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
