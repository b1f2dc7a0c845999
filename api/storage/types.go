// Code derived from k8s.io/api v0.33.0 (Apache-2.0): the same type names, JSON tags, patch
// tags and protobuf tags; comments shortened to their first sentence, lists as meta.List.

package storage

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// StorageClass describes the parameters for a class of storage for which PersistentVolumes can
// be dynamically provisioned.
type StorageClass struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// provisioner indicates the type of the provisioner.
	Provisioner string `json:"provisioner" protobuf:"bytes,2,opt,name=provisioner"`
	// parameters holds the parameters for the provisioner that should create volumes of this
	// storage class.
	Parameters map[string]string `json:"parameters,omitempty" protobuf:"bytes,3,rep,name=parameters"`
	// reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of
	// this storage class.
	ReclaimPolicy *core.PersistentVolumeReclaimPolicy `json:"reclaimPolicy,omitempty" protobuf:"bytes,4,opt,name=reclaimPolicy,casttype=k8s.io/api/core/v1.PersistentVolumeReclaimPolicy"`
	// mountOptions controls the mountOptions for dynamically provisioned PersistentVolumes of
	// this storage class.
	MountOptions []string `json:"mountOptions,omitempty" protobuf:"bytes,5,opt,name=mountOptions"`
	// allowVolumeExpansion shows whether the storage class allow volume expand.
	AllowVolumeExpansion *bool `json:"allowVolumeExpansion,omitempty" protobuf:"varint,6,opt,name=allowVolumeExpansion"`
	// volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.
	VolumeBindingMode *VolumeBindingMode `json:"volumeBindingMode,omitempty" protobuf:"bytes,7,opt,name=volumeBindingMode"`
	// allowedTopologies restrict the node topologies where volumes can be dynamically
	// provisioned.
	AllowedTopologies []core.TopologySelectorTerm `json:"allowedTopologies,omitempty" protobuf:"bytes,8,rep,name=allowedTopologies"`
}

// StorageClassList is a collection of storage classes.
type StorageClassList = meta.List[StorageClass]

// VolumeBindingMode indicates how PersistentVolumeClaims should be bound.
type VolumeBindingMode string

const (
	// VolumeBindingImmediate indicates that PersistentVolumeClaims should be immediately
	// provisioned and bound.
	VolumeBindingImmediate VolumeBindingMode = "Immediate"
	// VolumeBindingWaitForFirstConsumer indicates that PersistentVolumeClaims should not be
	// provisioned and bound until the first Pod is created that references the claim.
	VolumeBindingWaitForFirstConsumer VolumeBindingMode = "WaitForFirstConsumer"
)

// VolumeAttachment captures the intent to attach or detach the specified volume to/from the
// specified node.
type VolumeAttachment struct {
	meta.TypeMeta `json:",inline"`
	// Standard object metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec represents specification of the desired attach/detach volume behavior.
	Spec VolumeAttachmentSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
	// status represents status of the VolumeAttachment request.
	Status VolumeAttachmentStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// VolumeAttachmentList is a collection of VolumeAttachment objects.
type VolumeAttachmentList = meta.List[VolumeAttachment]

// VolumeAttachmentSpec is the specification of a VolumeAttachment request.
type VolumeAttachmentSpec struct {
	// attacher indicates the name of the volume driver that MUST handle this request.
	Attacher string `json:"attacher" protobuf:"bytes,1,opt,name=attacher"`
	// source represents the volume that should be attached.
	Source VolumeAttachmentSource `json:"source" protobuf:"bytes,2,opt,name=source"`
	// nodeName represents the node that the volume should be attached to.
	NodeName string `json:"nodeName" protobuf:"bytes,3,opt,name=nodeName"`
}

// VolumeAttachmentSource represents a volume that should be attached.
type VolumeAttachmentSource struct {
	// persistentVolumeName represents the name of the persistent volume to attach.
	PersistentVolumeName *string `json:"persistentVolumeName,omitempty" protobuf:"bytes,1,opt,name=persistentVolumeName"`
	// inlineVolumeSpec contains all the information necessary to attach a persistent volume
	// defined by a pod's inline VolumeSource.
	InlineVolumeSpec *core.PersistentVolumeSpec `json:"inlineVolumeSpec,omitempty" protobuf:"bytes,2,opt,name=inlineVolumeSpec"`
}

// VolumeAttachmentStatus is the status of a VolumeAttachment request.
type VolumeAttachmentStatus struct {
	// attached indicates the volume is successfully attached.
	Attached bool `json:"attached" protobuf:"varint,1,opt,name=attached"`
	// attachmentMetadata is populated with any information returned by the attach operation.
	AttachmentMetadata map[string]string `json:"attachmentMetadata,omitempty" protobuf:"bytes,2,rep,name=attachmentMetadata"`
	// attachError represents the last error encountered during attach operation, if any.
	AttachError *VolumeError `json:"attachError,omitempty" protobuf:"bytes,3,opt,name=attachError,casttype=VolumeError"`
	// detachError represents the last error encountered during detach operation, if any.
	DetachError *VolumeError `json:"detachError,omitempty" protobuf:"bytes,4,opt,name=detachError,casttype=VolumeError"`
}

// VolumeError captures an error encountered during a volume operation.
type VolumeError struct {
	// time represents the time the error was encountered.
	Time meta.Time `json:"time,omitempty" protobuf:"bytes,1,opt,name=time"`
	// message represents the error encountered during Attach or Detach operation.
	Message string `json:"message,omitempty" protobuf:"bytes,2,opt,name=message"`
	// errorCode is a numeric gRPC code representing the error encountered during Attach or
	// Detach operations.
	ErrorCode *int32 `json:"errorCode,omitempty" protobuf:"varint,3,opt,name=errorCode"`
}

// CSIDriver captures information about a Container Storage Interface (CSI) volume driver
// deployed on the cluster.
type CSIDriver struct {
	meta.TypeMeta `json:",inline"`
	// Standard object metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec represents the specification of the CSI Driver.
	Spec CSIDriverSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
}

// CSIDriverList is a collection of CSIDriver objects.
type CSIDriverList = meta.List[CSIDriver]

// CSIDriverSpec is the specification of a CSIDriver.
type CSIDriverSpec struct {
	// attachRequired indicates this CSI volume driver requires an attach operation.
	AttachRequired *bool `json:"attachRequired,omitempty" protobuf:"varint,1,opt,name=attachRequired"`
	// podInfoOnMount indicates this CSI volume driver requires additional pod information
	// (like podName, podUID, etc.) during mount operations.
	PodInfoOnMount *bool `json:"podInfoOnMount,omitempty" protobuf:"bytes,2,opt,name=podInfoOnMount"`
	// volumeLifecycleModes defines what kind of volumes this CSI volume driver supports.
	VolumeLifecycleModes []VolumeLifecycleMode `json:"volumeLifecycleModes,omitempty" protobuf:"bytes,3,opt,name=volumeLifecycleModes"`
	// storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the
	// storage capacity that the driver deployment will report.
	StorageCapacity *bool `json:"storageCapacity,omitempty" protobuf:"bytes,4,opt,name=storageCapacity"`
	// fsGroupPolicy defines if the underlying volume supports changing ownership and permission
	// of the volume before being mounted.
	FSGroupPolicy *FSGroupPolicy `json:"fsGroupPolicy,omitempty" protobuf:"bytes,5,opt,name=fsGroupPolicy"`
	// tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting
	// volume for to do necessary authentication.
	TokenRequests []TokenRequest `json:"tokenRequests,omitempty" protobuf:"bytes,6,opt,name=tokenRequests"`
	// requiresRepublish indicates the CSI driver wants `NodePublishVolume` being periodically
	// called to reflect any possible change in the mounted volume.
	RequiresRepublish *bool `json:"requiresRepublish,omitempty" protobuf:"varint,7,opt,name=requiresRepublish"`
	// seLinuxMount specifies if the CSI driver supports "-o context" mount option.
	SELinuxMount *bool `json:"seLinuxMount,omitempty" protobuf:"varint,8,opt,name=seLinuxMount"`
	// nodeAllocatableUpdatePeriodSeconds specifies the interval between periodic updates of the
	// CSINode allocatable capacity for this driver.
	NodeAllocatableUpdatePeriodSeconds *int64 `json:"nodeAllocatableUpdatePeriodSeconds,omitempty" protobuf:"varint,9,opt,name=nodeAllocatableUpdatePeriodSeconds"`
}

// FSGroupPolicy specifies if a CSI Driver supports modifying volume ownership and permissions
// of the volume to be mounted.
type FSGroupPolicy string

const (
	// ReadWriteOnceWithFSTypeFSGroupPolicy modifies ownership only for RWO volumes with a fsType.
	ReadWriteOnceWithFSTypeFSGroupPolicy FSGroupPolicy = "ReadWriteOnceWithFSType"
	// FileFSGroupPolicy always modifies ownership.
	FileFSGroupPolicy FSGroupPolicy = "File"
	// NoneFSGroupPolicy never modifies ownership.
	NoneFSGroupPolicy FSGroupPolicy = "None"
)

// VolumeLifecycleMode is an enumeration of possible usage modes for a volume provided by a CSI
// driver.
type VolumeLifecycleMode string

const (
	// VolumeLifecyclePersistent explicitly confirms that the driver implements the full set of
	// functionality for persistent volumes.
	VolumeLifecyclePersistent VolumeLifecycleMode = "Persistent"
	// VolumeLifecycleEphemeral indicates that the driver can be used for ephemeral inline
	// volumes.
	VolumeLifecycleEphemeral VolumeLifecycleMode = "Ephemeral"
)

// TokenRequest contains parameters of a service account token.
type TokenRequest struct {
	// audience is the intended audience of the token in "TokenRequestSpec".
	Audience string `json:"audience" protobuf:"bytes,1,opt,name=audience"`
	// expirationSeconds is the duration of validity of the token in "TokenRequestSpec".
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty" protobuf:"varint,2,opt,name=expirationSeconds"`
}

// CSINode holds information about all CSI drivers installed on a node.
type CSINode struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec is the specification of CSINode
	Spec CSINodeSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
}

// CSINodeSpec holds information about the specification of all CSI drivers installed on a
// node
type CSINodeSpec struct {
	// drivers is a list of information of all CSI Drivers existing on a node.
	Drivers []CSINodeDriver `json:"drivers" patchStrategy:"merge" patchMergeKey:"name" protobuf:"bytes,1,rep,name=drivers"`
}

// CSINodeDriver holds information about the specification of one CSI driver installed on a
// node
type CSINodeDriver struct {
	// name represents the name of the CSI driver that this object refers to.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// nodeID of the node from the driver point of view.
	NodeID string `json:"nodeID" protobuf:"bytes,2,opt,name=nodeID"`
	// topologyKeys is the list of keys supported by the driver.
	TopologyKeys []string `json:"topologyKeys" protobuf:"bytes,3,rep,name=topologyKeys"`
	// allocatable represents the volume resources of a node that are available for scheduling.
	Allocatable *VolumeNodeResources `json:"allocatable,omitempty" protobuf:"bytes,4,opt,name=allocatable"`
}

// VolumeNodeResources is a set of resource limits for scheduling of volumes.
type VolumeNodeResources struct {
	// count indicates the maximum number of unique volumes managed by the CSI driver that can
	// be used on a node.
	Count *int32 `json:"count,omitempty" protobuf:"varint,1,opt,name=count"`
}

// CSINodeList is a collection of CSINode objects.
type CSINodeList = meta.List[CSINode]

// CSIStorageCapacity stores the result of one CSI GetCapacity call.
type CSIStorageCapacity struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// nodeTopology defines which nodes have access to the storage for which capacity was
	// reported.
	NodeTopology *meta.LabelSelector `json:"nodeTopology,omitempty" protobuf:"bytes,2,opt,name=nodeTopology"`
	// storageClassName represents the name of the StorageClass that the reported capacity
	// applies to.
	StorageClassName string `json:"storageClassName" protobuf:"bytes,3,name=storageClassName"`
	// capacity is the value reported by the CSI driver in its GetCapacityResponse for a
	// GetCapacityRequest with topology and parameters that match the previous fields.
	Capacity *resource.Quantity `json:"capacity,omitempty" protobuf:"bytes,4,opt,name=capacity"`
	// maximumVolumeSize is the value reported by the CSI driver in its GetCapacityResponse for a
	// GetCapacityRequest with topology and parameters that match the previous fields.
	MaximumVolumeSize *resource.Quantity `json:"maximumVolumeSize,omitempty" protobuf:"bytes,5,opt,name=maximumVolumeSize"`
}

// CSIStorageCapacityList is a collection of CSIStorageCapacity objects.
type CSIStorageCapacityList = meta.List[CSIStorageCapacity]
