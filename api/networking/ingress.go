// Code derived from k8s.io/api v0.33.0 (Apache-2.0): the same type names, JSON tags, patch
// tags and protobuf tags; comments shortened to their first sentence, lists as meta.List.

package networking

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// Ingress is a collection of rules that allow inbound connections to reach the endpoints
// defined by a backend.
type Ingress struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec is the desired state of the Ingress.
	Spec IngressSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
	// status is the current state of the Ingress.
	Status IngressStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// IngressList is a collection of Ingress.
type IngressList = meta.List[Ingress]

// IngressSpec describes the Ingress the user wishes to exist.
type IngressSpec struct {
	// ingressClassName is the name of an IngressClass cluster resource.
	IngressClassName *string `json:"ingressClassName,omitempty" protobuf:"bytes,4,opt,name=ingressClassName"`
	// defaultBackend is the backend that should handle requests that don't match any rule.
	DefaultBackend *IngressBackend `json:"defaultBackend,omitempty" protobuf:"bytes,1,opt,name=defaultBackend"`
	// tls represents the TLS configuration.
	TLS []IngressTLS `json:"tls,omitempty" protobuf:"bytes,2,rep,name=tls"`
	// rules is a list of host rules used to configure the Ingress.
	Rules []IngressRule `json:"rules,omitempty" protobuf:"bytes,3,rep,name=rules"`
}

// IngressTLS describes the transport layer security associated with an ingress.
type IngressTLS struct {
	// hosts is a list of hosts included in the TLS certificate.
	Hosts []string `json:"hosts,omitempty" protobuf:"bytes,1,rep,name=hosts"`
	// secretName is the name of the secret used to terminate TLS traffic on port 443.
	SecretName string `json:"secretName,omitempty" protobuf:"bytes,2,opt,name=secretName"`
}

// IngressStatus describe the current state of the Ingress.
type IngressStatus struct {
	// loadBalancer contains the current status of the load-balancer.
	LoadBalancer IngressLoadBalancerStatus `json:"loadBalancer,omitempty" protobuf:"bytes,1,opt,name=loadBalancer"`
}

// IngressLoadBalancerStatus represents the status of a load-balancer.
type IngressLoadBalancerStatus struct {
	// ingress is a list containing ingress points for the load-balancer.
	Ingress []IngressLoadBalancerIngress `json:"ingress,omitempty" protobuf:"bytes,1,rep,name=ingress"`
}

// IngressLoadBalancerIngress represents the status of a load-balancer ingress point.
type IngressLoadBalancerIngress struct {
	// ip is set for load-balancer ingress points that are IP based.
	IP string `json:"ip,omitempty" protobuf:"bytes,1,opt,name=ip"`
	// hostname is set for load-balancer ingress points that are DNS based.
	Hostname string `json:"hostname,omitempty" protobuf:"bytes,2,opt,name=hostname"`
	// ports provides information about the ports exposed by this LoadBalancer.
	Ports []IngressPortStatus `json:"ports,omitempty" protobuf:"bytes,4,rep,name=ports"`
}

// IngressPortStatus represents the error condition of a service port.
type IngressPortStatus struct {
	// port is the port number of the ingress port.
	Port int32 `json:"port" protobuf:"varint,1,opt,name=port"`
	// protocol is the protocol of the ingress port.
	Protocol core.Protocol `json:"protocol" protobuf:"bytes,2,opt,name=protocol,casttype=Protocol"`
	// error is to record the problem with the service port.
	Error *string `json:"error,omitempty" protobuf:"bytes,3,opt,name=error"`
}

// IngressRule represents the rules mapping the paths under a specified host to the related
// backend services.
type IngressRule struct {
	// host is the fully qualified domain name of a network host, or a wildcard ("*.foo.com").
	Host string `json:"host,omitempty" protobuf:"bytes,1,opt,name=host"`
	// IngressRuleValue represents a rule to route requests for this IngressRule.
	IngressRuleValue `json:",inline" protobuf:"bytes,2,opt,name=ingressRuleValue"`
}

// IngressRuleValue represents a rule to apply against incoming requests.
type IngressRuleValue struct {
	HTTP *HTTPIngressRuleValue `json:"http,omitempty" protobuf:"bytes,1,opt,name=http"`
}

// HTTPIngressRuleValue is a list of http selectors pointing to backends.
type HTTPIngressRuleValue struct {
	// paths is a collection of paths that map requests to backends.
	Paths []HTTPIngressPath `json:"paths" protobuf:"bytes,1,rep,name=paths"`
}

// PathType represents the type of path referred to by a HTTPIngressPath.
type PathType string

const (
	// PathTypeExact matches the URL path exactly and with case sensitivity.
	PathTypeExact = PathType("Exact")
	// PathTypePrefix matches based on a URL path prefix split by '/', element by element.
	PathTypePrefix = PathType("Prefix")
	// PathTypeImplementationSpecific matching is up to the IngressClass (skiff: as Prefix).
	PathTypeImplementationSpecific = PathType("ImplementationSpecific")
)

// HTTPIngressPath associates a path with a backend.
type HTTPIngressPath struct {
	// path is matched against the path of an incoming request.
	Path string `json:"path,omitempty" protobuf:"bytes,1,opt,name=path"`
	// pathType determines the interpretation of the path matching.
	PathType *PathType `json:"pathType" protobuf:"bytes,3,opt,name=pathType"`
	// backend defines the referenced service endpoint to which the traffic will be forwarded to.
	Backend IngressBackend `json:"backend" protobuf:"bytes,2,opt,name=backend"`
}

// IngressBackend describes all endpoints for a given service and port.
type IngressBackend struct {
	// service references a service as a backend.
	Service *IngressServiceBackend `json:"service,omitempty" protobuf:"bytes,4,opt,name=service"`
	// resource is an ObjectRef to another Kubernetes resource in the namespace of the Ingress object.
	Resource *core.TypedLocalObjectReference `json:"resource,omitempty" protobuf:"bytes,3,opt,name=resource"`
}

// IngressServiceBackend references a Kubernetes Service as a Backend.
type IngressServiceBackend struct {
	// name is the referenced service.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// port of the referenced service.
	Port ServiceBackendPort `json:"port,omitempty" protobuf:"bytes,2,opt,name=port"`
}

// ServiceBackendPort is the service port being referenced.
type ServiceBackendPort struct {
	// name is the name of the port on the Service.
	Name string `json:"name,omitempty" protobuf:"bytes,1,opt,name=name"`
	// number is the numerical port number (e.g. 80) on the Service.
	Number int32 `json:"number,omitempty" protobuf:"bytes,2,opt,name=number"`
}

// IngressClass represents the class of the Ingress, referenced by the Ingress Spec.
type IngressClass struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec is the desired state of the IngressClass.
	Spec IngressClassSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
}

// IngressClassList is a collection of IngressClasses.
type IngressClassList = meta.List[IngressClass]

// IngressClassSpec provides information about the class of an Ingress.
type IngressClassSpec struct {
	// controller refers to the name of the controller that should handle this class.
	Controller string `json:"controller,omitempty" protobuf:"bytes,1,opt,name=controller"`
	// parameters is a link to a custom resource containing additional configuration for the controller.
	Parameters *IngressClassParametersReference `json:"parameters,omitempty" protobuf:"bytes,2,opt,name=parameters"`
}

const (
	// IngressClassParametersReferenceScopeNamespace indicates that the referenced Parameters
	// resource is namespace-scoped.
	IngressClassParametersReferenceScopeNamespace = "Namespace"
	// IngressClassParametersReferenceScopeCluster indicates that the referenced Parameters
	// resource is cluster-scoped.
	IngressClassParametersReferenceScopeCluster = "Cluster"
)

// IngressClassParametersReference identifies an API object.
type IngressClassParametersReference struct {
	// apiGroup is the group for the resource being referenced.
	APIGroup *string `json:"apiGroup,omitempty" protobuf:"bytes,1,opt,name=aPIGroup"`
	// kind is the type of resource being referenced.
	Kind string `json:"kind" protobuf:"bytes,2,opt,name=kind"`
	// name is the name of resource being referenced.
	Name string `json:"name" protobuf:"bytes,3,opt,name=name"`
	// scope represents if this refers to a cluster or namespace scoped resource.
	Scope *string `json:"scope" protobuf:"bytes,4,opt,name=scope"`
	// namespace is the namespace of the resource being referenced.
	Namespace *string `json:"namespace,omitempty" protobuf:"bytes,5,opt,name=namespace"`
}

// AnnotationIsDefaultIngressClass marks the IngressClass given to Ingresses that name none.
const AnnotationIsDefaultIngressClass = "ingressclass.kubernetes.io/is-default-class"

// AnnotationIngressClass is the deprecated annotation naming an Ingress's class; controllers
// still honour it.
const AnnotationIngressClass = "kubernetes.io/ingress.class"

// skiff's own IngressClass: the API server creates it at bootstrap, marked default, and
// skiff-ingress serves every class whose spec.controller is SkiffController.
const (
	SkiffIngressClassName = "skiff"
	SkiffController       = "skiff.dev/ingress"
)
