// Package v1 is the example operator's API: example.skiff.sh/v1 Website, a web server
// the operator runs as a Deployment behind a Service.
package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of Website.
var GroupVersion = schema.GroupVersion{Group: "example.skiff.sh", Version: "v1"}

// AddToScheme registers Website and WebsiteList.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Website{}, &WebsiteList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

// Website is a web server: Image serving on Port, Replicas times.
type Website struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WebsiteSpec   `json:"spec,omitempty"`
	Status WebsiteStatus `json:"status,omitempty"`
}

// WebsiteSpec is what the user asks for. The defaulting webhook sets Replicas (1) and Port
// (8080) when they are left out; the validating webhook refuses what cannot run.
type WebsiteSpec struct {
	Image    string `json:"image,omitempty"`
	Replicas *int32 `json:"replicas,omitempty"`
	Port     int32  `json:"port,omitempty"`
}

// WebsiteStatus is what the operator observed.
type WebsiteStatus struct {
	// ObservedGeneration is the generation of the spec the status is about.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// AvailableReplicas is the Deployment's.
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// URL is where the Service serves the site inside the cluster.
	URL string `json:"url,omitempty"`
	// Conditions: Available (every replica is available).
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// WebsiteList is a list of Websites.
type WebsiteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Website `json:"items"`
}

// ConditionAvailable is True when every replica of the site is available.
const ConditionAvailable = "Available"
