package validation

import (
	"testing"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
)

func validValidatingWebhookConfiguration() *ar.ValidatingWebhookConfiguration {
	c := &ar.ValidatingWebhookConfiguration{ObjectMeta: objectMeta("deny", ""), Webhooks: []ar.ValidatingWebhook{{
		Name:         "deny.example.com",
		ClientConfig: ar.WebhookClientConfig{URL: ptr("https://127.0.0.1:8443/validate")},
		Rules: []ar.RuleWithOperations{{Operations: []ar.OperationType{ar.Create}, Rule: ar.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
		SideEffects:             ptr(ar.SideEffectClassNone),
		AdmissionReviewVersions: []string{"v1"},
	}}}
	defaults.ValidatingWebhookConfiguration(c)
	return c
}

func TestValidateValidatingWebhookConfiguration(t *testing.T) {
	type vc = ar.ValidatingWebhookConfiguration
	hook := func(c *vc) *ar.ValidatingWebhook { return &c.Webhooks[0] }
	rule := func(c *vc) *ar.RuleWithOperations { return &c.Webhooks[0].Rules[0] }
	runCreateCases(t, validValidatingWebhookConfiguration, false, []objectCase[vc]{
		{name: "valid"},
		{name: "service reference", mutate: func(c *vc) {
			hook(c).ClientConfig = ar.WebhookClientConfig{Service: &ar.ServiceReference{Namespace: "ns", Name: "svc", Path: ptr("/v1/validate"), Port: ptr(int32(8443))}}
		}},
		{name: "subresources and wildcards", mutate: func(c *vc) { rule(c).Resources = []string{"*", "pods/status", "*/scale"} }},
		{name: "match condition", mutate: func(c *vc) {
			hook(c).MatchConditions = []ar.MatchCondition{{Name: "not-kube-system", Expression: "request.namespace != 'kube-system'"}}
		}},
		{name: "name not qualified", mutate: func(c *vc) { hook(c).Name = "deny" }, want: []string{"webhooks[0].name" + invalid}},
		{name: "duplicate names", mutate: func(c *vc) { c.Webhooks = append(c.Webhooks, c.Webhooks[0]) }, want: []string{"webhooks[1].name" + duplicate}},
		{name: "both url and service", mutate: func(c *vc) {
			hook(c).ClientConfig.Service = &ar.ServiceReference{Namespace: "ns", Name: "svc"}
		}, want: []string{"webhooks[0].clientConfig" + required}},
		{name: "http url", mutate: func(c *vc) { hook(c).ClientConfig.URL = ptr("http://127.0.0.1/x?a=b") },
			want: []string{"webhooks[0].clientConfig.url" + invalid, "webhooks[0].clientConfig.url" + invalid}},
		{name: "service without name, bad path", mutate: func(c *vc) {
			hook(c).ClientConfig = ar.WebhookClientConfig{Service: &ar.ServiceReference{Namespace: "ns", Path: ptr("no-slash"), Port: ptr(int32(0))}}
		}, want: []string{"webhooks[0].clientConfig.service.name" + required, "webhooks[0].clientConfig.service.path" + invalid, "webhooks[0].clientConfig.service.port" + invalid}},
		{name: "side effects Some", mutate: func(c *vc) { hook(c).SideEffects = ptr(ar.SideEffectClassSome) }, want: []string{"webhooks[0].sideEffects" + notSupported}},
		{name: "side effects missing", mutate: func(c *vc) { hook(c).SideEffects = nil }, want: []string{"webhooks[0].sideEffects" + required}},
		{name: "timeout too long", mutate: func(c *vc) { hook(c).TimeoutSeconds = ptr(int32(31)) }, want: []string{"webhooks[0].timeoutSeconds" + invalid}},
		{name: "policies", mutate: func(c *vc) {
			hook(c).FailurePolicy, hook(c).MatchPolicy = ptr[ar.FailurePolicyType]("Maybe"), ptr[ar.MatchPolicyType]("Close")
		}, want: []string{"webhooks[0].failurePolicy" + notSupported, "webhooks[0].matchPolicy" + notSupported}},
		{name: "review versions", mutate: func(c *vc) { hook(c).AdmissionReviewVersions = []string{"v2"} },
			want: []string{"webhooks[0].admissionReviewVersions" + invalid}},
		{name: "no review versions", mutate: func(c *vc) { hook(c).AdmissionReviewVersions = nil },
			want: []string{"webhooks[0].admissionReviewVersions" + required}},
		{name: "rule", mutate: func(c *vc) {
			*rule(c) = ar.RuleWithOperations{Operations: []ar.OperationType{"*", "PATCH"}, Rule: ar.Rule{
				APIGroups: []string{"*", "apps"}, Resources: []string{"*/*", "pods"}, Scope: ptr[ar.ScopeType]("Global")}}
		}, want: []string{
			"webhooks[0].rules[0].operations" + invalid, "webhooks[0].rules[0].operations[1]" + notSupported,
			"webhooks[0].rules[0].apiGroups" + invalid, "webhooks[0].rules[0].apiVersions" + required,
			"webhooks[0].rules[0].resources" + invalid, "webhooks[0].rules[0].scope" + notSupported,
		}},
		{name: "star and plain resource", mutate: func(c *vc) { rule(c).Resources = []string{"*", "pods"} },
			want: []string{"webhooks[0].rules[0].resources" + invalid}},
		{name: "bad selector", mutate: func(c *vc) {
			hook(c).ObjectSelector = &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "a", Operator: "In"}}}
		}, want: []string{"webhooks[0].objectSelector.matchExpressions[0].values" + required}},
		{name: "bad match conditions", mutate: func(c *vc) {
			hook(c).MatchConditions = []ar.MatchCondition{
				{Name: "sum", Expression: "1 + 1"},
				{Name: "sum", Expression: "object.metadata.name =="},
				{Name: "", Expression: " "},
			}
		}, want: []string{
			"webhooks[0].matchConditions[0].expression" + invalid, "webhooks[0].matchConditions[1].expression" + invalid,
			"webhooks[0].matchConditions[1].name" + duplicate, "webhooks[0].matchConditions[2].expression" + required,
			"webhooks[0].matchConditions[2].name" + required,
		}},
	})
}

func TestValidateMutatingWebhookConfiguration(t *testing.T) {
	valid := func() *ar.MutatingWebhookConfiguration {
		v := validValidatingWebhookConfiguration()
		w := v.Webhooks[0]
		c := &ar.MutatingWebhookConfiguration{ObjectMeta: v.ObjectMeta, Webhooks: []ar.MutatingWebhook{{Name: w.Name, ClientConfig: w.ClientConfig,
			Rules: w.Rules, SideEffects: w.SideEffects, AdmissionReviewVersions: w.AdmissionReviewVersions}}}
		defaults.MutatingWebhookConfiguration(c)
		return c
	}
	runCreateCases(t, valid, false, []objectCase[ar.MutatingWebhookConfiguration]{
		{name: "valid"},
		{name: "reinvoke", mutate: func(c *ar.MutatingWebhookConfiguration) {
			c.Webhooks[0].ReinvocationPolicy = ptr(ar.IfNeededReinvocationPolicy)
		}},
		{name: "bad reinvocation", mutate: func(c *ar.MutatingWebhookConfiguration) {
			c.Webhooks[0].ReinvocationPolicy = ptr[ar.ReinvocationPolicyType]("Always")
		},
			want: []string{"webhooks[0].reinvocationPolicy" + notSupported}},
		{name: "namespaced", mutate: func(c *ar.MutatingWebhookConfiguration) { c.Namespace = "default" }, want: []string{"metadata.namespace" + forbidden}},
	})
}
