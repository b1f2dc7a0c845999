package validation

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Enumerations, in the order Kubernetes lists them in "supported values" messages (sorted
// where Kubernetes takes them from a set, declaration order where it spells them out).
var (
	supportedRestartPolicies = []core.RestartPolicy{core.RestartPolicyAlways, core.RestartPolicyOnFailure, core.RestartPolicyNever}
	supportedDNSPolicies     = []core.DNSPolicy{core.DNSClusterFirstWithHostNet, core.DNSClusterFirst, core.DNSDefault, core.DNSNone}
	supportedPullPolicies    = []core.PullPolicy{core.PullAlways, core.PullIfNotPresent, core.PullNever}
	supportedPortProtocols   = []core.Protocol{core.ProtocolSCTP, core.ProtocolTCP, core.ProtocolUDP}
	supportedTaintEffects    = []core.TaintEffect{core.TaintEffectNoSchedule, core.TaintEffectPreferNoSchedule, core.TaintEffectNoExecute}
	supportedTolerationOps   = []core.TolerationOperator{core.TolerationOpEqual, core.TolerationOpExists}
	supportedHTTPSchemes     = []core.URIScheme{core.URISchemeHTTP, core.URISchemeHTTPS}
	supportedTermMsgPolicies = []core.TerminationMessagePolicy{core.TerminationMessageReadFile, core.TerminationMessageFallbackToLogsOnError}
	supportedPreemption      = []core.PreemptionPolicy{core.PreemptLowerPriority, core.PreemptNever}
	supportedPropagation     = []core.MountPropagationMode{core.MountPropagationBidirectional, core.MountPropagationHostToContainer, core.MountPropagationNone}
	supportedUnsatisfiable   = []core.UnsatisfiableConstraintAction{core.DoNotSchedule, core.ScheduleAnyway}
	supportedNodeSelectorOps = []core.NodeSelectorOperator{core.NodeSelectorOpDoesNotExist, core.NodeSelectorOpExists, core.NodeSelectorOpGt, core.NodeSelectorOpIn, core.NodeSelectorOpLt, core.NodeSelectorOpNotIn}

	// Fields a container env var may take from the pod through the downward API.
	envFieldPaths = []string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
	envResourceFields = []string{"limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"}

	httpHeaderNameRegexp = regexp.MustCompile("^[-A-Za-z0-9]+$")
	subscriptedPath      = regexp.MustCompile(`^(metadata\.(?:labels|annotations))\['(.*)'\]$`)
)

// The pod fields an update may change, as Kubernetes words them in its refusal.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

const (
	maxUserID              = math.MaxUint32
	maxDNSNameservers      = 3
	maxDNSSearchPaths      = 32
	defaultGracePeriodSecs = 30
)

// A note on defaulted fields: Kubernetes validates objects after defaulting, so it reports a
// missing restartPolicy, dnsPolicy, imagePullPolicy, port protocol, probe threshold... as
// "Required value". skiff accepts those empty, as "use the default": a default the server
// forgot to fill in must never turn a manifest Kubernetes accepts into a rejected one.

func validatePod(pod *core.Pod) field.ErrorList {
	errs := validatePodContents(pod)
	// Ephemeral containers are added to running pods through their own subresource.
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "ephemeralContainers"), "cannot be set on create"))
	}
	if v, mirror := pod.Annotations[core.MirrorPodAnnotationKey]; mirror && pod.Spec.NodeName == "" {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations").Key(core.MirrorPodAnnotationKey), v, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

// validatePodContents is what both create and update check of a pod.
func validatePodContents(pod *core.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := ValidateObjectMeta(&pod.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, ValidatePodSpec(&pod.Spec, specPath)...)
	// Only pods, not templates, reject padded images: templates have historically used " "
	// as a placeholder that something else fills in.
	for _, list := range []struct {
		name       string
		containers []core.Container
	}{{"containers", pod.Spec.Containers}, {"initContainers", pod.Spec.InitContainers}} {
		for i, c := range list.containers {
			if c.Image != strings.TrimSpace(c.Image) {
				errs = append(errs, field.Invalid(specPath.Child(list.name).Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
			}
		}
	}
	return errs
}

// validatePodUpdate allows a running pod's spec to change only where the node agent can
// apply the change in place: container images, a shorter deadline, more tolerations.
func validatePodUpdate(newPod, oldPod *core.Pod) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validatePodContents(newPod)...)
	errs = append(errs, validateMirrorAnnotationUpdate(newPod, oldPod)...)
	specPath := field.NewPath("spec")
	newSpec, oldSpec := &newPod.Spec, &oldPod.Spec

	if len(newSpec.Containers) != len(oldSpec.Containers) {
		return append(errs, field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(newSpec.InitContainers) != len(oldSpec.InitContainers) {
		return append(errs, field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers"))
	}

	// activeDeadlineSeconds may be set, or lowered, never raised or removed.
	adsPath := specPath.Child("activeDeadlineSeconds")
	if ads := newSpec.ActiveDeadlineSeconds; ads != nil {
		if *ads < 0 || *ads > math.MaxInt32 {
			return append(errs, field.Invalid(adsPath, *ads, InclusiveRangeError(0, math.MaxInt32)))
		}
		if old := oldSpec.ActiveDeadlineSeconds; old != nil && *old < *ads {
			return append(errs, field.Invalid(adsPath, *ads, "must be less than or equal to previous value"))
		}
	} else if oldSpec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(adsPath, newSpec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	errs = append(errs, validateOnlyAddedTolerations(newSpec.Tolerations, oldSpec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(newSpec.SchedulingGates, oldSpec.SchedulingGates, specPath.Child("schedulingGates"))...)

	// Copy the changes that are allowed onto the new spec; whatever still differs is not.
	munged := *newSpec
	munged.Containers = withImagesOf(newSpec.Containers, oldSpec.Containers)
	munged.InitContainers = withImagesOf(newSpec.InitContainers, oldSpec.InitContainers)
	munged.ActiveDeadlineSeconds = oldSpec.ActiveDeadlineSeconds
	munged.Tolerations = oldSpec.Tolerations
	munged.SchedulingGates = oldSpec.SchedulingGates
	if old := oldSpec.TerminationGracePeriodSeconds; old != nil && *old < 0 && equalPtr(munged.TerminationGracePeriodSeconds, ptrTo[int64](1)) {
		munged.TerminationGracePeriodSeconds = old
	}
	if !semanticEqual(munged, *oldSpec) {
		var changed []string
		for _, f := range changedFields(munged, *oldSpec) {
			changed = append(changed, "spec."+f)
		}
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\nchanged: %s",
			strings.Join(updatablePodSpecFields, ","), strings.Join(changed, ", "))))
	}
	return errs
}

func withImagesOf(containers, old []core.Container) []core.Container {
	out := slices.Clone(containers)
	for i := range out {
		out[i].Image = old[i].Image
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }

// validateOnlyAddedTolerations lets an update add tolerations, or change the
// tolerationSeconds of existing ones, but not drop or alter them: the node agent may already
// have decided to keep the pod because of them.
func validateOnlyAddedTolerations(newTols, oldTols []core.Toleration, path *field.Path) field.ErrorList {
	for _, old := range oldTols {
		found := slices.ContainsFunc(newTols, func(t core.Toleration) bool {
			o := old
			o.TolerationSeconds = t.TolerationSeconds
			return semanticEqual(o, t)
		})
		if !found {
			return field.ErrorList{field.Forbidden(path, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func validateOnlyDeletedSchedulingGates(newGates, oldGates []core.PodSchedulingGate, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, g := range newGates {
		if !slices.ContainsFunc(oldGates, func(o core.PodSchedulingGate) bool { return o.Name == g.Name }) {
			errs = append(errs, field.Forbidden(path.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// ValidatePodTemplateSpec checks the pod template of a workload (Deployment, Job, ...).
func ValidatePodTemplateSpec(t *core.PodTemplateSpec, path *field.Path) field.ErrorList {
	// Kubernetes reports template labels at "<path>.labels", not "<path>.metadata.labels".
	errs := ValidateLabels(t.Labels, path.Child("labels"))
	errs = append(errs, ValidateAnnotations(t.Annotations, path.Child("annotations"))...)
	errs = append(errs, ValidatePodSpec(&t.Spec, path.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(path.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// ValidatePodSpec checks a pod spec, whether of a pod or of a template.
func ValidatePodSpec(spec *core.PodSpec, path *field.Path) field.ErrorList {
	gracePeriod := int64(defaultGracePeriodSecs)
	if spec.TerminationGracePeriodSeconds != nil {
		gracePeriod = *spec.TerminationGracePeriodSeconds
	}
	vols, errs := validateVolumes(spec.Volumes, path.Child("volumes"))
	errs = append(errs, validateContainers(spec.Containers, vols, gracePeriod, path.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, vols, gracePeriod, path.Child("initContainers"))...)
	errs = append(errs, validateEphemeralContainers(spec.EphemeralContainers, spec.Containers, spec.InitContainers, vols, path.Child("ephemeralContainers"))...)
	if spec.HostNetwork {
		errs = append(errs, validateHostNetworkPorts(spec.Containers, path.Child("containers"))...)
	}
	if spec.RestartPolicy != "" && !slices.Contains(supportedRestartPolicies, spec.RestartPolicy) {
		errs = append(errs, field.NotSupported(path.Child("restartPolicy"), spec.RestartPolicy, supportedRestartPolicies))
	}
	if spec.DNSPolicy != "" && !slices.Contains(supportedDNSPolicies, spec.DNSPolicy) {
		errs = append(errs, field.NotSupported(path.Child("dnsPolicy"), spec.DNSPolicy, supportedDNSPolicies))
	}
	errs = append(errs, validatePodDNSConfig(spec.DNSConfig, spec.DNSPolicy, path.Child("dnsConfig"))...)
	errs = append(errs, ValidateLabels(spec.NodeSelector, path.Child("nodeSelector"))...)
	errs = append(errs, validatePodSecurityContext(spec, path.Child("securityContext"))...)
	errs = append(errs, validateAffinity(spec.Affinity, path.Child("affinity"))...)
	errs = append(errs, validateTopologySpreadConstraints(spec.TopologySpreadConstraints, path.Child("topologySpreadConstraints"))...)
	for i, g := range spec.ReadinessGates {
		errs = append(errs, validateQualifiedName(string(g.ConditionType), path.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	seenGates := map[string]bool{}
	for i, g := range spec.SchedulingGates {
		errs = append(errs, validateQualifiedName(g.Name, path.Child("schedulingGates").Index(i))...)
		if seenGates[g.Name] {
			errs = append(errs, field.Duplicate(path.Child("schedulingGates").Index(i), g.Name))
		}
		seenGates[g.Name] = true
	}
	errs = append(errs, validateNameField(spec.ServiceAccountName, NameIsDNSSubdomain, path.Child("serviceAccountName"))...)
	errs = append(errs, validateNameField(spec.NodeName, NameIsDNSSubdomain, path.Child("nodeName"))...)
	errs = append(errs, validateNameField(spec.PriorityClassName, NameIsDNSSubdomain, path.Child("priorityClassName"))...)
	if spec.RuntimeClassName != nil {
		for _, msg := range NameIsDNSSubdomain(*spec.RuntimeClassName, false) {
			errs = append(errs, field.Invalid(path.Child("runtimeClassName"), *spec.RuntimeClassName, msg))
		}
	}
	if ads := spec.ActiveDeadlineSeconds; ads != nil && (*ads < 1 || *ads > math.MaxInt32) {
		errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), *ads, InclusiveRangeError(1, math.MaxInt32)))
	}
	if spec.Hostname != "" {
		errs = append(errs, validateDNS1123Label(spec.Hostname, path.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, validateDNS1123Label(spec.Subdomain, path.Child("subdomain"))...)
	}
	errs = append(errs, ValidateTolerations(spec.Tolerations, path.Child("tolerations"))...)
	for i, ha := range spec.HostAliases {
		errs = append(errs, IsValidIP(path.Child("hostAliases").Index(i).Child("ip"), ha.IP)...)
		for j, h := range ha.Hostnames {
			errs = append(errs, validateDNS1123Subdomain(h, path.Child("hostAliases").Index(i).Child("hostnames").Index(j))...)
		}
	}
	if p := spec.PreemptionPolicy; p != nil && !slices.Contains(supportedPreemption, *p) {
		errs = append(errs, field.NotSupported(path.Child("preemptionPolicy"), *p, supportedPreemption))
	}
	if len(spec.Overhead) > 0 {
		errs = append(errs, validateResourceRequirements(&core.ResourceRequirements{Limits: spec.Overhead}, path.Child("overhead"))...)
	}
	return errs
}

// validateNameField checks an optional reference to another object by name.
func validateNameField(name string, nameFn NameFunc, path *field.Path) field.ErrorList {
	if name == "" {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range nameFn(name, false) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

func validateDNS1123Label(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func validateDNS1123Subdomain(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsDNS1123Subdomain(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func validateQualifiedName(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsQualifiedName(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// validateMirrorAnnotationUpdate: a pod is a mirror pod (a node's static pod) from its
// creation to its end; the annotation saying so is neither added, changed nor removed.
func validateMirrorAnnotationUpdate(newPod, oldPod *core.Pod) field.ErrorList {
	path := field.NewPath("metadata", "annotations").Key(core.MirrorPodAnnotationKey)
	o, had := oldPod.Annotations[core.MirrorPodAnnotationKey]
	n, has := newPod.Annotations[core.MirrorPodAnnotationKey]
	switch {
	case had && (!has || n != o):
		return field.ErrorList{field.Forbidden(path, "may not remove or update mirror pod annotation")}
	case !had && has:
		return field.ErrorList{field.Forbidden(path, "may not add mirror pod annotation")}
	}
	return nil
}
