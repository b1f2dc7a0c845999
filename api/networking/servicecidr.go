// Code derived from k8s.io/api v0.33.0 (Apache-2.0): the same type names, JSON tags, patch
// tags and protobuf tags; comments shortened to their first sentence, lists as meta.List.

package networking

import "github.com/skiff-sh/skiff/api/meta"

// IPAddress represents a single IP of a single IP Family.
type IPAddress struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec is the desired state of the IPAddress.
	Spec IPAddressSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
}

// IPAddressSpec describe the attributes in an IP Address.
type IPAddressSpec struct {
	// ParentRef references the resource that an IPAddress is attached to.
	ParentRef *ParentReference `json:"parentRef,omitempty" protobuf:"bytes,1,opt,name=parentRef"`
}

// ParentReference describes a reference to a parent object.
type ParentReference struct {
	// Group is the group of the object being referenced.
	Group string `json:"group,omitempty" protobuf:"bytes,1,opt,name=group"`
	// Resource is the resource of the object being referenced.
	Resource string `json:"resource,omitempty" protobuf:"bytes,2,opt,name=resource"`
	// Namespace is the namespace of the object being referenced.
	Namespace string `json:"namespace,omitempty" protobuf:"bytes,3,opt,name=namespace"`
	// Name is the name of the object being referenced.
	Name string `json:"name,omitempty" protobuf:"bytes,4,opt,name=name"`
}

// IPAddressList contains a list of IPAddress.
type IPAddressList = meta.List[IPAddress]

// ServiceCIDR defines a range of IP addresses using CIDR format (e.g. 192.168.0.0/24 or
// 2001:db2::/64).
type ServiceCIDR struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec is the desired state of the ServiceCIDR.
	Spec ServiceCIDRSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
	// status represents the current state of the ServiceCIDR.
	Status ServiceCIDRStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// ServiceCIDRSpec define the CIDRs the user wants to use for allocating ClusterIPs for Services.
type ServiceCIDRSpec struct {
	// CIDRs defines the IP blocks in CIDR notation (e.g. "192.168.0.0/24" or "2001:db8::/64")
	// from which to assign service cluster IPs.
	CIDRs []string `json:"cidrs,omitempty" protobuf:"bytes,1,opt,name=cidrs"`
}

const (
	// ServiceCIDRConditionReady represents status of a ServiceCIDR that is ready to be used
	// by the apiserver to allocate ClusterIPs for Services.
	ServiceCIDRConditionReady = "Ready"
	// ServiceCIDRReasonTerminating represents a reason where a ServiceCIDR is not ready
	// because it is being deleted.
	ServiceCIDRReasonTerminating = "Terminating"
)

// ServiceCIDRStatus describes the current state of the ServiceCIDR.
type ServiceCIDRStatus struct {
	// conditions holds an array of metav1.Condition that describe the state of the ServiceCIDR.
	Conditions []meta.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type" protobuf:"bytes,1,rep,name=conditions"`
}

// ServiceCIDRList contains a list of ServiceCIDR objects.
type ServiceCIDRList = meta.List[ServiceCIDR]

// Well-known names and labels of the Service IP allocator, as Kubernetes sets them.
const (
	// DefaultServiceCIDRName is the ServiceCIDR the API server creates from its
	// --service-cluster-ip-range.
	DefaultServiceCIDRName = "kubernetes"
	// LabelIPAddressFamily is the IP family label of an IPAddress.
	LabelIPAddressFamily = "ipaddress.kubernetes.io/ip-family"
	// LabelManagedBy names who manages an IPAddress.
	LabelManagedBy = "ipaddress.kubernetes.io/managed-by"
	// AllocatorManager is the LabelManagedBy value of the Service IP allocator's addresses.
	AllocatorManager = "ipallocator.k8s.io"
)
