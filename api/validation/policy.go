package validation

import (
	"github.com/skiff-sh/skiff/api/policy"
	"github.com/skiff-sh/skiff/api/validation/field"
)

var supportedUnhealthyPodEvictionPolicies = []string{string(policy.AlwaysAllow), string(policy.IfHealthyBudget)}

// validatePodDisruptionBudget is Kubernetes' ValidatePodDisruptionBudget for policy/v1: at
// most one of minAvailable and maxUnavailable, each a non-negative number or a percentage up
// to 100%, a valid selector, a known unhealthyPodEvictionPolicy.
func validatePodDisruptionBudget(pdb *policy.PodDisruptionBudget) field.ErrorList {
	errs := ValidateObjectMeta(&pdb.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	if pdb.Spec.MinAvailable != nil && pdb.Spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(spec, pdb.Spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if v := pdb.Spec.MinAvailable; v != nil {
		errs = append(errs, validatePositiveIntOrPercent(*v, spec.Child("minAvailable"))...)
		errs = append(errs, isNotMoreThan100Percent(*v, spec.Child("minAvailable"))...)
	}
	if v := pdb.Spec.MaxUnavailable; v != nil {
		errs = append(errs, validatePositiveIntOrPercent(*v, spec.Child("maxUnavailable"))...)
		errs = append(errs, isNotMoreThan100Percent(*v, spec.Child("maxUnavailable"))...)
	}
	if pdb.Spec.Selector != nil {
		errs = append(errs, ValidateLabelSelector(pdb.Spec.Selector, spec.Child("selector"))...)
	}
	if p := pdb.Spec.UnhealthyPodEvictionPolicy; p != nil && !contains(supportedUnhealthyPodEvictionPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(spec.Child("unhealthyPodEvictionPolicy"), *p, supportedUnhealthyPodEvictionPolicies))
	}
	return errs
}
