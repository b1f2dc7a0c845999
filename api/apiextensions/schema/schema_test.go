package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/unstructured"
	"github.com/skiff-sh/skiff/api/validation/field"
)

func props(t *testing.T, doc string) *apiextensions.JSONSchemaProps {
	t.Helper()
	var p apiextensions.JSONSchemaProps
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func value(t *testing.T, doc string) map[string]any {
	t.Helper()
	v, err := unstructured.DecodeValue([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func messages(errs field.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

const widgetSchema = `{"type":"object","properties":{"spec":{"type":"object","required":["name"],"properties":{
	"name":{"type":"string","minLength":2,"maxLength":5},
	"color":{"type":"string","enum":["red","blue"]},
	"replicas":{"type":"integer","minimum":1,"maximum":10},
	"ratio":{"type":"number","exclusiveMaximum":true,"maximum":1,"multipleOf":0.25},
	"email":{"type":"string","format":"email"},
	"port":{"x-kubernetes-int-or-string":true},
	"note":{"type":"string","nullable":true},
	"tags":{"type":"array","maxItems":2,"minItems":1,"items":{"type":"string","pattern":"^[a-z]+$"}},
	"set":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"string"}},
	"ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],"items":{"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"}}}},
	"labels":{"type":"object","maxProperties":1,"additionalProperties":{"type":"string"}},
	"raw":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
	"template":{"type":"object","x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}}}}}`

func TestValidate(t *testing.T) {
	s, err := Compile(props(t, widgetSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		obj  string
		want []string
	}{
		{"valid", `{"spec":{"name":"ab","color":"red","replicas":3,"ratio":0.5,"email":"a@b.c","port":"http","note":null,"tags":["x"],
			"set":["a","b"],"ports":[{"name":"a"},{"name":"b"}],"labels":{"a":"b"},"raw":{"x":[1]},"template":{"apiVersion":"v1","kind":"Pod"}}}`, nil},
		{"required", `{"spec":{}}`, []string{"spec.name: Required value"}},
		{"types", `{"spec":{"name":5,"replicas":"3","port":true,"note":1}}`, []string{
			`spec.name: Invalid value: "integer": spec.name in body must be of type string: "integer"`,
			`spec.note: Invalid value: "integer": spec.note in body must be of type string: "integer"`,
			`spec.port: Invalid value: true: spec.port in body must be of type integer,string: "boolean"`,
			`spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`}},
		{"null without nullable", `{"spec":{"name":null}}`, []string{`spec.name: Invalid value: "null": spec.name in body must be of type string: "null"`}},
		{"bounds", `{"spec":{"name":"a","replicas":11,"ratio":1,"color":"green"}}`, []string{
			`spec.color: Unsupported value: "green": supported values: "red", "blue"`,
			`spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long`,
			`spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1`,
			`spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10`}},
		{"lengths and formats", `{"spec":{"name":"toolong","replicas":0,"ratio":0.3,"email":"nope"}}`, []string{
			`spec.email: Invalid value: "nope": spec.email in body must be of type email: "nope"`,
			`spec.name: Too long: may not be more than 5 bytes`,
			`spec.ratio: Invalid value: 0.3: spec.ratio in body should be a multiple of 0.25`,
			`spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1`}},
		{"items", `{"spec":{"name":"ab","tags":["a","B","c"]}}`, []string{
			`spec.tags: Too many: 3: must have at most 2 items`,
			`spec.tags[1]: Invalid value: "B": spec.tags[1] in body should match '^[a-z]+$'`}},
		{"list types", `{"spec":{"name":"ab","set":["a","a"],"ports":[{"name":"a","n":1},{"name":"a","n":2}]}}`, []string{
			`spec.ports[1]: Duplicate value: {"name":"a"}`,
			`spec.set[1]: Duplicate value: "a"`}},
		{"additionalProperties", `{"spec":{"name":"ab","labels":{"a":"b","c":1}}}`, []string{
			`spec.labels: Too many: 2: must have at most 1 item`,
			`spec.labels[c]: Invalid value: "integer": spec.labels[c] in body must be of type string: "integer"`}},
		{"embedded resource", `{"spec":{"name":"ab","template":{"metadata":{}}}}`, []string{
			`spec.template.apiVersion: Required value: must not be empty`,
			`spec.template.kind: Required value: must not be empty`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := messages(s.Validate(value(t, tc.obj), nil))
			sortStrings(got)
			if !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestDefaultAndPrune(t *testing.T) {
	p := props(t, `{"type":"object","properties":{"spec":{"type":"object","properties":{
		"replicas":{"type":"integer","default":1},
		"mode":{"type":"string","default":"fast"},
		"opts":{"type":"object","default":{},"properties":{"level":{"type":"integer","default":3}}},
		"items":{"type":"array","items":{"type":"object","properties":{"w":{"type":"integer","default":7}}}},
		"raw":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
		"m":{"type":"object","additionalProperties":{"type":"object","properties":{"a":{"type":"string"}}}}}}}}`)
	obj := value(t, `{"apiVersion":"x/v1","kind":"K","metadata":{"name":"n"},"top":1,"spec":{"mode":"slow","extra":true,
		"items":[{},{"w":1,"z":2}],"raw":{"keep":{"deep":1}},"m":{"k":{"a":"x","b":"y"}}}}`)
	pruned := Prune(p, obj)
	if want := []string{"spec.extra", "spec.items[1].z", "spec.m[k].b", "top"}; !reflect.DeepEqual(pruned, want) {
		t.Errorf("pruned %v, want %v", pruned, want)
	}
	Default(p, obj)
	want := value(t, `{"apiVersion":"x/v1","kind":"K","metadata":{"name":"n"},"spec":{"mode":"slow","replicas":1,"opts":{"level":3},
		"items":[{"w":7},{"w":1}],"raw":{"keep":{"deep":1}},"m":{"k":{"a":"x"}}}}`)
	if !reflect.DeepEqual(obj, want) {
		a, _ := json.Marshal(obj)
		b, _ := json.Marshal(want)
		t.Errorf("defaulted and pruned:\n got %s\nwant %s", a, b)
	}
}

func TestValidateStructural(t *testing.T) {
	p := field.NewPath("spec", "versions").Index(0).Child("schema", "openAPIV3Schema")
	tests := []struct {
		name, schema string
		want         []string
	}{
		{"ok", widgetSchema, nil},
		{"root not object", `{"type":"string"}`, []string{`spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root`}},
		{"missing type", `{"type":"object","properties":{"spec":{"properties":{"a":{"type":"string"}}}}}`,
			[]string{`spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields`}},
		{"unknown type", `{"type":"object","properties":{"a":{"type":"strin"}}}`,
			[]string{`spec.versions[0].schema.openAPIV3Schema.properties[a].type: Unsupported value: "strin": supported values: "array", "boolean", "integer", "number", "object", "string"`}},
		{"array without items", `{"type":"object","properties":{"a":{"type":"array"}}}`,
			[]string{`spec.versions[0].schema.openAPIV3Schema.properties[a].items: Required value: must be specified`}},
		{"type under anyOf", `{"type":"object","properties":{"a":{"type":"string","anyOf":[{"type":"string"}]}}}`,
			[]string{`spec.versions[0].schema.openAPIV3Schema.properties[a].anyOf[0].type: Forbidden: must be empty to be structural`}},
		{"bad pattern", `{"type":"object","properties":{"a":{"type":"string","pattern":"("}}}`,
			[]string{"spec.versions[0].schema.openAPIV3Schema.properties[a].pattern: Invalid value: \"(\": must be a valid regular expression, but isn't: error parsing regexp: missing closing ): `(`"}},
		{"invalid default", `{"type":"object","properties":{"a":{"type":"integer","default":"x"}}}`,
			[]string{`spec.versions[0].schema.openAPIV3Schema.properties[a].default: Invalid value: "string": spec.versions[0].schema.openAPIV3Schema.properties[a].default in body must be of type integer: "string"`}},
		{"properties and additionalProperties", `{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string"}},"additionalProperties":{"type":"string"}}}}`,
			[]string{`spec.versions[0].schema.openAPIV3Schema.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`}},
		{"nested metadata", `{"type":"object","properties":{"a":{"type":"object","properties":{"metadata":{"type":"object"}}}}}`,
			[]string{`spec.versions[0].schema.openAPIV3Schema.properties[a].properties[metadata]: Forbidden: must not be specified in a nested context`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := messages(ValidateStructural(props(t, tc.schema), p))
			if !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}
