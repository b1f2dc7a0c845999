package validation

import (
	"fmt"
	"strings"

	"github.com/skiff-sh/skiff/api/apiregistration"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// validateAPIService checks an APIService as kube-aggregator's ValidateAPIService does,
// with its messages.
func validateAPIService(a *apiregistration.APIService) field.ErrorList {
	required := a.Spec.Version + "." + a.Spec.Group
	errs := ValidateObjectMeta(&a.ObjectMeta, false, func(name string, _ bool) []string {
		if strings.Contains(name, "/") || strings.Contains(name, "%") || name == "." || name == ".." {
			return []string{"may not contain '/' or '%'"}
		}
		if name != required {
			return []string{fmt.Sprintf("must be `spec.version+\".\"+spec.group`: %q", required)}
		}
		return nil
	}, field.NewPath("metadata"))
	sp := field.NewPath("spec")
	if a.Spec.Group == "" && a.Spec.Version != "v1" {
		errs = append(errs, field.Required(sp.Child("group"), "only v1 may have an empty group and it better be legacy kube"))
	}
	if a.Spec.Group != "" {
		for _, msg := range IsDNS1123Subdomain(a.Spec.Group) {
			errs = append(errs, field.Invalid(sp.Child("group"), a.Spec.Group, msg))
		}
	}
	for _, msg := range IsDNS1035Label(a.Spec.Version) {
		errs = append(errs, field.Invalid(sp.Child("version"), a.Spec.Version, msg))
	}
	if a.Spec.GroupPriorityMinimum <= 0 || a.Spec.GroupPriorityMinimum > 20000 {
		errs = append(errs, field.Invalid(sp.Child("groupPriorityMinimum"), a.Spec.GroupPriorityMinimum, "must be positive and less than 20000"))
	}
	if a.Spec.VersionPriority <= 0 || a.Spec.VersionPriority > 1000 {
		errs = append(errs, field.Invalid(sp.Child("versionPriority"), a.Spec.VersionPriority, "must be positive and less than 1000"))
	}
	if a.Spec.Service == nil {
		if len(a.Spec.CABundle) != 0 {
			errs = append(errs, field.Invalid(sp.Child("caBundle"), fmt.Sprintf("%d bytes", len(a.Spec.CABundle)), "local APIServices may not have a caBundle"))
		}
		if a.Spec.InsecureSkipTLSVerify {
			errs = append(errs, field.Invalid(sp.Child("insecureSkipTLSVerify"), a.Spec.InsecureSkipTLSVerify, "local APIServices may not have insecureSkipTLSVerify"))
		}
		return errs
	}
	svc := sp.Child("service")
	if a.Spec.Service.Namespace == "" {
		errs = append(errs, field.Required(svc.Child("namespace"), ""))
	}
	if a.Spec.Service.Name == "" {
		errs = append(errs, field.Required(svc.Child("name"), ""))
	}
	if p := a.Spec.Service.Port; p != nil {
		if msgs := IsValidPortNum(int(*p)); msgs != nil {
			errs = append(errs, field.Invalid(svc.Child("port"), *p, "port is not valid: "+strings.Join(msgs, ", ")))
		}
	}
	if a.Spec.InsecureSkipTLSVerify && len(a.Spec.CABundle) > 0 {
		errs = append(errs, field.Invalid(sp.Child("insecureSkipTLSVerify"), a.Spec.InsecureSkipTLSVerify, "may not be true if caBundle is present"))
	}
	return errs
}
