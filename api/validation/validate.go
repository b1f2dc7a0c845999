package validation

import (
	"fmt"
	"reflect"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/apiregistration"
	"github.com/skiff-sh/skiff/api/autoscaling"
	autoscalingv1 "github.com/skiff-sh/skiff/api/autoscaling/v1"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apps"
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
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Validate checks an object the API server is about to create. The object is expected to
// have been defaulted and to have had its name generated; see the note on defaulted fields
// in pod.go for how tolerant the checks are of a default that was not filled in.
//
// An empty list means the object is valid. The kinds skiff serves have their scope (and so
// whether metadata.namespace is required or forbidden) built into their rules, as in
// Kubernetes; namespaced, from the kind registry, decides it for any other kind, which gets
// the generic metadata checks (DNS-subdomain name, labels, annotations, ...).
func Validate(obj meta.Object, namespaced bool) field.ErrorList {
	switch o := obj.(type) {
	case *core.Pod:
		return validatePod(o)
	case *core.PodTemplate:
		return validatePodTemplate(o)
	case *core.Service:
		return validateService(o)
	case *core.Endpoints:
		return validateEndpoints(o)
	case *core.ConfigMap:
		return validateConfigMap(o)
	case *core.Secret:
		return validateSecret(o)
	case *core.ServiceAccount:
		return validateServiceAccount(o)
	case *core.Namespace:
		return validateNamespace(o)
	case *core.Node:
		return validateNode(o)
	case *events.Event:
		return validateEventsV1(o)
	case *core.Event:
		return validateEvent(o)
	case *core.PersistentVolume:
		return validatePersistentVolume(o)
	case *core.PersistentVolumeClaim:
		return validatePersistentVolumeClaim(o)
	case *core.ResourceQuota:
		return validateResourceQuota(o)
	case *core.LimitRange:
		return validateLimitRange(o)
	case *apps.Deployment:
		return validateDeployment(o)
	case *apps.ReplicaSet:
		return validateReplicaSet(o)
	case *core.ReplicationController:
		return validateReplicationController(o)
	case *apps.StatefulSet:
		return validateStatefulSet(o)
	case *apps.DaemonSet:
		return validateDaemonSet(o)
	case *apps.ControllerRevision:
		return validateControllerRevision(o)
	case *batch.Job:
		return validateJob(o)
	case *batch.CronJob:
		return validateCronJob(o)
	case *coordination.Lease:
		return validateLease(o)
	case *discovery.EndpointSlice:
		return validateEndpointSlice(o)
	case *scheduling.PriorityClass:
		return validatePriorityClass(o)
	case *node.RuntimeClass:
		return validateRuntimeClass(o)
	case *flowcontrol.FlowSchema:
		return validateFlowSchema(o)
	case *flowcontrol.PriorityLevelConfiguration:
		return validatePriorityLevelConfiguration(o)
	case *networking.NetworkPolicy:
		return validateNetworkPolicy(o)
	case *networking.ServiceCIDR:
		return validateServiceCIDR(o)
	case *networking.IPAddress:
		return validateIPAddress(o)
	case *networking.Ingress:
		return validateIngress(o)
	case *networking.IngressClass:
		return validateIngressClass(o)
	case *apiregistration.APIService:
		return validateAPIService(o)
	case *policy.PodDisruptionBudget:
		return validatePodDisruptionBudget(o)
	case *autoscalingv1.HorizontalPodAutoscaler:
		return validateHorizontalPodAutoscalerV1(o)
	case *autoscaling.HorizontalPodAutoscaler:
		return validateHorizontalPodAutoscaler(o)
	case *certificates.CertificateSigningRequest:
		return validateCertificateSigningRequest(o)
	case *storage.StorageClass:
		return validateStorageClass(o)
	case *storage.VolumeAttachment:
		return validateVolumeAttachment(o)
	case *storage.CSIDriver:
		return validateCSIDriver(o)
	case *storage.CSINode:
		return validateCSINode(o)
	case *storage.CSIStorageCapacity:
		return validateCSIStorageCapacity(o)
	case *ar.ValidatingWebhookConfiguration:
		return validateValidatingWebhookConfiguration(o)
	case *ar.MutatingWebhookConfiguration:
		return validateMutatingWebhookConfiguration(o)
	case *ar.ValidatingAdmissionPolicy:
		return validateValidatingAdmissionPolicy(o)
	case *ar.ValidatingAdmissionPolicyBinding:
		return validateValidatingAdmissionPolicyBinding(o)
	case *rbac.Role:
		return validateRole(o)
	case *rbac.ClusterRole:
		return validateClusterRole(o)
	case *rbac.RoleBinding:
		return validateRoleBinding(o)
	case *rbac.ClusterRoleBinding:
		return validateClusterRoleBinding(o)
	case *apiextensions.CustomResourceDefinition:
		return validateCustomResourceDefinition(o)
	}
	return ValidateObjectMeta(obj.GetObjectMeta(), namespaced, NameIsDNSSubdomain, field.NewPath("metadata"))
}

// ValidateUpdate checks an update of old (the stored object) to obj. Besides validating obj
// as Validate does, it enforces what may not change: identity metadata, and per kind the
// fields that controllers and nodes rely on staying put.
func ValidateUpdate(obj, old meta.Object, namespaced bool) field.ErrorList {
	if reflect.TypeOf(obj) != reflect.TypeOf(old) {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("cannot update a %T with a %T", old, obj))}
	}
	var errs field.ErrorList
	switch o := obj.(type) {
	case *apiextensions.CustomResourceDefinition:
		errs = validateCustomResourceDefinitionUpdate(o, old.(*apiextensions.CustomResourceDefinition))
	case *events.Event:
		// An update is held to the core Event's rules only (Kubernetes' ValidateEventUpdate
		// does not apply the create-time strictness): an event first written through core/v1
		// keeps its count and timestamps when patched through events.k8s.io/v1.
		c, _ := events.ToCore(o)
		errs = append(validateEvent(c), ValidateObjectMetaUpdate(&o.ObjectMeta, &old.(*events.Event).ObjectMeta, field.NewPath("metadata"))...)
	case *core.Pod:
		errs = validatePodUpdate(o, old.(*core.Pod))
	case *core.Service:
		errs = validateServiceUpdate(o, old.(*core.Service))
	case *core.ConfigMap:
		errs = validateConfigMapUpdate(o, old.(*core.ConfigMap))
	case *core.Secret:
		errs = validateSecretUpdate(o, old.(*core.Secret))
	case *core.Node:
		errs = validateNodeUpdate(o, old.(*core.Node))
	case *core.PersistentVolume:
		errs = validatePersistentVolumeUpdate(o, old.(*core.PersistentVolume))
	case *core.PersistentVolumeClaim:
		errs = validatePersistentVolumeClaimUpdate(o, old.(*core.PersistentVolumeClaim))
	case *apps.Deployment:
		errs = validateDeploymentUpdate(o, old.(*apps.Deployment))
	case *apps.ReplicaSet:
		errs = validateReplicaSetUpdate(o, old.(*apps.ReplicaSet))
	case *core.ReplicationController:
		errs = validateReplicationControllerUpdate(o, old.(*core.ReplicationController))
	case *apps.StatefulSet:
		errs = validateStatefulSetUpdate(o, old.(*apps.StatefulSet))
	case *apps.DaemonSet:
		errs = validateDaemonSetUpdate(o, old.(*apps.DaemonSet))
	case *apps.ControllerRevision:
		errs = validateControllerRevisionUpdate(o, old.(*apps.ControllerRevision))
	case *batch.Job:
		errs = validateJobUpdate(o, old.(*batch.Job))
	case *batch.CronJob:
		errs = validateCronJobUpdate(o, old.(*batch.CronJob))
	case *discovery.EndpointSlice:
		errs = validateEndpointSliceUpdate(o, old.(*discovery.EndpointSlice))
	case *scheduling.PriorityClass:
		errs = validatePriorityClassUpdate(o, old.(*scheduling.PriorityClass))
	case *node.RuntimeClass:
		errs = validateRuntimeClassUpdate(o, old.(*node.RuntimeClass))
	case *flowcontrol.FlowSchema:
		errs = validateFlowSchema(o)
	case *flowcontrol.PriorityLevelConfiguration:
		errs = validatePriorityLevelConfiguration(o)
	case *networking.NetworkPolicy:
		errs = validateNetworkPolicyUpdate(o, old.(*networking.NetworkPolicy))
	case *networking.ServiceCIDR:
		errs = validateServiceCIDRUpdate(o, old.(*networking.ServiceCIDR))
	case *networking.IPAddress:
		errs = validateIPAddressUpdate(o, old.(*networking.IPAddress))
	case *networking.Ingress:
		errs = validateIngressUpdate(o, old.(*networking.Ingress))
	case *networking.IngressClass:
		errs = validateIngressClassUpdate(o, old.(*networking.IngressClass))
	case *apiregistration.APIService:
		errs = validateAPIService(o)
	case *certificates.CertificateSigningRequest:
		errs = validateCertificateSigningRequestUpdate(o, old.(*certificates.CertificateSigningRequest))
	case *storage.StorageClass:
		errs = validateStorageClassUpdate(o, old.(*storage.StorageClass))
	case *storage.VolumeAttachment:
		errs = validateVolumeAttachmentUpdate(o, old.(*storage.VolumeAttachment))
	case *storage.CSIDriver:
		errs = validateCSIDriverUpdate(o, old.(*storage.CSIDriver))
	case *storage.CSINode:
		errs = validateCSINodeUpdate(o, old.(*storage.CSINode))
	case *storage.CSIStorageCapacity:
		errs = validateCSIStorageCapacityUpdate(o, old.(*storage.CSIStorageCapacity))
	case *rbac.RoleBinding:
		errs = ValidateObjectMetaUpdate(&o.ObjectMeta, old.GetObjectMeta(), field.NewPath("metadata"))
		errs = append(errs, validateRoleBinding(o)...)
		errs = append(errs, validateRoleRefUpdate(o.RoleRef, old.(*rbac.RoleBinding).RoleRef)...)
	case *rbac.ClusterRoleBinding:
		errs = ValidateObjectMetaUpdate(&o.ObjectMeta, old.GetObjectMeta(), field.NewPath("metadata"))
		errs = append(errs, validateClusterRoleBinding(o)...)
		errs = append(errs, validateRoleRefUpdate(o.RoleRef, old.(*rbac.ClusterRoleBinding).RoleRef)...)
	default:
		// Everything else: the new object must be valid and its identity unchanged.
		errs = ValidateObjectMetaUpdate(obj.GetObjectMeta(), old.GetObjectMeta(), field.NewPath("metadata"))
		errs = append(errs, Validate(obj, namespaced)...)
	}
	return dedupe(errs)
}

// dedupe drops repeated errors: an update runs the metadata content checks twice (for the
// update and for the new object as a whole).
func dedupe(errs field.ErrorList) field.ErrorList {
	seen := map[string]bool{}
	out := errs[:0]
	for _, e := range errs {
		if key := string(e.Type) + "\x00" + e.Error(); !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
	}
	return out
}
