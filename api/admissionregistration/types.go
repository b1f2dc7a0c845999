// Code derived from k8s.io/api v0.33.0 (Apache-2.0): the same type names, JSON tags, patch
// tags and protobuf tags; comments shortened to their first sentence, lists as meta.List.

package admissionregistration

import "github.com/skiff-sh/skiff/api/meta"

// Rule is a tuple of APIGroups, APIVersion, and Resources.
type Rule struct {
	// APIGroups is the API groups the resources belong to. '*' is all groups.
	APIGroups []string `json:"apiGroups,omitempty" protobuf:"bytes,1,rep,name=apiGroups"`
	// APIVersions is the API versions the resources belong to. '*' is all versions.
	APIVersions []string `json:"apiVersions,omitempty" protobuf:"bytes,2,rep,name=apiVersions"`
	// Resources is a list of resources this rule applies to ('pods', 'pods/status', '*',
	// '*/scale', '*/*').
	Resources []string `json:"resources,omitempty" protobuf:"bytes,3,rep,name=resources"`
	// scope specifies the scope of this rule ("Cluster", "Namespaced" or "*").
	Scope *ScopeType `json:"scope,omitempty" protobuf:"bytes,4,rep,name=scope"`
}

// ScopeType specifies a scope for a Rule.
type ScopeType string

const (
	// ClusterScope means that scope is limited to cluster-scoped objects.
	ClusterScope ScopeType = "Cluster"
	// NamespacedScope means that scope is limited to namespaced objects.
	NamespacedScope ScopeType = "Namespaced"
	// AllScopes means that all scopes are included.
	AllScopes ScopeType = "*"
)

// FailurePolicyType specifies a failure policy that defines how unrecognized errors from the
// admission endpoint are handled.
type FailurePolicyType string

const (
	// Ignore means that an error calling the webhook is ignored.
	Ignore FailurePolicyType = "Ignore"
	// Fail means that an error calling the webhook causes the admission to fail.
	Fail FailurePolicyType = "Fail"
)

// MatchPolicyType specifies the type of match policy.
type MatchPolicyType string

const (
	// Exact means requests should only be sent to the webhook if they exactly match a given rule.
	Exact MatchPolicyType = "Exact"
	// Equivalent means requests should be sent to the webhook if they modify a resource listed
	// in rules via another API group or version.
	Equivalent MatchPolicyType = "Equivalent"
)

// SideEffectClass specifies the types of side effects a webhook may have.
type SideEffectClass string

const (
	// SideEffectClassUnknown means that no information is known about the side effects.
	SideEffectClassUnknown SideEffectClass = "Unknown"
	// SideEffectClassNone means that calling the webhook will have no side effects.
	SideEffectClassNone SideEffectClass = "None"
	// SideEffectClassSome means that calling the webhook will possibly have side effects.
	SideEffectClassSome SideEffectClass = "Some"
	// SideEffectClassNoneOnDryRun means that calling the webhook will possibly have side
	// effects, but if the request being reviewed has the dry-run attribute, it has none.
	SideEffectClassNoneOnDryRun SideEffectClass = "NoneOnDryRun"
)

// ReinvocationPolicyType specifies what type of policy the admission hook uses.
type ReinvocationPolicyType string

const (
	// NeverReinvocationPolicy indicates that the webhook must not be called more than once in
	// a single admission evaluation.
	NeverReinvocationPolicy ReinvocationPolicyType = "Never"
	// IfNeededReinvocationPolicy indicates that the webhook may be called at least one
	// additional time as part of the admission evaluation if the object being admitted is
	// modified by other admission plugins after the initial webhook call.
	IfNeededReinvocationPolicy ReinvocationPolicyType = "IfNeeded"
)

// OperationType specifies an operation for a request.
type OperationType string

const (
	OperationAll OperationType = "*"
	Create       OperationType = "CREATE"
	Update       OperationType = "UPDATE"
	Delete       OperationType = "DELETE"
	Connect      OperationType = "CONNECT"
)

// RuleWithOperations is a tuple of Operations and Resources.
type RuleWithOperations struct {
	// Operations is the operations the admission hook cares about - CREATE, UPDATE, DELETE,
	// CONNECT or * for all of those operations and any future admission operations.
	Operations []OperationType `json:"operations,omitempty" protobuf:"bytes,1,rep,name=operations,casttype=OperationType"`
	// Rule is embedded, it describes other criteria of the rule, like APIGroups, APIVersions,
	// Resources, etc.
	Rule `json:",inline" protobuf:"bytes,2,opt,name=rule"`
}

// MatchCondition represents a condition which must by fulfilled for a request to be sent to a
// webhook.
type MatchCondition struct {
	// Name is an identifier for this match condition, used for strategic merging of
	// MatchConditions, as well as providing an identifier for logging purposes.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// Expression represents the expression which will be evaluated by CEL. Must evaluate to bool.
	Expression string `json:"expression" protobuf:"bytes,2,opt,name=expression"`
}

// WebhookClientConfig contains the information to make a TLS connection with the webhook.
type WebhookClientConfig struct {
	// `url` gives the location of the webhook, in standard URL form
	// (`scheme://host:port/path`). Exactly one of `url` or `service` must be specified.
	URL *string `json:"url,omitempty" protobuf:"bytes,3,opt,name=url"`
	// `service` is a reference to the service for this webhook. Either `service` or `url` must
	// be specified.
	Service *ServiceReference `json:"service,omitempty" protobuf:"bytes,1,opt,name=service"`
	// `caBundle` is a PEM encoded CA bundle which will be used to validate the webhook's server
	// certificate. If unspecified, system trust roots on the apiserver are used.
	CABundle []byte `json:"caBundle,omitempty" protobuf:"bytes,2,opt,name=caBundle"`
}

// ServiceReference holds a reference to Service.legacy.k8s.io.
type ServiceReference struct {
	// `namespace` is the namespace of the service.
	Namespace string `json:"namespace" protobuf:"bytes,1,opt,name=namespace"`
	// `name` is the name of the service.
	Name string `json:"name" protobuf:"bytes,2,opt,name=name"`
	// `path` is an optional URL path which will be sent in any request to this service.
	Path *string `json:"path,omitempty" protobuf:"bytes,3,opt,name=path"`
	// If specified, the port on the service that hosting webhook. Default to 443.
	Port *int32 `json:"port,omitempty" protobuf:"varint,4,opt,name=port"`
}

// ValidatingWebhookConfiguration describes the configuration of and admission webhook that
// accept or reject and object without changing it.
type ValidatingWebhookConfiguration struct {
	meta.TypeMeta `json:",inline"`
	// Standard object metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Webhooks is a list of webhooks and the affected resources and operations.
	Webhooks []ValidatingWebhook `json:"webhooks,omitempty" patchStrategy:"merge" patchMergeKey:"name" protobuf:"bytes,2,rep,name=Webhooks"`
}

// ValidatingWebhookConfigurationList is a list of ValidatingWebhookConfiguration.
type ValidatingWebhookConfigurationList = meta.List[ValidatingWebhookConfiguration]

// MutatingWebhookConfiguration describes the configuration of and admission webhook that
// accept or reject and may change the object.
type MutatingWebhookConfiguration struct {
	meta.TypeMeta `json:",inline"`
	// Standard object metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Webhooks is a list of webhooks and the affected resources and operations.
	Webhooks []MutatingWebhook `json:"webhooks,omitempty" patchStrategy:"merge" patchMergeKey:"name" protobuf:"bytes,2,rep,name=Webhooks"`
}

// MutatingWebhookConfigurationList is a list of MutatingWebhookConfiguration.
type MutatingWebhookConfigurationList = meta.List[MutatingWebhookConfiguration]

// ValidatingWebhook describes an admission webhook and the resources and operations it
// applies to.
type ValidatingWebhook struct {
	// The name of the admission webhook (fully qualified, e.g. imagepolicy.kubernetes.io).
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// ClientConfig defines how to communicate with the hook.
	ClientConfig WebhookClientConfig `json:"clientConfig" protobuf:"bytes,2,opt,name=clientConfig"`
	// Rules describes what operations on what resources/subresources the webhook cares about.
	Rules []RuleWithOperations `json:"rules,omitempty" protobuf:"bytes,3,rep,name=rules"`
	// FailurePolicy defines how unrecognized errors from the admission endpoint are handled -
	// allowed values are Ignore or Fail. Defaults to Fail.
	FailurePolicy *FailurePolicyType `json:"failurePolicy,omitempty" protobuf:"bytes,4,opt,name=failurePolicy,casttype=FailurePolicyType"`
	// matchPolicy defines how the "rules" list is used to match incoming requests ("Exact" or
	// "Equivalent"). Defaults to "Equivalent".
	MatchPolicy *MatchPolicyType `json:"matchPolicy,omitempty" protobuf:"bytes,9,opt,name=matchPolicy,casttype=MatchPolicyType"`
	// NamespaceSelector decides whether to run the webhook on an object based on whether the
	// namespace for that object matches the selector.
	NamespaceSelector *meta.LabelSelector `json:"namespaceSelector,omitempty" protobuf:"bytes,5,opt,name=namespaceSelector"`
	// ObjectSelector decides whether to run the webhook based on if the object has matching
	// labels.
	ObjectSelector *meta.LabelSelector `json:"objectSelector,omitempty" protobuf:"bytes,10,opt,name=objectSelector"`
	// SideEffects states whether this webhook has side effects (None or NoneOnDryRun).
	SideEffects *SideEffectClass `json:"sideEffects" protobuf:"bytes,6,opt,name=sideEffects,casttype=SideEffectClass"`
	// TimeoutSeconds specifies the timeout for this webhook. Default to 10 seconds.
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty" protobuf:"varint,7,opt,name=timeoutSeconds"`
	// AdmissionReviewVersions is an ordered list of preferred `AdmissionReview` versions the
	// Webhook expects.
	AdmissionReviewVersions []string `json:"admissionReviewVersions" protobuf:"bytes,8,rep,name=admissionReviewVersions"`
	// MatchConditions is a list of conditions that must be met for a request to be sent to
	// this webhook.
	MatchConditions []MatchCondition `json:"matchConditions,omitempty" patchStrategy:"merge" patchMergeKey:"name" protobuf:"bytes,11,opt,name=matchConditions"`
}

// MutatingWebhook describes an admission webhook and the resources and operations it applies
// to.
type MutatingWebhook struct {
	// The name of the admission webhook (fully qualified, e.g. imagepolicy.kubernetes.io).
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// ClientConfig defines how to communicate with the hook.
	ClientConfig WebhookClientConfig `json:"clientConfig" protobuf:"bytes,2,opt,name=clientConfig"`
	// Rules describes what operations on what resources/subresources the webhook cares about.
	Rules []RuleWithOperations `json:"rules,omitempty" protobuf:"bytes,3,rep,name=rules"`
	// FailurePolicy defines how unrecognized errors from the admission endpoint are handled -
	// allowed values are Ignore or Fail. Defaults to Fail.
	FailurePolicy *FailurePolicyType `json:"failurePolicy,omitempty" protobuf:"bytes,4,opt,name=failurePolicy,casttype=FailurePolicyType"`
	// matchPolicy defines how the "rules" list is used to match incoming requests ("Exact" or
	// "Equivalent"). Defaults to "Equivalent".
	MatchPolicy *MatchPolicyType `json:"matchPolicy,omitempty" protobuf:"bytes,9,opt,name=matchPolicy,casttype=MatchPolicyType"`
	// NamespaceSelector decides whether to run the webhook on an object based on whether the
	// namespace for that object matches the selector.
	NamespaceSelector *meta.LabelSelector `json:"namespaceSelector,omitempty" protobuf:"bytes,5,opt,name=namespaceSelector"`
	// ObjectSelector decides whether to run the webhook based on if the object has matching
	// labels.
	ObjectSelector *meta.LabelSelector `json:"objectSelector,omitempty" protobuf:"bytes,11,opt,name=objectSelector"`
	// SideEffects states whether this webhook has side effects (None or NoneOnDryRun).
	SideEffects *SideEffectClass `json:"sideEffects" protobuf:"bytes,6,opt,name=sideEffects,casttype=SideEffectClass"`
	// TimeoutSeconds specifies the timeout for this webhook. Default to 10 seconds.
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty" protobuf:"varint,7,opt,name=timeoutSeconds"`
	// AdmissionReviewVersions is an ordered list of preferred `AdmissionReview` versions the
	// Webhook expects.
	AdmissionReviewVersions []string `json:"admissionReviewVersions" protobuf:"bytes,8,rep,name=admissionReviewVersions"`
	// reinvocationPolicy indicates whether this webhook should be called multiple times as
	// part of a single admission evaluation ("Never" or "IfNeeded"). Defaults to "Never".
	ReinvocationPolicy *ReinvocationPolicyType `json:"reinvocationPolicy,omitempty" protobuf:"bytes,10,opt,name=reinvocationPolicy,casttype=ReinvocationPolicyType"`
	// MatchConditions is a list of conditions that must be met for a request to be sent to
	// this webhook.
	MatchConditions []MatchCondition `json:"matchConditions,omitempty" patchStrategy:"merge" patchMergeKey:"name" protobuf:"bytes,12,opt,name=matchConditions"`
}
