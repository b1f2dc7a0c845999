package bootstrappolicy

import (
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/rbac"
)

// Groups, as rules name them.
const (
	legacyGroup        = ""
	appsGroup          = "apps"
	batchGroup         = "batch"
	autoscalingGroup   = "autoscaling"
	policyGroup        = "policy"
	networkingGroup    = "networking.k8s.io"
	discoveryGroup     = "discovery.k8s.io"
	coordinationGroup  = "coordination.k8s.io"
	eventsGroup        = "events.k8s.io"
	certificatesGroup  = "certificates.k8s.io"
	authorizationGroup = "authorization.k8s.io"
	authenticationGrp  = "authentication.k8s.io"
	schedulingGroup    = "scheduling.k8s.io"
	storageGroup       = "storage.k8s.io"
	nodeGroup          = "node.k8s.io"
)

// Verb sets, as Kubernetes' policy names them.
var (
	read      = []string{"get", "list", "watch"}
	write     = []string{"create", "delete", "deletecollection", "patch", "update"}
	readWrite = append(append([]string{}, read...), write...)
)

// ruleBuilder writes rules compactly: verbs("get").groups("").resources("pods").
type ruleBuilder rbac.PolicyRule

func verbs(v ...string) ruleBuilder { return ruleBuilder{Verbs: v} }

func (b ruleBuilder) groups(g ...string) ruleBuilder    { b.APIGroups = g; return b }
func (b ruleBuilder) resources(r ...string) ruleBuilder { b.Resources = r; return b }
func (b ruleBuilder) names(n ...string) ruleBuilder     { b.ResourceNames = n; return b }
func (b ruleBuilder) urls(u ...string) ruleBuilder      { b.NonResourceURLs = u; return b }

func rules(bs ...ruleBuilder) []rbac.PolicyRule {
	out := make([]rbac.PolicyRule, len(bs))
	for i, b := range bs {
		out[i] = rbac.PolicyRule(b)
	}
	return out
}

// eventsRule lets a component record events through either events API.
func eventsRule() []ruleBuilder {
	return []ruleBuilder{
		verbs("create", "update", "patch").groups(legacyGroup).resources("events"),
		verbs("create", "update", "patch").groups(eventsGroup).resources("events"),
	}
}

// Every bootstrap object carries these (Kubernetes' bootstrap policy does the same).
const (
	BootstrapLabel      = "kubernetes.io/bootstrapping"
	BootstrapLabelValue = "rbac-defaults"
)

func objectMeta(namespace, name string, extraLabels map[string]string) meta.ObjectMeta {
	l := map[string]string{BootstrapLabel: BootstrapLabelValue}
	for k, v := range extraLabels {
		l[k] = v
	}
	return meta.ObjectMeta{Namespace: namespace, Name: name, Labels: l,
		Annotations: map[string]string{rbac.AutoUpdateAnnotationKey: "true"}}
}

func clusterRole(name string, extraLabels map[string]string, bs ...ruleBuilder) *rbac.ClusterRole {
	return &rbac.ClusterRole{TypeMeta: meta.TypeMeta{Kind: "ClusterRole", APIVersion: rbac.GroupName + "/v1"},
		ObjectMeta: objectMeta("", name, extraLabels), Rules: rules(bs...)}
}

func users(names ...string) []rbac.Subject  { return subjects(rbac.UserKind, names) }
func groups(names ...string) []rbac.Subject { return subjects(rbac.GroupKind, names) }

func subjects(kind string, names []string) []rbac.Subject {
	out := make([]rbac.Subject, len(names))
	for i, n := range names {
		out[i] = rbac.Subject{Kind: kind, APIGroup: rbac.GroupName, Name: n}
	}
	return out
}

func clusterRoleBinding(name, role string, subjects ...[]rbac.Subject) *rbac.ClusterRoleBinding {
	b := &rbac.ClusterRoleBinding{TypeMeta: meta.TypeMeta{Kind: "ClusterRoleBinding", APIVersion: rbac.GroupName + "/v1"},
		ObjectMeta: objectMeta("", name, nil), RoleRef: rbac.RoleRef{APIGroup: rbac.GroupName, Kind: "ClusterRole", Name: role}}
	for _, s := range subjects {
		b.Subjects = append(b.Subjects, s...)
	}
	return b
}
