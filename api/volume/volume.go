// Package volume holds the rules of binding PersistentVolumeClaims to PersistentVolumes that
// the PV controller and the scheduler's VolumeBinding plugin share (Kubernetes'
// component-helpers/storage/volume and pkg/controller/volume/persistentvolume/util): which
// volume satisfies a claim, whether a volume is reachable from a node, and what a claim asks
// for.
package volume

import (
	"fmt"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/nodeaffinity"
	"github.com/skiff-sh/skiff/api/resource"
)

// Requested is the storage a claim asks for.
func Requested(c *core.PersistentVolumeClaim) resource.Quantity {
	return c.Spec.Resources.Requests[core.ResourceStorage]
}

// Capacity is a volume's storage capacity.
func Capacity(v *core.PersistentVolume) resource.Quantity {
	return v.Spec.Capacity[core.ResourceStorage]
}

// IsBoundToClaim reports whether the volume's claimRef names this claim (by namespace and
// name, and by UID when the ref has one: a ref to an earlier claim of the same name is not
// this claim's).
func IsBoundToClaim(v *core.PersistentVolume, c *core.PersistentVolumeClaim) bool {
	ref := v.Spec.ClaimRef
	if ref == nil || ref.Name != c.Name || ref.Namespace != c.Namespace {
		return false
	}
	return ref.UID == "" || ref.UID == c.UID
}

// AccessModesSatisfied: every mode the claim asks for is one the volume has.
func AccessModesSatisfied(c *core.PersistentVolumeClaim, v *core.PersistentVolume) bool {
	for _, m := range c.Spec.AccessModes {
		if !slices.Contains(v.Spec.AccessModes, m) {
			return false
		}
	}
	return true
}

// VolumeModeMismatch: a Block claim cannot have a Filesystem volume, nor the other way round.
func VolumeModeMismatch(c *core.PersistentVolumeClaim, v *core.PersistentVolume) bool {
	return core.VolumeModeOf(c.Spec.VolumeMode) != core.VolumeModeOf(v.Spec.VolumeMode)
}

// CheckNodeAffinity returns nil when the volume may be used from node (its required node
// affinity matches the node, or it has none), else an error saying why not.
func CheckNodeAffinity(v *core.PersistentVolume, node *core.Node) error {
	na := v.Spec.NodeAffinity
	if na == nil || na.Required == nil {
		return nil
	}
	sel, err := nodeaffinity.NewNodeSelector(na.Required)
	if err != nil {
		return fmt.Errorf("volume %s: %w", v.Name, err)
	}
	if !sel.Match(node) {
		return fmt.Errorf("no matching NodeSelectorTerms")
	}
	return nil
}

// NodeOf is the node a volume's affinity pins it to when it names exactly one by
// kubernetes.io/hostname (a local volume), else "".
func NodeOf(v *core.PersistentVolume) string {
	na := v.Spec.NodeAffinity
	if na == nil || na.Required == nil || len(na.Required.NodeSelectorTerms) != 1 {
		return ""
	}
	for _, e := range na.Required.NodeSelectorTerms[0].MatchExpressions {
		if e.Key == core.LabelHostname && e.Operator == core.NodeSelectorOpIn && len(e.Values) == 1 {
			return e.Values[0]
		}
	}
	return ""
}

// FindMatching returns the smallest volume that satisfies claim, or nil: one pre-bound to the
// claim wins whatever its size; otherwise an unbound volume of the claim's class, volume mode
// and access modes, at least as large as the request, matching the claim's selector. With
// node set (the scheduler asking for one node) a volume must also be reachable from the node
// and Available; without it, and with delayBinding, only pre-bound volumes are returned,
// because choosing is left to the scheduler. excluded names volumes already promised to other
// claims in the same pass.
func FindMatching(claim *core.PersistentVolumeClaim, volumes []*core.PersistentVolume, node *core.Node, excluded map[string]bool, delayBinding bool) (*core.PersistentVolume, error) {
	requested := Requested(claim)
	class := core.ClaimClass(claim)
	var sel labels.Selector
	if claim.Spec.Selector != nil {
		s, err := labels.SelectorFromLabelSelector(claim.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("error creating internal label selector for claim: %v: %w", claim.Name, err)
		}
		sel = s
	}
	var best *core.PersistentVolume
	for _, v := range volumes {
		if excluded[v.Name] {
			continue
		}
		capacity := Capacity(v)
		if capacity.Cmp(requested) < 0 || VolumeModeMismatch(claim, v) {
			continue
		}
		reachable := node == nil || CheckNodeAffinity(v, node) == nil
		if IsBoundToClaim(v, claim) {
			// Pre-bound to this claim: the user's choice, found whatever else is true,
			// unless the node cannot reach it.
			if !reachable {
				return nil, nil
			}
			return v, nil
		}
		if node == nil && delayBinding {
			continue
		}
		if v.Spec.ClaimRef != nil || v.DeletionTimestamp != nil {
			continue
		}
		if node != nil && v.Status.Phase != "" && v.Status.Phase != core.VolumeAvailable {
			continue
		}
		if sel != nil && !sel.Matches(labels.Set(v.Labels)) {
			continue
		}
		if core.VolumeClass(v) != class || !reachable || !AccessModesSatisfied(claim, v) {
			continue
		}
		if best == nil || capacity.Cmp(Capacity(best)) < 0 {
			best = v
		}
	}
	return best, nil
}
