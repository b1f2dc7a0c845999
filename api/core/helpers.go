package core

import (
	"fmt"

	"github.com/skiff-sh/skiff/api/resource"
)

func (rn ResourceName) String() string { return string(rn) }

// Name returns the quantity of the named resource, the zero Quantity when it is absent.
func (rl ResourceList) Name(name ResourceName) resource.Quantity { return rl[name] }

// Cpu returns the cpu quantity (zero when absent).
func (rl ResourceList) Cpu() resource.Quantity { return rl[ResourceCPU] }

// Memory returns the memory quantity (zero when absent).
func (rl ResourceList) Memory() resource.Quantity { return rl[ResourceMemory] }

// Storage returns the storage quantity (zero when absent).
func (rl ResourceList) Storage() resource.Quantity { return rl[ResourceStorage] }

// Pods returns the pods quantity (zero when absent).
func (rl ResourceList) Pods() resource.Quantity { return rl[ResourcePods] }

// StorageEphemeral returns the ephemeral-storage quantity (zero when absent).
func (rl ResourceList) StorageEphemeral() resource.Quantity { return rl[ResourceEphemeralStorage] }

// MatchTaint reports whether two taints have the same key and effect (the identity of a taint
// on a node; the value does not take part).
func (t *Taint) MatchTaint(other *Taint) bool {
	return t.Key == other.Key && t.Effect == other.Effect
}

// ToString renders a taint as kubectl writes it: key[=value]:effect.
func (t *Taint) ToString() string {
	switch {
	case t.Effect == "" && t.Value == "":
		return t.Key
	case t.Effect == "":
		return fmt.Sprintf("%s=%s:", t.Key, t.Value)
	case t.Value == "":
		return fmt.Sprintf("%s:%s", t.Key, t.Effect)
	}
	return fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect)
}

// MatchToleration reports whether two tolerations are the same (key, effect, operator, value).
func (t *Toleration) MatchToleration(other *Toleration) bool {
	return t.Key == other.Key && t.Effect == other.Effect &&
		t.Operator == other.Operator && t.Value == other.Value
}

// ToleratesTaint reports whether the toleration tolerates the taint: an empty effect matches
// every effect, an empty key with operator Exists matches every key, and operator Equal (or
// empty) needs the values to match.
func (t *Toleration) ToleratesTaint(taint *Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", TolerationOpEqual:
		return t.Value == taint.Value
	case TolerationOpExists:
		return true
	}
	return false
}

// Condition is the node's condition of type t (a pointer into its status), or nil.
func (n *Node) Condition(t NodeConditionType) *NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// IsReady reports whether the node's Ready condition is True.
func (n *Node) IsReady() bool {
	c := n.Condition(NodeReady)
	return c != nil && c.Status == ConditionTrue
}

// Address is the node's first address of type t, or "".
func (n *Node) Address(t NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return ""
}
