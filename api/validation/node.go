package validation

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/node"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// validateRuntimeClass is Kubernetes' pkg/apis/node/validation: a DNS-label handler, the
// overhead checked as container limits are, and the scheduling constraints as a pod's.
func validateRuntimeClass(rc *node.RuntimeClass) field.ErrorList {
	errs := ValidateObjectMeta(&rc.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	for _, msg := range NameIsDNSLabel(rc.Handler, false) {
		errs = append(errs, field.Invalid(field.NewPath("handler"), rc.Handler, msg))
	}
	if rc.Overhead != nil {
		errs = append(errs, validateResourceRequirements(&core.ResourceRequirements{Limits: rc.Overhead.PodFixed}, field.NewPath("overhead"))...)
	}
	if s := rc.Scheduling; s != nil {
		path := field.NewPath("scheduling")
		errs = append(errs, ValidateLabels(s.NodeSelector, path.Child("nodeSelector"))...)
		// Kubernetes names these scheduling.tolerations.tolerations[i] (its validator adds the
		// child twice); kept so that clients see the same field paths.
		tols := path.Child("tolerations")
		errs = append(errs, ValidateTolerations(s.Tolerations, tols.Child("tolerations"))...)
		seen := map[core.Toleration]bool{}
		for i, t := range s.Tolerations {
			key := core.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect}
			if seen[key] {
				errs = append(errs, field.Duplicate(tols.Index(i), t))
			}
			seen[key] = true
		}
	}
	return errs
}

// validateRuntimeClassUpdate: the handler is immutable, since pods already running were
// started with the old one.
func validateRuntimeClassUpdate(rc, old *node.RuntimeClass) field.ErrorList {
	errs := validateRuntimeClass(rc)
	errs = append(errs, ValidateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))...)
	return append(errs, ValidateImmutableField(rc.Handler, old.Handler, field.NewPath("handler"))...)
}
