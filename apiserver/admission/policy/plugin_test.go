package policy

import (
	"context"
	"errors"
	"strings"
	"testing"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/admissiontest"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

var reg = registry.Default()

func kind(group, resource string) *registry.Kind {
	for _, k := range reg.Kinds() {
		if k.Group == group && k.Resource == resource {
			return k
		}
	}
	panic(resource)
}

func ptr[T any](v T) *T { return &v }

func rule(ops []ar.OperationType, group, version string, resources ...string) ar.NamedRuleWithOperations {
	return ar.NamedRuleWithOperations{RuleWithOperations: ar.RuleWithOperations{Operations: ops,
		Rule: ar.Rule{APIGroups: []string{group}, APIVersions: []string{version}, Resources: resources}}}
}

// policy is a defaulted policy over Deployments (create and update), with a binding of the
// same name.
func policy(name string, mutate func(*ar.ValidatingAdmissionPolicy, *ar.ValidatingAdmissionPolicyBinding), validations ...ar.Validation) []meta.Object {
	p := &ar.ValidatingAdmissionPolicy{ObjectMeta: meta.ObjectMeta{Name: name, ResourceVersion: "1"}, Spec: ar.ValidatingAdmissionPolicySpec{
		MatchConstraints: &ar.MatchResources{ResourceRules: []ar.NamedRuleWithOperations{
			rule([]ar.OperationType{ar.Create, ar.Update}, "apps", "v1", "deployments")}},
		Validations: validations}}
	b := &ar.ValidatingAdmissionPolicyBinding{ObjectMeta: meta.ObjectMeta{Name: name, ResourceVersion: "1"},
		Spec: ar.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: []ar.ValidationAction{ar.Deny}}}
	if mutate != nil {
		mutate(p, b)
	}
	defaults.Object(p)
	defaults.Object(b)
	return []meta.Object{p, b}
}

func deployment(ns, name string, replicas int32, labels map[string]string) *apps.Deployment {
	return &apps.Deployment{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: apps.DeploymentSpec{Replicas: &replicas}}
}

func createAttrs(obj meta.Object) *admission.Attributes {
	m := obj.GetObjectMeta()
	return &admission.Attributes{Operation: admission.Create, Kind: kind("apps", "deployments"), Namespace: m.Namespace, Name: m.Name, Object: obj}
}

func newPlugin(objs ...meta.Object) *Plugin {
	o := admissiontest.NewObjects(append([]meta.Object{
		&core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}},
		&core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "dev", Labels: map[string]string{"env": "dev"}}},
	}, objs...)...)
	return New(Config{Objects: o, KindFor: reg.LookupKind})
}

// status is the refusal's code and message ("" and 0 for none).
func status(t *testing.T, err error) (int32, string) {
	t.Helper()
	if err == nil {
		return 0, ""
	}
	var ae *admission.Error
	if !errors.As(err, &ae) {
		t.Fatalf("not an admission.Error: %v", err)
	}
	return ae.Status.Code, ae.Status.Message
}

func TestMatching(t *testing.T) {
	minReplicas := ar.Validation{Expression: "object.spec.replicas > 1", Message: "too few"}
	tests := []struct {
		name   string
		mutate func(*ar.ValidatingAdmissionPolicy, *ar.ValidatingAdmissionPolicyBinding)
		attrs  *admission.Attributes
		denied bool
	}{
		{"matching resource", nil, createAttrs(deployment("prod", "d", 1, nil)), true},
		{"other operation", nil, &admission.Attributes{Operation: admission.Delete, Kind: kind("apps", "deployments"), Namespace: "prod", Name: "d",
			OldObject: deployment("prod", "d", 1, nil)}, false},
		{"other resource", nil, &admission.Attributes{Operation: admission.Create, Kind: kind("apps", "replicasets"), Namespace: "prod", Name: "r",
			Object: &apps.ReplicaSet{ObjectMeta: meta.ObjectMeta{Name: "r", Namespace: "prod"}}}, false},
		{"subresource not named", nil, &admission.Attributes{Operation: admission.Update, Kind: kind("apps", "deployments"), Subresource: "status",
			Namespace: "prod", Name: "d", Object: deployment("prod", "d", 1, nil), OldObject: deployment("prod", "d", 1, nil)}, false},
		{"subresource named with */status", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ResourceRules = []ar.NamedRuleWithOperations{rule([]ar.OperationType{ar.OperationAll}, "*", "*", "*/status")}
		}, &admission.Attributes{Operation: admission.Update, Kind: kind("apps", "deployments"), Subresource: "status",
			Namespace: "prod", Name: "d", Object: deployment("prod", "d", 1, nil), OldObject: deployment("prod", "d", 1, nil)}, true},
		{"resourceNames", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ResourceRules[0].ResourceNames = []string{"other"}
		}, createAttrs(deployment("prod", "d", 1, nil)), false},
		{"excludeResourceRules", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ExcludeResourceRules = []ar.NamedRuleWithOperations{rule([]ar.OperationType{ar.Create}, "apps", "*", "deployments")}
		}, createAttrs(deployment("prod", "d", 1, nil)), false},
		{"matchPolicy Equivalent takes another version", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ResourceRules = []ar.NamedRuleWithOperations{rule([]ar.OperationType{ar.Create}, "apps", "v1beta1", "deployments")}
		}, createAttrs(deployment("prod", "d", 1, nil)), true},
		{"matchPolicy Exact does not", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ResourceRules = []ar.NamedRuleWithOperations{rule([]ar.OperationType{ar.Create}, "apps", "v1beta1", "deployments")}
			p.Spec.MatchConstraints.MatchPolicy = ptr(ar.Exact)
		}, createAttrs(deployment("prod", "d", 1, nil)), false},
		{"policy namespaceSelector", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.NamespaceSelector = &meta.LabelSelector{MatchLabels: map[string]string{"env": "dev"}}
		}, createAttrs(deployment("prod", "d", 1, nil)), false},
		{"binding namespaceSelector narrows", func(_ *ar.ValidatingAdmissionPolicy, b *ar.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources = &ar.MatchResources{NamespaceSelector: &meta.LabelSelector{MatchLabels: map[string]string{"env": "dev"}}}
		}, createAttrs(deployment("prod", "d", 1, nil)), false},
		{"binding namespaceSelector takes", func(_ *ar.ValidatingAdmissionPolicy, b *ar.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources = &ar.MatchResources{NamespaceSelector: &meta.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}
		}, createAttrs(deployment("prod", "d", 1, nil)), true},
		{"objectSelector", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ObjectSelector = &meta.LabelSelector{MatchLabels: map[string]string{"checked": "yes"}}
		}, createAttrs(deployment("prod", "d", 1, map[string]string{"checked": "no"})), false},
		{"binding for another policy", func(_ *ar.ValidatingAdmissionPolicy, b *ar.ValidatingAdmissionPolicyBinding) {
			b.Spec.PolicyName = "other"
		}, createAttrs(deployment("prod", "d", 1, nil)), false},
		{"matchConditions false", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConditions = []ar.MatchCondition{{Name: "not-d", Expression: "object.metadata.name != 'd'"}}
		}, createAttrs(deployment("prod", "d", 1, nil)), false},
	}
	for _, tt := range tests {
		p := newPlugin(policy("p", tt.mutate, minReplicas)...)
		code, msg := status(t, p.Validate(context.Background(), tt.attrs))
		if (code != 0) != tt.denied {
			t.Errorf("%s: refusal %d %q, want denied=%v", tt.name, code, msg, tt.denied)
		}
	}
}

func TestEvaluation(t *testing.T) {
	ctx := context.Background()
	d := createAttrs(deployment("prod", "web", 3, nil))
	tests := []struct {
		name     string
		mutate   func(*ar.ValidatingAdmissionPolicy, *ar.ValidatingAdmissionPolicyBinding)
		v        []ar.Validation
		params   []meta.Object
		code     int32
		msg      string // the refusal's message after "denied request: "
		warnings []string
	}{
		{"allowed", nil, []ar.Validation{{Expression: "object.spec.replicas == 3"}}, nil, 0, "", nil},
		{"failed expression", nil, []ar.Validation{{Expression: "object.spec.replicas < 3"}}, nil, 422, "failed expression: object.spec.replicas < 3", nil},
		{"message", nil, []ar.Validation{{Expression: "false", Message: "no"}}, nil, 422, "no", nil},
		{"messageExpression, with request and namespaceObject", nil, []ar.Validation{{Expression: "false",
			MessageExpression: "request.operation + ' ' + request.kind.kind + ' in ' + namespaceObject.metadata.labels.env"}}, nil, 422, "CREATE Deployment in prod", nil},
		{"messageExpression failing falls back to message", nil, []ar.Validation{{Expression: "false", Message: "fallback", MessageExpression: "object.nope"}}, nil, 422, "fallback", nil},
		{"reason Forbidden is a 403", nil, []ar.Validation{{Expression: "false", Reason: ptr("Forbidden")}}, nil, 403, "failed expression: false", nil},
		{"reason Unauthorized is a 401", nil, []ar.Validation{{Expression: "false", Reason: ptr("Unauthorized")}}, nil, 401, "failed expression: false", nil},
		{"variables, each evaluated once in order", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.Variables = []ar.Variable{{Name: "r", Expression: "object.spec.replicas"}, {Name: "odd", Expression: "variables.r % 2 == 1"}}
		}, []ar.Validation{{Expression: "!variables.odd", MessageExpression: "'odd: ' + string(variables.r)"}}, nil, 422, "odd: 3", nil},
		{"evaluation error under Fail", nil, []ar.Validation{{Expression: "object.spec.nope == 1"}}, nil, 422,
			"expression 'object.spec.nope == 1' resulted in error: no such key: nope", nil},
		{"evaluation error under Ignore", func(p *ar.ValidatingAdmissionPolicy, _ *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.FailurePolicy = ptr(ar.Ignore)
		}, []ar.Validation{{Expression: "object.spec.nope == 1"}}, nil, 0, "", nil},
		{"Warn", func(_ *ar.ValidatingAdmissionPolicy, b *ar.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = []ar.ValidationAction{ar.Warn}
		}, []ar.Validation{{Expression: "false", Message: "careful"}}, nil, 0, "",
			[]string{"Validation failed for ValidatingAdmissionPolicy 'p' with binding 'p': careful"}},
		{"params by name in the object's namespace", withParams(&ar.ParamRef{Name: "limits", ParameterNotFoundAction: ptr(ar.DenyAction)}),
			[]ar.Validation{{Expression: "object.spec.replicas <= int(params.data.max)", MessageExpression: "'max ' + params.data.max"}},
			[]meta.Object{&core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "limits", Namespace: "prod"}, Data: map[string]string{"max": "2"}}}, 422, "max 2", nil},
		{"param not found, Deny", withParams(&ar.ParamRef{Name: "limits", ParameterNotFoundAction: ptr(ar.DenyAction)}),
			[]ar.Validation{{Expression: "false"}}, nil, 422, "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction", nil},
		{"param not found, Allow", withParams(&ar.ParamRef{Name: "limits", ParameterNotFoundAction: ptr(ar.AllowAction)}),
			[]ar.Validation{{Expression: "false"}}, nil, 0, "", nil},
		{"param not found, Deny, failurePolicy Ignore", func(p *ar.ValidatingAdmissionPolicy, b *ar.ValidatingAdmissionPolicyBinding) {
			withParams(&ar.ParamRef{Name: "limits", ParameterNotFoundAction: ptr(ar.DenyAction)})(p, b)
			p.Spec.FailurePolicy = ptr(ar.Ignore)
		}, []ar.Validation{{Expression: "false"}}, nil, 0, "", nil},
		{"params by selector, each evaluated", withParams(&ar.ParamRef{Namespace: "dev", Selector: &meta.LabelSelector{MatchLabels: map[string]string{"limit": "yes"}},
			ParameterNotFoundAction: ptr(ar.DenyAction)}),
			[]ar.Validation{{Expression: "object.spec.replicas <= int(params.data.max)", MessageExpression: "params.metadata.name"}},
			[]meta.Object{
				&core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "loose", Namespace: "dev", Labels: map[string]string{"limit": "yes"}}, Data: map[string]string{"max": "5"}},
				&core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "strict", Namespace: "dev", Labels: map[string]string{"limit": "yes"}}, Data: map[string]string{"max": "1"}},
				&core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "other", Namespace: "dev"}, Data: map[string]string{"max": "0"}},
			}, 422, "strict", nil},
		{"paramKind not served", func(p *ar.ValidatingAdmissionPolicy, b *ar.ValidatingAdmissionPolicyBinding) {
			p.Spec.ParamKind = &ar.ParamKind{APIVersion: "example.com/v1", Kind: "Nope"}
			b.Spec.ParamRef = &ar.ParamRef{Name: "x", ParameterNotFoundAction: ptr(ar.DenyAction)}
		}, []ar.Validation{{Expression: "true"}}, nil, 422, "failed to configure binding: paramKind kind `example.com/v1, Kind=Nope` not known", nil},
	}
	for _, tt := range tests {
		p := newPlugin(append(policy("p", tt.mutate, tt.v...), tt.params...)...)
		a := *d
		code, msg := status(t, p.Validate(ctx, &a))
		want := ""
		if tt.code != 0 {
			want = `deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'p' denied request: ` + tt.msg
		}
		if code != tt.code || msg != want {
			t.Errorf("%s: %d %q, want %d %q", tt.name, code, msg, tt.code, want)
		}
		if strings.Join(a.Warnings(), "|") != strings.Join(tt.warnings, "|") {
			t.Errorf("%s: warnings %q, want %q", tt.name, a.Warnings(), tt.warnings)
		}
	}
}

func withParams(ref *ar.ParamRef) func(*ar.ValidatingAdmissionPolicy, *ar.ValidatingAdmissionPolicyBinding) {
	return func(p *ar.ValidatingAdmissionPolicy, b *ar.ValidatingAdmissionPolicyBinding) {
		p.Spec.ParamKind = &ar.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		b.Spec.ParamRef = ref
	}
}

// Audit records the failure as Kubernetes' validation_failure annotation; auditAnnotations
// are recorded under the policy's name.
func TestAuditAnnotations(t *testing.T) {
	p := newPlugin(policy("p", func(p *ar.ValidatingAdmissionPolicy, b *ar.ValidatingAdmissionPolicyBinding) {
		b.Spec.ValidationActions = []ar.ValidationAction{ar.Audit}
		p.Spec.AuditAnnotations = []ar.AuditAnnotation{{Key: "replicas", ValueExpression: "'wants ' + string(object.spec.replicas)"},
			{Key: "skipped", ValueExpression: "null"}}
	}, ar.Validation{Expression: "false", Message: "audited"})...)
	a := createAttrs(deployment("prod", "web", 3, nil))
	if err := p.Validate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	got := a.Annotations()
	if got["p/replicas"] != "wants 3" || len(got) != 2 {
		t.Errorf("annotations %v", got)
	}
	if want := `[{"message":"audited","policy":"p","binding":"p","expressionIndex":0,"validationActions":["Audit"]}]`; got["validation.policy.admission.k8s.io/validation_failure"] != want {
		t.Errorf("validation_failure = %s, want %s", got["validation.policy.admission.k8s.io/validation_failure"], want)
	}
}

// The authorizer library asks the server's authorizer about the request's user or a service
// account, for a resource (the request's own included) or a path.
func TestAuthorizer(t *testing.T) {
	var asked []string
	z := authz.Func(func(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
		q := a.User.Name + " " + a.Verb + " " + a.APIGroup + "/" + a.Resource + "/" + a.Subresource + " " + a.Namespace + "/" + a.Name + " " + a.Path
		asked = append(asked, q)
		if a.User.Name == "alice" && a.Verb == "create" || a.Path == "/healthz" {
			return authz.Allow, "rbac says yes", nil
		}
		return authz.NoOpinion, "no rule", nil
	})
	tests := []struct {
		expr  string
		ok    bool
		asked string
	}{
		{"authorizer.requestResource.check('create').allowed()", true, "alice create apps/deployments/ prod/web "},
		{"authorizer.group('').resource('pods').subresource('exec').namespace('prod').name('p').check('get').allowed()", false, "alice get /pods/exec prod/p "},
		{"authorizer.serviceAccount('prod', 'ci').group('apps').resource('deployments').check('create').allowed()", false,
			"system:serviceaccount:prod:ci create apps/deployments/ / "},
		{"authorizer.path('/healthz').check('get').reason() == 'rbac says yes'", true, "alice get // / /healthz"},
		{"!authorizer.path('/x').check('get').errored() && authorizer.path('/x').check('get').error() == ''", true, "alice get // / /x"},
	}
	for _, tt := range tests {
		asked = nil
		objs := policy("p", nil, ar.Validation{Expression: tt.expr})
		o := admissiontest.NewObjects(append([]meta.Object{&core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "prod"}}}, objs...)...)
		p := New(Config{Objects: o, KindFor: reg.LookupKind, Authorizer: func() authz.Authorizer { return z }})
		a := createAttrs(deployment("prod", "web", 1, nil))
		a.User = &authn.User{Name: "alice"}
		code, msg := status(t, p.Validate(context.Background(), a))
		if (code == 0) != tt.ok || len(asked) == 0 || asked[0] != tt.asked {
			t.Errorf("%s: %d %q, asked %q, want allowed=%v asking %q", tt.expr, code, msg, asked, tt.ok, tt.asked)
		}
	}
}
