package core

const (
	LabelHostname = "kubernetes.io/hostname"
	// Label value is the network location of kube-apiserver stored as <ip:port> Stored in
	// APIServer Identity lease objects to view what address is used for peer proxy
	AnnotationPeerAdvertiseAddress = "kubernetes.io/peer-advertise-address"
	LabelTopologyZone              = "topology.kubernetes.io/zone"
	LabelTopologyRegion            = "topology.kubernetes.io/region"
	// These label have been deprecated since 1.17, but will be supported for the foreseeable
	// future, to accommodate things like long-lived PVs that use them.
	LabelFailureDomainBetaZone   = "failure-domain.beta.kubernetes.io/zone"
	LabelFailureDomainBetaRegion = "failure-domain.beta.kubernetes.io/region"
	// Retained for compat when vendored.
	LabelZoneFailureDomain       = LabelFailureDomainBetaZone
	LabelZoneRegion              = LabelFailureDomainBetaRegion
	LabelZoneFailureDomainStable = LabelTopologyZone
	LabelZoneRegionStable        = LabelTopologyRegion
	LabelInstanceType            = "beta.kubernetes.io/instance-type"
	LabelInstanceTypeStable      = "node.kubernetes.io/instance-type"
	LabelOSStable                = "kubernetes.io/os"
	LabelArchStable              = "kubernetes.io/arch"
	// LabelWindowsBuild is used on Windows nodes to specify the Windows build number starting with
	// v1.17.0.
	LabelWindowsBuild = "node.kubernetes.io/windows-build"
	// LabelNamespaceSuffixKubelet is an allowed label namespace suffix kubelets can self-set
	// ([*.]kubelet.kubernetes.io/*)
	LabelNamespaceSuffixKubelet = "kubelet.kubernetes.io"
	// LabelNamespaceSuffixNode is an allowed label namespace suffix kubelets can self-set
	// ([*.]node.kubernetes.io/*)
	LabelNamespaceSuffixNode = "node.kubernetes.io"
	// LabelNamespaceNodeRestriction is a forbidden label namespace that kubelets may not self-set
	// when the NodeRestriction admission plugin is enabled
	LabelNamespaceNodeRestriction = "node-restriction.kubernetes.io"
	// IsHeadlessService is added by Controller to an Endpoint denoting if its parent Service is
	// Headless.
	IsHeadlessService = "service.kubernetes.io/headless"
	// LabelNodeExcludeBalancers specifies that the node should not be considered as a target for
	// external load-balancers which use nodes as a second hop (e.g. many cloud LBs which only
	// understand nodes).
	LabelNodeExcludeBalancers = "node.kubernetes.io/exclude-from-external-load-balancers"
	// LabelMetadataName is the label name which, in-tree, is used to automatically label
	// namespaces, so they can be selected easily by tools which require definitive labels
	LabelMetadataName = "kubernetes.io/metadata.name"
)

const (
	// TaintNodeNotReady will be added when node is not ready and removed when node becomes ready.
	TaintNodeNotReady = "node.kubernetes.io/not-ready"
	// TaintNodeUnreachable will be added when node becomes unreachable (corresponding to NodeReady
	// status ConditionUnknown) and removed when node becomes reachable (NodeReady status
	// ConditionTrue).
	TaintNodeUnreachable = "node.kubernetes.io/unreachable"
	// TaintNodeUnschedulable will be added when node becomes unschedulable and removed when node
	// becomes schedulable.
	TaintNodeUnschedulable = "node.kubernetes.io/unschedulable"
	// TaintNodeMemoryPressure will be added when node has memory pressure and removed when node
	// has enough memory.
	TaintNodeMemoryPressure = "node.kubernetes.io/memory-pressure"
	// TaintNodeDiskPressure will be added when node has disk pressure and removed when node has
	// enough disk.
	TaintNodeDiskPressure = "node.kubernetes.io/disk-pressure"
	// TaintNodeNetworkUnavailable will be added when node's network is unavailable and removed
	// when network becomes ready.
	TaintNodeNetworkUnavailable = "node.kubernetes.io/network-unavailable"
	// TaintNodePIDPressure will be added when node has pid pressure and removed when node has
	// enough pid.
	TaintNodePIDPressure = "node.kubernetes.io/pid-pressure"
	// TaintNodeOutOfService can be added when node is out of service in case of a non-graceful
	// shutdown
	TaintNodeOutOfService = "node.kubernetes.io/out-of-service"
)

const (
	// ImagePolicyFailedOpenKey is added to pods created by failing open when the image policy
	// webhook backend fails.
	ImagePolicyFailedOpenKey string = "alpha.image-policy.k8s.io/failed-open"
	// MirrorPodAnnotationKey represents the annotation key set by kubelets when creating mirror
	// pods
	MirrorPodAnnotationKey string = "kubernetes.io/config.mirror"
	// TolerationsAnnotationKey represents the key of tolerations data (json serialized) in the
	// Annotations of a Pod.
	TolerationsAnnotationKey string = "scheduler.alpha.kubernetes.io/tolerations"
	// TaintsAnnotationKey represents the key of taints data (json serialized) in the Annotations
	// of a Node.
	TaintsAnnotationKey string = "scheduler.alpha.kubernetes.io/taints"
	// SeccompPodAnnotationKey represents the key of a seccomp profile applied to all containers of
	// a pod.
	SeccompPodAnnotationKey string = "seccomp.security.alpha.kubernetes.io/pod"
	// SeccompContainerAnnotationKeyPrefix represents the key of a seccomp profile applied to one
	// container of a pod.
	SeccompContainerAnnotationKeyPrefix string = "container.seccomp.security.alpha.kubernetes.io/"
	// SeccompProfileRuntimeDefault represents the default seccomp profile used by container
	// runtime.
	SeccompProfileRuntimeDefault string = "runtime/default"
	// SeccompProfileNameUnconfined is the unconfined seccomp profile.
	SeccompProfileNameUnconfined string = "unconfined"
	// SeccompLocalhostProfileNamePrefix is the prefix for specifying profiles loaded from the
	// node's disk.
	SeccompLocalhostProfileNamePrefix = "localhost/"
	// DeprecatedAppArmorBetaContainerAnnotationKeyPrefix is the prefix to an annotation key
	// specifying a container's apparmor profile.
	DeprecatedAppArmorBetaContainerAnnotationKeyPrefix = "container.apparmor.security.beta.kubernetes.io/"
	// DeprecatedAppArmorBetaProfileRuntimeDefault is the profile specifying the runtime default.
	DeprecatedAppArmorBetaProfileRuntimeDefault = "runtime/default"
	// DeprecatedAppArmorBetaProfileNamePrefix is the prefix for specifying profiles loaded on the
	// node.
	DeprecatedAppArmorBetaProfileNamePrefix = "localhost/"
	// DeprecatedAppArmorBetaProfileNameUnconfined is the Unconfined AppArmor profile
	DeprecatedAppArmorBetaProfileNameUnconfined = "unconfined"
	// DeprecatedSeccompProfileDockerDefault represents the default seccomp profile used by docker.
	DeprecatedSeccompProfileDockerDefault string = "docker/default"
	// PreferAvoidPodsAnnotationKey represents the key of preferAvoidPods data (json serialized) in
	// the Annotations of a Node.
	PreferAvoidPodsAnnotationKey string = "scheduler.alpha.kubernetes.io/preferAvoidPods"
	// ObjectTTLAnnotationKey represents a suggestion for kubelet for how long it can cache an
	// object (e.g. secret, config map) before fetching it again from apiserver.
	ObjectTTLAnnotationKey string = "node.alpha.kubernetes.io/ttl"
	// NonConvertibleAnnotationPrefix is the annotation key prefix used to identify non-convertible
	// json paths.
	NonConvertibleAnnotationPrefix = "non-convertible.kubernetes.io"
	kubectlPrefix                  = "kubectl.kubernetes.io/"
	// LastAppliedConfigAnnotation is the annotation used to store the previous configuration of a
	// resource for use in a three way diff by UpdateApplyAnnotation.
	LastAppliedConfigAnnotation = kubectlPrefix + "last-applied-configuration"
	// AnnotationLoadBalancerSourceRangesKey is the key of the annotation on a service to set
	// allowed ingress ranges on their LoadBalancers
	AnnotationLoadBalancerSourceRangesKey = "service.beta.kubernetes.io/load-balancer-source-ranges"
	// EndpointsLastChangeTriggerTime is the annotation key, set for endpoints objects, that
	// represents the timestamp (stored as RFC 3339 date-time string, e.g.
	// '2018-10-22T19:32:52.1Z') of the last change, of some Pod or Service object, that triggered
	// the endpoints object change.
	EndpointsLastChangeTriggerTime = "endpoints.kubernetes.io/last-change-trigger-time"
	// EndpointsOverCapacity will be set on an Endpoints resource when it exceeds the maximum
	// capacity of 1000 addresses.
	EndpointsOverCapacity = "endpoints.kubernetes.io/over-capacity"
	// MigratedPluginsAnnotationKey is the annotation key, set for CSINode objects, that is a
	// comma-separated list of in-tree plugins that will be serviced by the CSI backend on the Node
	// represented by CSINode.
	MigratedPluginsAnnotationKey = "storage.alpha.kubernetes.io/migrated-plugins"
	// PodDeletionCost can be used to set to an int32 that represent the cost of deleting a pod
	// compared to other pods belonging to the same ReplicaSet.
	PodDeletionCost = "controller.kubernetes.io/pod-deletion-cost"
	// DeprecatedAnnotationTopologyAwareHints can be used to enable or disable Topology Aware Hints
	// for a Service.
	DeprecatedAnnotationTopologyAwareHints = "service.kubernetes.io/topology-aware-hints"
	// AnnotationTopologyMode can be used to enable or disable Topology Aware Routing for a
	// Service.
	AnnotationTopologyMode = "service.kubernetes.io/topology-mode"
)
