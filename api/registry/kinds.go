package registry

import (
	"strconv"

	"github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apiregistration"
	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/authorization"
	"github.com/skiff-sh/skiff/api/autoscaling"
	autoscalingv1 "github.com/skiff-sh/skiff/api/autoscaling/v1"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/events"
	"github.com/skiff-sh/skiff/api/flowcontrol"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/node"
	"github.com/skiff-sh/skiff/api/policy"
	"github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/api/storage"
)

// Default returns the registry of every kind skiff serves.
func Default() *Registry {
	return New(
		// core/v1
		with(define[core.Namespace]("", "v1", "Namespace", "namespaces", false), status, short("ns"),
			fields(func(o *core.Namespace) map[string]string {
				return map[string]string{"status.phase": string(o.Status.Phase)}
			})),
		with(define[core.Node]("", "v1", "Node", "nodes", false), status, short("no"),
			fields(func(o *core.Node) map[string]string {
				return map[string]string{"spec.unschedulable": strconv.FormatBool(o.Spec.Unschedulable)}
			})),
		with(define[core.Pod]("", "v1", "Pod", "pods", true), status, short("po"), all,
			fields(func(o *core.Pod) map[string]string {
				return map[string]string{
					"spec.nodeName":            o.Spec.NodeName,
					"spec.restartPolicy":       string(o.Spec.RestartPolicy),
					"spec.schedulerName":       o.Spec.SchedulerName,
					"spec.serviceAccountName":  o.Spec.ServiceAccountName,
					"spec.hostNetwork":         strconv.FormatBool(o.Spec.HostNetwork),
					"status.phase":             string(o.Status.Phase),
					"status.podIP":             o.Status.PodIP,
					"status.nominatedNodeName": o.Status.NominatedNodeName,
				}
			})),
		with(define[core.PodTemplate]("", "v1", "PodTemplate", "podtemplates", true)),
		with(define[core.ReplicationController]("", "v1", "ReplicationController", "replicationcontrollers", true), status, scale, short("rc"), all,
			fields(func(o *core.ReplicationController) map[string]string {
				return map[string]string{"status.replicas": strconv.Itoa(int(o.Status.Replicas))}
			})),
		with(define[core.Service]("", "v1", "Service", "services", true), status, short("svc"), all),
		with(define[core.Endpoints]("", "v1", "Endpoints", "endpoints", true), short("ep")),
		with(define[core.ConfigMap]("", "v1", "ConfigMap", "configmaps", true), short("cm")),
		with(define[core.Secret]("", "v1", "Secret", "secrets", true),
			fields(func(o *core.Secret) map[string]string { return map[string]string{"type": string(o.Type)} })),
		with(define[core.ServiceAccount]("", "v1", "ServiceAccount", "serviceaccounts", true), short("sa")),
		with(define[core.Event]("", "v1", "Event", "events", true), short("ev"),
			fields(func(o *core.Event) map[string]string {
				r := o.InvolvedObject
				source := o.Source.Component
				if source == "" { // an events.k8s.io Event has only a reporting controller
					source = o.ReportingController
				}
				return map[string]string{
					"involvedObject.kind":            r.Kind,
					"involvedObject.namespace":       r.Namespace,
					"involvedObject.name":            r.Name,
					"involvedObject.uid":             string(r.UID),
					"involvedObject.apiVersion":      r.APIVersion,
					"involvedObject.resourceVersion": r.ResourceVersion,
					"involvedObject.fieldPath":       r.FieldPath,
					"reason":                         o.Reason,
					"reportingComponent":             o.ReportingController,
					"source":                         source,
					"type":                           o.Type,
				}
			})),
		// events.k8s.io/v1: the core Events under other names, stored as core/v1 Events
		with(define[events.Event](events.GroupName, events.Version, "Event", "events", true), short("ev"),
			convertible(define[core.Event]("", "v1", "Event", "events", true), events.ToCore, events.FromCore),
			fields(func(o *core.Event) map[string]string { // matched against the stored core Event
				r := o.InvolvedObject
				return map[string]string{
					"regarding.kind":            r.Kind,
					"regarding.namespace":       r.Namespace,
					"regarding.name":            r.Name,
					"regarding.uid":             string(r.UID),
					"regarding.apiVersion":      r.APIVersion,
					"regarding.resourceVersion": r.ResourceVersion,
					"regarding.fieldPath":       r.FieldPath,
					"reason":                    o.Reason,
					"reportingController":       o.ReportingController,
					"type":                      o.Type,
				}
			})),
		with(define[core.PersistentVolume]("", "v1", "PersistentVolume", "persistentvolumes", false), status, short("pv")),
		with(define[core.PersistentVolumeClaim]("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true), status, short("pvc")),
		with(define[core.ResourceQuota]("", "v1", "ResourceQuota", "resourcequotas", true), status, short("quota")),
		with(define[core.LimitRange]("", "v1", "LimitRange", "limitranges", true), short("limits")),
		// apps/v1
		with(define[apps.Deployment]("apps", "v1", "Deployment", "deployments", true), status, scale, short("deploy"), all),
		with(define[apps.ReplicaSet]("apps", "v1", "ReplicaSet", "replicasets", true), status, scale, short("rs"), all,
			fields(func(o *apps.ReplicaSet) map[string]string {
				return map[string]string{"status.replicas": strconv.Itoa(int(o.Status.Replicas))}
			})),
		with(define[apps.StatefulSet]("apps", "v1", "StatefulSet", "statefulsets", true), status, scale, short("sts"), all),
		with(define[apps.DaemonSet]("apps", "v1", "DaemonSet", "daemonsets", true), status, short("ds"), all),
		with(define[apps.ControllerRevision]("apps", "v1", "ControllerRevision", "controllerrevisions", true)),
		// autoscaling/v2 (autoscaling/v1's Scale is the body of the scale subresources)
		with(define[autoscaling.HorizontalPodAutoscaler](autoscaling.GroupName, "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true), status, short("hpa"), all),
		// autoscaling/v1, served from the autoscaling/v2 objects (added after v2: v2 stays the
		// preferred version, as in Kubernetes)
		with(define[autoscalingv1.HorizontalPodAutoscaler](autoscaling.GroupName, autoscalingv1.Version, "HorizontalPodAutoscaler", "horizontalpodautoscalers", true), status, short("hpa"), all,
			convertible(define[autoscaling.HorizontalPodAutoscaler](autoscaling.GroupName, "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true),
				autoscalingv1.ToV2, autoscalingv1.FromV2)),
		// batch/v1
		with(define[batch.Job]("batch", "v1", "Job", "jobs", true), status, all,
			fields(func(o *batch.Job) map[string]string {
				return map[string]string{"status.successful": strconv.Itoa(int(o.Status.Succeeded))}
			})),
		with(define[batch.CronJob]("batch", "v1", "CronJob", "cronjobs", true), status, short("cj"), all),
		// certificates.k8s.io/v1 (subresources status and approval; see apiserver/csr.go)
		with(define[certificates.CertificateSigningRequest]("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", false),
			status, short("csr"),
			fields(func(o *certificates.CertificateSigningRequest) map[string]string {
				return map[string]string{"spec.signerName": o.Spec.SignerName}
			})),
		// apiextensions.k8s.io/v1 (the kinds a definition defines are added at run time: custom.go)
		with(define[apiextensions.CustomResourceDefinition](apiextensions.GroupName, "v1", "CustomResourceDefinition", "customresourcedefinitions", false),
			status, short("crd", "crds"), category("api-extensions")),
		// coordination.k8s.io/v1
		with(define[coordination.Lease]("coordination.k8s.io", "v1", "Lease", "leases", true)),
		// discovery.k8s.io/v1
		with(define[discovery.EndpointSlice]("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true)),
		// networking.k8s.io/v1
		with(define[networking.NetworkPolicy](networking.GroupName, "v1", "NetworkPolicy", "networkpolicies", true), short("netpol")),
		// ServiceCIDR and IPAddress are the Service IP allocator's ranges and allocations
		// (apiserver/allocator.go writes the IPAddresses).
		with(define[networking.ServiceCIDR](networking.GroupName, "v1", "ServiceCIDR", "servicecidrs", false), status),
		with(define[networking.IPAddress](networking.GroupName, "v1", "IPAddress", "ipaddresses", false), short("ip")),
		with(define[networking.Ingress](networking.GroupName, "v1", "Ingress", "ingresses", true), status, short("ing")),
		with(define[networking.IngressClass](networking.GroupName, "v1", "IngressClass", "ingressclasses", false)),
		// apiregistration.k8s.io/v1 (API aggregation: apiserver/aggregator.go)
		with(define[apiregistration.APIService](apiregistration.GroupName, "v1", "APIService", "apiservices", false), status),
		// flowcontrol.apiserver.k8s.io/v1 (the priority and fairness filter's configuration:
		// apiserver/flowcontrol)
		with(define[flowcontrol.FlowSchema](flowcontrol.GroupName, "v1", "FlowSchema", "flowschemas", false), status),
		with(define[flowcontrol.PriorityLevelConfiguration](flowcontrol.GroupName, "v1", "PriorityLevelConfiguration", "prioritylevelconfigurations", false), status),
		// scheduling.k8s.io/v1
		with(define[scheduling.PriorityClass]("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false), short("pc")),
		// node.k8s.io/v1
		with(define[node.RuntimeClass](node.GroupName, node.Version, "RuntimeClass", "runtimeclasses", false)),
		// storage.k8s.io/v1
		with(define[storage.StorageClass](storage.GroupName, "v1", "StorageClass", "storageclasses", false), short("sc")),
		with(define[storage.CSIDriver](storage.GroupName, "v1", "CSIDriver", "csidrivers", false)),
		with(define[storage.CSINode](storage.GroupName, "v1", "CSINode", "csinodes", false)),
		with(define[storage.VolumeAttachment](storage.GroupName, "v1", "VolumeAttachment", "volumeattachments", false), status),
		with(define[storage.CSIStorageCapacity](storage.GroupName, "v1", "CSIStorageCapacity", "csistoragecapacities", true)),
		// policy/v1 (Eviction is the body of pods/eviction, not a resource of its own)
		with(define[policy.PodDisruptionBudget](policy.GroupName, policy.Version, "PodDisruptionBudget", "poddisruptionbudgets", true), status, short("pdb")),
		// admissionregistration.k8s.io/v1: the admission webhooks the API server calls
		// (apiserver/admission/webhook)
		with(define[admissionregistration.MutatingWebhookConfiguration](admissionregistration.GroupName, "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false)),
		with(define[admissionregistration.ValidatingWebhookConfiguration](admissionregistration.GroupName, "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false)),
		// ... and the CEL policies it evaluates itself (apiserver/admission/policy)
		with(define[admissionregistration.ValidatingAdmissionPolicy](admissionregistration.GroupName, "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", false), status, category("api-extensions")),
		with(define[admissionregistration.ValidatingAdmissionPolicyBinding](admissionregistration.GroupName, "v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", false), category("api-extensions")),
		// rbac.authorization.k8s.io/v1
		with(define[rbac.ClusterRole](rbac.GroupName, "v1", "ClusterRole", "clusterroles", false)),
		with(define[rbac.ClusterRoleBinding](rbac.GroupName, "v1", "ClusterRoleBinding", "clusterrolebindings", false)),
		with(define[rbac.Role](rbac.GroupName, "v1", "Role", "roles", true)),
		with(define[rbac.RoleBinding](rbac.GroupName, "v1", "RoleBinding", "rolebindings", true)),
		// authorization.k8s.io/v1: questions, never stored
		with(define[authorization.LocalSubjectAccessReview](authorization.GroupName, "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", true), createOnly),
		with(define[authorization.SelfSubjectAccessReview](authorization.GroupName, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false), createOnly),
		with(define[authorization.SelfSubjectRulesReview](authorization.GroupName, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", false), createOnly),
		with(define[authorization.SubjectAccessReview](authorization.GroupName, "v1", "SubjectAccessReview", "subjectaccessreviews", false), createOnly),
		// authentication.k8s.io/v1: questions, never stored (TokenRequest is the body of the
		// serviceaccounts/token subresource, not a resource of its own)
		with(define[authentication.TokenReview](authentication.GroupName, "v1", "TokenReview", "tokenreviews", false), createOnly),
		with(define[authentication.SelfSubjectReview](authentication.GroupName, "v1", "SelfSubjectReview", "selfsubjectreviews", false), createOnly),
	)
}

// option adjusts a Kind being defined.
type option func(*Kind)

func with(k Kind, opts ...option) Kind {
	for _, o := range opts {
		o(&k)
	}
	return k
}

func status(k *Kind) { k.Status = true }
func scale(k *Kind)  { k.Scale = true }

// createOnly marks a kind that is asked, not stored (see Kind.CreateOnly).
func createOnly(k *Kind) { k.CreateOnly = true }
func all(k *Kind)        { k.Categories = append(k.Categories, "all") }

func category(names ...string) option {
	return func(k *Kind) { k.Categories = append(k.Categories, names...) }
}

func short(names ...string) option { return func(k *Kind) { k.ShortNames = names } }

// fields adapts a typed field function.
func fields[T any](f func(*T) map[string]string) option {
	return func(k *Kind) {
		k.Fields = func(obj meta.Object) map[string]string { return f(any(obj).(*T)) }
	}
}
