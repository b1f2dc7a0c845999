package validation

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
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
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

// validatePodContents is what both create and update check of a pod.
func validatePodContents(pod *core.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := ValidateObjectMeta(&pod.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validatePodSpec(&pod.Spec, specPath)...)
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
	errs = append(errs, validatePodSpec(&t.Spec, path.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(path.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// ValidatePodSpec checks a pod spec, whether of a pod or of a template.
func ValidatePodSpec(spec *core.PodSpec, path *field.Path) field.ErrorList {
	return validatePodSpec(spec, path)
}

func validatePodSpec(spec *core.PodSpec, path *field.Path) field.ErrorList {
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
	errs = append(errs, validatePodSecurityContext(spec.SecurityContext, path.Child("securityContext"))...)
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

// validateVolumes checks pod volumes and returns the valid ones by name, for the mounts.
func validateVolumes(volumes []core.Volume, path *field.Path) (map[string]core.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	vols := map[string]core.VolumeSource{}
	seen := map[string]bool{}
	for i, v := range volumes {
		idxPath := path.Index(i)
		namePath := idxPath.Child("name")
		el := validateVolumeSource(&v.VolumeSource, idxPath)
		if v.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, validateDNS1123Label(v.Name, namePath)...)
		}
		if seen[v.Name] {
			el = append(el, field.Duplicate(namePath, v.Name))
		}
		if len(el) == 0 {
			seen[v.Name] = true
			vols[v.Name] = v.VolumeSource
		}
		errs = append(errs, el...)
	}
	return vols, errs
}

// validateVolumeSource checks that exactly one volume type is set, and the common ones' fields.
func validateVolumeSource(src *core.VolumeSource, path *field.Path) field.ErrorList {
	errs := validateUnion(src, path, "volume type")
	if s := src.HostPath; s != nil {
		errs = append(errs, validateHostPath(s.Path, path.Child("hostPath", "path"))...)
	}
	if s := src.EmptyDir; s != nil && s.SizeLimit != nil && s.SizeLimit.Sign() < 0 {
		errs = append(errs, field.Forbidden(path.Child("emptyDir", "sizeLimit"), "SizeLimit field must be a valid resource quantity"))
	}
	if s := src.Secret; s != nil {
		if s.SecretName == "" {
			errs = append(errs, field.Required(path.Child("secret", "secretName"), ""))
		}
		errs = append(errs, validateFileMode(s.DefaultMode, path.Child("secret", "defaultMode"))...)
		errs = append(errs, validateKeyToPaths(s.Items, path.Child("secret", "items"))...)
	}
	if s := src.ConfigMap; s != nil {
		if s.Name == "" {
			errs = append(errs, field.Required(path.Child("configMap", "name"), ""))
		}
		errs = append(errs, validateFileMode(s.DefaultMode, path.Child("configMap", "defaultMode"))...)
		errs = append(errs, validateKeyToPaths(s.Items, path.Child("configMap", "items"))...)
	}
	if s := src.PersistentVolumeClaim; s != nil && s.ClaimName == "" {
		errs = append(errs, field.Required(path.Child("persistentVolumeClaim", "claimName"), ""))
	}
	if s := src.NFS; s != nil {
		errs = append(errs, validateNFS(s.Server, s.Path, path.Child("nfs"))...)
	}
	return errs
}

// validateUnion reports a union struct with no member set, or with more than one.
func validateUnion(union any, path *field.Path, what string) field.ErrorList {
	set := oneOf(union)
	if len(set) == 0 {
		return field.ErrorList{field.Required(path, "must specify a "+what)}
	}
	var errs field.ErrorList
	for _, name := range set[1:] {
		errs = append(errs, field.Forbidden(path.Child(name), "may not specify more than 1 "+what))
	}
	return errs
}

func validateHostPath(p string, path *field.Path) field.ErrorList {
	if p == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return validatePathNoBacksteps(p, path)
}

func validateNFS(server, p string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if server == "" {
		errs = append(errs, field.Required(path.Child("server"), ""))
	}
	if p == "" {
		errs = append(errs, field.Required(path.Child("path"), ""))
	} else if !strings.HasPrefix(p, "/") {
		errs = append(errs, field.Invalid(path.Child("path"), p, "must be an absolute path"))
	}
	return errs
}

func validateFileMode(mode *int32, path *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0o777 || *mode < 0) {
		return field.ErrorList{field.Invalid(path, *mode, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

func validateKeyToPaths(items []core.KeyToPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, kp := range items {
		itemPath := path.Index(i)
		if kp.Key == "" {
			errs = append(errs, field.Required(itemPath.Child("key"), ""))
		}
		if kp.Path == "" {
			errs = append(errs, field.Required(itemPath.Child("path"), ""))
		}
		errs = append(errs, validateLocalNonReservedPath(kp.Path, itemPath.Child("path"))...)
		errs = append(errs, validateFileMode(kp.Mode, itemPath.Child("mode"))...)
	}
	return errs
}

// validatePathNoBacksteps refuses ".." elements, which would escape the intended directory.
func validatePathNoBacksteps(p string, path *field.Path) field.ErrorList {
	if slices.Contains(strings.Split(p, "/"), "..") {
		return field.ErrorList{field.Invalid(path, p, "must not contain '..'")}
	}
	return nil
}

// validateLocalDescendingPath requires a relative path that stays below its base directory.
func validateLocalDescendingPath(p string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(p, "/") {
		errs = append(errs, field.Invalid(path, p, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(p, path)...)
}

func validateLocalNonReservedPath(p string, path *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(p, path)
	// The atomic writer that projects keys into a volume keeps its own state in "..<name>".
	if strings.HasPrefix(p, "..") && !strings.HasPrefix(p, "../") {
		errs = append(errs, field.Invalid(path, p, "must not start with '..'"))
	}
	return errs
}

// validateContainers checks the regular containers of a pod spec.
func validateContainers(containers []core.Container, vols map[string]core.VolumeSource, gracePeriod int64, path *field.Path) field.ErrorList {
	if len(containers) == 0 {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range containers {
		c := &containers[i]
		idxPath := path.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, idxPath)...)
		// Collisions with init containers are reported on the init container.
		if names[c.Name] {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), c.Name))
		}
		names[c.Name] = true
		if c.Lifecycle != nil {
			errs = append(errs, validateLifecycle(c.Lifecycle, gracePeriod, idxPath.Child("lifecycle"))...)
		}
		errs = append(errs, validateProbes(c, idxPath)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	// All regular containers run at once, so none may claim a host port another claims.
	return append(errs, checkHostPortConflicts(containers, path)...)
}

// validateInitContainers checks init containers, including "sidecars" (restartPolicy Always),
// which run for the pod's whole life and so may have probes and lifecycle hooks.
func validateInitContainers(inits, regular []core.Container, vols map[string]core.VolumeSource, gracePeriod int64, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range regular {
		names[c.Name] = true
	}
	for i := range inits {
		c := &inits[i]
		idxPath := path.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, idxPath)...)
		sidecar := false
		if rp := c.RestartPolicy; rp != nil {
			if *rp != core.ContainerRestartPolicyAlways {
				errs = append(errs, field.NotSupported(idxPath.Child("restartPolicy"), *rp, []core.ContainerRestartPolicy{core.ContainerRestartPolicyAlways}))
			}
			sidecar = *rp == core.ContainerRestartPolicyAlways
		}
		if names[c.Name] {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), c.Name))
		} else if c.Name != "" {
			names[c.Name] = true
		}
		// Init containers run one at a time, so their host ports are checked one by one.
		errs = append(errs, checkHostPortConflicts([]core.Container{*c}, path)...)
		if sidecar {
			if c.Lifecycle != nil {
				errs = append(errs, validateLifecycle(c.Lifecycle, gracePeriod, idxPath.Child("lifecycle"))...)
			}
			errs = append(errs, validateProbes(c, idxPath)...)
			continue
		}
		const msg = "may not be set for init containers without restartPolicy=Always"
		if c.Lifecycle != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("lifecycle"), msg))
		}
		if c.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("livenessProbe"), msg))
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("readinessProbe"), msg))
		}
		if c.StartupProbe != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("startupProbe"), msg))
		}
	}
	return errs
}

func validateEphemeralContainers(ephemeral []core.EphemeralContainer, regular, inits []core.Container, vols map[string]core.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	others := map[string]bool{}
	for _, c := range slices.Concat(regular, inits) {
		others[c.Name] = true
	}
	all := maps.Clone(others)
	for i, ec := range ephemeral {
		idxPath := path.Index(i)
		c := core.Container(ec.EphemeralContainerCommon)
		errs = append(errs, validateContainerCommon(&c, vols, idxPath)...)
		if all[ec.Name] {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), ec.Name))
		}
		all[ec.Name] = true
		if ec.TargetContainerName != "" && !others[ec.TargetContainerName] {
			errs = append(errs, field.NotFound(idxPath.Child("targetContainerName"), ec.TargetContainerName))
		}
		// Debug containers must not become part of the pod's service: no ports, probes,
		// lifecycle hooks or resources.
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"ports", len(c.Ports) > 0},
			{"resources", !semanticEqual(c.Resources, core.ResourceRequirements{})},
			{"livenessProbe", c.LivenessProbe != nil},
			{"readinessProbe", c.ReadinessProbe != nil},
			{"startupProbe", c.StartupProbe != nil},
			{"lifecycle", c.Lifecycle != nil},
		} {
			if f.set {
				errs = append(errs, field.Forbidden(idxPath.Child(f.name), "cannot be set for an Ephemeral Container"))
			}
		}
	}
	return errs
}

// validateContainerCommon checks what every kind of container has.
func validateContainerCommon(c *core.Container, vols map[string]core.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else {
		errs = append(errs, validateDNS1123Label(c.Name, path.Child("name"))...)
	}
	if c.Image == "" {
		errs = append(errs, field.Required(path.Child("image"), ""))
	}
	if p := c.TerminationMessagePolicy; p != "" && !slices.Contains(supportedTermMsgPolicies, p) {
		errs = append(errs, field.NotSupported(path.Child("terminationMessagePolicy"), p, supportedTermMsgPolicies))
	}
	if p := c.ImagePullPolicy; p != "" && !slices.Contains(supportedPullPolicies, p) {
		errs = append(errs, field.NotSupported(path.Child("imagePullPolicy"), p, supportedPullPolicies))
	}
	errs = append(errs, validateContainerPorts(c.Ports, path.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, path.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, path.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, vols, path.Child("volumeMounts"))...)
	errs = append(errs, validateVolumeDevices(c.VolumeDevices, c.VolumeMounts, vols, path.Child("volumeDevices"))...)
	errs = append(errs, validateResourceRequirements(&c.Resources, path.Child("resources"))...)
	return append(errs, validateSecurityContext(c.SecurityContext, path.Child("securityContext"))...)
}

func validateContainerPorts(ports []core.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		idxPath := path.Index(i)
		if p.Name != "" {
			if msgs := IsValidPortName(p.Name); len(msgs) > 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(idxPath.Child("name"), p.Name, msg))
				}
			} else if names[p.Name] {
				errs = append(errs, field.Duplicate(idxPath.Child("name"), p.Name))
			} else {
				names[p.Name] = true
			}
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(idxPath.Child("containerPort"), ""))
		} else {
			for _, msg := range IsValidPortNum(int(p.ContainerPort)) {
				errs = append(errs, field.Invalid(idxPath.Child("containerPort"), p.ContainerPort, msg))
			}
		}
		if p.HostPort != 0 {
			for _, msg := range IsValidPortNum(int(p.HostPort)) {
				errs = append(errs, field.Invalid(idxPath.Child("hostPort"), p.HostPort, msg))
			}
		}
		if p.Protocol != "" && !slices.Contains(supportedPortProtocols, p.Protocol) {
			errs = append(errs, field.NotSupported(idxPath.Child("protocol"), p.Protocol, supportedPortProtocols))
		}
		if p.HostIP != "" {
			errs = append(errs, IsValidIP(idxPath.Child("hostIP"), p.HostIP)...)
		}
	}
	return errs
}

// checkHostPortConflicts reports two ports that claim the same host port, IP and protocol.
func checkHostPortConflicts(containers []core.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for ci, c := range containers {
		for pi, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := p.Protocol
			if proto == "" {
				proto = core.ProtocolTCP
			}
			key := fmt.Sprintf("%s/%s/%d", proto, p.HostIP, p.HostPort)
			if seen[key] {
				errs = append(errs, field.Duplicate(path.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen[key] = true
		}
	}
	return errs
}

// validateHostNetworkPorts: a host-network pod has no port mapping, so a host port other
// than the container port could never work. (An unset host port is filled in from the
// container port by defaulting.)
func validateHostNetworkPorts(containers []core.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range containers {
		for j, p := range c.Ports {
			if p.HostPort != 0 && p.HostPort != p.ContainerPort {
				errs = append(errs, field.Invalid(path.Index(i).Child("ports").Index(j).Child("hostPort"), p.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

func validateEnv(vars []core.EnvVar, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		idxPath := path.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(idxPath.Child("name"), ""))
		} else {
			for _, msg := range IsRelaxedEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(idxPath.Child("name"), ev.Name, msg))
			}
		}
		errs = append(errs, validateEnvVarValueFrom(ev, idxPath.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvVarValueFrom(ev core.EnvVar, path *field.Path) field.ErrorList {
	src := ev.ValueFrom
	if src == nil {
		return nil
	}
	var errs field.ErrorList
	if r := src.FieldRef; r != nil {
		errs = append(errs, validateObjectFieldSelector(r, path.Child("fieldRef"))...)
	}
	if r := src.ResourceFieldRef; r != nil {
		rp := path.Child("resourceFieldRef")
		switch {
		case r.Resource == "":
			errs = append(errs, field.Required(rp.Child("resource"), ""))
		case !slices.Contains(envResourceFields, r.Resource) && !strings.HasPrefix(r.Resource, "requests.hugepages-") && !strings.HasPrefix(r.Resource, "limits.hugepages-"):
			errs = append(errs, field.NotSupported(rp.Child("resource"), r.Resource, envResourceFields))
		}
	}
	if r := src.ConfigMapKeyRef; r != nil {
		errs = append(errs, validateKeySelector(r.Name, r.Key, path.Child("configMapKeyRef"))...)
	}
	if r := src.SecretKeyRef; r != nil {
		errs = append(errs, validateKeySelector(r.Name, r.Key, path.Child("secretKeyRef"))...)
	}
	switch n := len(oneOf(src)); {
	case n == 0:
		errs = append(errs, field.Invalid(path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(path, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(path, "", "may not have more than one field specified at a time"))
	}
	return errs
}

func validateObjectFieldSelector(fs *core.ObjectFieldSelector, path *field.Path) field.ErrorList {
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(path.Child("fieldPath"), "")}
	}
	if m := subscriptedPath.FindStringSubmatch(fs.FieldPath); m != nil {
		key := m[2]
		if m[1] == "metadata.annotations" {
			key = strings.ToLower(key)
		}
		return validateQualifiedName(key, path)
	}
	if !slices.Contains(envFieldPaths, fs.FieldPath) || fs.FieldPath == "metadata.labels" || fs.FieldPath == "metadata.annotations" {
		return field.ErrorList{field.NotSupported(path.Child("fieldPath"), fs.FieldPath, envFieldPaths)}
	}
	return nil
}

func validateKeySelector(name, key string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(path.Child("name"), name, msg))
	}
	if key == "" {
		errs = append(errs, field.Required(path.Child("key"), ""))
	} else {
		for _, msg := range IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(path.Child("key"), key, msg))
		}
	}
	return errs
}

func validateEnvFrom(sources []core.EnvFromSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, src := range sources {
		idxPath := path.Index(i)
		if src.Prefix != "" {
			for _, msg := range IsRelaxedEnvVarName(src.Prefix) {
				errs = append(errs, field.Invalid(idxPath.Child("prefix"), src.Prefix, msg))
			}
		}
		if r := src.ConfigMapRef; r != nil {
			errs = append(errs, validateRefName(r.Name, idxPath.Child("configMapRef", "name"))...)
		}
		if r := src.SecretRef; r != nil {
			errs = append(errs, validateRefName(r.Name, idxPath.Child("secretRef", "name"))...)
		}
		switch n := len(oneOf(src)); {
		case n == 0:
			errs = append(errs, field.Invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(path, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func validateRefName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range NameIsDNSSubdomain(name, true) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

func validateVolumeMounts(mounts []core.VolumeMount, vols map[string]core.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	mountPoints := map[string]bool{}
	for i, m := range mounts {
		idxPath := path.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(idxPath.Child("name"), ""))
		}
		if _, ok := vols[m.Name]; !ok {
			errs = append(errs, field.NotFound(idxPath.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(idxPath.Child("mountPath"), ""))
		}
		if mountPoints[m.MountPath] {
			errs = append(errs, field.Invalid(idxPath.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountPoints[m.MountPath] = true
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, idxPath.Child("subPath"))...)
		}
		if m.SubPathExpr != "" {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(idxPath.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, validateLocalDescendingPath(m.SubPathExpr, idxPath.Child("subPathExpr"))...)
		}
		if mp := m.MountPropagation; mp != nil && !slices.Contains(supportedPropagation, *mp) {
			errs = append(errs, field.NotSupported(idxPath.Child("mountPropagation"), *mp, supportedPropagation))
		}
	}
	return errs
}

func validateVolumeDevices(devices []core.VolumeDevice, mounts []core.VolumeMount, vols map[string]core.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths, names := map[string]bool{}, map[string]bool{}
	for i, d := range devices {
		idxPath := path.Index(i)
		if d.Name == "" {
			errs = append(errs, field.Required(idxPath.Child("name"), ""))
		}
		if names[d.Name] {
			errs = append(errs, field.Invalid(idxPath.Child("name"), d.Name, "must be unique"))
		}
		if src, ok := vols[d.Name]; !ok {
			errs = append(errs, field.NotFound(idxPath.Child("name"), d.Name))
		} else if src.PersistentVolumeClaim == nil && src.Ephemeral == nil {
			errs = append(errs, field.Invalid(idxPath.Child("name"), d.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if d.DevicePath == "" {
			errs = append(errs, field.Required(idxPath.Child("devicePath"), ""))
		}
		if paths[d.DevicePath] {
			errs = append(errs, field.Invalid(idxPath.Child("devicePath"), d.DevicePath, "must be unique"))
		}
		for _, m := range mounts {
			if m.Name == d.Name {
				errs = append(errs, field.Invalid(idxPath.Child("name"), d.Name, "must not already exist in volumeMounts"))
			}
			if m.MountPath == d.DevicePath {
				errs = append(errs, field.Invalid(idxPath.Child("devicePath"), d.DevicePath, "must not already exist as a path in volumeMounts"))
			}
		}
		paths[d.DevicePath], names[d.Name] = true, true
	}
	return errs
}

// validateResourceRequirements checks resource names, that quantities are not negative, and
// that a request does not exceed its limit (or, for extended resources such as GPUs, which
// cannot be overcommitted, equals it).
func validateResourceRequirements(req *core.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := path.Child("limits"), path.Child("requests")
	for _, name := range sortedKeys(req.Limits) {
		q := req.Limits[name]
		p := limPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(string(name), p)...)
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p, q.String(), IsNegativeErrorMsg))
		}
	}
	for _, name := range sortedKeys(req.Requests) {
		q := req.Requests[name]
		p := reqPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(string(name), p)...)
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p, q.String(), IsNegativeErrorMsg))
		}
		limit, hasLimit := req.Limits[name]
		switch {
		case hasLimit && !overcommitAllowed(string(name)) && q.Cmp(limit) != 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case hasLimit && q.Cmp(limit) > 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		case !hasLimit && !overcommitAllowed(string(name)):
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

// nativeResource: unprefixed names and kubernetes.io/ ones are Kubernetes' own.
func nativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.HasPrefix(name, "kubernetes.io/")
}

// overcommitAllowed: only native, non-hugepage resources may be requested below their limit.
func overcommitAllowed(name string) bool {
	return nativeResource(name) && !strings.HasPrefix(name, core.ResourceHugePagesPrefix)
}

func validateContainerResourceName(name string, path *field.Path) field.ErrorList {
	errs := validateQualifiedName(name, path)
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(name, "/") {
		switch core.ResourceName(name) {
		case core.ResourceCPU, core.ResourceMemory, core.ResourceEphemeralStorage:
		default:
			if !strings.HasPrefix(name, core.ResourceHugePagesPrefix) {
				errs = append(errs, field.Invalid(path, name, "must be a standard resource for containers"))
			}
		}
	}
	return errs
}

// validateProbes checks a container's liveness, readiness and startup probes.
func validateProbes(c *core.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, p := range []struct {
		name  string
		probe *core.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if p.probe == nil {
			continue
		}
		pp := path.Child(p.name)
		errs = append(errs, validateProbe(p.probe, pp)...)
		// Liveness and startup only ask "has it failed?", so one success is all there is.
		// Zero means unset (defaulted to 1).
		if p.name != "readinessProbe" && p.probe.SuccessThreshold != 0 && p.probe.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(pp.Child("successThreshold"), p.probe.SuccessThreshold, "must be 1"))
		}
		if p.name == "readinessProbe" && p.probe.TerminationGracePeriodSeconds != nil {
			errs = append(errs, field.Invalid(pp.Child("terminationGracePeriodSeconds"), p.probe.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		}
	}
	return errs
}

func validateProbe(p *core.Probe, path *field.Path) field.ErrorList {
	errs := validateUnion(&p.ProbeHandler, path, "handler type")
	errs = append(errs, validateHandlerActions(p.Exec, p.HTTPGet, p.TCPSocket, path)...)
	if g := p.GRPC; g != nil {
		for _, msg := range IsValidPortNum(int(g.Port)) {
			errs = append(errs, field.Invalid(path.Child("grpc", "port"), int(g.Port), msg))
		}
	}
	errs = append(errs, ValidateNonnegativeField(int64(p.InitialDelaySeconds), path.Child("initialDelaySeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(p.TimeoutSeconds), path.Child("timeoutSeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(p.PeriodSeconds), path.Child("periodSeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(p.SuccessThreshold), path.Child("successThreshold"))...)
	errs = append(errs, ValidateNonnegativeField(int64(p.FailureThreshold), path.Child("failureThreshold"))...)
	if t := p.TerminationGracePeriodSeconds; t != nil && *t <= 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *t, "must be greater than 0"))
	}
	return errs
}

func validateLifecycle(l *core.Lifecycle, gracePeriod int64, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, h := range []struct {
		name    string
		handler *core.LifecycleHandler
	}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
		if h.handler == nil {
			continue
		}
		hp := path.Child(h.name)
		errs = append(errs, validateUnion(h.handler, hp, "handler type")...)
		errs = append(errs, validateHandlerActions(h.handler.Exec, h.handler.HTTPGet, h.handler.TCPSocket, hp)...)
		// A hook that sleeps past the grace period would be killed mid-sleep.
		if s := h.handler.Sleep; s != nil && (s.Seconds < 0 || s.Seconds > gracePeriod) {
			errs = append(errs, field.Invalid(hp.Child("sleep"), s.Seconds, fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", gracePeriod)))
		}
	}
	return errs
}

// validateHandlerActions checks the actions probes and lifecycle hooks share.
func validateHandlerActions(exec *core.ExecAction, httpGet *core.HTTPGetAction, tcp *core.TCPSocketAction, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if exec != nil && len(exec.Command) == 0 {
		errs = append(errs, field.Required(path.Child("exec", "command"), ""))
	}
	if h := httpGet; h != nil {
		hp := path.Child("httpGet")
		errs = append(errs, validatePortNumOrName(h.Port, hp.Child("port"))...)
		if h.Scheme != "" && !slices.Contains(supportedHTTPSchemes, h.Scheme) {
			errs = append(errs, field.NotSupported(hp.Child("scheme"), h.Scheme, supportedHTTPSchemes))
		}
		for _, hdr := range h.HTTPHeaders {
			if !httpHeaderNameRegexp.MatchString(hdr.Name) {
				errs = append(errs, field.Invalid(hp.Child("httpHeaders"), hdr.Name, RegexError("a valid HTTP header must consist of alphanumeric characters or '-'", "[-A-Za-z0-9]+", "X-Header-Name")))
			}
		}
	}
	if tcp != nil {
		errs = append(errs, validatePortNumOrName(tcp.Port, path.Child("tcpSocket", "port"))...)
	}
	return errs
}

// validatePortNumOrName checks a port given as a number or as a container port's name.
func validatePortNumOrName(port intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.String {
		for _, msg := range IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(path, port.StrVal, msg))
		}
		return errs
	}
	for _, msg := range IsValidPortNum(port.IntValue()) {
		errs = append(errs, field.Invalid(path, port.IntValue(), msg))
	}
	return errs
}

// ValidateTolerations checks pod tolerations.
func ValidateTolerations(tols []core.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tols {
		idxPath := path.Index(i)
		if t.Key != "" {
			errs = append(errs, ValidateLabelName(t.Key, idxPath.Child("key"))...)
		}
		// An empty key with Exists tolerates every taint; with Equal it would tolerate nothing.
		if t.Key == "" && t.Operator != core.TolerationOpExists {
			errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		// Only NoExecute taints evict, so only they have a time to tolerate.
		if t.TolerationSeconds != nil && t.Effect != core.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(idxPath.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case core.TolerationOpEqual, "":
			if msgs := IsValidLabelValue(t.Value); len(msgs) > 0 {
				errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case core.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(idxPath.Child("operator"), t.Operator, supportedTolerationOps))
		}
		if t.Effect != "" {
			errs = append(errs, validateTaintEffect(t.Effect, idxPath.Child("effect"))...)
		}
	}
	return errs
}

func validateTaintEffect(effect core.TaintEffect, path *field.Path) field.ErrorList {
	if !slices.Contains(supportedTaintEffects, effect) {
		return field.ErrorList{field.NotSupported(path, effect, supportedTaintEffects)}
	}
	return nil
}

func validatePodDNSConfig(cfg *core.PodDNSConfig, policy core.DNSPolicy, path *field.Path) field.ErrorList {
	if policy == core.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(path, "must provide `dnsConfig` when `dnsPolicy` is None")}
		}
		if len(cfg.Nameservers) == 0 {
			return field.ErrorList{field.Required(path.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None")}
		}
	}
	if cfg == nil {
		return nil
	}
	var errs field.ErrorList
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(path.Child("nameservers"), cfg.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, IsValidIP(path.Child("nameservers").Index(i), ns)...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(path.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	for i, s := range cfg.Searches {
		if s != "." {
			errs = append(errs, validateDNS1123Subdomain(strings.TrimSuffix(s, "."), path.Child("searches").Index(i))...)
		}
	}
	for i, o := range cfg.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(path.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

func validatePodSecurityContext(sc *core.PodSecurityContext, path *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := validateIDs(sc.RunAsUser, sc.RunAsGroup, path)
	if sc.FSGroup != nil {
		errs = append(errs, validateID(*sc.FSGroup, path.Child("fsGroup"))...)
	}
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, validateID(g, path.Child("supplementalGroups").Index(i))...)
	}
	return errs
}

func validateSecurityContext(sc *core.SecurityContext, path *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := validateIDs(sc.RunAsUser, sc.RunAsGroup, path)
	// Privilege escalation cannot be denied to a process that is privileged or may add
	// CAP_SYS_ADMIN: it already has everything escalation would give it.
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil && slices.Contains(sc.Capabilities.Add, "CAP_SYS_ADMIN") {
			errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
		}
	}
	return errs
}

func validateIDs(user, group *int64, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if user != nil {
		errs = append(errs, validateID(*user, path.Child("runAsUser"))...)
	}
	if group != nil {
		errs = append(errs, validateID(*group, path.Child("runAsGroup"))...)
	}
	return errs
}

// validateID checks a Unix user or group ID.
func validateID(id int64, path *field.Path) field.ErrorList {
	if id < 0 || id > maxUserID {
		return field.ErrorList{field.Invalid(path, id, InclusiveRangeError(0, maxUserID))}
	}
	return nil
}

func validateAffinity(a *core.Affinity, path *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		np := path.Child("nodeAffinity")
		if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
			rp := np.Child("requiredDuringSchedulingIgnoredDuringExecution")
			if len(req.NodeSelectorTerms) == 0 {
				errs = append(errs, field.Required(rp.Child("nodeSelectorTerms"), "must have at least one node selector term"))
			}
			for i, term := range req.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(term, rp.Child("nodeSelectorTerms").Index(i))...)
			}
		}
		for i, pref := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			pp := np.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(pref.Weight, pp.Child("weight"))...)
			errs = append(errs, validateNodeSelectorTerm(pref.Preference, pp.Child("preference"))...)
		}
	}
	for _, pa := range []struct {
		name      string
		required  []core.PodAffinityTerm
		preferred []core.WeightedPodAffinityTerm
	}{
		{"podAffinity", podAffinityRequired(a.PodAffinity), podAffinityPreferred(a.PodAffinity)},
		{"podAntiAffinity", podAntiAffinityRequired(a.PodAntiAffinity), podAntiAffinityPreferred(a.PodAntiAffinity)},
	} {
		pp := path.Child(pa.name)
		for i, term := range pa.required {
			errs = append(errs, validatePodAffinityTerm(term, pp.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
		}
		for i, w := range pa.preferred {
			wp := pp.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(w.Weight, wp.Child("weight"))...)
			errs = append(errs, validatePodAffinityTerm(w.PodAffinityTerm, wp.Child("podAffinityTerm"))...)
		}
	}
	return errs
}

func podAffinityRequired(a *core.PodAffinity) []core.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAffinityPreferred(a *core.PodAffinity) []core.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityRequired(a *core.PodAntiAffinity) []core.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityPreferred(a *core.PodAntiAffinity) []core.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func validateWeight(w int32, path *field.Path) field.ErrorList {
	if w <= 0 || w > 100 {
		return field.ErrorList{field.Invalid(path, w, "must be in the range 1-100")}
	}
	return nil
}

func validatePodAffinityTerm(t core.PodAffinityTerm, path *field.Path) field.ErrorList {
	errs := ValidateLabelSelector(t.LabelSelector, path.Child("labelSelector"))
	errs = append(errs, ValidateLabelSelector(t.NamespaceSelector, path.Child("namespaceSelector"))...)
	for i, ns := range t.Namespaces {
		for _, msg := range NameIsDNSLabel(ns, false) {
			errs = append(errs, field.Invalid(path.Child("namespaces").Index(i), ns, msg))
		}
	}
	if t.TopologyKey == "" {
		errs = append(errs, field.Required(path.Child("topologyKey"), "can not be empty"))
	} else {
		errs = append(errs, ValidateLabelName(t.TopologyKey, path.Child("topologyKey"))...)
	}
	return errs
}

func validateNodeSelectorTerm(term core.NodeSelectorTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, req := range term.MatchExpressions {
		rp := path.Child("matchExpressions").Index(j)
		errs = append(errs, ValidateLabelName(req.Key, rp.Child("key"))...)
		errs = append(errs, validateNodeSelectorOperator(req.Operator, req.Values, rp)...)
	}
	for j, req := range term.MatchFields {
		rp := path.Child("matchFields").Index(j)
		// Only metadata.name can be matched as a field, with one value.
		if req.Key != "metadata.name" {
			errs = append(errs, field.NotSupported(rp.Child("key"), req.Key, []string{"metadata.name"}))
		}
		errs = append(errs, validateNodeSelectorOperator(req.Operator, req.Values, rp)...)
	}
	return errs
}

func validateNodeSelectorOperator(op core.NodeSelectorOperator, values []string, path *field.Path) field.ErrorList {
	switch op {
	case core.NodeSelectorOpIn, core.NodeSelectorOpNotIn:
		if len(values) == 0 {
			return field.ErrorList{field.Required(path.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'")}
		}
	case core.NodeSelectorOpExists, core.NodeSelectorOpDoesNotExist:
		if len(values) > 0 {
			return field.ErrorList{field.Forbidden(path.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")}
		}
	case core.NodeSelectorOpGt, core.NodeSelectorOpLt:
		if len(values) != 1 {
			return field.ErrorList{field.Required(path.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'")}
		}
	default:
		return field.ErrorList{field.NotSupported(path.Child("operator"), op, supportedNodeSelectorOps)}
	}
	return nil
}

func validateTopologySpreadConstraints(constraints []core.TopologySpreadConstraint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, c := range constraints {
		sp := path.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(sp.Child("maxSkew"), c.MaxSkew, "must be greater than zero"))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(sp.Child("topologyKey"), "can not be empty"))
		} else {
			errs = append(errs, ValidateLabelName(c.TopologyKey, sp.Child("topologyKey"))...)
		}
		if !slices.Contains(supportedUnsatisfiable, c.WhenUnsatisfiable) {
			errs = append(errs, field.NotSupported(sp.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, supportedUnsatisfiable))
		}
		key := c.TopologyKey + "/" + string(c.WhenUnsatisfiable)
		if seen[key] {
			errs = append(errs, field.Duplicate(sp, fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
		}
		seen[key] = true
		errs = append(errs, ValidateLabelSelector(c.LabelSelector, sp.Child("labelSelector"))...)
	}
	return errs
}
