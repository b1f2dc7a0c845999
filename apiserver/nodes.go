package apiserver

import (
	"context"
	"errors"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
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
	go follow(ctx, s.cache(podKind), g.Reset, func(t string, o meta.Object) {
		if p, ok := o.(*core.Pod); ok {
			if t == meta.Deleted {
				g.DeletePod(p)
			} else {
				g.SetPod(p)
			}
		}
	}, log)
	pvcKind, _ := s.reg.Lookup("", "v1", "persistentvolumeclaims")
	go follow(ctx, s.cache(pvcKind), g.ResetClaims, func(t string, o meta.Object) {
		if c, ok := o.(*core.PersistentVolumeClaim); ok {
			if t == meta.Deleted {
				g.DeleteClaim(c)
			} else {
				g.SetClaim(c)
			}
		}
	}, log)
	pvKind, _ := s.reg.Lookup("", "v1", "persistentvolumes")
	go follow(ctx, s.cache(pvKind), g.ResetVolumes, func(t string, o meta.Object) {
		if pv, ok := o.(*core.PersistentVolume); ok {
			if t == meta.Deleted {
				g.DeleteVolume(pv)
			} else {
				g.SetVolume(pv)
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
	o, ok := s.cache(podKind).Get(podKind.Key(namespace, name))
	if !ok {
		return nil, false
	}
	p, ok := o.(*core.Pod)
	return p, ok
}
