package validation

import (
	"fmt"
	"slices"

	"github.com/skiff-sh/skiff/api/flowcontrol"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// FlowSchema and PriorityLevelConfiguration validation, as Kubernetes'
// pkg/apis/flowcontrol/validation with its messages. The mandatory objects' fixed specs
// are not enforced: the API server re-creates them when missing instead.

var (
	supportedVerbs          = []string{"*", "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", "proxy", "bind", "escalate", "impersonate", "use", "approve", "sign"}
	supportedSubjectKinds   = []string{string(flowcontrol.SubjectKindGroup), string(flowcontrol.SubjectKindServiceAccount), string(flowcontrol.SubjectKindUser)}
	supportedDistinguishers = []string{string(flowcontrol.FlowDistinguisherMethodByNamespaceType), string(flowcontrol.FlowDistinguisherMethodByUserType)}
	supportedEnablements    = []string{string(flowcontrol.PriorityLevelEnablementExempt), string(flowcontrol.PriorityLevelEnablementLimited)}
	supportedLimitResponses = []string{string(flowcontrol.LimitResponseTypeQueue), string(flowcontrol.LimitResponseTypeReject)}
)

// maxQueues is Kubernetes' priorityLevelConfigurationQueuingMaxQueues.
const maxQueues = 10 * 1000 * 1000

func validateFlowSchema(fs *flowcontrol.FlowSchema) field.ErrorList {
	errs := ValidateObjectMeta(&fs.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec, p := fs.Spec, field.NewPath("spec")
	switch {
	case spec.MatchingPrecedence <= 0:
		errs = append(errs, field.Invalid(p.Child("matchingPrecedence"), spec.MatchingPrecedence, "must be a positive value"))
	case spec.MatchingPrecedence > flowcontrol.FlowSchemaMaxMatchingPrecedence:
		errs = append(errs, field.Invalid(p.Child("matchingPrecedence"), spec.MatchingPrecedence, fmt.Sprintf("must not be greater than %v", flowcontrol.FlowSchemaMaxMatchingPrecedence)))
	case spec.MatchingPrecedence == 1 && fs.Name != flowcontrol.FlowSchemaNameExempt:
		errs = append(errs, field.Invalid(p.Child("matchingPrecedence"), spec.MatchingPrecedence, "only the schema named 'exempt' may have matchingPrecedence 1"))
	}
	if d := spec.DistinguisherMethod; d != nil && !slices.Contains(supportedDistinguishers, string(d.Type)) {
		errs = append(errs, field.NotSupported(p.Child("distinguisherMethod", "type"), d.Type, supportedDistinguishers))
	}
	if name := spec.PriorityLevelConfiguration.Name; name == "" {
		errs = append(errs, field.Required(p.Child("priorityLevelConfiguration", "name"), "must reference a priority level"))
	} else {
		for _, msg := range IsDNS1123Subdomain(name) {
			errs = append(errs, field.Invalid(p.Child("priorityLevelConfiguration", "name"), name, msg))
		}
	}
	for i, rule := range spec.Rules {
		errs = append(errs, validatePolicyRulesWithSubjects(rule, p.Child("rules").Index(i))...)
	}
	return errs
}

func validatePolicyRulesWithSubjects(rule flowcontrol.PolicyRulesWithSubjects, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.Subjects) == 0 {
		errs = append(errs, field.Required(p.Child("subjects"), "subjects must contain at least one value"))
	}
	if len(rule.ResourceRules) == 0 && len(rule.NonResourceRules) == 0 {
		errs = append(errs, field.Required(p, "at least one of resourceRules and nonResourceRules has to be non-empty"))
	}
	for i, s := range rule.Subjects {
		errs = append(errs, validateFlowSubject(s, p.Child("subjects").Index(i))...)
	}
	for i, r := range rule.NonResourceRules {
		rp := p.Child("nonResourceRules").Index(i)
		errs = append(errs, validateStarList(rp.Child("verbs"), r.Verbs, "verbs must contain at least one value", "if '*' is present, must not specify other verbs")...)
		errs = append(errs, validateStarList(rp.Child("nonResourceURLs"), r.NonResourceURLs, "nonResourceURLs must contain at least one value", "if '*' is present, must not specify other non-resource URLs")...)
	}
	for i, r := range rule.ResourceRules {
		rp := p.Child("resourceRules").Index(i)
		errs = append(errs, validateStarList(rp.Child("verbs"), r.Verbs, "verbs must contain at least one value", "if '*' is present, must not specify other verbs")...)
		for _, v := range r.Verbs {
			if !slices.Contains(supportedVerbs, v) {
				errs = append(errs, field.NotSupported(rp.Child("verbs"), r.Verbs, supportedVerbs))
				break
			}
		}
		errs = append(errs, validateStarList(rp.Child("apiGroups"), r.APIGroups, "resource rules must supply at least one api group", "if '*' is present, must not specify other api groups")...)
		errs = append(errs, validateStarList(rp.Child("resources"), r.Resources, "resource rules must supply at least one resource", "if '*' is present, must not specify other resources")...)
		if len(r.Namespaces) == 0 && !r.ClusterScope {
			errs = append(errs, field.Required(rp.Child("namespaces"), "resource rules that are not cluster scoped must supply at least one namespace"))
		} else if len(r.Namespaces) > 0 {
			errs = append(errs, validateStarList(rp.Child("namespaces"), r.Namespaces, "", "if '*' is present, must not specify other namespaces")...)
		}
	}
	return errs
}

// validateStarList: a required list in which "*" must stand alone.
func validateStarList(p *field.Path, values []string, required, starAlone string) field.ErrorList {
	if len(values) == 0 {
		if required == "" {
			return nil
		}
		return field.ErrorList{field.Required(p, required)}
	}
	if len(values) > 1 && slices.Contains(values, "*") {
		return field.ErrorList{field.Invalid(p, values, starAlone)}
	}
	return nil
}

func validateFlowSubject(s flowcontrol.Subject, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	forbid := func(set bool, name string) {
		if set {
			errs = append(errs, field.Forbidden(p.Child(name), name+" is forbidden when subject kind is not '"+map[string]string{"user": "User", "group": "Group", "serviceAccount": "ServiceAccount"}[name]+"'"))
		}
	}
	switch s.Kind {
	case flowcontrol.SubjectKindUser:
		forbid(s.Group != nil, "group")
		forbid(s.ServiceAccount != nil, "serviceAccount")
		if s.User == nil {
			errs = append(errs, field.Required(p.Child("user"), "user is required when subject kind is 'User'"))
		} else if s.User.Name == "" {
			errs = append(errs, field.Required(p.Child("user", "name"), ""))
		}
	case flowcontrol.SubjectKindGroup:
		forbid(s.User != nil, "user")
		forbid(s.ServiceAccount != nil, "serviceAccount")
		if s.Group == nil {
			errs = append(errs, field.Required(p.Child("group"), "group is required when subject kind is 'Group'"))
		} else if s.Group.Name == "" {
			errs = append(errs, field.Required(p.Child("group", "name"), ""))
		}
	case flowcontrol.SubjectKindServiceAccount:
		forbid(s.User != nil, "user")
		forbid(s.Group != nil, "group")
		if s.ServiceAccount == nil {
			errs = append(errs, field.Required(p.Child("serviceAccount"), "serviceAccount is required when subject kind is 'ServiceAccount'"))
			break
		}
		if s.ServiceAccount.Name == "" {
			errs = append(errs, field.Required(p.Child("serviceAccount", "name"), ""))
		}
		if s.ServiceAccount.Namespace == "" {
			errs = append(errs, field.Required(p.Child("serviceAccount", "namespace"), "must specify namespace for service account"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind, supportedSubjectKinds))
	}
	return errs
}

func validatePriorityLevelConfiguration(pl *flowcontrol.PriorityLevelConfiguration) field.ErrorList {
	errs := ValidateObjectMeta(&pl.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec, p := pl.Spec, field.NewPath("spec")
	if (spec.Type == flowcontrol.PriorityLevelEnablementExempt) != (pl.Name == flowcontrol.PriorityLevelConfigurationNameExempt) {
		errs = append(errs, field.Invalid(p.Child("type"), spec.Type, "type must be 'Exempt' if and only if name is 'exempt'"))
	}
	switch spec.Type {
	case flowcontrol.PriorityLevelEnablementExempt:
		if spec.Limited != nil {
			errs = append(errs, field.Forbidden(p.Child("limited"), "must be nil if the type is not Limited"))
		}
		if e := spec.Exempt; e != nil {
			errs = append(errs, validateShares(p.Child("exempt"), e.NominalConcurrencyShares, e.LendablePercent)...)
		}
	case flowcontrol.PriorityLevelEnablementLimited:
		if spec.Exempt != nil {
			errs = append(errs, field.Forbidden(p.Child("exempt"), "must be nil if the type is Limited"))
		}
		l := spec.Limited
		if l == nil {
			errs = append(errs, field.Required(p.Child("limited"), "must not be empty when type is Limited"))
			break
		}
		lp := p.Child("limited")
		errs = append(errs, validateShares(lp, l.NominalConcurrencyShares, l.LendablePercent)...)
		if b := l.BorrowingLimitPercent; b != nil && *b < 0 {
			errs = append(errs, field.Invalid(lp.Child("borrowingLimitPercent"), *b, "if specified, must be a non-negative integer"))
		}
		errs = append(errs, validateLimitResponse(l.LimitResponse, lp.Child("limitResponse"))...)
	case "":
		errs = append(errs, field.Required(p.Child("type"), "must not be empty"))
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), spec.Type, supportedEnablements))
	}
	return errs
}

func validateShares(p *field.Path, shares, lendable *int32) field.ErrorList {
	var errs field.ErrorList
	if shares != nil && *shares < 0 {
		errs = append(errs, field.Invalid(p.Child("nominalConcurrencyShares"), *shares, "must be a non-negative integer"))
	}
	if lendable != nil && (*lendable < 0 || *lendable > 100) {
		errs = append(errs, field.Invalid(p.Child("lendablePercent"), *lendable, "must be between 0 and 100, inclusive"))
	}
	return errs
}

func validateLimitResponse(lr flowcontrol.LimitResponse, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch lr.Type {
	case flowcontrol.LimitResponseTypeReject:
		if lr.Queuing != nil {
			errs = append(errs, field.Forbidden(p.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited"))
		}
	case flowcontrol.LimitResponseTypeQueue:
		q := lr.Queuing
		if q == nil {
			errs = append(errs, field.Required(p.Child("queuing"), "must not be empty if limited.limitResponse.type is Limited"))
			break
		}
		qp := p.Child("queuing")
		if q.QueueLengthLimit <= 0 {
			errs = append(errs, field.Invalid(qp.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
		}
		if q.Queues <= 0 {
			errs = append(errs, field.Invalid(qp.Child("queues"), q.Queues, "must be positive"))
		} else if q.Queues > maxQueues {
			errs = append(errs, field.Invalid(qp.Child("queues"), q.Queues, fmt.Sprintf("must not be greater than %d", maxQueues)))
		}
		if q.HandSize <= 0 {
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, "must be positive"))
		} else if q.HandSize > q.Queues {
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, fmt.Sprintf("should not be greater than queues (%d)", q.Queues)))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), lr.Type, supportedLimitResponses))
	}
	return errs
}
