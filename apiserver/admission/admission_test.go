package admission_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// recorder is a plugin that notes when it runs, and fails if told to.
type recorder struct {
	name string
	log  *[]string
	fail error
}

func (r recorder) Name() string { return r.name }

type mutator struct{ recorder }

func (m mutator) Admit(_ context.Context, a *admission.Attributes) error {
	*m.log = append(*m.log, "admit "+m.name)
	a.AddWarning("from " + m.name)
	return m.fail
}

type validator struct{ recorder }

func (v validator) Validate(_ context.Context, _ *admission.Attributes) error {
	*v.log = append(*v.log, "validate "+v.name)
	return v.fail
}

type both struct{ recorder }

func (b both) Admit(context.Context, *admission.Attributes) error {
	*b.log = append(*b.log, "admit "+b.name)
	return nil
}

func (b both) Validate(context.Context, *admission.Attributes) error {
	*b.log = append(*b.log, "validate "+b.name)
	return b.fail
}

func TestChainRunsMutatorsThenValidatorsInOrder(t *testing.T) {
	var log []string
	c := admission.NewChain(
		validator{recorder{"v1", &log, nil}},
		mutator{recorder{"m1", &log, nil}},
		both{recorder{"b", &log, nil}},
		mutator{recorder{"m2", &log, nil}},
	)
	a := &admission.Attributes{Operation: admission.Create}
	if err := c.Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	want := []string{"admit m1", "admit b", "admit m2", "validate v1", "validate b"}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("ran %v, want %v", log, want)
	}
	if w := a.Warnings(); !reflect.DeepEqual(w, []string{"from m1", "from m2"}) {
		t.Errorf("warnings %v", w)
	}
	if got := c.Names(); !reflect.DeepEqual(got, []string{"v1", "m1", "b", "m2"}) {
		t.Errorf("names %v", got)
	}
}

func TestChainStopsAtTheFirstRefusal(t *testing.T) {
	var log []string
	no := errors.New("no")
	c := admission.NewChain(
		mutator{recorder{"m1", &log, no}},
		mutator{recorder{"m2", &log, nil}},
	)
	if err := c.Admit(context.Background(), &admission.Attributes{}); !errors.Is(err, no) {
		t.Fatalf("err %v, want %v", err, no)
	}
	if !reflect.DeepEqual(log, []string{"admit m1"}) {
		t.Errorf("ran %v", log)
	}
	var nilChain *admission.Chain
	if err := nilChain.Admit(context.Background(), &admission.Attributes{}); err != nil {
		t.Errorf("a nil chain refused: %v", err)
	}
}

func TestErrorsAreWordedAsKubernetes(t *testing.T) {
	pods := &registry.Kind{Group: "", Kind: "Pod", Resource: "pods"}
	deploys := &registry.Kind{Group: "apps", Kind: "Deployment", Resource: "deployments"}
	cases := []struct {
		err          *admission.Error
		code         int32
		reason, msg  string
		causeFields  []string
		detailsKind  string
		detailsGroup string
	}{
		{admission.Forbidden(&admission.Attributes{Kind: pods, Name: "p"}, "exceeded quota: q"), http.StatusForbidden, "Forbidden",
			`pods "p" is forbidden: exceeded quota: q`, nil, "pods", ""},
		{admission.Forbidden(&admission.Attributes{Kind: deploys, Name: "d"}, "no"), http.StatusForbidden, "Forbidden",
			`deployments.apps "d" is forbidden: no`, nil, "deployments", "apps"},
		{admission.Invalid(&admission.Attributes{Kind: pods, Name: "p"}, field.ErrorList{
			field.Invalid(field.NewPath("spec", "containers").Index(0).Child("resources", "limits", "cpu"), "3", "must be less than or equal to cpu limit of 2"),
			field.Required(field.NewPath("spec", "x"), ""),
		}), http.StatusUnprocessableEntity, "Invalid",
			`Pod "p" is invalid: [spec.containers[0].resources.limits.cpu: Invalid value: "3": must be less than or equal to cpu limit of 2, spec.x: Required value]`,
			[]string{"spec.containers[0].resources.limits.cpu", "spec.x"}, "Pod", ""},
		{admission.TooManyRequests(&admission.Attributes{Kind: pods, Name: "p"}, "Cannot evict pod as it would violate the pod's disruption budget."),
			http.StatusTooManyRequests, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", nil, "pods", ""},
	}
	for _, c := range cases {
		st := c.err.Status
		if st.Code != c.code || st.Reason != c.reason || st.Message != c.msg || st.Kind != "Status" {
			t.Errorf("got %d %s %q (kind %q), want %d %s %q", st.Code, st.Reason, st.Message, st.Kind, c.code, c.reason, c.msg)
			continue
		}
		if st.Details == nil || st.Details.Kind != c.detailsKind || st.Details.Group != c.detailsGroup {
			t.Errorf("%q: details %+v", c.msg, st.Details)
			continue
		}
		var fields []string
		for _, cause := range st.Details.Causes {
			fields = append(fields, cause.Field)
		}
		if !reflect.DeepEqual(fields, c.causeFields) {
			t.Errorf("%q: cause fields %v, want %v", c.msg, fields, c.causeFields)
		}
	}
}
