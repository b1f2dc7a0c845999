package validation

import (
	"slices"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// summarize renders errors as "<field> <type>" lines, sorted, for exact comparisons.
func summarize(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Field+" "+string(e.Type))
	}
	slices.Sort(out)
	return out
}

// wantErrs asserts that errs is exactly the listed "<field> <type>" errors (in any order).
func wantErrs(t *testing.T, errs field.ErrorList, want ...string) {
	t.Helper()
	got := summarize(errs)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n  got  %q\n  want %q\n%s", got, want, errs.String())
	}
}

// Shorthand for the error types in expectations.
const (
	required     = " " + string(field.ErrorTypeRequired)
	invalid      = " " + string(field.ErrorTypeInvalid)
	duplicate    = " " + string(field.ErrorTypeDuplicate)
	notSupported = " " + string(field.ErrorTypeNotSupported)
	forbidden    = " " + string(field.ErrorTypeForbidden)
	notFound     = " " + string(field.ErrorTypeNotFound)
	tooLong      = " " + string(field.ErrorTypeTooLong)
	tooMany      = " " + string(field.ErrorTypeTooMany)
)

// objectCase is one create-validation case: a mutation of a valid object and the errors
// it must produce (none for a valid variation).
type objectCase[T any] struct {
	name   string
	mutate func(*T)
	want   []string
}

// runCreateCases validates valid() mutated by each case. The object type must be a kind
// Validate dispatches on, hence the meta.Object constraint on *T.
func runCreateCases[T any, PT interface {
	*T
	meta.Object
}](t *testing.T, valid func() *T, namespaced bool, cases []objectCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := valid()
			if tc.mutate != nil {
				tc.mutate(obj)
			}
			wantErrs(t, Validate(PT(obj), namespaced), tc.want...)
		})
	}
}

// updateCase is one update-validation case: a mutation from the valid stored object.
type updateCase[T any] struct {
	name   string
	mutate func(*T)
	want   []string
}

func runUpdateCases[T any, PT interface {
	*T
	meta.Object
}](t *testing.T, valid func() *T, namespaced bool, cases []updateCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old, obj := valid(), valid()
			if tc.mutate != nil {
				tc.mutate(obj)
			}
			wantErrs(t, ValidateUpdate(PT(obj), PT(old), namespaced), tc.want...)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func objectMeta(name, namespace string) meta.ObjectMeta {
	return meta.ObjectMeta{Name: name, Namespace: namespace, UID: "uid-1", ResourceVersion: "1"}
}

func hasMessage(errs field.ErrorList, text string) bool {
	for _, e := range errs {
		if strings.Contains(e.Error(), text) {
			return true
		}
	}
	return false
}
