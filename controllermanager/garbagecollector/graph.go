package garbagecollector

import (
	"sync"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Finalizers of the two non-default propagation policies (the API server adds them on a
// DELETE with propagationPolicy Orphan or Foreground; the collector removes them when done).
const (
	finalizerOrphan     = "orphan"
	finalizerForeground = "foregroundDeletion"
)

// identity names an object for the graph: enough to GET it again.
type identity struct {
	APIVersion, Kind, Namespace, Name, UID string
}

// node is one object in the dependency graph.
type node struct {
	id identity
	// virtual: known only because a dependent names it as owner; it may not exist.
	virtual bool
	// beingDeleted: has a deletionTimestamp.
	beingDeleted bool
	// deletingDependents: being deleted in the foreground (the foregroundDeletion finalizer).
	deletingDependents bool
	// orphaning: being deleted with the orphan finalizer.
	orphaning  bool
	owners     []meta.OwnerReference
	dependents map[*node]struct{}
}

// blocks reports whether dependent d's reference to n has blockOwnerDeletion.
func (n *node) blockedBy(d *node) bool {
	for _, r := range d.owners {
		if r.UID == n.id.UID && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// graph is the uid → node map with owner/dependent edges. One goroutine (the event
// processor) changes it; workers read it under the read lock.
type graph struct {
	mu    sync.RWMutex
	nodes map[string]*node
}

func newGraph() *graph { return &graph{nodes: map[string]*node{}} }

// snapshot is a copy of what a worker needs from a node, taken under the lock.
type snapshot struct {
	id                 identity
	found              bool
	virtual            bool
	beingDeleted       bool
	deletingDependents bool
	dependents         []identity
	blocking           []identity // dependents whose reference blocks this owner's deletion
	blockingDeleting   []bool     // whether each blocking dependent is deleting its own dependents
}

func (g *graph) snapshot(uid string) snapshot {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	if !ok {
		return snapshot{}
	}
	s := snapshot{id: n.id, found: true, virtual: n.virtual, beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents}
	for d := range n.dependents {
		s.dependents = append(s.dependents, d.id)
		if n.blockedBy(d) {
			s.blocking = append(s.blocking, d.id)
			s.blockingDeleting = append(s.blockingDeleting, d.deletingDependents)
		}
	}
	return s
}

// hasDeletingDependent reports whether one of uid's dependents is itself deleting its
// dependents (then deleting uid in the foreground could wait on a cycle).
func (g *graph) hasDeletingDependent(uid string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	if !ok {
		return false
	}
	for d := range n.dependents {
		if d.deletingDependents {
			return true
		}
	}
	return false
}

// Changes below are made by the event processor only, holding the write lock.

// addToOwners links n as dependent of each of refs, making virtual owner nodes for owners
// not seen yet; it returns those virtual owners (to be verified).
func (g *graph) addToOwners(n *node, refs []meta.OwnerReference) []string {
	var virtual []string
	for _, r := range refs {
		o, ok := g.nodes[r.UID]
		if !ok {
			o = &node{
				id:         identity{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: n.id.Namespace, Name: r.Name, UID: r.UID},
				virtual:    true,
				dependents: map[*node]struct{}{},
			}
			g.nodes[r.UID] = o
		}
		o.dependents[n] = struct{}{}
		if o.virtual {
			virtual = append(virtual, r.UID)
		}
	}
	return virtual
}

func (g *graph) removeFromOwners(n *node, refs []meta.OwnerReference) {
	for _, r := range refs {
		if o, ok := g.nodes[r.UID]; ok {
			delete(o.dependents, n)
			// A virtual owner nobody refers to any more is forgotten.
			if o.virtual && len(o.dependents) == 0 {
				delete(g.nodes, r.UID)
			}
		}
	}
}

// referenceDiffs splits the change from old to new references into added, removed, and
// changed (same owner uid, different blockOwnerDeletion or controller).
func referenceDiffs(old, new []meta.OwnerReference) (added, removed, changed []meta.OwnerReference) {
	oldByUID := map[string]meta.OwnerReference{}
	for _, r := range old {
		oldByUID[r.UID] = r
	}
	for _, r := range new {
		o, ok := oldByUID[r.UID]
		if !ok {
			added = append(added, r)
			continue
		}
		if !controller.SemanticEqual(o, r) {
			changed = append(changed, o)
		}
		delete(oldByUID, r.UID)
	}
	for _, r := range old {
		if _, ok := oldByUID[r.UID]; ok {
			removed = append(removed, r)
		}
	}
	return added, removed, changed
}

func hasFinalizer(m *meta.ObjectMeta, f string) bool { return controller.HasFinalizer(m, f) }
