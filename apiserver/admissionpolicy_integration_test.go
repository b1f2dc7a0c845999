package apiserver_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/test/harness"
)

const (
	vapPath  = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
	vapbPath = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
)

// scenarioPolicy takes ConfigMap creates labelled scenario=<name> only, so that each
// scenario's policy leaves the others' writes alone.
func scenarioPolicy(name string, fp ar.FailurePolicyType, validations ...ar.Validation) ar.ValidatingAdmissionPolicy {
	return ar.ValidatingAdmissionPolicy{ObjectMeta: meta.ObjectMeta{Name: name}, Spec: ar.ValidatingAdmissionPolicySpec{
		FailurePolicy: &fp,
		MatchConstraints: &ar.MatchResources{
			ObjectSelector: &meta.LabelSelector{MatchLabels: map[string]string{"scenario": name}},
			ResourceRules: []ar.NamedRuleWithOperations{{RuleWithOperations: ar.RuleWithOperations{Operations: []ar.OperationType{ar.Create},
				Rule: ar.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}},
		},
		Validations: validations}}
}

func scenarioBinding(name string, actions ...ar.ValidationAction) ar.ValidatingAdmissionPolicyBinding {
	return ar.ValidatingAdmissionPolicyBinding{ObjectMeta: meta.ObjectMeta{Name: name},
		Spec: ar.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: actions}}
}

func configMapData(name, scenario, data string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"labels":{"scenario":%q}},"data":%s}`, name, scenario, data)
}

// ValidatingAdmissionPolicies through the REST path of a secure in-process server.
func TestValidatingAdmissionPolicy(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	c := &webhookClient{t: t, base: s.URL, hc: s.HTTPClient(t)}
	const cms = "/api/v1/namespaces/default/configmaps"
	create := func(path string, obj any) map[string]any {
		t.Helper()
		code, st, _ := c.do("POST", path, obj)
		if code != 201 {
			t.Fatalf("POST %s: %d %v", path, code, st["message"])
		}
		return st
	}
	// waitDenied polls until the policy (seen through the watch cache) refuses the write.
	waitDenied := func(path, body string, code int) map[string]any {
		t.Helper()
		var st map[string]any
		harness.Eventually(t, 10*time.Second, "the policy to refuse", func() (bool, string) {
			var got int
			got, st, _ = c.do("POST", path+"?dryRun=All", body)
			return got == code, fmt.Sprint(got, st["message"])
		})
		return st
	}

	t.Run("bad CEL is refused at create", func(t *testing.T) {
		p := scenarioPolicy("bad", ar.Fail, ar.Validation{Expression: "object.spec.replicas >", MessageExpression: "1 + 1"})
		code, st, _ := c.do("POST", vapPath, p)
		msg, _ := st["message"].(string)
		if code != 422 || !strings.Contains(msg, `spec.validations[0].expression: Invalid value: "object.spec.replicas >": compilation failed: ERROR: <input>:1:23: Syntax error`) ||
			!strings.Contains(msg, `spec.validations[0].messageExpression: Invalid value: "1 + 1": must evaluate to string`) {
			t.Fatalf("got %d %s", code, msg)
		}
		b := scenarioBinding("bad", ar.Deny, ar.Warn)
		b.Spec.ParamRef = &ar.ParamRef{Name: "x"}
		code, st, _ = c.do("POST", vapbPath, b)
		msg, _ = st["message"].(string)
		for _, want := range []string{"spec.validationActions: Invalid value: ", "must not contain both Deny and Warn",
			"spec.paramRef.parameterNotFoundAction: Required value"} {
			if code != 422 || !strings.Contains(msg, want) {
				t.Errorf("binding: %d %s: want %q", code, msg, want)
			}
		}
		code, st, _ = c.do("POST", vapPath, ar.ValidatingAdmissionPolicy{ObjectMeta: meta.ObjectMeta{Name: "empty"}})
		msg, _ = st["message"].(string)
		if code != 422 || !strings.Contains(msg, "spec.matchConstraints: Required value") ||
			!strings.Contains(msg, "spec.validations: Required value: validations or auditAnnotations must contain at least one item") {
			t.Errorf("empty policy: %d %s", code, msg)
		}
	})

	t.Run("deny, with the validation's reason and message", func(t *testing.T) {
		create(vapPath, scenarioPolicy("deny", ar.Fail,
			ar.Validation{Expression: "!object.metadata.name.startsWith('evil')", MessageExpression: "'name ' + object.metadata.name + ' is evil'"},
			ar.Validation{Expression: "object.metadata.name != 'secret'", Reason: ptrTo("Forbidden")}))
		create(vapbPath, scenarioBinding("deny", ar.Deny))
		st := waitDenied(cms, configMapData("evil-1", "deny", "{}"), 422)
		want := `configmaps "evil-1" is forbidden: ValidatingAdmissionPolicy 'deny' with binding 'deny' denied request: name evil-1 is evil`
		if st["message"] != want || st["reason"] != "Invalid" {
			t.Errorf("got %v %v, want %s", st["reason"], st["message"], want)
		}
		code, st, _ := c.do("POST", cms, configMapData("secret", "deny", "{}"))
		if code != 403 || st["message"] != `configmaps "secret" is forbidden: ValidatingAdmissionPolicy 'deny' with binding 'deny' denied request: failed expression: object.metadata.name != 'secret'` {
			t.Errorf("reason Forbidden: %d %v", code, st["message"])
		}
		if code, st, _ := c.do("POST", cms, configMapData("good", "deny", "{}")); code != 201 {
			t.Errorf("allowed: %d %v", code, st["message"])
		}
	})

	t.Run("warn and audit", func(t *testing.T) {
		create(vapPath, scenarioPolicy("warn", ar.Fail, ar.Validation{Expression: "object.data.size() < 2", Message: "too much data"}))
		create(vapbPath, scenarioBinding("warn", ar.Warn, ar.Audit))
		var warnings []string
		harness.Eventually(t, 10*time.Second, "the policy to warn", func() (bool, string) {
			var code int
			code, _, warnings = c.do("POST", cms+"?dryRun=All", configMapData("big", "warn", `{"a":"1","b":"2"}`))
			return code == 201 && len(warnings) > 0, fmt.Sprint(code, warnings)
		})
		if want := `299 - "Validation failed for ValidatingAdmissionPolicy 'warn' with binding 'warn': too much data"`; len(warnings) != 1 || warnings[0] != want {
			t.Errorf("warnings %q, want %s", warnings, want)
		}
	})

	t.Run("params from a ConfigMap", func(t *testing.T) {
		p := scenarioPolicy("params", ar.Fail, ar.Validation{Expression: "object.data.size() <= int(params.data.max)",
			MessageExpression: "'at most ' + params.data.max + ' keys'"})
		p.Spec.ParamKind = &ar.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		create(vapPath, p)
		b := scenarioBinding("params", ar.Deny)
		b.Spec.ParamRef = &ar.ParamRef{Name: "limits", ParameterNotFoundAction: ptrTo(ar.DenyAction)}
		create(vapbPath, b)
		st := waitDenied(cms, configMapData("p1", "params", `{"a":"1"}`), 422)
		if want := "configmaps \"p1\" is forbidden: ValidatingAdmissionPolicy 'params' with binding 'params' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"; st["message"] != want {
			t.Errorf("no param: %v", st["message"])
		}
		create(cms, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"limits"},"data":{"max":"1"}}`)
		harness.Eventually(t, 10*time.Second, "the param to allow one key", func() (bool, string) {
			code, st, _ := c.do("POST", cms+"?dryRun=All", configMapData("p1", "params", `{"a":"1"}`))
			return code == 201, fmt.Sprint(code, st["message"])
		})
		code, st, _ := c.do("POST", cms, configMapData("p2", "params", `{"a":"1","b":"2"}`))
		if code != 422 || st["message"] != `configmaps "p2" is forbidden: ValidatingAdmissionPolicy 'params' with binding 'params' denied request: at most 1 keys` {
			t.Errorf("param limit: %d %v", code, st["message"])
		}
	})

	t.Run("failurePolicy Fail and Ignore", func(t *testing.T) {
		// object.data.missing is a runtime error (no such key) on a ConfigMap without it.
		for _, fp := range []ar.FailurePolicyType{ar.Fail, ar.Ignore} {
			name := "fp-" + strings.ToLower(string(fp))
			create(vapPath, scenarioPolicy(name, fp, ar.Validation{Expression: "object.data.missing == 'x'"}))
			create(vapbPath, scenarioBinding(name, ar.Deny))
		}
		st := waitDenied(cms, configMapData("f", "fp-fail", `{"a":"1"}`), 422)
		if want := `configmaps "f" is forbidden: ValidatingAdmissionPolicy 'fp-fail' with binding 'fp-fail' denied request: expression 'object.data.missing == 'x'' resulted in error: no such key: missing`; st["message"] != want {
			t.Errorf("Fail: %v", st["message"])
		}
		// Ignore admits; the Fail policy being in effect (above) means this one, created
		// before it, is too.
		if code, st, _ := c.do("POST", cms, configMapData("i", "fp-ignore", `{"a":"1"}`)); code != 201 {
			t.Errorf("Ignore: %d %v", code, st["message"])
		}
	})

	t.Run("namespaceSelector and variables", func(t *testing.T) {
		create("/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"prod","labels":{"env":"prod"}}}`)
		p := scenarioPolicy("ns", ar.Fail, ar.Validation{Expression: "variables.keys <= 1",
			MessageExpression: "'namespace ' + namespaceObject.metadata.name + ' allows 1 key, got ' + string(variables.keys)"})
		p.Spec.Variables = []ar.Variable{{Name: "keys", Expression: "object.data.size()"}}
		create(vapPath, p)
		b := scenarioBinding("ns", ar.Deny)
		b.Spec.MatchResources = &ar.MatchResources{NamespaceSelector: &meta.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}
		create(vapbPath, b)
		st := waitDenied("/api/v1/namespaces/prod/configmaps", configMapData("n", "ns", `{"a":"1","b":"2"}`), 422)
		if want := `configmaps "n" is forbidden: ValidatingAdmissionPolicy 'ns' with binding 'ns' denied request: namespace prod allows 1 key, got 2`; st["message"] != want {
			t.Errorf("prod: %v", st["message"])
		}
		if code, st, _ := c.do("POST", cms, configMapData("n", "ns", `{"a":"1","b":"2"}`)); code != 201 {
			t.Errorf("default namespace (not selected): %d %v", code, st["message"])
		}
	})

	t.Run("authorizer, with the server's RBAC", func(t *testing.T) {
		create(vapPath, scenarioPolicy("authz", ar.Fail,
			ar.Validation{Expression: "authorizer.requestResource.check('create').allowed()", Message: "the requester may not create"},
			ar.Validation{Expression: "authorizer.serviceAccount('default', 'nobody').group('').resource('secrets').check('list').allowed()",
				Message: "default/nobody may not list secrets"}))
		create(vapbPath, scenarioBinding("authz", ar.Deny))
		st := waitDenied(cms, configMapData("a", "authz", "{}"), 422)
		if want := `configmaps "a" is forbidden: ValidatingAdmissionPolicy 'authz' with binding 'authz' denied request: default/nobody may not list secrets`; st["message"] != want {
			t.Errorf("got %v, want %s", st["message"], want)
		}
	})
}
