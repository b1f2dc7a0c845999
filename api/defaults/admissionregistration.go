package defaults

import (
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/meta"
)

// ValidatingWebhookConfiguration applies SetDefaults_ValidatingWebhook to every webhook.
func ValidatingWebhookConfiguration(c *ar.ValidatingWebhookConfiguration) {
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		webhook(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds, w.Rules, &w.ClientConfig)
	}
}

// MutatingWebhookConfiguration applies SetDefaults_MutatingWebhook to every webhook.
func MutatingWebhookConfiguration(c *ar.MutatingWebhookConfiguration) {
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		webhook(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds, w.Rules, &w.ClientConfig)
		if w.ReinvocationPolicy == nil {
			w.ReinvocationPolicy = ptr(ar.NeverReinvocationPolicy)
		}
	}
}

// webhook holds the defaults both webhook kinds share: Fail, Equivalent, empty (match-all)
// selectors, 10 s, rule scope "*", service port 443.
func webhook(fp **ar.FailurePolicyType, mp **ar.MatchPolicyType, nsSel, objSel **meta.LabelSelector, timeout **int32, rules []ar.RuleWithOperations, cc *ar.WebhookClientConfig) {
	if *fp == nil {
		*fp = ptr(ar.Fail)
	}
	if *mp == nil {
		*mp = ptr(ar.Equivalent)
	}
	if *nsSel == nil {
		*nsSel = &meta.LabelSelector{}
	}
	if *objSel == nil {
		*objSel = &meta.LabelSelector{}
	}
	if *timeout == nil {
		*timeout = ptr(int32(10))
	}
	for i := range rules {
		if rules[i].Scope == nil {
			rules[i].Scope = ptr(ar.AllScopes)
		}
	}
	if cc.Service != nil && cc.Service.Port == nil {
		cc.Service.Port = ptr(int32(443))
	}
}

// ValidatingAdmissionPolicy applies SetDefaults_ValidatingAdmissionPolicySpec (failurePolicy
// Fail) and SetDefaults_MatchResources / SetDefaults_Rule to its match constraints.
func ValidatingAdmissionPolicy(p *ar.ValidatingAdmissionPolicy) {
	if p.Spec.FailurePolicy == nil {
		p.Spec.FailurePolicy = ptr(ar.Fail)
	}
	matchResources(p.Spec.MatchConstraints)
}

// ValidatingAdmissionPolicyBinding defaults its matchResources, if any.
func ValidatingAdmissionPolicyBinding(b *ar.ValidatingAdmissionPolicyBinding) {
	matchResources(b.Spec.MatchResources)
}

// matchResources: matchPolicy Equivalent, empty (match-all) selectors, rule scope "*".
func matchResources(m *ar.MatchResources) {
	if m == nil {
		return
	}
	if m.MatchPolicy == nil {
		m.MatchPolicy = ptr(ar.Equivalent)
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &meta.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &meta.LabelSelector{}
	}
	for _, rules := range [][]ar.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			if rules[i].Scope == nil {
				rules[i].Scope = ptr(ar.AllScopes)
			}
		}
	}
}
