package matchconditions

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileAndEval(t *testing.T) {
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	pod := map[string]any{"metadata": map[string]any{"name": "p", "labels": map[string]any{"app": "web"}}}
	req := map[string]any{"operation": "CREATE", "userInfo": map[string]any{"username": "alice"}}
	tests := []struct {
		expr       string
		vars       Vars
		want       bool
		compileErr string
		evalErr    bool
	}{
		{expr: "true", want: true},
		{expr: "object.metadata.name == 'p'", vars: Vars{Object: pod}, want: true},
		{expr: "'app' in object.metadata.labels && object.metadata.labels.app == 'db'", vars: Vars{Object: pod}, want: false},
		{expr: "request.userInfo.username != 'alice'", vars: Vars{Request: req}, want: false},
		{expr: "oldObject == null", vars: Vars{Object: pod}, want: true},
		{expr: "!has(object.spec)", vars: Vars{Object: pod}, want: true},
		{expr: "object.spec.replicas > 1", vars: Vars{Object: pod}, evalErr: true},
		{expr: "object.metadata.name", vars: Vars{Object: pod}, evalErr: true},
		{expr: "1 + 1", compileErr: "must evaluate to bool"},
		{expr: "object.metadata.name ==", compileErr: "Syntax error"},
		{expr: "authorizer.group('').resource('pods').check('get').allowed()", compileErr: "undeclared reference to 'authorizer'"},
	}
	for _, tc := range tests {
		p, err := c.Compile(tc.expr)
		if tc.compileErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.compileErr) {
				t.Errorf("Compile(%q) = %v, want error containing %q", tc.expr, err, tc.compileErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.expr, err)
			continue
		}
		got, err := p.Eval(tc.vars)
		if (err != nil) != tc.evalErr {
			t.Errorf("Eval(%q) error = %v, want error %v", tc.expr, err, tc.evalErr)
			continue
		}
		if got != tc.want {
			t.Errorf("Eval(%q) = %v, want %v", tc.expr, got, tc.want)
		}
	}
	if _, err := c.Compile("1"); !errors.Is(err, ErrNotBool) {
		t.Errorf("Compile(1) error %v is not ErrNotBool", err)
	}
}
