package admissionpolicy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/admissioncel"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/meta"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		spec ar.ValidatingAdmissionPolicySpec
		want []string // "field: detail prefix"
	}{
		{"valid, with variables in order", ar.ValidatingAdmissionPolicySpec{
			Variables:   []ar.Variable{{Name: "replicas", Expression: "object.spec.replicas"}, {Name: "odd", Expression: "variables.replicas % 2 == 1"}},
			Validations: []ar.Validation{{Expression: "variables.odd", MessageExpression: "'got ' + string(variables.replicas)"}}}, nil},
		{"a variable read before it is declared", ar.ValidatingAdmissionPolicySpec{
			Variables: []ar.Variable{{Name: "a", Expression: "variables.b"}, {Name: "b", Expression: "1"}}},
			[]string{"spec.variables[0].expression: compilation failed: ERROR: <input>:1:1: undeclared reference to 'variables'"}},
		{"params only with a paramKind", ar.ValidatingAdmissionPolicySpec{Validations: []ar.Validation{{Expression: "params.x == 1"}}},
			[]string{"spec.validations[0].expression: compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'"}},
		{"result types", ar.ValidatingAdmissionPolicySpec{
			Validations:      []ar.Validation{{Expression: "1", MessageExpression: "true"}},
			MatchConditions:  []ar.MatchCondition{{Name: "m", Expression: "'x'"}},
			AuditAnnotations: []ar.AuditAnnotation{{Key: "k", ValueExpression: "1"}}},
			[]string{"spec.matchConditions[0].expression: must evaluate to bool", "spec.validations[0].expression: must evaluate to bool",
				"spec.validations[0].messageExpression: must evaluate to string", "spec.auditAnnotations[0].valueExpression: must evaluate to one of [string null_type]"}},
		{"bad variable name", ar.ValidatingAdmissionPolicySpec{Variables: []ar.Variable{{Name: "a-b", Expression: "1"}}},
			[]string{"spec.variables[0].name: name is not a valid CEL identifier"}},
	}
	for _, tt := range tests {
		_, errs := Compile(&tt.spec, nil)
		var got []string
		for _, e := range errs {
			got = append(got, e.Field+": "+e.Detail)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: errors %q, want %q", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tt.want[i]) {
				t.Errorf("%s: error %d = %q, want prefix %q", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

// The type checks of Kubernetes' conformance specs: a Deployment (a Go type) and a custom
// resource (a schema).
func TestTypeCheck(t *testing.T) {
	b := admissioncel.NewTypeBuilder()
	deployment := Resource{"apps/v1, Kind=Deployment", b.FromGo(reflect.TypeFor[apps.Deployment]())}
	intType, strType := "integer", "string"
	crontab := Resource{"stable.example.com/v1, Kind=CronTab", b.FromSchema(&apiextensions.JSONSchemaProps{Type: "object", Properties: map[string]apiextensions.JSONSchemaProps{
		"spec": {Type: "object", Properties: map[string]apiextensions.JSONSchemaProps{
			"cronSpec": {Type: strType}, "image": {Type: strType}, "replicas": {Type: intType}}}}}, true, reflect.TypeFor[meta.ObjectMeta]())}

	good := ar.ValidatingAdmissionPolicySpec{Validations: []ar.Validation{{Expression: "object.spec.replicas > 1 && object.metadata.name != ''",
		MessageExpression: "'got ' + string(object.spec.replicas)"}}}
	for _, r := range []Resource{deployment, crontab} {
		if w := TypeCheck(&good, b, []Resource{r}, nil); len(w) != 0 {
			t.Errorf("%s: warnings for correct expressions: %v", r.GVK, w)
		}
	}

	confused := ar.ValidatingAdmissionPolicySpec{Validations: []ar.Validation{{Expression: "object.spec.replicas > '1'",
		MessageExpression: "'wants replicas > 1, got ' + object.spec.replicas"}, {Expression: "object.spec.maxRetries < 10"}}}
	w := TypeCheck(&confused, b, []Resource{deployment}, nil)
	want := []struct{ ref, substr string }{
		{"spec.validations[0].expression", "found no matching overload for '_>_' applied to '(int, string)'"},
		{"spec.validations[0].messageExpression", "found no matching overload for '_+_' applied to '(string, int)'"},
		{"spec.validations[1].expression", "undefined field 'maxRetries'"},
	}
	if len(w) != len(want) {
		t.Fatalf("warnings %v, want %d", w, len(want))
	}
	for i := range want {
		if w[i].FieldRef != want[i].ref || !strings.Contains(w[i].Warning, want[i].substr) || !strings.HasPrefix(w[i].Warning, "apps/v1, Kind=Deployment: ") {
			t.Errorf("warning %d = %+v, want %s containing %q", i, w[i], want[i].ref, want[i].substr)
		}
	}
	w = TypeCheck(&confused, b, []Resource{crontab}, nil)
	if len(w) != 3 || !strings.Contains(w[2].Warning, "undefined field 'maxRetries'") {
		t.Errorf("custom resource: %v", w)
	}
	// Typed params too.
	withParams := ar.ValidatingAdmissionPolicySpec{ParamKind: &ar.ParamKind{APIVersion: "apps/v1", Kind: "Deployment"},
		Validations: []ar.Validation{{Expression: "params.spec.nope == 1"}}}
	if w := TypeCheck(&withParams, b, []Resource{deployment}, deployment.Object); len(w) != 1 {
		t.Errorf("params: %v", w)
	}
}
