package core

import "github.com/skiff-sh/skiff/api/meta"

// ReplicationController represents the configuration of a replication controller: the
// ReplicaSet's predecessor, with an equality-based selector (a plain label map). Its
// controller is the ReplicaSet controller's, seeing it through a ReplicaSet view.
type ReplicationController struct {
	meta.TypeMeta `json:",inline"`
	// If the Labels of a ReplicationController are empty, they are defaulted to be the same
	// as the Pod(s) that the replication controller manages.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Spec defines the specification of the desired behavior of the replication controller.
	Spec ReplicationControllerSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
	// Status is the most recently observed status of the replication controller.
	Status ReplicationControllerStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// ReplicationControllerList is a collection of replication controllers.
type ReplicationControllerList = meta.List[ReplicationController]

// ReplicationControllerSpec is the specification of a replication controller.
type ReplicationControllerSpec struct {
	// Replicas is the number of desired replicas (default 1).
	Replicas *int32 `json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"`
	// Minimum number of seconds for which a newly created pod should be ready without any of
	// its container crashing, for it to be considered available.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty" protobuf:"varint,4,opt,name=minReadySeconds"`
	// Selector is a label query over pods that should match the Replicas count. If Selector
	// is empty, it is defaulted to the labels present on the Pod template.
	Selector map[string]string `json:"selector,omitempty" protobuf:"bytes,2,rep,name=selector"`
	// Template is the object that describes the pod that will be created if insufficient
	// replicas are detected.
	Template *PodTemplateSpec `json:"template,omitempty" protobuf:"bytes,3,opt,name=template"`
}

// ReplicationControllerStatus represents the current status of a replication controller.
type ReplicationControllerStatus struct {
	// Replicas is the most recently observed number of replicas.
	Replicas int32 `json:"replicas" protobuf:"varint,1,opt,name=replicas"`
	// The number of pods that have labels matching the labels of the pod template of the
	// replication controller.
	FullyLabeledReplicas int32 `json:"fullyLabeledReplicas,omitempty" protobuf:"varint,2,opt,name=fullyLabeledReplicas"`
	// The number of ready replicas for this replication controller.
	ReadyReplicas int32 `json:"readyReplicas,omitempty" protobuf:"varint,4,opt,name=readyReplicas"`
	// The number of available replicas (ready for at least minReadySeconds) for this
	// replication controller.
	AvailableReplicas int32 `json:"availableReplicas,omitempty" protobuf:"varint,5,opt,name=availableReplicas"`
	// ObservedGeneration reflects the generation of the most recently observed replication
	// controller.
	ObservedGeneration int64 `json:"observedGeneration,omitempty" protobuf:"varint,3,opt,name=observedGeneration"`
	// Represents the latest available observations of a replication controller's current state.
	Conditions []ReplicationControllerCondition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type" protobuf:"bytes,6,rep,name=conditions"`
}

// ReplicationControllerConditionType is a valid value for ReplicationControllerCondition.Type.
type ReplicationControllerConditionType string

// ReplicationControllerReplicaFailure is added in a replication controller when one of its
// pods fails to be created due to insufficient quota, limit ranges, node selectors, etc.
const ReplicationControllerReplicaFailure ReplicationControllerConditionType = "ReplicaFailure"

// ReplicationControllerCondition describes the state of a replication controller at a
// certain point.
type ReplicationControllerCondition struct {
	// Type of replication controller condition.
	Type ReplicationControllerConditionType `json:"type" protobuf:"bytes,1,opt,name=type,casttype=ReplicationControllerConditionType"`
	// Status of the condition, one of True, False, Unknown.
	Status ConditionStatus `json:"status" protobuf:"bytes,2,opt,name=status,casttype=ConditionStatus"`
	// The last time the condition transitioned from one status to another.
	LastTransitionTime meta.Time `json:"lastTransitionTime,omitempty" protobuf:"bytes,3,opt,name=lastTransitionTime"`
	// The reason for the condition's last transition.
	Reason string `json:"reason,omitempty" protobuf:"bytes,4,opt,name=reason"`
	// A human readable message indicating details about the transition.
	Message string `json:"message,omitempty" protobuf:"bytes,5,opt,name=message"`
}
