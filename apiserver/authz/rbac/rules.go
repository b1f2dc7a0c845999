package rbac

import (
	"strings"

	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// RuleAllows reports whether rule grants the request a, with Kubernetes' semantics:
//   - verbs, apiGroups and resources match exactly or by "*";
//   - a subresource request matches "resource/subresource" or "*/subresource", never the
//     bare resource;
//   - resourceNames, when present, restrict the rule to those names (a request without a
//     name, such as list or create, is then not granted);
//   - nonResourceURLs match exactly, by "*", or by a prefix ending in "*" ("/healthz/*").
func RuleAllows(a authz.Attributes, rule *rbacv1.PolicyRule) bool {
	if a.ResourceRequest {
		combined := a.Resource
		if a.Subresource != "" {
			combined += "/" + a.Subresource
		}
		return VerbMatches(rule, a.Verb) &&
			APIGroupMatches(rule, a.APIGroup) &&
			ResourceMatches(rule, combined, a.Subresource) &&
			ResourceNameMatches(rule, a.Name)
	}
	return VerbMatches(rule, a.Verb) && NonResourceURLMatches(rule, a.Path)
}

// VerbMatches: the rule lists the verb or "*".
func VerbMatches(rule *rbacv1.PolicyRule, verb string) bool {
	return hasOrAll(rule.Verbs, verb, rbacv1.VerbAll)
}

// APIGroupMatches: the rule lists the group or "*".
func APIGroupMatches(rule *rbacv1.PolicyRule, group string) bool {
	return hasOrAll(rule.APIGroups, group, rbacv1.APIGroupAll)
}

// ResourceMatches: combined is "resource" or "resource/subresource".
func ResourceMatches(rule *rbacv1.PolicyRule, combined, subresource string) bool {
	for _, r := range rule.Resources {
		if r == rbacv1.ResourceAll || r == combined {
			return true
		}
		if subresource != "" && len(r) == len(subresource)+2 && strings.HasPrefix(r, "*/") && strings.HasSuffix(r, subresource) {
			return true
		}
	}
	return false
}

// ResourceNameMatches: the rule names no object, or this one.
func ResourceNameMatches(rule *rbacv1.PolicyRule, name string) bool {
	if len(rule.ResourceNames) == 0 {
		return true
	}
	for _, n := range rule.ResourceNames {
		if n == name {
			return true
		}
	}
	return false
}

// NonResourceURLMatches: exact, "*", or a "prefix*".
func NonResourceURLMatches(rule *rbacv1.PolicyRule, path string) bool {
	for _, u := range rule.NonResourceURLs {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}

func hasOrAll(list []string, v, all string) bool {
	for _, x := range list {
		if x == all || x == v {
			return true
		}
	}
	return false
}
