package replicaset

import (
	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// adapter is how the controller sees the kind it keeps pods for: as a ReplicaSet (view, for
// reading only; its metadata and TypeMeta are the object's, so owner references and events
// name the real kind), and how a computed status is written back.
type adapter[T any, PT interface {
	*T
	meta.Object
}] struct {
	apiVersion, kind string
	view             func(PT) *apps.ReplicaSet
	withStatus       func(PT, apps.ReplicaSetStatus) PT // a copy of the object with that status
}

var replicaSets = adapter[apps.ReplicaSet, *apps.ReplicaSet]{
	apiVersion: "apps/v1", kind: "ReplicaSet",
	view: func(rs *apps.ReplicaSet) *apps.ReplicaSet { return rs },
	withStatus: func(rs *apps.ReplicaSet, st apps.ReplicaSetStatus) *apps.ReplicaSet {
		n := controller.DeepCopy(rs)
		n.Status = st
		return n
	},
}

// ReplicationManagerName is the ReplicationController controller's name in --controllers
// and in metrics (Kubernetes': "replicationcontroller").
const ReplicationManagerName = "replicationcontroller"

// ReplicationManager is the ReplicationController controller.
type ReplicationManager = Controller[core.ReplicationController, *core.ReplicationController]

// NewReplicationManager makes the ReplicationController controller.
func NewReplicationManager(cc *controller.Context) *ReplicationManager {
	sets := informer.For[core.ReplicationController](cc.Informers, controller.ReplicationControllers)
	return newController(cc, ReplicationManagerName, "replication-controller", replicationControllers, controller.ReplicationControllers, sets)
}

var replicationControllers = adapter[core.ReplicationController, *core.ReplicationController]{
	apiVersion: "v1", kind: "ReplicationController",
	view: rcAsReplicaSet,
	withStatus: func(rc *core.ReplicationController, st apps.ReplicaSetStatus) *core.ReplicationController {
		n := controller.DeepCopy(rc)
		n.Status = core.ReplicationControllerStatus{
			Replicas: st.Replicas, FullyLabeledReplicas: st.FullyLabeledReplicas, ReadyReplicas: st.ReadyReplicas,
			AvailableReplicas: st.AvailableReplicas, ObservedGeneration: st.ObservedGeneration,
		}
		for _, c := range st.Conditions {
			n.Status.Conditions = append(n.Status.Conditions, core.ReplicationControllerCondition{
				Type: core.ReplicationControllerConditionType(c.Type), Status: c.Status,
				LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
			})
		}
		return n
	},
}

// rcAsReplicaSet is Kubernetes' conversion of a ReplicationController to a ReplicaSet:
// the selector becomes matchLabels, a missing template an empty one.
func rcAsReplicaSet(rc *core.ReplicationController) *apps.ReplicaSet {
	rs := &apps.ReplicaSet{
		TypeMeta:   meta.TypeMeta{APIVersion: "v1", Kind: "ReplicationController"},
		ObjectMeta: rc.ObjectMeta,
		Spec: apps.ReplicaSetSpec{
			Replicas: rc.Spec.Replicas, MinReadySeconds: rc.Spec.MinReadySeconds,
			Selector: &meta.LabelSelector{MatchLabels: rc.Spec.Selector},
		},
		Status: apps.ReplicaSetStatus{
			Replicas: rc.Status.Replicas, FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
			ReadyReplicas: rc.Status.ReadyReplicas, AvailableReplicas: rc.Status.AvailableReplicas,
			ObservedGeneration: rc.Status.ObservedGeneration,
		},
	}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, apps.ReplicaSetCondition{
			Type: apps.ReplicaSetConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return rs
}
