package priority_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/admissiontest"
	"github.com/skiff-sh/skiff/apiserver/admission/priority"
)

func class(name string, value int32, def bool) *scheduling.PriorityClass {
	return &scheduling.PriorityClass{ObjectMeta: meta.ObjectMeta{Name: name}, Value: value, GlobalDefault: def}
}

func ptr[T any](v T) *T { return &v }

func TestPriority(t *testing.T) {
	podKind, _ := registry.Default().Lookup("", "v1", "pods")
	cases := []struct {
		name      string
		classes   []*scheduling.PriorityClass
		className string
		priority  *int32
		want      int32
		wantClass string
		wantErr   string
	}{
		{name: "no class, no default: 0"},
		{name: "named class", classes: []*scheduling.PriorityClass{class("high", 1000, false)}, className: "high", want: 1000, wantClass: "high"},
		{name: "the lowest global default", classes: []*scheduling.PriorityClass{class("a", 50, true), class("b", 10, true), class("c", 5, false)},
			want: 10, wantClass: "b"},
		{name: "missing class", className: "nope", wantErr: `pods "p" is forbidden: no PriorityClass with name nope was found`},
		{name: "a priority that disagrees", classes: []*scheduling.PriorityClass{class("high", 1000, false)}, className: "high", priority: ptr(int32(7)),
			wantErr: "the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000"},
		{name: "a priority that agrees", classes: []*scheduling.PriorityClass{class("high", 1000, false)}, className: "high", priority: ptr(int32(1000)),
			want: 1000, wantClass: "high"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := admissiontest.NewObjects()
			for _, pc := range c.classes {
				objs.Add(pc)
			}
			p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "d"}}
			p.Spec.PriorityClassName, p.Spec.Priority = c.className, c.priority
			a := &admission.Attributes{Operation: admission.Create, Kind: podKind, Namespace: "d", Name: "p", Object: p}
			err := priority.New(objs).Admit(context.Background(), a)
			if c.wantErr != "" {
				var ae *admission.Error
				if !errors.As(err, &ae) || ae.Status.Code != 403 || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want a 403 containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Spec.Priority == nil || *p.Spec.Priority != c.want || p.Spec.PriorityClassName != c.wantClass {
				t.Errorf("priority %v class %q, want %d %q", p.Spec.Priority, p.Spec.PriorityClassName, c.want, c.wantClass)
			}
			if p.Spec.PreemptionPolicy == nil || *p.Spec.PreemptionPolicy != core.PreemptLowerPriority {
				t.Errorf("preemption policy %v", p.Spec.PreemptionPolicy)
			}
		})
	}
}
