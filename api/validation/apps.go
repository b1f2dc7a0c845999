package validation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Workloads share three rules about their selector and template: the selector is required
// and not empty (an empty one would adopt every pod in the namespace), it must select the
// pods the template creates (or the controller would create pods forever), and the pods
// must restart in place (a controller, not the node agent, replaces finished pods).

func validateWorkloadSelector(sel *meta.LabelSelector, kind string, path *field.Path) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	errs := ValidateLabelSelector(sel, path)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(path, sel, "empty selector is invalid for "+kind))
	}
	return errs
}

// validateWorkloadTemplate checks the template against the selector and validates it as a
// pod template whose pods must be restarted in place.
func validateWorkloadTemplate(t *core.PodTemplateSpec, sel *meta.LabelSelector, kind string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	// Only a selector that parsed cleanly can be matched; its errors are reported already.
	if sel != nil && len(ValidateLabelSelector(sel, path)) == 0 && !selectorMatches(sel, t.Labels) {
		errs = append(errs, field.Invalid(path.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, ValidatePodTemplateSpec(t, path)...)
	if rp := t.Spec.RestartPolicy; rp != "" && rp != core.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(path.Child("spec", "restartPolicy"), rp, []core.RestartPolicy{core.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(path.Child("spec", "activeDeadlineSeconds"), t.Spec.ActiveDeadlineSeconds, fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return errs
}

func validateReplicas(replicas *int32, path *field.Path) field.ErrorList {
	if replicas == nil {
		return nil
	}
	return ValidateNonnegativeField(int64(*replicas), path)
}

func validateOptionalNonnegative(v *int32, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return ValidateNonnegativeField(int64(*v), path)
}

func validateDeployment(d *apps.Deployment) field.ErrorList {
	errs := ValidateObjectMeta(&d.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec := &d.Spec
	specPath := field.NewPath("spec")
	errs = append(errs, validateReplicas(spec.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, validateWorkloadSelector(spec.Selector, "deployment", specPath.Child("selector"))...)
	errs = append(errs, validateWorkloadTemplate(&spec.Template, spec.Selector, "ReplicaSet", specPath.Child("template"))...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateOptionalNonnegative(spec.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	if pds := spec.ProgressDeadlineSeconds; pds != nil {
		errs = append(errs, ValidateNonnegativeField(int64(*pds), specPath.Child("progressDeadlineSeconds"))...)
		// A rollout cannot be declared stuck before a pod could even count as available.
		if *pds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(specPath.Child("progressDeadlineSeconds"), *pds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

var supportedDeploymentStrategies = []apps.DeploymentStrategyType{apps.RecreateDeploymentStrategyType, apps.RollingUpdateDeploymentStrategyType}

func validateDeploymentStrategy(s *apps.DeploymentStrategy, path *field.Path) field.ErrorList {
	switch s.Type {
	case apps.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(path.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case apps.RollingUpdateDeploymentStrategyType, "":
		// Unset fields default to 25% each.
		if ru := s.RollingUpdate; ru != nil {
			unavailable, surge := orDefault(ru.MaxUnavailable), orDefault(ru.MaxSurge)
			rp := path.Child("rollingUpdate")
			errs := validatePositiveIntOrPercent(unavailable, rp.Child("maxUnavailable"))
			errs = append(errs, validatePositiveIntOrPercent(surge, rp.Child("maxSurge"))...)
			// With neither surge nor unavailability allowed, a rollout could never make progress.
			if intOrPercentValue(unavailable) == 0 && intOrPercentValue(surge) == 0 {
				errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), unavailable, "may not be 0 when `maxSurge` is 0"))
			}
			return append(errs, isNotMoreThan100Percent(unavailable, rp.Child("maxUnavailable"))...)
		}
	default:
		return field.ErrorList{field.NotSupported(path.Child("type"), s.Type, supportedDeploymentStrategies)}
	}
	return nil
}

func orDefault(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.FromString("25%")
	}
	return *v
}

func validatePositiveIntOrPercent(v intstr.IntOrString, path *field.Path) field.ErrorList {
	if v.Type == intstr.String {
		var errs field.ErrorList
		for _, msg := range IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(path, v, msg))
		}
		return errs
	}
	return ValidateNonnegativeField(int64(v.IntVal), path)
}

// intOrPercentValue is the number or the percentage, without its '%'; -1 if malformed.
func intOrPercentValue(v intstr.IntOrString) int {
	if v.Type == intstr.Int {
		return int(v.IntVal)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	if err != nil {
		return -1
	}
	return n
}

func isNotMoreThan100Percent(v intstr.IntOrString, path *field.Path) field.ErrorList {
	if v.Type == intstr.String && len(IsValidPercent(v.StrVal)) == 0 && intOrPercentValue(v) > 100 {
		return field.ErrorList{field.Invalid(path, v, "must not be greater than 100%")}
	}
	return nil
}

// validateSelectorUpdate: in apps/v1 a workload's selector is immutable, because changing it
// would orphan the pods it already owns and adopt others.
func validateSelectorUpdate(sel, old *meta.LabelSelector) field.ErrorList {
	return ValidateImmutableField(sel, old, field.NewPath("spec", "selector"))
}

func validateDeploymentUpdate(d, old *apps.Deployment) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateDeployment(d)...)
	return append(errs, validateSelectorUpdate(d.Spec.Selector, old.Spec.Selector)...)
}

func validateReplicaSet(rs *apps.ReplicaSet) field.ErrorList {
	errs := ValidateObjectMeta(&rs.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec := &rs.Spec
	specPath := field.NewPath("spec")
	errs = append(errs, validateReplicas(spec.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	// Kubernetes says "deployment" here too.
	errs = append(errs, validateWorkloadSelector(spec.Selector, "deployment", specPath.Child("selector"))...)
	return append(errs, validateWorkloadTemplate(&spec.Template, spec.Selector, "ReplicaSet", specPath.Child("template"))...)
}

func validateReplicaSetUpdate(rs, old *apps.ReplicaSet) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateReplicaSet(rs)...)
	return append(errs, validateSelectorUpdate(rs.Spec.Selector, old.Spec.Selector)...)
}

func validateDaemonSet(ds *apps.DaemonSet) field.ErrorList {
	errs := ValidateObjectMeta(&ds.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec := &ds.Spec
	specPath := field.NewPath("spec")
	errs = append(errs, validateWorkloadSelector(spec.Selector, "daemonset", specPath.Child("selector"))...)
	errs = append(errs, validateWorkloadTemplate(&spec.Template, spec.Selector, "DaemonSet", specPath.Child("template"))...)
	errs = append(errs, ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateOptionalNonnegative(spec.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	return append(errs, validateDaemonSetStrategy(&spec.UpdateStrategy, specPath.Child("updateStrategy"))...)
}

func validateDaemonSetStrategy(s *apps.DaemonSetUpdateStrategy, path *field.Path) field.ErrorList {
	switch s.Type {
	case apps.OnDeleteDaemonSetStrategyType:
		return nil
	case apps.RollingUpdateDaemonSetStrategyType, "":
		ru := s.RollingUpdate
		if ru == nil {
			return nil // defaults: maxUnavailable 1, maxSurge 0
		}
		rp := path.Child("rollingUpdate")
		unavailable, surge := intstr.FromInt(1), intstr.FromInt(0)
		if ru.MaxUnavailable != nil {
			unavailable = *ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			surge = *ru.MaxSurge
		}
		errs := validatePositiveIntOrPercent(unavailable, rp.Child("maxUnavailable"))
		errs = append(errs, validatePositiveIntOrPercent(surge, rp.Child("maxSurge"))...)
		errs = append(errs, isNotMoreThan100Percent(unavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, isNotMoreThan100Percent(surge, rp.Child("maxSurge"))...)
		// A node runs one daemon pod: an update either replaces it (unavailable) or starts the
		// new one beside it (surge), never both.
		hasUnavailable, hasSurge := intOrPercentValue(unavailable) != 0, intOrPercentValue(surge) != 0
		switch {
		case hasUnavailable && hasSurge:
			errs = append(errs, field.Invalid(rp.Child("maxSurge"), surge, "may not be set when maxUnavailable is non-zero"))
		case !hasUnavailable && !hasSurge:
			errs = append(errs, field.Required(rp.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
		return errs
	default:
		valid := []apps.DaemonSetUpdateStrategyType{apps.RollingUpdateDaemonSetStrategyType, apps.OnDeleteDaemonSetStrategyType}
		return field.ErrorList{field.NotSupported(path.Child("type"), s.Type, valid)}
	}
}

func validateDaemonSetUpdate(ds, old *apps.DaemonSet) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateDaemonSet(ds)...)
	return append(errs, validateSelectorUpdate(ds.Spec.Selector, old.Spec.Selector)...)
}

func validateStatefulSet(ss *apps.StatefulSet) field.ErrorList {
	// Pods are named <statefulset>-<ordinal> and get it as their hostname, so the name must
	// be a DNS label.
	errs := ValidateObjectMeta(&ss.ObjectMeta, true, NameIsDNSLabel, field.NewPath("metadata"))
	return append(errs, validateStatefulSetSpec(&ss.Spec, field.NewPath("spec"))...)
}

func validateStatefulSetSpec(spec *apps.StatefulSetSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "", apps.OrderedReadyPodManagement, apps.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(specPath.Child("podManagementPolicy"), spec.PodManagementPolicy, "must be 'OrderedReady' or 'Parallel'"))
	}
	switch spec.UpdateStrategy.Type {
	case "", apps.RollingUpdateStatefulSetStrategyType:
		if ru := spec.UpdateStrategy.RollingUpdate; ru != nil {
			rp := specPath.Child("updateStrategy", "rollingUpdate")
			errs = append(errs, validateOptionalNonnegative(ru.Partition, rp.Child("partition"))...)
			if ru.MaxUnavailable != nil {
				errs = append(errs, validatePositiveIntOrPercent(*ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
				if intOrPercentValue(*ru.MaxUnavailable) == 0 {
					errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), *ru.MaxUnavailable, "must be greater than 0"))
				}
				errs = append(errs, isNotMoreThan100Percent(*ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
			}
		}
	case apps.OnDeleteStatefulSetStrategyType:
		if spec.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(specPath.Child("updateStrategy", "rollingUpdate"), spec.UpdateStrategy.RollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"))
		}
	default:
		errs = append(errs, field.Invalid(specPath.Child("updateStrategy"), spec.UpdateStrategy, "must be 'RollingUpdate' or 'OnDelete'"))
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		valid := []apps.PersistentVolumeClaimRetentionPolicyType{apps.RetainPersistentVolumeClaimRetentionPolicyType, apps.DeletePersistentVolumeClaimRetentionPolicyType}
		pp := specPath.Child("persistentVolumeClaimRetentionPolicy")
		if p.WhenDeleted != "" && !slices.Contains(valid, p.WhenDeleted) {
			errs = append(errs, field.NotSupported(pp.Child("whenDeleted"), p.WhenDeleted, valid))
		}
		if p.WhenScaled != "" && !slices.Contains(valid, p.WhenScaled) {
			errs = append(errs, field.NotSupported(pp.Child("whenScaled"), p.WhenScaled, valid))
		}
	}
	errs = append(errs, validateReplicas(spec.Replicas, specPath.Child("replicas"))...)
	if spec.Ordinals != nil {
		errs = append(errs, ValidateNonnegativeField(int64(spec.Ordinals.Start), specPath.Child("ordinals.start"))...)
	}
	errs = append(errs, validateWorkloadSelector(spec.Selector, "statefulset", specPath.Child("selector"))...)
	// The set's pods get a volume per claim template, so the template's mounts may name
	// them (Kubernetes leaves the template's pod spec unchecked for this reason; skiff
	// checks it as the pods will have it).
	tmpl := spec.Template
	tmpl.Spec.Volumes = slices.Clone(tmpl.Spec.Volumes)
	for _, ct := range spec.VolumeClaimTemplates {
		if !slices.ContainsFunc(tmpl.Spec.Volumes, func(v core.Volume) bool { return v.Name == ct.Name }) {
			tmpl.Spec.Volumes = append(tmpl.Spec.Volumes, core.Volume{Name: ct.Name, VolumeSource: core.VolumeSource{
				PersistentVolumeClaim: &core.PersistentVolumeClaimVolumeSource{ClaimName: ct.Name}}})
		}
	}
	errs = append(errs, validateWorkloadTemplate(&tmpl, spec.Selector, "StatefulSet", specPath.Child("template"))...)
	errs = append(errs, ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateOptionalNonnegative(spec.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	if spec.ServiceName != "" {
		errs = append(errs, validateNameField(spec.ServiceName, NameIsDNS1035Label, specPath.Child("serviceName"))...)
	}
	for i := range spec.VolumeClaimTemplates {
		t := &spec.VolumeClaimTemplates[i]
		tp := specPath.Child("volumeClaimTemplates").Index(i)
		errs = append(errs, validateNameField(t.Name, NameIsDNSSubdomain, tp.Child("metadata", "name"))...)
		errs = append(errs, validatePVCSpec(&t.Spec, tp.Child("spec"))...)
	}
	return errs
}

// validateStatefulSetUpdate: a StatefulSet's identity (selector, service, volume claims) is
// fixed; only how many pods, what they run and how they are rolled may change.
func validateStatefulSetUpdate(ss, old *apps.StatefulSet) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&ss.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateStatefulSetSpec(&ss.Spec, field.NewPath("spec"))...)
	spec := ss.Spec
	spec.Replicas = old.Spec.Replicas
	spec.Template = old.Spec.Template
	spec.UpdateStrategy = old.Spec.UpdateStrategy
	spec.MinReadySeconds = old.Spec.MinReadySeconds
	spec.Ordinals = old.Spec.Ordinals
	spec.RevisionHistoryLimit = old.Spec.RevisionHistoryLimit
	spec.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
	if !semanticEqual(spec, old.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return errs
}

func validateControllerRevision(cr *apps.ControllerRevision) field.ErrorList {
	errs := ValidateObjectMeta(&cr.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	if len(cr.Data) == 0 {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	return append(errs, ValidateNonnegativeField(cr.Revision, field.NewPath("revision"))...)
}

// validateControllerRevisionUpdate: a revision is a snapshot; only its number may change
// (when an old revision is rolled back to, it becomes the newest).
func validateControllerRevisionUpdate(cr, old *apps.ControllerRevision) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&cr.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateControllerRevision(cr)...)
	return append(errs, ValidateImmutableField(cr.Data, old.Data, field.NewPath("data"))...)
}
