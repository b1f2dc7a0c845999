package validation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/admissionpolicy"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// The rules of ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding are Kubernetes'
// (pkg/apis/admissionregistration/validation): every CEL expression must compile in the
// policy's environment (api/admissionpolicy), so a stored policy always compiles.

var (
	supportedValidationActions = []string{string(ar.Audit), string(ar.Deny), string(ar.Warn)}
	// supportedValidationReasons are the reasons a validation may give (each maps to an HTTP
	// code: 401, 403, 422, 413).
	supportedValidationReasons = []string{"Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized"}
	supportedNotFoundActions   = []string{string(ar.DenyAction), string(ar.AllowAction)}
)

const (
	maxAuditAnnotations                     = 20
	maxAuditAnnotationValueExpressionLength = 5 * 1024
)

func validateValidatingAdmissionPolicy(p *ar.ValidatingAdmissionPolicy) field.ErrorList {
	errs := ValidateObjectMeta(&p.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	sp, spec := field.NewPath("spec"), &p.Spec
	if spec.FailurePolicy == nil {
		errs = append(errs, field.Required(sp.Child("failurePolicy"), ""))
	} else if !slices.Contains(supportedFailurePolicies, string(*spec.FailurePolicy)) {
		errs = append(errs, field.NotSupported(sp.Child("failurePolicy"), *spec.FailurePolicy, supportedFailurePolicies))
	}
	if spec.ParamKind != nil {
		errs = append(errs, validateParamKind(*spec.ParamKind, sp.Child("paramKind"))...)
	}
	if spec.MatchConstraints == nil {
		errs = append(errs, field.Required(sp.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateMatchResources(spec.MatchConstraints, sp.Child("matchConstraints"))...)
		// at least one resource rule, which gives the expressions their types
		if len(spec.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(sp.Child("matchConstraints", "resourceRules"), ""))
		}
	}
	errs = append(errs, validatePolicyMatchConditions(spec.MatchConditions, sp.Child("matchConditions"))...)
	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		const msg = "validations or auditAnnotations must contain at least one item"
		errs = append(errs, field.Required(sp.Child("validations"), msg), field.Required(sp.Child("auditAnnotations"), msg))
	}
	for i, v := range spec.Validations {
		vp := sp.Child("validations").Index(i)
		if len(v.MessageExpression) > 0 && strings.TrimSpace(v.MessageExpression) == "" {
			errs = append(errs, field.Invalid(vp.Child("messageExpression"), v.MessageExpression, "must be non-empty if specified"))
		}
		msg := strings.TrimSpace(v.Message)
		if len(v.Message) > 0 && msg == "" {
			errs = append(errs, field.Invalid(vp.Child("message"), v.Message, "message must be non-empty if specified"))
		} else if strings.ContainsAny(msg, "\r\n") {
			errs = append(errs, field.Invalid(vp.Child("message"), v.Message, "message must not contain line breaks"))
		}
		if v.Reason != nil && !slices.Contains(supportedValidationReasons, *v.Reason) {
			errs = append(errs, field.NotSupported(vp.Child("reason"), *v.Reason, supportedValidationReasons))
		}
	}
	if len(spec.AuditAnnotations) > maxAuditAnnotations {
		errs = append(errs, field.Invalid(sp.Child("auditAnnotations"), spec.AuditAnnotations, fmt.Sprintf("must not have more than %d auditAnnotations", maxAuditAnnotations)))
	}
	keys := map[string]bool{}
	for i, a := range spec.AuditAnnotations {
		ap := sp.Child("auditAnnotations").Index(i)
		if p.Name != "" {
			errs = append(errs, validateQualifiedName(p.Name+"/"+a.Key, ap.Child("key"))...)
		} else {
			errs = append(errs, field.Invalid(ap.Child("key"), a.Key, "requires metadata.name be non-empty"))
		}
		if v := strings.TrimSpace(a.ValueExpression); v == "" {
			errs = append(errs, field.Required(ap.Child("valueExpression"), "valueExpression is not specified"))
		} else if len(v) > maxAuditAnnotationValueExpressionLength {
			errs = append(errs, field.Required(ap.Child("valueExpression"), fmt.Sprintf("must not exceed %d bytes in length", maxAuditAnnotationValueExpressionLength)))
		}
		if keys[a.Key] {
			errs = append(errs, field.Duplicate(ap.Child("key"), a.Key))
		}
		keys[a.Key] = true
	}
	// Every expression compiles (variables, matchConditions, validations, messageExpressions,
	// auditAnnotations), each error naming its field.
	_, celErrs := admissionpolicy.Compile(spec, nil)
	errs = append(errs, celErrs...)
	errs = append(errs, validatePolicyStatus(&p.Status, field.NewPath("status"))...)
	return errs
}

// validatePolicyMatchConditions: names and emptiness as for webhooks; the expressions
// compile with the policy's (admissionpolicy.Compile).
func validatePolicyMatchConditions(conds []ar.MatchCondition, p *field.Path) field.ErrorList {
	return validateMatchConditionList(conds, p, nil)
}

func validateParamKind(k ar.ParamKind, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if k.APIVersion == "" {
		errs = append(errs, field.Required(p.Child("apiVersion"), ""))
	} else if strings.Count(k.APIVersion, "/") > 1 {
		errs = append(errs, field.Invalid(p.Child("apiVersion"), k.APIVersion, "unexpected GroupVersion string: "+k.APIVersion))
	} else {
		group, version, ok := strings.Cut(k.APIVersion, "/")
		if !ok {
			group, version = "", k.APIVersion
		}
		if group != "" {
			if msgs := IsDNS1123Subdomain(group); len(msgs) > 0 {
				errs = append(errs, field.Invalid(p.Child("apiVersion"), group, strings.Join(msgs, ",")))
			}
		}
		if version == "" {
			errs = append(errs, field.Invalid(p.Child("apiVersion"), k.APIVersion, "version must be specified"))
		} else if msgs := IsDNS1035Label(version); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("apiVersion"), version, strings.Join(msgs, ",")))
		}
	}
	if k.Kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else if msgs := IsDNS1035Label(strings.ToLower(k.Kind)); len(msgs) > 0 {
		errs = append(errs, field.Invalid(p.Child("kind"), k.Kind, "may have mixed case, but should otherwise match: "+strings.Join(msgs, ",")))
	}
	return errs
}

func validateMatchResources(m *ar.MatchResources, p *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	var errs field.ErrorList
	if m.MatchPolicy == nil {
		errs = append(errs, field.Required(p.Child("matchPolicy"), ""))
	} else if !slices.Contains(supportedMatchPolicies, string(*m.MatchPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *m.MatchPolicy, supportedMatchPolicies))
	}
	if m.NamespaceSelector == nil {
		errs = append(errs, field.Required(p.Child("namespaceSelector"), ""))
	} else {
		errs = append(errs, ValidateLabelSelector(m.NamespaceSelector, p.Child("namespaceSelector"))...)
	}
	if m.ObjectSelector == nil {
		errs = append(errs, field.Required(p.Child("objectSelector"), ""))
	} else {
		errs = append(errs, ValidateLabelSelector(m.ObjectSelector, p.Child("objectSelector"))...)
	}
	for i, r := range m.ResourceRules {
		errs = append(errs, validateNamedRule(r, p.Child("resourceRules").Index(i))...)
	}
	for i, r := range m.ExcludeResourceRules {
		errs = append(errs, validateNamedRule(r, p.Child("excludeResourceRules").Index(i))...)
	}
	return errs
}

func validateNamedRule(r ar.NamedRuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, n := range r.ResourceNames {
		for _, msg := range nameIsPathSegment(n, false) {
			errs = append(errs, field.Invalid(p.Child("resourceNames").Index(i), n, msg))
		}
		if seen[n] {
			errs = append(errs, field.Duplicate(p.Child("resourceNames").Index(i), n))
		}
		seen[n] = true
	}
	return append(errs, validateRuleWithOperations(r.RuleWithOperations, p)...)
}

func validatePolicyStatus(s *ar.ValidatingAdmissionPolicyStatus, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.TypeChecking != nil {
		for i, w := range s.TypeChecking.ExpressionWarnings {
			wp := p.Child("typeChecking", "expressionWarnings").Index(i)
			if w.Warning == "" {
				errs = append(errs, field.Required(wp.Child("warning"), ""))
			}
			if w.FieldRef == "" {
				errs = append(errs, field.Required(wp.Child("fieldRef"), ""))
			}
		}
	}
	for i, c := range s.Conditions {
		cp := p.Child("conditions").Index(i)
		if c.Type == "" {
			errs = append(errs, field.Required(cp.Child("type"), ""))
		}
		switch c.Status {
		case "True", "False", "Unknown":
		default:
			errs = append(errs, field.NotSupported(cp.Child("status"), c.Status, []string{"False", "True", "Unknown"}))
		}
		if c.Reason == "" {
			errs = append(errs, field.Required(cp.Child("reason"), ""))
		}
	}
	return errs
}

func validateValidatingAdmissionPolicyBinding(b *ar.ValidatingAdmissionPolicyBinding) field.ErrorList {
	errs := ValidateObjectMeta(&b.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	sp, spec := field.NewPath("spec"), &b.Spec
	if spec.PolicyName == "" {
		errs = append(errs, field.Required(sp.Child("policyName"), ""))
	} else {
		for _, msg := range NameIsDNSSubdomain(spec.PolicyName, false) {
			errs = append(errs, field.Invalid(sp.Child("policyName"), spec.PolicyName, msg))
		}
	}
	errs = append(errs, validateParamRef(spec.ParamRef, sp.Child("paramRef"))...)
	errs = append(errs, validateMatchResources(spec.MatchResources, sp.Child("matchResources"))...)
	errs = append(errs, validateValidationActions(spec.ValidationActions, sp.Child("validationActions"))...)
	return errs
}

func validateParamRef(r *ar.ParamRef, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	const exclusive = "name and selector are mutually exclusive"
	if r.Name != "" {
		for _, msg := range nameIsPathSegment(r.Name, false) {
			errs = append(errs, field.Invalid(p.Child("name"), r.Name, msg))
		}
		if r.Selector != nil {
			errs = append(errs, field.Forbidden(p.Child("name"), exclusive))
		}
	}
	if r.Selector != nil {
		errs = append(errs, ValidateLabelSelector(r.Selector, p.Child("selector"))...)
		if r.Name != "" {
			errs = append(errs, field.Forbidden(p.Child("selector"), exclusive))
		}
	}
	if r.Name == "" && r.Selector == nil {
		errs = append(errs, field.Required(p, "one of name or selector must be specified"))
	}
	if r.ParameterNotFoundAction == nil || *r.ParameterNotFoundAction == "" {
		errs = append(errs, field.Required(p.Child("parameterNotFoundAction"), ""))
	} else if !slices.Contains(supportedNotFoundActions, string(*r.ParameterNotFoundAction)) {
		errs = append(errs, field.NotSupported(p.Child("parameterNotFoundAction"), *r.ParameterNotFoundAction, supportedNotFoundActions))
	}
	return errs
}

func validateValidationActions(actions []ar.ValidationAction, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[ar.ValidationAction]bool{}
	for i, a := range actions {
		if !slices.Contains(supportedValidationActions, string(a)) {
			errs = append(errs, field.NotSupported(p.Index(i), a, supportedValidationActions))
		}
		if seen[a] {
			errs = append(errs, field.Duplicate(p.Index(i), a))
		}
		seen[a] = true
	}
	if seen[ar.Deny] && seen[ar.Warn] {
		errs = append(errs, field.Invalid(p, actions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if len(seen) == 0 {
		errs = append(errs, field.Required(p, "at least one validation action is required"))
	}
	return errs
}
