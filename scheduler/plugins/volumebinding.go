package plugins

import (
	"context"
	"fmt"
	"sync"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/api/volume"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// VolumeBindingName is the plugin's name, as in Kubernetes.
const VolumeBindingName = "VolumeBinding"

// Reasons of VolumeBinding, in Kubernetes' words.
const (
	ReasonUnboundImmediateClaims = "pod has unbound immediate PersistentVolumeClaims"
	ReasonVolumeNodeConflict     = "node(s) had volume node affinity conflict"
	ReasonNoVolumeToBind         = "node(s) didn't find available persistent volumes to bind"
	ReasonNotEnoughStorage       = "node(s) did not have enough free storage"
	ReasonBindConflict           = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	ReasonSelectedOtherNode      = "node(s) did not match the node selected for the pod's volume"
)

// VolumeAccess is what VolumeBinding reads (the scheduler's informer caches) and writes.
type VolumeAccess interface {
	Claim(namespace, name string) (*core.PersistentVolumeClaim, bool)
	Volume(name string) (*core.PersistentVolume, bool)
	Volumes() []*core.PersistentVolume
	Class(name string) (*storage.StorageClass, bool)
	Capacities() []*storage.CSIStorageCapacity
	// CapacityTracked reports whether scheduling must find room for the provisioner's new
	// volumes in CSIStorageCapacity (a CSIDriver's storageCapacity: true; always for
	// skiff.dev/local).
	CapacityTracked(provisioner string) bool
	// BindVolume sets the volume's claimRef to the claim (the PV controller finishes the
	// binding); AnnotateSelectedNode asks the claim's provisioner for a volume on node.
	BindVolume(ctx context.Context, pv *core.PersistentVolume, claim *core.PersistentVolumeClaim) error
	AnnotateSelectedNode(ctx context.Context, claim *core.PersistentVolumeClaim, node string) error
}

// VolumeBinding places pods by their claims, as Kubernetes' plugin: a pod whose claim is
// bound to a volume with node affinity (a local volume) can run only where the volume is; a
// claim of a WaitForFirstConsumer class not yet bound is bound or provisioned on the node
// chosen for its first pod (an Available volume reachable from the node, else a new volume
// if the class's provisioner can make one there, with room when its capacity is published as
// CSIStorageCapacity); an unbound claim of an Immediate class makes the pod wait for the PV
// controller. At Reserve the choice is remembered, so the next pod is not offered the same
// volume, and at PreBind it is written: the volume's claimRef, or the claim's
// volume.kubernetes.io/selected-node annotation.
type VolumeBinding struct {
	access VolumeAccess

	mu      sync.Mutex
	assumed map[string]string // volume name -> key of the claim it was chosen for
}

// NewVolumeBinding makes the plugin over access (nil when only checking a configuration).
func NewVolumeBinding(access VolumeAccess) *VolumeBinding {
	return &VolumeBinding{access: access, assumed: map[string]string{}}
}

func (*VolumeBinding) Name() string { return VolumeBindingName }

// delayedClaim is an unbound WaitForFirstConsumer claim of the pod and what may serve it.
type delayedClaim struct {
	claim *core.PersistentVolumeClaim
	class *storage.StorageClass
	// byNode holds candidate volumes pinned to one node; anywhere those with other (or no)
	// node affinity, checked per node.
	byNode   map[string][]*core.PersistentVolume
	anywhere []*core.PersistentVolume
}

// volumeState is the cycle state: the pod's bound volumes, its delayed claims, and per node
// (written by parallel Filters) the volumes chosen for the delayed claims (nil: provision).
type volumeState struct {
	bound   []*core.PersistentVolume
	delayed []*delayedClaim
	chosen  sync.Map // node name -> []*core.PersistentVolume, one per delayed claim
}

func (s *volumeState) Clone() fw.StateData { return s }

// podClaims lists the claims a pod's volumes use (generic ephemeral: <pod>-<volume>).
func podClaims(p *core.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, p.Name+"-"+v.Name)
		}
	}
	return out
}

func (pl *VolumeBinding) PreFilter(_ context.Context, state *fw.CycleState, pi *fw.PodInfo) *fw.Status {
	pod := pi.Pod
	names := podClaims(pod)
	if len(names) == 0 || pl.access == nil {
		return fw.NewStatus(fw.Skip)
	}
	st := &volumeState{}
	var immediate bool
	for _, name := range names {
		claim, ok := pl.access.Claim(pod.Namespace, name)
		if !ok {
			return fw.NewStatus(fw.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", name))
		}
		if claim.DeletionTimestamp != nil {
			return fw.NewStatus(fw.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", name))
		}
		if claim.Spec.VolumeName != "" {
			pv, ok := pl.access.Volume(claim.Spec.VolumeName)
			if !ok {
				return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonBindConflict)
			}
			if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != claim.UID {
				// Half bound: the PV controller is finishing it.
				immediate = true
				continue
			}
			if n := volume.NodeOf(pv); n != "" && state.Snapshot.Get(n) == nil {
				return fw.NewStatus(fw.UnschedulableAndUnresolvable, fmt.Sprintf(
					"persistentvolume %q of claim %q is on node %q, which does not exist", pv.Name, name, n))
			}
			st.bound = append(st.bound, pv)
			continue
		}
		class, _ := pl.access.Class(core.ClaimClass(claim))
		if class == nil || class.BindingMode() != storage.VolumeBindingWaitForFirstConsumer {
			immediate = true
			continue
		}
		st.delayed = append(st.delayed, pl.candidates(claim, class))
	}
	if immediate {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonUnboundImmediateClaims)
	}
	state.Write(VolumeBindingName, st)
	return nil
}

// candidates gathers the volumes that could serve a delayed claim on some node: unbound
// (or pre-bound to it), of its class, not promised to another claim.
func (pl *VolumeBinding) candidates(claim *core.PersistentVolumeClaim, class *storage.StorageClass) *delayedClaim {
	d := &delayedClaim{claim: claim, class: class, byNode: map[string][]*core.PersistentVolume{}}
	key := claim.Namespace + "/" + claim.Name
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, pv := range pl.access.Volumes() {
		if owner, ok := pl.assumed[pv.Name]; ok {
			if pv.Spec.ClaimRef != nil {
				delete(pl.assumed, pv.Name) // the cache caught up with the binding
			}
			if owner != key {
				continue
			}
		}
		if !volume.IsBoundToClaim(pv, claim) && (pv.Spec.ClaimRef != nil || core.VolumeClass(pv) != class.Name) {
			continue
		}
		if n := volume.NodeOf(pv); n != "" {
			d.byNode[n] = append(d.byNode[n], pv)
		} else {
			d.anywhere = append(d.anywhere, pv)
		}
	}
	return d
}

func (pl *VolumeBinding) Filter(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, ni *fw.NodeInfo) *fw.Status {
	st, _ := state.Read(VolumeBindingName).(*volumeState)
	if st == nil {
		return nil
	}
	node := ni.Node
	for _, pv := range st.bound {
		if volume.CheckNodeAffinity(pv, node) != nil {
			return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonVolumeNodeConflict)
		}
	}
	if len(st.delayed) == 0 {
		return nil
	}
	chosen := make([]*core.PersistentVolume, len(st.delayed))
	used := map[string]bool{}
	for i, d := range st.delayed {
		if sel := d.claim.Annotations[core.AnnSelectedNode]; sel != "" && sel != node.Name {
			return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonSelectedOtherNode)
		}
		cands := append(d.byNode[node.Name][:len(d.byNode[node.Name]):len(d.byNode[node.Name])], d.anywhere...)
		pv, err := volume.FindMatching(d.claim, cands, node, used, true)
		if err != nil {
			return fw.AsStatus(err)
		}
		if pv != nil {
			chosen[i] = pv
			used[pv.Name] = true
			continue
		}
		if reason := pl.canProvision(d, node); reason != "" {
			return fw.NewStatus(fw.UnschedulableAndUnresolvable, reason)
		}
	}
	st.chosen.Store(node.Name, chosen)
	return nil
}

// canProvision says why the class's provisioner cannot make the claim's volume on node (""
// when it can).
func (pl *VolumeBinding) canProvision(d *delayedClaim, node *core.Node) string {
	class := d.class
	if class.Provisioner == "kubernetes.io/no-provisioner" {
		return ReasonNoVolumeToBind
	}
	if class.Provisioner == storage.LocalProvisioner && node.Annotations[storage.LocalVolumeDirAnnotation] == "" {
		return ReasonNoVolumeToBind
	}
	if len(class.AllowedTopologies) > 0 && !topologyAllows(class.AllowedTopologies, node.Labels) {
		return ReasonVolumeNodeConflict
	}
	// Capacity, where the provisioner's capacity is tracked (Kubernetes' hasEnoughCapacity):
	// some CSIStorageCapacity of the class that covers the node must have room; none
	// published for the node (not measured yet) is no room.
	if !pl.access.CapacityTracked(class.Provisioner) {
		return ""
	}
	req := volume.Requested(d.claim)
	for _, c := range pl.access.Capacities() {
		if c.StorageClassName != class.Name || c.NodeTopology == nil {
			continue
		}
		sel, err := labels.SelectorFromLabelSelector(c.NodeTopology)
		if err != nil || !sel.Matches(labels.Set(node.Labels)) {
			continue
		}
		if c.Capacity != nil && c.Capacity.Cmp(req) >= 0 && (c.MaximumVolumeSize == nil || c.MaximumVolumeSize.Cmp(req) >= 0) {
			return ""
		}
	}
	return ReasonNotEnoughStorage
}

func topologyAllows(terms []core.TopologySelectorTerm, nodeLabels map[string]string) bool {
	for _, t := range terms {
		ok := true
		for _, e := range t.MatchLabelExpressions {
			v, has := nodeLabels[e.Key]
			if !has || !contains(e.Values, v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Reserve remembers the volumes chosen on node, so that no other pod is offered them.
func (pl *VolumeBinding) Reserve(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, node string) *fw.Status {
	st, _ := state.Read(VolumeBindingName).(*volumeState)
	if st == nil {
		return nil
	}
	v, _ := st.chosen.Load(node)
	chosen, _ := v.([]*core.PersistentVolume)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for i, pv := range chosen {
		if pv != nil {
			c := st.delayed[i].claim
			pl.assumed[pv.Name] = c.Namespace + "/" + c.Name
		}
	}
	return nil
}

// Unreserve forgets them again.
func (pl *VolumeBinding) Unreserve(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, node string) {
	st, _ := state.Read(VolumeBindingName).(*volumeState)
	if st == nil {
		return
	}
	v, _ := st.chosen.Load(node)
	chosen, _ := v.([]*core.PersistentVolume)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, pv := range chosen {
		if pv != nil {
			delete(pl.assumed, pv.Name)
		}
	}
}

// PreBind writes the choices: a chosen volume's claimRef, or the claim's selected node.
func (pl *VolumeBinding) PreBind(ctx context.Context, state *fw.CycleState, _ *fw.PodInfo, node string) *fw.Status {
	st, _ := state.Read(VolumeBindingName).(*volumeState)
	if st == nil {
		return nil
	}
	v, _ := st.chosen.Load(node)
	chosen, _ := v.([]*core.PersistentVolume)
	for i, d := range st.delayed {
		var err error
		if i < len(chosen) && chosen[i] != nil {
			if !volume.IsBoundToClaim(chosen[i], d.claim) || chosen[i].Spec.ClaimRef.UID == "" {
				err = pl.access.BindVolume(ctx, chosen[i], d.claim)
			}
		} else if d.claim.Annotations[core.AnnSelectedNode] != node {
			err = pl.access.AnnotateSelectedNode(ctx, d.claim, node)
		}
		if err != nil {
			return fw.AsStatus(fmt.Errorf("binding volumes: %w", err))
		}
	}
	return nil
}

// EventsToRegister: claims and volumes changing, classes and capacities appearing, and
// nodes (a new node may hold a volume or have room for one).
func (*VolumeBinding) EventsToRegister() []fw.ClusterEventWithHint {
	return []fw.ClusterEventWithHint{
		{Event: fw.ClusterEvent{Resource: fw.PVCEvent, Action: fw.Add | fw.Update}},
		{Event: fw.ClusterEvent{Resource: fw.PVEvent, Action: fw.Add | fw.Update}},
		{Event: fw.ClusterEvent{Resource: fw.StorageClassEvent, Action: fw.Add}},
		{Event: fw.ClusterEvent{Resource: fw.CSIStorageCapacityEvent, Action: fw.Add | fw.Update}},
		{Event: fw.ClusterEvent{Resource: fw.CSIDriverEvent, Action: fw.Add | fw.Update}},
		{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add | fw.UpdateNodeLabel}},
	}
}
