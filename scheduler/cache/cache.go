// Package cache is the scheduler's view of nodes and the pods bound (or being bound) to them.
// It is fed by the informers and by the scheduler itself: a pod the scheduler has chosen a
// node for is "assumed" onto that node at once, so that the next pod is scheduled against it
// while the binding is still in flight. The informer's update for the bound pod confirms the
// assumption; a failed binding forgets it.
//
// Each node's totals are kept incrementally, and each change bumps a generation; a snapshot
// for a scheduling cycle copies only the nodes whose generation moved since the last one.
package cache

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// Cache is safe for concurrent use.
type Cache struct {
	mu sync.Mutex
	// nodes holds a NodeInfo per node name, also for pods whose node object is not (or no
	// longer) known; those have a nil Node and stay out of snapshots.
	nodes map[string]*nodeItem
	// head is the most recently changed node: the list runs by decreasing generation, so that
	// UpdateSnapshot stops at the first node the snapshot already has.
	head *nodeItem
	// order is the names of the known nodes, in the order they were added.
	order        []string
	orderChanged bool
	pods         map[string]*podState // by UID
	images       map[string]*imageNodes
	generation   int64
}

type nodeItem struct {
	info       *fw.NodeInfo
	prev, next *nodeItem
	// images are the normalized names of the node's images, to undo them on update.
	images []string
}

type podState struct {
	pi      *fw.PodInfo
	node    string
	assumed bool
}

type imageNodes struct {
	state fw.ImageState
	nodes map[string]bool
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{nodes: map[string]*nodeItem{}, pods: map[string]*podState{}, images: map[string]*imageNodes{}}
}

// touch gives item a new generation and moves it to the head of the list.
func (c *Cache) touch(item *nodeItem) {
	c.generation++
	item.info.Generation = c.generation
	if c.head == item {
		return
	}
	if item.prev != nil {
		item.prev.next = item.next
	}
	if item.next != nil {
		item.next.prev = item.prev
	}
	item.prev, item.next = nil, c.head
	if c.head != nil {
		c.head.prev = item
	}
	c.head = item
}

func (c *Cache) unlink(item *nodeItem) {
	if item.prev != nil {
		item.prev.next = item.next
	}
	if item.next != nil {
		item.next.prev = item.prev
	}
	if c.head == item {
		c.head = item.next
	}
	item.prev, item.next = nil, nil
}

func (c *Cache) item(name string) *nodeItem {
	item, ok := c.nodes[name]
	if !ok {
		item = &nodeItem{info: fw.NewNodeInfo()}
		c.nodes[name] = item
	}
	return item
}

// AddNode adds or replaces a node. It returns why the node is unusable ("" when it is fine):
// the caller reports that once, and the node is skipped by scheduling, not fatal.
func (c *Cache) AddNode(node *core.Node) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	item := c.item(node.Name)
	old := item.info.Node
	if old == nil {
		c.order = append(c.order, node.Name)
		c.orderChanged = true
	}
	if old == nil || !maps.Equal(old.Labels, node.Labels) || !slices.EqualFunc(old.Spec.Taints, node.Spec.Taints, sameTaint) {
		item.info.Invalid = ValidateNode(node)
	}
	item.info.SetNode(node)
	c.setImages(item, node)
	c.touch(item)
	return item.info.Invalid
}

// UpdateNode is AddNode.
func (c *Cache) UpdateNode(node *core.Node) string { return c.AddNode(node) }

// RemoveNode forgets a node; its NodeInfo lingers (without the node) while pods still name it.
func (c *Cache) RemoveNode(node *core.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	item, ok := c.nodes[node.Name]
	if !ok || item.info.Node == nil {
		return
	}
	c.removeImages(item)
	item.info.Node = nil
	c.order = slices.DeleteFunc(c.order, func(n string) bool { return n == node.Name })
	c.orderChanged = true
	if len(item.info.Pods) == 0 {
		c.unlink(item)
		delete(c.nodes, node.Name)
		c.generation++
		return
	}
	c.touch(item)
}

func sameTaint(a, b core.Taint) bool {
	return a.Key == b.Key && a.Value == b.Value && a.Effect == b.Effect
}

// ValidateNode checks what scheduling reads from a node: taint keys and effects, label keys
// and values. The API server validates them too; this guards against nodes written some other
// way (an older server, etcd directly) so that one bad node is skipped rather than trusted.
func ValidateNode(node *core.Node) string {
	var problems []string
	for i, t := range node.Spec.Taints {
		if msgs := labels.ValidateKey(t.Key); t.Key == "" || len(msgs) > 0 {
			problems = append(problems, fmt.Sprintf("spec.taints[%d].key %q is not a valid label key", i, t.Key))
		}
		switch t.Effect {
		case core.TaintEffectNoSchedule, core.TaintEffectPreferNoSchedule, core.TaintEffectNoExecute:
		default:
			problems = append(problems, fmt.Sprintf("spec.taints[%d].effect %q is not NoSchedule, PreferNoSchedule or NoExecute", i, t.Effect))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(node.Labels)) {
		if msgs := labels.ValidateKey(k); len(msgs) > 0 {
			problems = append(problems, fmt.Sprintf("label key %q: %s", k, strings.Join(msgs, "; ")))
		}
		if msgs := labels.ValidateValue(node.Labels[k]); len(msgs) > 0 {
			problems = append(problems, fmt.Sprintf("label %s value %q: %s", k, node.Labels[k], strings.Join(msgs, "; ")))
		}
	}
	return strings.Join(problems, ", ")
}

// setImages records the node's images (normalized names, the size of the first name).
func (c *Cache) setImages(item *nodeItem, node *core.Node) {
	c.removeImages(item)
	states := map[string]*fw.ImageState{}
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			name = fw.NormalizedImageName(name)
			in := c.images[name]
			if in == nil {
				in = &imageNodes{state: fw.ImageState{Size: img.SizeBytes}, nodes: map[string]bool{}}
				c.images[name] = in
			}
			in.nodes[node.Name] = true
			in.state.NumNodes = len(in.nodes)
			states[name] = &in.state
			item.images = append(item.images, name)
		}
	}
	item.info.ImageStates = states
}

func (c *Cache) removeImages(item *nodeItem) {
	name := item.info.Name()
	for _, img := range item.images {
		if in := c.images[img]; in != nil {
			delete(in.nodes, name)
			in.state.NumNodes = len(in.nodes)
			if len(in.nodes) == 0 {
				delete(c.images, img)
			}
		}
	}
	item.images = nil
	item.info.ImageStates = map[string]*fw.ImageState{}
}

// AssumePod puts a pod on the node it was just scheduled to (pi.Pod.Spec.NodeName), before the
// binding is confirmed.
func (c *Cache) AssumePod(pi *fw.PodInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	uid := pi.Pod.UID
	if _, ok := c.pods[uid]; ok {
		return fmt.Errorf("pod %s (uid %s) is already in the cache", fw.PodKey(pi.Pod), uid)
	}
	c.addPod(pi, true)
	return nil
}

// ForgetPod undoes AssumePod after a failed binding.
func (c *Cache) ForgetPod(pod *core.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.removePod(ps)
	}
}

// IsAssumed reports whether a pod is assumed and not yet confirmed by the informer.
func (c *Cache) IsAssumed(uid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

// Has reports whether a pod (assumed or bound) is in the cache.
func (c *Cache) Has(uid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pods[uid]
	return ok
}

// AddPod records a bound pod seen by the informer, confirming it if it was assumed.
func (c *Cache) AddPod(pod *core.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		// Assumed (or seen before): replace with the informer's version, on its node.
		c.removePod(ps)
	}
	c.addPod(fw.NewPodInfo(pod), false)
}

// UpdatePod replaces a bound pod.
func (c *Cache) UpdatePod(pod *core.Pod) { c.AddPod(pod) }

// RemovePod forgets a pod (bound or assumed).
func (c *Cache) RemovePod(pod *core.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePod(ps)
	}
}

func (c *Cache) addPod(pi *fw.PodInfo, assumed bool) {
	name := pi.Pod.Spec.NodeName
	item := c.item(name)
	item.info.AddPod(pi)
	c.touch(item)
	c.pods[pi.Pod.UID] = &podState{pi: pi, node: name, assumed: assumed}
}

func (c *Cache) removePod(ps *podState) {
	delete(c.pods, ps.pi.Pod.UID)
	item, ok := c.nodes[ps.node]
	if !ok {
		return
	}
	item.info.RemovePod(ps.pi.Pod)
	if item.info.Node == nil && len(item.info.Pods) == 0 {
		c.unlink(item)
		delete(c.nodes, ps.node)
		c.generation++
		return
	}
	c.touch(item)
}

// Counts returns the number of known nodes and cached pods (assumed ones included).
func (c *Cache) Counts() (nodes, pods, assumed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ps := range c.pods {
		if ps.assumed {
			assumed++
		}
	}
	return len(c.order), len(c.pods), assumed
}

// PodsOnNode returns the pods the cache has on a node (for tests and debugging).
func (c *Cache) PodsOnNode(name string) []*core.Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	item, ok := c.nodes[name]
	if !ok {
		return nil
	}
	out := make([]*core.Pod, 0, len(item.info.Pods))
	for _, p := range item.info.Pods {
		out = append(out, p.Pod)
	}
	return out
}

// UpdateSnapshot brings snap up to date, copying only the nodes that changed since it was last
// updated. The snapshot is then read by one scheduling cycle without holding the cache lock.
func (c *Cache) UpdateSnapshot(snap *fw.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rebuildAll := c.orderChanged
	rebuildAffinity := false
	for item := c.head; item != nil; item = item.next {
		if item.info.Generation <= snap.Generation {
			break
		}
		if item.info.Node == nil {
			continue
		}
		clone := item.info.Clone()
		if len(clone.ImageStates) > 0 {
			// The cache keeps counting nodes per image; the snapshot gets values, not pointers.
			states := make(map[string]*fw.ImageState, len(clone.ImageStates))
			for k, v := range clone.ImageStates {
				s := *v
				states[k] = &s
			}
			clone.ImageStates = states
		}
		existing, ok := snap.NodeInfoMap[clone.Node.Name]
		if !ok {
			existing = &fw.NodeInfo{}
			snap.NodeInfoMap[clone.Node.Name] = existing
			rebuildAll = true
		}
		if (len(existing.PodsWithAffinity) > 0) != (len(clone.PodsWithAffinity) > 0) ||
			(len(existing.PodsWithRequiredAntiAffinity) > 0) != (len(clone.PodsWithRequiredAntiAffinity) > 0) {
			rebuildAffinity = true
		}
		// Overwrite in place: the snapshot's lists point at these structs.
		*existing = *clone
	}
	snap.Generation = c.generation
	if len(snap.NodeInfoMap) != len(c.order) {
		for name := range snap.NodeInfoMap {
			if item, ok := c.nodes[name]; !ok || item.info.Node == nil {
				delete(snap.NodeInfoMap, name)
			}
		}
		rebuildAll = true
	}
	if rebuildAll {
		snap.NodeInfoList = snap.NodeInfoList[:0]
		for _, name := range c.order {
			if n, ok := snap.NodeInfoMap[name]; ok {
				snap.NodeInfoList = append(snap.NodeInfoList, n)
			}
		}
		c.orderChanged = false
		rebuildAffinity = true
	}
	if rebuildAffinity {
		snap.RebuildAffinityLists()
	}
}
