// Package defaults fills in the fields Kubernetes defaults, as the API server does on every
// create and update before validation, so that what is stored and returned (and what
// `kubectl get -o yaml` shows) matches a real cluster.
//
// The rules follow Kubernetes' SetDefaults_* functions (pkg/apis/{core,apps,batch,...}/v1)
// plus the declarative `+default` markers of k8s.io/api. Defaulting only ever fills unset
// fields; it never overwrites a value the user gave. A few create-time normalizations that
// Kubernetes does in its registry strategies (Secret.stringData, Service clusterIPs and
// ipFamilies, Namespace finalizers) are done here too, because skiff has no internal version
// to convert through.
package defaults

import (
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apiregistration"
	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/autoscaling"
	autoscalingv1 "github.com/skiff-sh/skiff/api/autoscaling/v1"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/flowcontrol"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/api/storage"
)

// Object applies the defaults of obj's kind in place. Kinds without defaults are left alone.
func Object(obj meta.Object) {
	switch o := obj.(type) {
	case *apiextensions.CustomResourceDefinition:
		CustomResourceDefinition(o)
	case *core.Pod:
		Pod(o)
	case *core.PodTemplate:
		PodTemplateSpec(&o.Template)
	case *core.Service:
		Service(o)
	case *core.Endpoints:
		Endpoints(o)
	case *core.Secret:
		Secret(o)
	case *core.ConfigMap:
		if o.Data == nil {
			o.Data = map[string]string{}
		}
	case *core.Namespace:
		Namespace(o)
	case *core.Node:
		Node(o)
	case *core.PersistentVolume:
		PersistentVolume(o)
	case *core.PersistentVolumeClaim:
		PersistentVolumeClaim(o)
	case *core.LimitRange:
		for i := range o.Spec.Limits {
			limitRangeItem(&o.Spec.Limits[i])
		}
	case *autoscaling.HorizontalPodAutoscaler:
		HorizontalPodAutoscaler(o)
	case *autoscalingv1.HorizontalPodAutoscaler:
		if o.Spec.MinReplicas == nil { // autoscaling/v1's only default (its CPU target comes with conversion)
			o.Spec.MinReplicas = ptr(int32(1))
		}
	case *apps.Deployment:
		Deployment(o)
	case *apps.ReplicaSet:
		ReplicaSet(o)
	case *core.ReplicationController:
		ReplicationController(o)
	case *apps.StatefulSet:
		StatefulSet(o)
	case *apps.DaemonSet:
		DaemonSet(o)
	case *batch.Job:
		Job(o)
	case *batch.CronJob:
		CronJob(o)
	case *discovery.EndpointSlice:
		EndpointSlice(o)
	case *flowcontrol.FlowSchema:
		FlowSchema(o)
	case *flowcontrol.PriorityLevelConfiguration:
		PriorityLevelConfiguration(o)
	case *scheduling.PriorityClass:
		if o.PreemptionPolicy == nil {
			o.PreemptionPolicy = ptr(core.PreemptLowerPriority)
		}
	case *networking.NetworkPolicy:
		NetworkPolicy(o)
	case *storage.StorageClass:
		StorageClass(o)
	case *storage.CSIDriver:
		CSIDriver(o)
	case *apiregistration.APIService:
		// SetDefaults_ServiceReference: port 443.
		if r := o.Spec.Service; r != nil && r.Port == nil {
			r.Port = ptr[int32](443)
		}
	case *networking.IngressClass:
		// SetDefaults_IngressClass: a parameters reference is cluster-scoped unless it says so.
		if p := o.Spec.Parameters; p != nil && p.Scope == nil {
			p.Scope = ptr(networking.IngressClassParametersReferenceScopeCluster)
		}
	case *ar.ValidatingWebhookConfiguration:
		ValidatingWebhookConfiguration(o)
	case *ar.MutatingWebhookConfiguration:
		MutatingWebhookConfiguration(o)
	case *ar.ValidatingAdmissionPolicy:
		ValidatingAdmissionPolicy(o)
	case *ar.ValidatingAdmissionPolicyBinding:
		ValidatingAdmissionPolicyBinding(o)
	case *rbac.RoleBinding:
		roleBinding(&o.RoleRef, o.Subjects)
	case *rbac.ClusterRoleBinding:
		roleBinding(&o.RoleRef, o.Subjects)
	}
}

func ptr[T any](v T) *T { return &v }
