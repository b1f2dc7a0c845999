package garbagecollector

import (
	"context"
	"sync"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

type eventKind int

const (
	eventAdd eventKind = iota
	eventUpdate
	eventDelete
	// eventVirtualDelete: a worker found that a node's object does not exist.
	eventVirtualDelete
	// eventBarrier closes its channel when processed: everything pushed before it is in the graph.
	eventBarrier
)

type graphEvent struct {
	kind     eventKind
	res      controller.APIResource
	obj, old *meta.PartialObjectMetadata
	id       identity // eventVirtualDelete
	barrier  chan struct{}
}

// eventQueue is an unbounded FIFO: informer handlers must never block, and the graph must
// see every object's changes in order.
type eventQueue struct {
	mu    sync.Mutex
	items []graphEvent
	wake  chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{wake: make(chan struct{}, 1)} }

func (q *eventQueue) push(e graphEvent) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) drain() []graphEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	return out
}

// processChanges applies informer events to the graph, in order, until ctx ends, and puts
// the nodes whose situation changed on the work queues.
func (gc *GC) processChanges(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-gc.changes.wake:
		}
		for _, e := range gc.changes.drain() {
			gc.apply(e)
		}
	}
}

func (gc *GC) apply(e graphEvent) {
	switch e.kind {
	case eventBarrier:
		close(e.barrier)
	case eventAdd, eventUpdate:
		gc.upsert(e)
	case eventDelete:
		m := e.obj.GetObjectMeta()
		gc.remove(m.UID, false)
	case eventVirtualDelete:
		gc.remove(e.id.UID, true)
	}
}

// upsert records an object seen by an informer.
func (gc *GC) upsert(e graphEvent) {
	m := &e.obj.ObjectMeta
	id := identity{APIVersion: e.res.APIVersion(), Kind: e.res.Kind, Namespace: m.Namespace, Name: m.Name, UID: m.UID}
	deleting := m.DeletionTimestamp != nil
	foreground := deleting && hasFinalizer(m, finalizerForeground)
	orphaning := deleting && hasFinalizer(m, finalizerOrphan)

	gc.graph.mu.Lock()
	n, ok := gc.graph.nodes[m.UID]
	var toVerify []string
	var unblocked []string
	wasForeground, wasOrphaning := false, false
	if ok {
		wasForeground, wasOrphaning = n.deletingDependents, n.orphaning
	}
	if !ok {
		n = &node{id: id, owners: m.OwnerReferences, dependents: map[*node]struct{}{}}
		gc.graph.nodes[m.UID] = n
		toVerify = gc.graph.addToOwners(n, m.OwnerReferences)
	} else {
		// A virtual node seen for real at last: its dependents' view of it was a guess.
		n.virtual = false
		n.id = id
		added, removed, changed := referenceDiffs(n.owners, m.OwnerReferences)
		// An owner deleting in the foreground may have been waiting on this reference.
		for _, r := range append(removed, changed...) {
			if o, ok := gc.graph.nodes[r.UID]; ok && o.deletingDependents {
				unblocked = append(unblocked, r.UID)
			}
		}
		n.owners = m.OwnerReferences
		toVerify = gc.graph.addToOwners(n, added)
		gc.graph.removeFromOwners(n, removed)
	}
	n.beingDeleted = deleting
	n.deletingDependents = foreground
	n.orphaning = orphaning
	var dependents []string
	if foreground && !wasForeground {
		for d := range n.dependents {
			dependents = append(dependents, d.id.UID)
		}
	}
	gc.graph.mu.Unlock()

	for _, uid := range toVerify {
		gc.attemptToDelete.Add(uid)
	}
	for _, uid := range unblocked {
		gc.attemptToDelete.Add(uid)
	}
	if orphaning && !wasOrphaning {
		gc.attemptToOrphan.Add(m.UID)
	}
	if foreground && !wasForeground {
		for _, uid := range dependents {
			gc.attemptToDelete.Add(uid)
		}
		gc.attemptToDelete.Add(m.UID)
	}
}

// remove drops a node that no longer exists; its dependents may be garbage now, and an
// owner deleting in the foreground may have been waiting for it. A virtual delete (a worker
// found the object missing) only removes nodes no informer has seen: an observed node is
// removed when its informer reports the deletion.
func (gc *GC) remove(uid string, virtual bool) {
	gc.graph.mu.Lock()
	n, ok := gc.graph.nodes[uid]
	if !ok || (virtual && !n.virtual) {
		var deps []string
		if ok {
			for d := range n.dependents {
				deps = append(deps, d.id.UID)
			}
		}
		gc.graph.mu.Unlock()
		for _, d := range deps {
			gc.attemptToDelete.Add(d)
		}
		return
	}
	delete(gc.graph.nodes, uid)
	gc.graph.removeFromOwners(n, n.owners)
	var deps, waitingOwners []string
	for d := range n.dependents {
		deps = append(deps, d.id.UID)
	}
	for _, r := range n.owners {
		if o, ok := gc.graph.nodes[r.UID]; ok && o.deletingDependents {
			waitingOwners = append(waitingOwners, r.UID)
		}
	}
	// Dependents keep their references to uid: if one of them is seen again it gets a
	// virtual owner node, which is checked and dropped in turn.
	gc.graph.mu.Unlock()

	if len(deps) > 0 {
		gc.absent.Store(uid, struct{}{})
	}
	for _, d := range deps {
		gc.attemptToDelete.Add(d)
	}
	for _, o := range waitingOwners {
		gc.attemptToDelete.Add(o)
	}
}
