package node

import (
	"sync"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/api/volume"
)

// Graph records which node may read which object: an edge from an object to a node for
// every pod bound to the node that refers to the object. It is fed by the API server's pod
// watch (SetPod on add and update, DeletePod on delete, Reset before a relist), so decisions
// are answered from memory. It is safe for concurrent use.
type Graph struct {
	mu sync.RWMutex
	// pods remembers each bound pod's node and references, to undo them on change.
	pods map[string]podEntry // "ns/name"
	// edges counts, per object and node, the pods of the node that refer to the object.
	edges map[Ref]map[string]int
	// podsByNode holds the pods bound to each node, by "ns/name", with their uid.
	podsByNode map[string]map[string]string
	// claimsOfPV lists the claims bound to each PersistentVolume (from the claims'
	// spec.volumeName), and pvOfClaim the reverse: a node reads a volume through a claim of
	// its pods.
	claimsOfPV map[string]map[Ref]bool
	pvOfClaim  map[Ref]string
	// nodeOfLocalPV holds the node of each skiff.dev/local volume (from the volume watch):
	// that node keeps the volume's data, and finalizes the volume when it is deleted.
	nodeOfLocalPV map[string]string
}

type podEntry struct {
	node, uid string
	refs      []Ref
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	g := &Graph{}
	g.Reset()
	return g
}

// Reset forgets everything (the pod watch is starting over).
func (g *Graph) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pods = map[string]podEntry{}
	g.edges = map[Ref]map[string]int{}
	g.podsByNode = map[string]map[string]string{}
	g.claimsOfPV = map[string]map[Ref]bool{}
	g.pvOfClaim = map[Ref]string{}
	g.nodeOfLocalPV = map[string]string{}
}

// ResetVolumes forgets the local volumes (the volume watch is starting over).
func (g *Graph) ResetVolumes() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nodeOfLocalPV = map[string]string{}
}

// SetVolume records the node of a skiff.dev/local volume (other volumes give no node
// anything of their own).
func (g *Graph) SetVolume(pv *core.PersistentVolume) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.nodeOfLocalPV, pv.Name)
	if pv.Annotations[core.AnnDynamicallyProvisioned] != storage.LocalProvisioner || pv.Spec.Local == nil {
		return
	}
	if n := volume.NodeOf(pv); n != "" {
		g.nodeOfLocalPV[pv.Name] = n
	}
}

// DeleteVolume forgets a volume.
func (g *Graph) DeleteVolume(pv *core.PersistentVolume) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.nodeOfLocalPV, pv.Name)
}

// LocalVolumeOf reports whether pv is a skiff.dev/local volume whose data node keeps.
func (g *Graph) LocalVolumeOf(node, pv string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.nodeOfLocalPV[pv] == node
}

// ResetClaims forgets the claims (the claim watch is starting over).
func (g *Graph) ResetClaims() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.claimsOfPV = map[string]map[Ref]bool{}
	g.pvOfClaim = map[Ref]string{}
}

// SetClaim records which PersistentVolume a claim is bound to.
func (g *Graph) SetClaim(c *core.PersistentVolumeClaim) {
	r := Ref{PVC, c.Namespace, c.Name}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeClaimLocked(r)
	if pv := c.Spec.VolumeName; pv != "" {
		g.pvOfClaim[r] = pv
		if g.claimsOfPV[pv] == nil {
			g.claimsOfPV[pv] = map[Ref]bool{}
		}
		g.claimsOfPV[pv][r] = true
	}
}

// DeleteClaim forgets a claim.
func (g *Graph) DeleteClaim(c *core.PersistentVolumeClaim) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeClaimLocked(Ref{PVC, c.Namespace, c.Name})
}

func (g *Graph) removeClaimLocked(r Ref) {
	pv, ok := g.pvOfClaim[r]
	if !ok {
		return
	}
	delete(g.pvOfClaim, r)
	delete(g.claimsOfPV[pv], r)
	if len(g.claimsOfPV[pv]) == 0 {
		delete(g.claimsOfPV, pv)
	}
}

// VolumeRelated reports whether a pod bound to node uses a claim bound to PersistentVolume pv.
func (g *Graph) VolumeRelated(node, pv string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for r := range g.claimsOfPV[pv] {
		if g.edges[r][node] > 0 {
			return true
		}
	}
	return false
}

func podKey(p *core.Pod) string { return p.Namespace + "/" + p.Name }

// SetPod records a pod as it is now. A pod not bound to a node gives no node anything.
// Finished pods keep their edges until deleted: their node still cleans up their volumes.
func (g *Graph) SetPod(p *core.Pod) {
	key := podKey(p)
	var refs []Ref
	if p.Spec.NodeName != "" {
		refs = PodRefs(p)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(key)
	if p.Spec.NodeName == "" {
		return
	}
	n := p.Spec.NodeName
	g.pods[key] = podEntry{node: n, uid: string(p.UID), refs: refs}
	if g.podsByNode[n] == nil {
		g.podsByNode[n] = map[string]string{}
	}
	g.podsByNode[n][key] = string(p.UID)
	for _, r := range refs {
		if g.edges[r] == nil {
			g.edges[r] = map[string]int{}
		}
		g.edges[r][n]++
	}
}

// DeletePod forgets a pod.
func (g *Graph) DeletePod(p *core.Pod) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(podKey(p))
}

func (g *Graph) removeLocked(key string) {
	old, ok := g.pods[key]
	if !ok {
		return
	}
	delete(g.pods, key)
	delete(g.podsByNode[old.node], key)
	if len(g.podsByNode[old.node]) == 0 {
		delete(g.podsByNode, old.node)
	}
	for _, r := range old.refs {
		m := g.edges[r]
		if m[old.node]--; m[old.node] <= 0 {
			delete(m, old.node)
		}
		if len(m) == 0 {
			delete(g.edges, r)
		}
	}
}

// Related reports whether a pod bound to node refers to r.
func (g *Graph) Related(node string, r Ref) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.edges[r][node] > 0
}

// PodOnNode reports whether the pod ns/name (with uid, when uid is not empty) is bound to node.
func (g *Graph) PodOnNode(node, namespace, name, uid string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	got, ok := g.podsByNode[node][namespace+"/"+name]
	return ok && (uid == "" || got == uid)
}
