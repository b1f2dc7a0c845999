package validation

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// validateReplicationController is Kubernetes' ValidateReplicationController: a non-empty
// equality selector the template's labels match, and a template that restarts Always.
func validateReplicationController(rc *core.ReplicationController) field.ErrorList {
	errs := ValidateObjectMeta(&rc.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec := &rc.Spec
	specPath := field.NewPath("spec")
	errs = append(errs, ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if len(spec.Selector) == 0 {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	}
	errs = append(errs, validateReplicas(spec.Replicas, specPath.Child("replicas"))...)
	tpath := specPath.Child("template")
	t := spec.Template
	if t == nil {
		return append(errs, field.Required(tpath, ""))
	}
	if len(spec.Selector) > 0 && !labels.SelectorFromSet(spec.Selector).Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(tpath.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, ValidatePodTemplateSpec(t, tpath)...)
	if t.Spec.RestartPolicy != core.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tpath.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []core.RestartPolicy{core.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tpath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

func validateReplicationControllerUpdate(rc, old *core.ReplicationController) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateReplicationController(rc)...)
}
