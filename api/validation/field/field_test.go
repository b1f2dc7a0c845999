package field

import (
	"errors"
	"fmt"
	"testing"
)

func TestPathString(t *testing.T) {
	tests := []struct {
		path *Path
		want string
	}{
		{NewPath("metadata"), "metadata"},
		{NewPath("metadata", "name"), "metadata.name"},
		{NewPath("spec").Child("containers").Index(0).Child("name"), "spec.containers[0].name"},
		{NewPath("spec").Child("template", "spec").Child("containers").Index(2).Child("ports").Index(1), "spec.template.spec.containers[2].ports[1]"},
		{NewPath("metadata").Child("labels").Key("app"), "metadata.labels[app]"},
		{NewPath("data").Key("a.b").Child("x"), "data[a.b].x"},
		{NewPath(""), "[]"},
		{nil, "<nil>"},
	}
	for _, tt := range tests {
		if got := tt.path.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// Children share their parent without mutating it.
func TestPathSharing(t *testing.T) {
	spec := NewPath("spec")
	a, b := spec.Child("a"), spec.Child("b", "c")
	if spec.String() != "spec" || a.String() != "spec.a" || b.String() != "spec.b.c" {
		t.Fatalf("got %q %q %q", spec, a, b)
	}
}

func TestErrorText(t *testing.T) {
	p := NewPath("spec").Child("x")
	tests := []struct {
		err       *Error
		want      string
		causeType string
	}{
		{Required(NewPath("spec").Child("containers").Index(0).Child("name"), ""), `spec.containers[0].name: Required value`, "FieldValueRequired"},
		{Required(NewPath("metadata", "name"), "name or generateName is required"), `metadata.name: Required value: name or generateName is required`, "FieldValueRequired"},
		{Invalid(NewPath("metadata", "name"), "Foo", "bad"), `metadata.name: Invalid value: "Foo": bad`, "FieldValueInvalid"},
		{Invalid(p, int32(-1), "must be greater than or equal to 0"), `spec.x: Invalid value: -1: must be greater than or equal to 0`, "FieldValueInvalid"},
		{Invalid(p, int64(7), ""), `spec.x: Invalid value: 7`, "FieldValueInvalid"},
		{Invalid(p, true, "d"), `spec.x: Invalid value: true: d`, "FieldValueInvalid"},
		{Invalid(p, map[string]string{"a": "b"}, "d"), `spec.x: Invalid value: {"a":"b"}: d`, "FieldValueInvalid"},
		{Invalid(p, 3, "d"), `spec.x: Invalid value: 3: d`, "FieldValueInvalid"},
		{Duplicate(p, "web"), `spec.x: Duplicate value: "web"`, "FieldValueDuplicate"},
		{NotFound(p, "data"), `spec.x: Not found: "data"`, "FieldValueNotFound"},
		{NotSupported(p, "Sometimes", []string{"Always", "Never"}), `spec.x: Unsupported value: "Sometimes": supported values: "Always", "Never"`, "FieldValueNotSupported"},
		{NotSupported[string](p, "x", nil), `spec.x: Unsupported value: "x"`, "FieldValueNotSupported"},
		{Forbidden(p, "field is immutable"), `spec.x: Forbidden: field is immutable`, "FieldValueForbidden"},
		{TooLong(p, "…", 262144), `spec.x: Too long: may not be more than 262144 bytes`, "FieldValueTooLong"},
		{TooLong(p, "…", 1), `spec.x: Too long: may not be more than 1 byte`, "FieldValueTooLong"},
		{TooLong(p, "…", -1), `spec.x: Too long: value is too long`, "FieldValueTooLong"},
		{TooMany(p, 5, 4), `spec.x: Too many: 5: must have at most 4 items`, "FieldValueTooMany"},
		{TooMany(p, -1, 1), `spec.x: Too many: must have at most 1 item`, "FieldValueTooMany"},
		{InternalError(p, errors.New("boom")), `spec.x: Internal error: boom`, "InternalError"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
		if got := tt.err.Type.CauseType(); got != tt.causeType {
			t.Errorf("%s: cause type %q, want %q", tt.want, got, tt.causeType)
		}
	}
}

func TestToAggregate(t *testing.T) {
	if ErrorList(nil).ToAggregate() != nil {
		t.Fatal("empty list must aggregate to nil")
	}
	a := Required(NewPath("a"), "")
	b := Invalid(NewPath("b"), "x", "bad")
	tests := []struct {
		list ErrorList
		want string
	}{
		{ErrorList{a}, "a: Required value"},
		{ErrorList{a, b}, `[a: Required value, b: Invalid value: "x": bad]`},
		{ErrorList{a, b, Required(NewPath("a"), "")}, `[a: Required value, b: Invalid value: "x": bad]`},
	}
	for _, tt := range tests {
		agg := tt.list.ToAggregate()
		if agg.Error() != tt.want || tt.list.String() != tt.want {
			t.Errorf("got %q, want %q", agg.Error(), tt.want)
		}
		var fe *Error
		if !errors.As(agg, &fe) || fe != a {
			t.Errorf("errors.As did not find the first field error in %v", agg)
		}
	}
}

func TestCauses(t *testing.T) {
	causes := ErrorList{Invalid(NewPath("spec", "replicas"), int32(-1), "must be greater than or equal to 0")}.Causes()
	got := fmt.Sprintf("%+v", causes)
	want := `[{Type:FieldValueInvalid Message:Invalid value: -1: must be greater than or equal to 0 Field:spec.replicas}]`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
