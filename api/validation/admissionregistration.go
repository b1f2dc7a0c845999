package validation

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/matchconditions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// The rules are Kubernetes' pkg/apis/admissionregistration/validation, for creates (a
// recognised AdmissionReview version, unique webhook names and side effects None or
// NoneOnDryRun are required).

var (
	supportedFailurePolicies      = []string{string(ar.Fail), string(ar.Ignore)}
	supportedMatchPolicies        = []string{string(ar.Equivalent), string(ar.Exact)}
	noSideEffectClasses           = []string{string(ar.SideEffectClassNone), string(ar.SideEffectClassNoneOnDryRun)}
	supportedWebhookOperations    = []string{"*", "CONNECT", "CREATE", "DELETE", "UPDATE"}
	supportedReinvocationPolicies = []string{string(ar.IfNeededReinvocationPolicy), string(ar.NeverReinvocationPolicy)}
	supportedRuleScopes           = []string{"*", string(ar.ClusterScope), string(ar.NamespacedScope)}
	// acceptedAdmissionReviewVersions: the API server sends v1 only, but a configuration that
	// lists v1beta1 too is valid (Kubernetes accepts both names).
	acceptedAdmissionReviewVersions = []string{"v1", "v1beta1"}
)

// webhookFields are the fields both webhook kinds share, so their rules are written once.
type webhookFields struct {
	name              string
	clientConfig      ar.WebhookClientConfig
	rules             []ar.RuleWithOperations
	failurePolicy     *ar.FailurePolicyType
	matchPolicy       *ar.MatchPolicyType
	namespaceSelector *meta.LabelSelector
	objectSelector    *meta.LabelSelector
	sideEffects       *ar.SideEffectClass
	timeoutSeconds    *int32
	reviewVersions    []string
	matchConditions   []ar.MatchCondition
}

func validateValidatingWebhookConfiguration(c *ar.ValidatingWebhookConfiguration) field.ErrorList {
	errs := ValidateObjectMeta(&c.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	names := map[string]bool{}
	for i, w := range c.Webhooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateWebhook(webhookFields{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy,
			w.NamespaceSelector, w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions}, names, p)...)
	}
	return errs
}

func validateMutatingWebhookConfiguration(c *ar.MutatingWebhookConfiguration) field.ErrorList {
	errs := ValidateObjectMeta(&c.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	names := map[string]bool{}
	for i, w := range c.Webhooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateWebhook(webhookFields{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy,
			w.NamespaceSelector, w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions}, names, p)...)
		if w.ReinvocationPolicy != nil && !slices.Contains(supportedReinvocationPolicies, string(*w.ReinvocationPolicy)) {
			errs = append(errs, field.NotSupported(p.Child("reinvocationPolicy"), *w.ReinvocationPolicy, supportedReinvocationPolicies))
		}
	}
	return errs
}

func validateWebhook(w webhookFields, names map[string]bool, p *field.Path) field.ErrorList {
	errs := isFullyQualifiedName(p.Child("name"), w.name)
	for i, r := range w.rules {
		errs = append(errs, validateRuleWithOperations(r, p.Child("rules").Index(i))...)
	}
	if w.failurePolicy != nil && !slices.Contains(supportedFailurePolicies, string(*w.failurePolicy)) {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *w.failurePolicy, supportedFailurePolicies))
	}
	if w.matchPolicy != nil && !slices.Contains(supportedMatchPolicies, string(*w.matchPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *w.matchPolicy, supportedMatchPolicies))
	}
	if w.sideEffects == nil {
		errs = append(errs, field.Required(p.Child("sideEffects"), "must specify one of "+strings.Join(noSideEffectClasses, ", ")))
	} else if !slices.Contains(noSideEffectClasses, string(*w.sideEffects)) {
		errs = append(errs, field.NotSupported(p.Child("sideEffects"), *w.sideEffects, noSideEffectClasses))
	}
	if w.timeoutSeconds != nil && (*w.timeoutSeconds > 30 || *w.timeoutSeconds < 1) {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *w.timeoutSeconds, "the timeout value must be between 1 and 30 seconds"))
	}
	errs = append(errs, ValidateLabelSelector(w.namespaceSelector, p.Child("namespaceSelector"))...)
	errs = append(errs, ValidateLabelSelector(w.objectSelector, p.Child("objectSelector"))...)
	errs = append(errs, validateClientConfig(w.clientConfig, p.Child("clientConfig"))...)
	errs = append(errs, validateMatchConditions(w.matchConditions, p.Child("matchConditions"))...)
	errs = append(errs, validateAdmissionReviewVersions(w.reviewVersions, p.Child("admissionReviewVersions"))...)
	if w.name != "" {
		if names[w.name] {
			errs = append(errs, field.Duplicate(p.Child("name"), w.name))
		}
		names[w.name] = true
	}
	return errs
}

// isFullyQualifiedName is apimachinery's IsFullyQualifiedName: a DNS subdomain of at least
// three segments ("deny.example.com").
func isFullyQualifiedName(p *field.Path, name string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if msgs := IsDNS1123Subdomain(name); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(p, name, strings.Join(msgs, ","))}
	}
	if len(strings.Split(name, ".")) < 3 {
		return field.ErrorList{field.Invalid(p, name, "should be a domain with at least three segments separated by dots")}
	}
	return nil
}

func validateRuleWithOperations(r ar.RuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	if len(r.Operations) > 1 && slices.Contains(r.Operations, ar.OperationAll) {
		errs = append(errs, field.Invalid(p.Child("operations"), r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, op := range r.Operations {
		if !slices.Contains(supportedWebhookOperations, string(op)) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), op, supportedWebhookOperations))
		}
	}
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), ""))
	}
	if len(r.APIGroups) > 1 && slices.Contains(r.APIGroups, "*") {
		errs = append(errs, field.Invalid(p.Child("apiGroups"), r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	if len(r.APIVersions) == 0 {
		errs = append(errs, field.Required(p.Child("apiVersions"), ""))
	}
	if len(r.APIVersions) > 1 && slices.Contains(r.APIVersions, "*") {
		errs = append(errs, field.Invalid(p.Child("apiVersions"), r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(p.Child("apiVersions").Index(i), ""))
		}
	}
	errs = append(errs, validateRuleResources(r.Resources, p.Child("resources"))...)
	if r.Scope != nil && !slices.Contains(supportedRuleScopes, string(*r.Scope)) {
		errs = append(errs, field.NotSupported(p.Child("scope"), *r.Scope, supportedRuleScopes))
	}
	return errs
}

// validateRuleResources: "x", "x/y", "*", "x/*", "*/y" and "*/*", without a wildcard that
// makes another entry redundant.
func validateRuleResources(resources []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(resources) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	wildSub := map[string]bool{} // x/*
	wildRes := map[string]bool{} // */y
	doubleWild, singleWild, plain := false, false, false
	for i, rs := range resources {
		if rs == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
			continue
		}
		doubleWild = doubleWild || rs == "*/*"
		singleWild = singleWild || rs == "*"
		res, sub, ok := strings.Cut(rs, "/")
		if !ok {
			plain = rs != "*"
			continue
		}
		if wildSub[res] {
			errs = append(errs, field.Invalid(p.Index(i), rs, fmt.Sprintf("if '%s/*' is present, must not specify %s", res, rs)))
		}
		if wildRes[sub] {
			errs = append(errs, field.Invalid(p.Index(i), rs, fmt.Sprintf("if '*/%s' is present, must not specify %s", sub, rs)))
		}
		if sub == "*" {
			wildSub[res] = true
		}
		if res == "*" {
			wildRes[sub] = true
		}
	}
	if len(resources) > 1 && doubleWild {
		errs = append(errs, field.Invalid(p, resources, "if '*/*' is present, must not specify other resources"))
	}
	if singleWild && plain {
		errs = append(errs, field.Invalid(p, resources, "if '*' is present, must not specify other resources without subresources"))
	}
	return errs
}

// validateClientConfig is apiserver's ValidateWebhookURL / ValidateWebhookService.
func validateClientConfig(cc ar.WebhookClientConfig, p *field.Path) field.ErrorList {
	const form = "; desired format: https://host[/path]"
	var errs field.ErrorList
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		return field.ErrorList{field.Required(p, "exactly one of url or service is required")}
	case cc.URL != nil:
		up := p.Child("url")
		u, err := url.Parse(*cc.URL)
		if err != nil {
			return field.ErrorList{field.Required(up, "url must be a valid URL: "+err.Error()+form)}
		}
		if u.Scheme != "https" {
			errs = append(errs, field.Invalid(up, u.Scheme, "'https' is the only allowed URL scheme"+form))
		}
		if u.Host == "" {
			errs = append(errs, field.Invalid(up, u.Host, "host must be specified"+form))
		}
		if u.User != nil {
			errs = append(errs, field.Invalid(up, u.User.String(), "user information is not permitted in the URL"))
		}
		if u.Fragment != "" {
			errs = append(errs, field.Invalid(up, u.Fragment, "fragments are not permitted in the URL"))
		}
		if u.RawQuery != "" {
			errs = append(errs, field.Invalid(up, u.RawQuery, "query parameters are not permitted in the URL"))
		}
	default:
		sp, s := p.Child("service"), cc.Service
		if s.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), "service name is required"))
		}
		if s.Namespace == "" {
			errs = append(errs, field.Required(sp.Child("namespace"), "service namespace is required"))
		}
		port := 443
		if s.Port != nil {
			port = int(*s.Port)
		}
		if msgs := IsValidPortNum(port); msgs != nil {
			errs = append(errs, field.Invalid(sp.Child("port"), port, "port is not valid: "+strings.Join(msgs, ", ")))
		}
		if s.Path != nil {
			errs = append(errs, validateServicePath(*s.Path, sp.Child("path"))...)
		}
	}
	// caBundle is not checked here, as in Kubernetes: a bundle that does not parse fails
	// every call, under the webhook's failurePolicy.
	return errs
}

func validateServicePath(path string, p *field.Path) field.ErrorList {
	if path == "/" || path == "" {
		return nil
	}
	if path == "//" {
		return field.ErrorList{field.Invalid(p, path, "segment[0] may not be empty")}
	}
	var errs field.ErrorList
	if !strings.HasPrefix(path, "/") {
		errs = append(errs, field.Invalid(p, path, "must start with a '/'"))
	}
	check := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
	for i, step := range strings.Split(check, "/") {
		if step == "" {
			errs = append(errs, field.Invalid(p, path, fmt.Sprintf("segment[%d] may not be empty", i)))
			continue
		}
		for _, msg := range IsDNS1123Subdomain(step) {
			errs = append(errs, field.Invalid(p, path, fmt.Sprintf("segment[%d]: %v", i, msg)))
		}
	}
	return errs
}

func validateAdmissionReviewVersions(versions []string, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, "must specify one of "+strings.Join(acceptedAdmissionReviewVersions, ", "))}
	}
	return validateReviewVersions(versions, acceptedAdmissionReviewVersions, p)
}

// validateReviewVersions checks a webhook's review versions (admission or conversion), as
// Kubernetes does for both: DNS labels, no duplicates, at least one the server speaks.
func validateReviewVersions(versions, accepted []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	ok := false
	for i, v := range versions {
		if seen[v] {
			errs = append(errs, field.Invalid(p.Index(i), v, "duplicate version"))
			continue
		}
		seen[v] = true
		for _, msg := range IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
		ok = ok || slices.Contains(accepted, v)
	}
	if !ok {
		errs = append(errs, field.Invalid(p, versions, "must include at least one of "+strings.Join(accepted, ", ")))
	}
	return errs
}

// matchCompiler is the CEL environment match conditions compile in; built once, it is
// immutable and safe to share.
var matchCompiler = sync.OnceValues(matchconditions.NewCompiler)

func validateMatchConditions(conds []ar.MatchCondition, p *field.Path) field.ErrorList {
	return validateMatchConditionList(conds, p, func(expr string) error {
		comp, err := matchCompiler()
		if err != nil {
			return err
		}
		_, err = comp.Compile(expr)
		return err
	})
}

// validateMatchConditionList checks match conditions as Kubernetes does for webhooks and
// policies: at most 64, each with an expression and a unique qualified name; compile, when
// given, checks each expression (an error of its own is Invalid).
func validateMatchConditionList(conds []ar.MatchCondition, p *field.Path, compile func(string) error) field.ErrorList {
	var errs field.ErrorList
	if len(conds) > 64 {
		errs = append(errs, field.TooMany(p, len(conds), 64))
	}
	names := map[string]bool{}
	for i, c := range conds {
		cp := p.Index(i)
		if expr := strings.TrimSpace(c.Expression); expr == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
		} else if compile != nil {
			if err := compile(expr); err != nil {
				errs = append(errs, field.Invalid(cp.Child("expression"), c.Expression, err.Error()))
			}
		}
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
			continue
		}
		errs = append(errs, validateQualifiedName(c.Name, cp.Child("name"))...)
		if names[c.Name] {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names[c.Name] = true
	}
	return errs
}
