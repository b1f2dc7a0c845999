// Package apiregistration holds the kind of the apiregistration.k8s.io API group
// (APIService), field for field as k8s.io/kube-aggregator's apiregistration/v1 declares it:
// same JSON names, omitempty, pointers and protobuf tags. An APIService with a service
// reference makes the API server proxy its group/version to that Service (apiserver's
// aggregator); one without is served locally.
//
// Code derived from k8s.io/kube-aggregator v0.33.0 pkg/apis/apiregistration/v1 (Apache-2.0).
package apiregistration

import "github.com/skiff-sh/skiff/api/meta"

// GroupName is the API group of these kinds.
const GroupName = "apiregistration.k8s.io"

// Version is the served version of the group.
const Version = "v1"

// APIServiceList is a list of APIService objects.
type APIServiceList = meta.List[APIService]

// ServiceReference holds a reference to Service.legacy.k8s.io.
type ServiceReference struct {
	// Namespace is the namespace of the service.
	Namespace string `json:"namespace,omitempty" protobuf:"bytes,1,opt,name=namespace"`
	// Name is the name of the service.
	Name string `json:"name,omitempty" protobuf:"bytes,2,opt,name=name"`
	// If specified, the port on the service that hosting webhook. Default to 443.
	Port *int32 `json:"port,omitempty" protobuf:"varint,3,opt,name=port"`
}

// APIServiceSpec contains information for locating and communicating with a server.
type APIServiceSpec struct {
	// Service is a reference to the service for this API server. If nil, the group/version
	// is handled locally on this server.
	Service *ServiceReference `json:"service,omitempty" protobuf:"bytes,1,opt,name=service"`
	// Group is the API group name this server hosts.
	Group string `json:"group,omitempty" protobuf:"bytes,2,opt,name=group"`
	// Version is the API version this server hosts. For example, "v1".
	Version string `json:"version,omitempty" protobuf:"bytes,3,opt,name=version"`
	// InsecureSkipTLSVerify disables TLS certificate verification when communicating with
	// this server.
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty" protobuf:"varint,4,opt,name=insecureSkipTLSVerify"`
	// CABundle is a PEM encoded CA bundle which will be used to validate an API server's
	// serving certificate.
	CABundle []byte `json:"caBundle,omitempty" protobuf:"bytes,5,opt,name=caBundle"`
	// GroupPriorityMinimum is the priority this group should have at least.
	GroupPriorityMinimum int32 `json:"groupPriorityMinimum" protobuf:"varint,7,opt,name=groupPriorityMinimum"`
	// VersionPriority controls the ordering of this API version inside of its group.
	VersionPriority int32 `json:"versionPriority" protobuf:"varint,8,opt,name=versionPriority"`
}

// ConditionStatus indicates the status of a condition (true, false, or unknown).
type ConditionStatus string

// These are valid condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// APIServiceConditionType is a valid value for APIServiceCondition.Type.
type APIServiceConditionType string

// Available indicates that the service exists and is reachable.
const Available APIServiceConditionType = "Available"

// APIServiceCondition describes the state of an APIService at a particular point.
type APIServiceCondition struct {
	// Type is the type of the condition.
	Type APIServiceConditionType `json:"type" protobuf:"bytes,1,opt,name=type,casttype=APIServiceConditionType"`
	// Status is the status of the condition. Can be True, False, Unknown.
	Status ConditionStatus `json:"status" protobuf:"bytes,2,opt,name=status,casttype=ConditionStatus"`
	// Last time the condition transitioned from one status to another.
	LastTransitionTime meta.Time `json:"lastTransitionTime,omitempty" protobuf:"bytes,3,opt,name=lastTransitionTime"`
	// Unique, one-word, CamelCase reason for the condition's last transition.
	Reason string `json:"reason,omitempty" protobuf:"bytes,4,opt,name=reason"`
	// Human-readable message indicating details about last transition.
	Message string `json:"message,omitempty" protobuf:"bytes,5,opt,name=message"`
}

// APIServiceStatus contains derived information about an API server.
type APIServiceStatus struct {
	// Current service state of apiService.
	Conditions []APIServiceCondition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type" protobuf:"bytes,1,rep,name=conditions"`
}

// APIService represents a server for a particular GroupVersion. Name must be
// "version.group".
type APIService struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Spec contains information for locating and communicating with a server.
	Spec APIServiceSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
	// Status contains derived information about an API server.
	Status APIServiceStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// Condition is the condition of type t, or nil.
func (s *APIServiceStatus) Condition(t APIServiceConditionType) *APIServiceCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}
