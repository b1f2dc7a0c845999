package runtimeclass_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/node"
	"github.com/skiff-sh/skiff/api/quota"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/admissiontest"
	"github.com/skiff-sh/skiff/apiserver/admission/runtimeclass"
)

func rl(cpu, mem string) core.ResourceList {
	return core.ResourceList{core.ResourceCPU: resource.MustParse(cpu), core.ResourceMemory: resource.MustParse(mem)}
}

func TestRuntimeClassAdmission(t *testing.T) {
	podKind, _ := registry.Default().Lookup("", "v1", "pods")
	gvisor := &node.RuntimeClass{ObjectMeta: meta.ObjectMeta{Name: "sandboxed"}, Handler: "runsc",
		Overhead: &node.Overhead{PodFixed: rl("250m", "120Mi")},
		Scheduling: &node.Scheduling{NodeSelector: map[string]string{"runtime": "gvisor"},
			Tolerations: []core.Toleration{{Key: "sandbox", Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule}}}}
	plain := &node.RuntimeClass{ObjectMeta: meta.ObjectMeta{Name: "plain"}, Handler: "runc"}
	cases := []struct {
		name     string
		class    string
		overhead core.ResourceList
		selector map[string]string
		tols     []core.Toleration
		// wants after admission
		wantOverhead core.ResourceList
		wantSelector map[string]string
		wantTols     []core.Toleration
		wantErr      string
	}{
		{name: "no class: untouched"},
		{name: "no class but an overhead", overhead: rl("1", "1Mi"),
			wantErr: `pods "p" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead`},
		{name: "unknown class", class: "missing", wantErr: `pods "p" is forbidden: pod rejected: RuntimeClass "missing" not found`},
		{name: "class without overhead or scheduling", class: "plain"},
		{name: "class without overhead, pod sets one", class: "plain", overhead: rl("1", "1Mi"),
			wantErr: "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"},
		{name: "overhead and scheduling copied", class: "sandboxed", selector: map[string]string{"disk": "ssd"},
			tols:         []core.Toleration{{Key: "a", Operator: core.TolerationOpEqual, Value: "b"}},
			wantOverhead: rl("250m", "120Mi"), wantSelector: map[string]string{"disk": "ssd", "runtime": "gvisor"},
			wantTols: []core.Toleration{{Key: "a", Operator: core.TolerationOpEqual, Value: "b"},
				{Key: "sandbox", Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule}}},
		{name: "the same overhead written differently is accepted", class: "sandboxed", overhead: rl("0.25", "120Mi"),
			wantOverhead: rl("250m", "120Mi"), wantSelector: map[string]string{"runtime": "gvisor"},
			wantTols: []core.Toleration{{Key: "sandbox", Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule}}},
		{name: "a different overhead", class: "sandboxed", overhead: rl("1", "120Mi"),
			wantErr: "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"},
		{name: "a conflicting node selector", class: "sandboxed", selector: map[string]string{"runtime": "kata"},
			wantErr: "conflict: runtimeClass.scheduling.nodeSelector[runtime] = gvisor; pod.spec.nodeSelector[runtime] = kata"},
		{name: "a pod toleration covering the class's keeps the pod's only", class: "sandboxed",
			tols:         []core.Toleration{{Operator: core.TolerationOpExists}},
			wantOverhead: rl("250m", "120Mi"), wantSelector: map[string]string{"runtime": "gvisor"},
			wantTols: []core.Toleration{{Operator: core.TolerationOpExists}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := admissiontest.NewObjects(gvisor, plain)
			p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "d"}}
			if c.class != "" {
				p.Spec.RuntimeClassName = &c.class
			}
			p.Spec.Overhead, p.Spec.NodeSelector, p.Spec.Tolerations = c.overhead, c.selector, c.tols
			a := &admission.Attributes{Operation: admission.Create, Kind: podKind, Namespace: "d", Name: "p", Object: p}
			pl := runtimeclass.New(objs)
			err := pl.Admit(context.Background(), a)
			if err == nil {
				err = pl.Validate(context.Background(), a)
			}
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
			if c.wantOverhead == nil {
				c.wantOverhead = c.overhead
			}
			if !quota.Equals(p.Spec.Overhead, c.wantOverhead) {
				t.Errorf("overhead %v, want %v", p.Spec.Overhead, c.wantOverhead)
			}
			if c.wantSelector == nil {
				c.wantSelector = c.selector
			}
			if !reflect.DeepEqual(p.Spec.NodeSelector, c.wantSelector) {
				t.Errorf("nodeSelector %v, want %v", p.Spec.NodeSelector, c.wantSelector)
			}
			if c.wantTols == nil {
				c.wantTols = c.tols
			}
			if !reflect.DeepEqual(p.Spec.Tolerations, c.wantTols) {
				t.Errorf("tolerations %+v, want %+v", p.Spec.Tolerations, c.wantTols)
			}
		})
	}
}

// Only pod creations are its business: updates, subresources and other kinds pass untouched.
func TestRuntimeClassIgnoresOtherWrites(t *testing.T) {
	podKind, _ := registry.Default().Lookup("", "v1", "pods")
	missing := "missing"
	p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "d"}, Spec: core.PodSpec{RuntimeClassName: &missing}}
	pl := runtimeclass.New(admissiontest.NewObjects())
	for _, a := range []*admission.Attributes{
		{Operation: admission.Update, Kind: podKind, Namespace: "d", Name: "p", Object: p, OldObject: p},
		{Operation: admission.Create, Kind: podKind, Subresource: "status", Namespace: "d", Name: "p", Object: p},
		{Operation: admission.Create, Kind: podKind, Namespace: "d", Name: "cm", Object: &core.ConfigMap{}},
	} {
		if err := pl.Admit(context.Background(), a); err != nil {
			t.Errorf("%s %s: %v", a.Operation, a.Subresource, err)
		}
	}
}
