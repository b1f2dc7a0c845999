package schema

import (
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/validation/field"
)

const celSchema = `{"type":"object","properties":{"spec":{"type":"object",
 "x-kubernetes-validations":[
   {"rule":"self.minReplicas <= self.maxReplicas","message":"minReplicas must not exceed maxReplicas"},
   {"rule":"self.maxReplicas >= oldSelf.maxReplicas","message":"maxReplicas may not shrink"},
   {"rule":"!has(self.mode) || self.mode != 'off'","messageExpression":"'mode ' + self.mode + ' is not allowed'","reason":"FieldValueForbidden","fieldPath":".mode"}],
 "properties":{
   "minReplicas":{"type":"integer"},"maxReplicas":{"type":"integer"},"mode":{"type":"string"},
   "name":{"type":"string","x-kubernetes-validations":[{"rule":"self == oldSelf","message":"name is immutable"}]},
   "ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
     "items":{"type":"object","properties":{"name":{"type":"string"},"port":{"type":"integer"}},
       "x-kubernetes-validations":[{"rule":"self.port > 0"},{"rule":"self.port == oldSelf.port","message":"port is immutable"}]}},
   "tags":{"type":"object","additionalProperties":{"type":"string","x-kubernetes-validations":[{"rule":"self.startsWith('t-')"}]}}}}}}`

func TestCEL(t *testing.T) {
	s, err := Compile(props(t, celSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, obj, old string
		want           []string
	}{
		{"valid create", `{"spec":{"minReplicas":1,"maxReplicas":3,"name":"a","ports":[{"name":"p","port":80}],"tags":{"x":"t-1"}}}`, "", nil},
		{"create: transition rules skipped", `{"spec":{"minReplicas":4,"maxReplicas":3,"mode":"off","ports":[{"name":"p","port":0}],"tags":{"x":"y"}}}`, "", []string{
			`spec.mode: Forbidden: mode off is not allowed`,
			`spec.ports[0]: Invalid value: "object": failed rule: self.port > 0`,
			`spec.tags[x]: Invalid value: "string": failed rule: self.startsWith('t-')`,
			`spec: Invalid value: "object": minReplicas must not exceed maxReplicas`}},
		{"update: transition rules", `{"spec":{"minReplicas":1,"maxReplicas":2,"name":"b","ports":[{"name":"p","port":81},{"name":"q","port":1}]}}`,
			`{"spec":{"minReplicas":1,"maxReplicas":3,"name":"a","ports":[{"name":"p","port":80}]}}`, []string{
				`spec.name: Invalid value: "string": name is immutable`,
				`spec.ports[0]: Invalid value: "object": port is immutable`,
				`spec: Invalid value: "object": maxReplicas may not shrink`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var old map[string]any
			if tc.old != "" {
				old = value(t, tc.old)
			}
			got := messages(s.Validate(value(t, tc.obj), old))
			sortStrings(got)
			if !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestCELCompileErrors(t *testing.T) {
	p := field.NewPath("spec", "versions").Index(0).Child("schema", "openAPIV3Schema")
	got := messages(ValidateStructural(props(t, `{"type":"object","properties":{"spec":{"type":"object",
		"x-kubernetes-validations":[{"rule":"self.a >"},{"rule":"'not a bool'"}]}}}`), p))
	if len(got) != 2 ||
		!strings.HasPrefix(got[0], `spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: "self.a >": compilation failed: ERROR: <input>:1:9: Syntax error`) ||
		got[1] != `spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[1].rule: Invalid value: "'not a bool'": must evaluate to bool` {
		t.Errorf("compile errors:\n  %s", strings.Join(got, "\n  "))
	}
}
