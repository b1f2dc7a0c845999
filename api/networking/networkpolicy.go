// Code derived from k8s.io/api v0.33.0 (Apache-2.0): the same type names, JSON tags, patch
// tags and protobuf tags; comments shortened to their first sentence, lists as meta.List.

package networking

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
)

// NetworkPolicy describes what network traffic is allowed for a set of Pods.
type NetworkPolicy struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec represents the specification of the desired behavior for this NetworkPolicy.
	Spec NetworkPolicySpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
}

// PolicyType string describes the NetworkPolicy type.
type PolicyType string

const (
	// PolicyTypeIngress is a NetworkPolicy that affects ingress traffic on selected pods.
	PolicyTypeIngress PolicyType = "Ingress"
	// PolicyTypeEgress is a NetworkPolicy that affects egress traffic on selected pods.
	PolicyTypeEgress PolicyType = "Egress"
)

// NetworkPolicySpec provides the specification of a NetworkPolicy.
type NetworkPolicySpec struct {
	// podSelector selects the pods to which this NetworkPolicy object applies.
	PodSelector meta.LabelSelector `json:"podSelector" protobuf:"bytes,1,opt,name=podSelector"`
	// ingress is a list of ingress rules to be applied to the selected pods.
	Ingress []NetworkPolicyIngressRule `json:"ingress,omitempty" protobuf:"bytes,2,rep,name=ingress"`
	// egress is a list of egress rules to be applied to the selected pods.
	Egress []NetworkPolicyEgressRule `json:"egress,omitempty" protobuf:"bytes,3,rep,name=egress"`
	// policyTypes is a list of rule types that the NetworkPolicy relates to.
	PolicyTypes []PolicyType `json:"policyTypes,omitempty" protobuf:"bytes,4,rep,name=policyTypes,casttype=PolicyType"`
}

// NetworkPolicyIngressRule describes a particular set of traffic that is allowed to the pods
// matched by a NetworkPolicySpec's podSelector.
type NetworkPolicyIngressRule struct {
	// ports is a list of ports which should be made accessible on the pods selected for this rule.
	Ports []NetworkPolicyPort `json:"ports,omitempty" protobuf:"bytes,1,rep,name=ports"`
	// from is a list of sources which should be able to access the pods selected for this rule.
	From []NetworkPolicyPeer `json:"from,omitempty" protobuf:"bytes,2,rep,name=from"`
}

// NetworkPolicyEgressRule describes a particular set of traffic that is allowed out of pods
// matched by a NetworkPolicySpec's podSelector.
type NetworkPolicyEgressRule struct {
	// ports is a list of destination ports for outgoing traffic.
	Ports []NetworkPolicyPort `json:"ports,omitempty" protobuf:"bytes,1,rep,name=ports"`
	// to is a list of destinations for outgoing traffic of pods selected for this rule.
	To []NetworkPolicyPeer `json:"to,omitempty" protobuf:"bytes,2,rep,name=to"`
}

// NetworkPolicyPort describes a port to allow traffic on.
type NetworkPolicyPort struct {
	// protocol represents the protocol (TCP, UDP, or SCTP) which traffic must match.
	Protocol *core.Protocol `json:"protocol,omitempty" protobuf:"bytes,1,opt,name=protocol,casttype=k8s.io/api/core/v1.Protocol"`
	// port represents the port on the given protocol.
	Port *intstr.IntOrString `json:"port,omitempty" protobuf:"bytes,2,opt,name=port"`
	// endPort indicates that the range of ports from port to endPort if set, inclusive, should
	// be allowed by the policy.
	EndPort *int32 `json:"endPort,omitempty" protobuf:"bytes,3,opt,name=endPort"`
}

// IPBlock describes a particular CIDR (Ex. "192.168.1.0/24","2001:db8::/64") that is allowed
// to the pods matched by a NetworkPolicySpec's podSelector.
type IPBlock struct {
	// cidr is a string representing the IPBlock.
	CIDR string `json:"cidr" protobuf:"bytes,1,name=cidr"`
	// except is a slice of CIDRs that should not be included within an IPBlock.
	Except []string `json:"except,omitempty" protobuf:"bytes,2,rep,name=except"`
}

// NetworkPolicyPeer describes a peer to allow traffic to/from.
type NetworkPolicyPeer struct {
	// podSelector is a label selector which selects pods.
	PodSelector *meta.LabelSelector `json:"podSelector,omitempty" protobuf:"bytes,1,opt,name=podSelector"`
	// namespaceSelector selects namespaces using cluster-scoped labels.
	NamespaceSelector *meta.LabelSelector `json:"namespaceSelector,omitempty" protobuf:"bytes,2,opt,name=namespaceSelector"`
	// ipBlock defines policy on a particular IPBlock.
	IPBlock *IPBlock `json:"ipBlock,omitempty" protobuf:"bytes,3,rep,name=ipBlock"`
}

// NetworkPolicyList is a list of NetworkPolicy objects.
type NetworkPolicyList = meta.List[NetworkPolicy]
