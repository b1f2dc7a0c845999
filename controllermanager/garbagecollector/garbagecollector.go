// Package garbagecollector deletes objects whose owners are gone, following
// metadata.ownerReferences for every kind the API server serves, as Kubernetes' garbage
// collector does:
//
//   - background deletion (the default): the owner goes at once; each dependent is then
//     found without a live owner and deleted;
//   - foreground deletion (the "foregroundDeletion" finalizer): the owner stays, with a
//     deletionTimestamp, until every dependent whose reference has blockOwnerDeletion is
//     gone; dependents are deleted in the foreground in turn;
//   - orphan (the "orphan" finalizer): the owner's references are removed from its
//     dependents, then the finalizer from the owner.
//
// How it works: a metadata-only informer per resource feeds one goroutine that keeps a
// graph of owners and dependents (uid → node). Nodes that need a decision go on two queues,
// attemptToDelete and attemptToOrphan, whose workers always decide from fresh reads of the
// objects, never from the graph alone, so a stale graph delays work but never deletes
// something that still has a live owner. An owner first seen only through a dependent's
// reference is a "virtual" node that is checked against the API server: that is how
// dependents of an owner deleted while the controller manager was down are still collected.
package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "garbagecollector"

// ignored resources are never collected (as in Kubernetes: events are too many and too
// short-lived to be worth a graph).
var ignored = map[string]bool{"events": true, "events.events.k8s.io": true}

// GC is the garbage collector.
type GC struct {
	c   *client.Client
	log *slog.Logger

	graph           *graph
	changes         *eventQueue
	attemptToDelete *controller.Queue
	attemptToOrphan *controller.Queue
	workers         int
	// absent remembers owner uids known not to exist (uids are never reused).
	absent sync.Map

	mu       sync.RWMutex
	mapper   controller.RESTMapper
	monitors map[client.Resource]*informer.Informer[meta.PartialObjectMetadata, *meta.PartialObjectMetadata]

	// DiscoveryPeriod is how often new resources are looked for (default 30s).
	DiscoveryPeriod time.Duration
}

// New makes the garbage collector.
func New(cc *controller.Context) *GC {
	return &GC{
		c:               cc.Client,
		log:             cc.Logger(Name),
		graph:           newGraph(),
		changes:         newEventQueue(),
		attemptToDelete: controller.NewQueue(cc, "garbagecollector_attempt_to_delete"),
		attemptToOrphan: controller.NewQueue(cc, "garbagecollector_attempt_to_orphan"),
		workers:         max(cc.WorkerCount(), 10),
		monitors:        map[client.Resource]*informer.Informer[meta.PartialObjectMetadata, *meta.PartialObjectMetadata]{},
		DiscoveryPeriod: 30 * time.Second,
	}
}

// Run collects garbage until ctx ends.
func (gc *GC) Run(ctx context.Context) {
	go gc.processChanges(ctx)
	// Discovery must succeed once before anything can be decided.
	for {
		if err := gc.discover(ctx); err == nil {
			break
		} else if ctx.Err() == nil {
			gc.log.Warn("discovery failed, retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	if !gc.waitForGraph(ctx) {
		return
	}
	gc.log.Info("dependency graph synced, starting workers")
	go gc.rediscover(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); gc.attemptToDelete.Run(ctx, gc.workers, gc.attemptToDeleteItem) }()
	go func() { defer wg.Done(); gc.attemptToOrphan.Run(ctx, gc.workers, gc.attemptToOrphanItem) }()
	wg.Wait()
}

// discover starts a monitor for every collectable resource not monitored yet.
func (gc *GC) discover(ctx context.Context) error {
	resources, err := controller.Discover(ctx, gc.c)
	if err != nil {
		return err
	}
	mapper := controller.NewRESTMapper(resources)
	gc.mu.Lock()
	defer gc.mu.Unlock()
	gc.mapper = mapper
	for _, r := range resources {
		name := r.Resource.Resource
		if r.Group != "" {
			name += "." + r.Group
		}
		if ignored[name] || !r.Supports("list", "watch", "delete") {
			continue
		}
		if _, ok := gc.monitors[r.Resource]; ok {
			continue
		}
		inf := informer.NewInformer(client.For[meta.PartialObjectMetadata](gc.c, r.Resource), "", client.ListOptions{}, 0)
		res := r
		inf.AddEventHandler(informer.Handler[*meta.PartialObjectMetadata]{
			AddFunc: func(o *meta.PartialObjectMetadata) { gc.changes.push(graphEvent{kind: eventAdd, res: res, obj: o}) },
			UpdateFunc: func(old, o *meta.PartialObjectMetadata) {
				gc.changes.push(graphEvent{kind: eventUpdate, res: res, obj: o, old: old})
			},
			DeleteFunc: func(o *meta.PartialObjectMetadata) { gc.changes.push(graphEvent{kind: eventDelete, res: res, obj: o}) },
		})
		gc.monitors[r.Resource] = inf
		go inf.Run(ctx)
	}
	return nil
}

func (gc *GC) rediscover(ctx context.Context) {
	t := time.NewTicker(gc.DiscoveryPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := gc.discover(ctx); err != nil && ctx.Err() == nil {
			gc.log.Warn("discovery failed", "err", err)
		}
	}
}

// waitForGraph waits until every monitor listed once and the graph holds what they found:
// an orphaning decided on a half-built graph would miss dependents.
func (gc *GC) waitForGraph(ctx context.Context) bool {
	gc.mu.RLock()
	synced := make([]func() bool, 0, len(gc.monitors))
	for _, m := range gc.monitors {
		synced = append(synced, m.HasSynced)
	}
	gc.mu.RUnlock()
	if !informer.WaitForCacheSync(ctx, synced...) {
		return false
	}
	done := make(chan struct{})
	gc.changes.push(graphEvent{kind: eventBarrier, barrier: done})
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (gc *GC) resourceFor(apiVersion, kind string) (controller.APIResource, bool) {
	gc.mu.RLock()
	defer gc.mu.RUnlock()
	return gc.mapper.For(apiVersion, kind)
}

// errVirtualDeleted means a virtual node turned out not to exist: it was dropped.
var errVirtualDeleted = errors.New("virtual node deleted")

// get reads the metadata of the object id names (its namespace is ignored for a
// cluster-scoped kind).
func (gc *GC) get(ctx context.Context, id identity) (*meta.PartialObjectMetadata, controller.APIResource, error) {
	r, ok := gc.resourceFor(id.APIVersion, id.Kind)
	if !ok {
		return nil, r, fmt.Errorf("no resource serves %s %s", id.APIVersion, id.Kind)
	}
	ns := id.Namespace
	if !r.Namespaced {
		ns = ""
	}
	obj, err := client.For[meta.PartialObjectMetadata](gc.c, r.Resource).Get(ctx, ns, id.Name)
	return obj, r, err
}

// attemptToDeleteItem decides whether the object with this uid must go: it is deleted when
// none of its owners is alive (with the policy its own finalizers ask for), its references
// to gone owners are removed when some owner is alive, and an owner deleting in the
// foreground loses its foregroundDeletion finalizer once no blocking dependent is left.
func (gc *GC) attemptToDeleteItem(ctx context.Context, uid string) error {
	n := gc.graph.snapshot(uid)
	if !n.found {
		return nil
	}
	if !n.virtual && n.beingDeleted && !n.deletingDependents {
		return nil // on its way out; its deletion event will bring its dependents here
	}
	latest, _, err := gc.get(ctx, n.id)
	switch {
	case client.IsNotFound(err):
		gc.changes.push(graphEvent{kind: eventVirtualDelete, id: n.id})
		return nil
	case err != nil:
		return err
	case latest.UID != n.id.UID:
		gc.changes.push(graphEvent{kind: eventVirtualDelete, id: n.id})
		return nil
	}
	if n.virtual {
		// It exists after all; its informer will report it. Look again then.
		gc.attemptToDelete.AddAfter(uid, time.Second)
		return nil
	}
	lm := &latest.ObjectMeta
	if lm.DeletionTimestamp != nil && hasFinalizer(lm, finalizerForeground) {
		return gc.processDeletingDependents(ctx, n, latest)
	}
	if lm.DeletionTimestamp != nil || len(lm.OwnerReferences) == 0 {
		return nil
	}
	solid, dangling, waiting, err := gc.classifyReferences(ctx, lm)
	if err != nil {
		return err
	}
	switch {
	case len(solid) > 0:
		if len(dangling)+len(waiting) == 0 {
			return nil
		}
		// Some owner is alive: only drop the references to the gone (or going) owners.
		return gc.patchOwnerRefs(ctx, n.id, latest, func(r meta.OwnerReference) bool {
			return !slices.ContainsFunc(append(dangling, waiting...), func(x meta.OwnerReference) bool { return x.UID == r.UID })
		}, nil)
	case len(waiting) > 0 && len(n.dependents) > 0:
		// An owner waits for us and we have dependents: go in the foreground too, so the
		// owner keeps waiting for our dependents. If one of them waits on us in turn, make our
		// references non-blocking first, so the owner cannot wait forever on a cycle.
		if gc.graph.hasDeletingDependent(uid) {
			if err := gc.patchOwnerRefs(ctx, n.id, latest, nil, func(r *meta.OwnerReference) {
				if slices.ContainsFunc(waiting, func(x meta.OwnerReference) bool { return x.UID == r.UID }) {
					r.BlockOwnerDeletion = controller.Ptr(false)
				}
			}); err != nil {
				return err
			}
		}
		return gc.delete(ctx, n.id, latest, meta.DeletePropagationForeground)
	default:
		policy := meta.DeletePropagationBackground
		switch {
		case hasFinalizer(lm, finalizerOrphan):
			policy = meta.DeletePropagationOrphan
		case hasFinalizer(lm, finalizerForeground):
			policy = meta.DeletePropagationForeground
		}
		return gc.delete(ctx, n.id, latest, policy)
	}
}

// classifyReferences sorts an object's owner references into owners that are alive
// (solid), gone (dangling) and deleting in the foreground (waiting for their dependents).
func (gc *GC) classifyReferences(ctx context.Context, m *meta.ObjectMeta) (solid, dangling, waiting []meta.OwnerReference, err error) {
	for _, ref := range m.OwnerReferences {
		if _, gone := gc.absent.Load(ref.UID); gone {
			dangling = append(dangling, ref)
			continue
		}
		r, ok := gc.resourceFor(ref.APIVersion, ref.Kind)
		if !ok {
			return nil, nil, nil, fmt.Errorf("owner reference to unknown kind %s %s", ref.APIVersion, ref.Kind)
		}
		if r.Namespaced && m.Namespace == "" {
			// A cluster-scoped object cannot have a namespaced owner: the reference is invalid,
			// and an invalid reference is no reason to delete anything.
			gc.log.Warn("ignoring a namespaced owner of a cluster-scoped object", "object", m.Name, "owner", ref.Name)
			solid = append(solid, ref)
			continue
		}
		owner, _, err := gc.get(ctx, identity{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: m.Namespace, Name: ref.Name, UID: ref.UID})
		switch {
		case client.IsNotFound(err):
			gc.absent.Store(ref.UID, struct{}{})
			dangling = append(dangling, ref)
		case err != nil:
			return nil, nil, nil, err
		case owner.UID != ref.UID:
			gc.absent.Store(ref.UID, struct{}{})
			dangling = append(dangling, ref)
		case owner.DeletionTimestamp != nil && hasFinalizer(&owner.ObjectMeta, finalizerForeground):
			waiting = append(waiting, ref)
		default:
			solid = append(solid, ref)
		}
	}
	return solid, dangling, waiting, nil
}

// processDeletingDependents handles an owner deleting in the foreground: its blocking
// dependents are deleted; once none is left, its finalizer is removed and it goes.
func (gc *GC) processDeletingDependents(ctx context.Context, n snapshot, latest *meta.PartialObjectMetadata) error {
	if len(n.blocking) == 0 {
		return gc.removeFinalizer(ctx, n.id, latest, finalizerForeground)
	}
	for i, d := range n.blocking {
		if !n.blockingDeleting[i] {
			gc.attemptToDelete.Add(d.UID)
		}
	}
	return nil
}

// attemptToOrphanItem removes an owner's references from all its dependents, then the
// owner's orphan finalizer.
func (gc *GC) attemptToOrphanItem(ctx context.Context, uid string) error {
	n := gc.graph.snapshot(uid)
	if !n.found || n.virtual {
		return nil
	}
	for _, d := range n.dependents {
		dep, _, err := gc.get(ctx, d)
		if client.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if dep.UID != d.UID {
			continue
		}
		if err := gc.patchOwnerRefs(ctx, d, dep, func(r meta.OwnerReference) bool { return r.UID != uid }, nil); err != nil {
			return fmt.Errorf("orphan %s %s: %w", d.Kind, d.Name, err)
		}
	}
	owner, _, err := gc.get(ctx, n.id)
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if owner.UID != n.id.UID {
		return nil
	}
	return gc.removeFinalizer(ctx, n.id, owner, finalizerOrphan)
}

// delete deletes the object, on the condition that it is still the version decided on.
func (gc *GC) delete(ctx context.Context, id identity, latest *meta.PartialObjectMetadata, policy string) error {
	r, ok := gc.resourceFor(id.APIVersion, id.Kind)
	if !ok {
		return fmt.Errorf("no resource serves %s %s", id.APIVersion, id.Kind)
	}
	uid, rv := latest.UID, latest.ResourceVersion
	err := client.For[meta.PartialObjectMetadata](gc.c, r.Resource).Delete(ctx, latest.Namespace, latest.Name, &meta.DeleteOptions{
		Preconditions:     &meta.Preconditions{UID: &uid, ResourceVersion: &rv},
		PropagationPolicy: &policy,
	})
	if client.IsNotFound(err) {
		return nil
	}
	if err == nil {
		gc.log.Debug("deleted", "kind", id.Kind, "namespace", latest.Namespace, "name", latest.Name, "propagation", policy)
	}
	return err // a Conflict (the object changed since it was read) requeues it for a new look
}

// patchOwnerRefs rewrites an object's owner references: keep filters them (nil keeps all),
// edit changes the kept ones. Conditional on the version read.
func (gc *GC) patchOwnerRefs(ctx context.Context, id identity, latest *meta.PartialObjectMetadata, keep func(meta.OwnerReference) bool, edit func(*meta.OwnerReference)) error {
	r, ok := gc.resourceFor(id.APIVersion, id.Kind)
	if !ok {
		return fmt.Errorf("no resource serves %s %s", id.APIVersion, id.Kind)
	}
	var refs []meta.OwnerReference
	for _, ref := range latest.OwnerReferences {
		if keep != nil && !keep(ref) {
			continue
		}
		if edit != nil {
			edit(&ref)
		}
		refs = append(refs, ref)
	}
	if controller.SemanticEqual(refs, latest.OwnerReferences) {
		return nil
	}
	err := controller.PatchMetadata(ctx, gc.c, r.Resource, latest.Namespace, latest.Name, latest.ResourceVersion,
		map[string]any{"ownerReferences": controller.OrNil(refs)})
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// removeFinalizer removes f from the object, conditional on the version read.
func (gc *GC) removeFinalizer(ctx context.Context, id identity, latest *meta.PartialObjectMetadata, f string) error {
	if !hasFinalizer(&latest.ObjectMeta, f) {
		return nil
	}
	r, ok := gc.resourceFor(id.APIVersion, id.Kind)
	if !ok {
		return fmt.Errorf("no resource serves %s %s", id.APIVersion, id.Kind)
	}
	err := controller.PatchMetadata(ctx, gc.c, r.Resource, latest.Namespace, latest.Name, latest.ResourceVersion,
		map[string]any{"finalizers": controller.OrNil(controller.Without(latest.Finalizers, f))})
	if client.IsNotFound(err) {
		return nil
	}
	return err
}
