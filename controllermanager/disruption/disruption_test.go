package disruption_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/policy"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/disruption"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/replicaset"
)

func replicaSet(name string, replicas int32) *apps.ReplicaSet {
	return &apps.ReplicaSet{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: apps.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: core.PodTemplateSpec{
				ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
}

func budget(name, app string, minAvailable, maxUnavailable *intstr.IntOrString) *policy.PodDisruptionBudget {
	return &policy.PodDisruptionBudget{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: policy.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
}

func ptr(v intstr.IntOrString) *intstr.IntOrString { return &v }

func status(p *policy.PodDisruptionBudget) string {
	s := p.Status
	cond := ""
	for _, c := range s.Conditions {
		if c.Type == policy.DisruptionAllowedCondition {
			cond = c.Status + "/" + c.Reason
		}
	}
	return fmt.Sprintf("expected=%d desired=%d healthy=%d allowed=%d observed=%d/%d %s",
		s.ExpectedPods, s.DesiredHealthy, s.CurrentHealthy, s.DisruptionsAllowed, s.ObservedGeneration, p.Generation, cond)
}

func waitStatus(t *testing.T, e *testenv.Env, name, want string) {
	t.Helper()
	testenv.Eventually(t, name+" "+want, func() (bool, string) {
		got := status(testenv.Get[policy.PodDisruptionBudget](t, e, disruption.PodDisruptionBudgets, "default", name))
		return got == want, got
	})
}

func evict(e *testenv.Env, name string) error {
	body := &policy.Eviction{TypeMeta: meta.TypeMeta{Kind: "Eviction", APIVersion: "policy/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name}}
	var out meta.Status
	return client.For[core.Pod](e.Client, controller.Pods).CreateSubresource(e.Ctx, "default", name, "eviction", body, &out)
}

// A budget of minAvailable 2 over 3 ready pods allows one eviction; the second is refused
// with 429 until the replacement is ready.
func TestMinAvailableAndEviction(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, replicaset.New(e.CC), disruption.New(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{})
	testenv.Create(t, e, controller.ReplicaSets, replicaSet("web", 3))
	testenv.Create(t, e, disruption.PodDisruptionBudgets, budget("web", "web", ptr(intstr.FromInt(2)), nil))
	waitStatus(t, e, "web", "expected=3 desired=2 healthy=3 allowed=1 observed=1/1 True/SufficientPods")

	pods := e.Pods(t, "default", "app=web")
	if err := evict(e, pods[0].Name); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	err := evict(e, pods[1].Name)
	var se *client.StatusError
	if !client.IsTooManyRequests(err) || !asStatus(err, &se) {
		t.Fatalf("second eviction: %v, want 429", err)
	}
	if se.Status.Message != "Cannot evict pod as it would violate the pod's disruption budget." ||
		se.Status.Details == nil || len(se.Status.Details.Causes) != 1 || se.Status.Details.Causes[0].Type != policy.DisruptionBudgetCause ||
		!strings.HasPrefix(se.Status.Details.Causes[0].Message, "The disruption budget web needs 2 healthy pods and has ") {
		t.Fatalf("429 status: %+v %+v", se.Status, se.Status.Details)
	}
	if _, err := client.For[core.Pod](e.Client, controller.Pods).Get(e.Ctx, "default", pods[1].Name); err != nil {
		t.Fatalf("the refused pod is gone: %v", err)
	}
	// The replacement becomes ready: one disruption is allowed again, and the second
	// eviction goes through.
	waitStatus(t, e, "web", "expected=3 desired=2 healthy=3 allowed=1 observed=1/1 True/SufficientPods")
	testenv.Eventually(t, "second eviction", func() (bool, string) {
		err := evict(e, pods[1].Name)
		return err == nil, fmt.Sprint(err)
	})
}

// maxUnavailable and percentages count the controller's scale, not the pods that exist.
func TestMaxUnavailableUsesScale(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, replicaset.New(e.CC), disruption.New(e.CC))
	// Only two of four pods become ready.
	ready := map[string]bool{}
	e.RunKubelet(t, &testenv.Kubelet{Ready: func(p *core.Pod) bool {
		if _, ok := ready[p.Name]; !ok {
			ready[p.Name] = len(ready) < 2
		}
		return ready[p.Name]
	}})
	testenv.Create(t, e, controller.ReplicaSets, replicaSet("api", 4))
	testenv.Create(t, e, disruption.PodDisruptionBudgets, budget("half", "api", nil, ptr(intstr.FromString("50%"))))
	testenv.Create(t, e, disruption.PodDisruptionBudgets, budget("most", "api", ptr(intstr.FromString("75%")), nil))
	waitStatus(t, e, "half", "expected=4 desired=2 healthy=2 allowed=0 observed=1/1 False/InsufficientPods")
	waitStatus(t, e, "most", "expected=4 desired=3 healthy=2 allowed=0 observed=1/1 False/InsufficientPods")

	// An unready pod may go when the budget's policy says AlwaysAllow (here: several
	// budgets match, which the eviction subresource refuses first).
	var unready string
	for _, p := range e.Pods(t, "default", "app=api") {
		if !p.IsReady() {
			unready = p.Name
		}
	}
	if err := evict(e, unready); err == nil || !strings.Contains(err.Error(), "more than one PodDisruptionBudget") {
		t.Fatalf("eviction under two budgets: %v", err)
	}
}

// A pod that is not ready may be evicted under AlwaysAllow even when no disruption is
// allowed; under the default policy it may not while the application is below its budget.
func TestUnhealthyPodEvictionPolicy(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, replicaset.New(e.CC), disruption.New(e.CC))
	ready := map[string]bool{}
	e.RunKubelet(t, &testenv.Kubelet{Ready: func(p *core.Pod) bool {
		if _, ok := ready[p.Name]; !ok {
			ready[p.Name] = len(ready) < 1
		}
		return ready[p.Name]
	}})
	testenv.Create(t, e, controller.ReplicaSets, replicaSet("db", 2))
	pdb := budget("db", "db", ptr(intstr.FromInt(2)), nil)
	testenv.Create(t, e, disruption.PodDisruptionBudgets, pdb)
	waitStatus(t, e, "db", "expected=2 desired=2 healthy=1 allowed=0 observed=1/1 False/InsufficientPods")
	var unready string
	for _, p := range e.Pods(t, "default", "app=db") {
		if !p.IsReady() && p.Status.Phase == core.PodRunning {
			unready = p.Name
		}
	}
	if unready == "" {
		t.Fatal("no running unready pod")
	}
	if err := evict(e, unready); !client.IsTooManyRequests(err) {
		t.Fatalf("unready pod under IfHealthyBudget: %v, want 429", err)
	}
	always := policy.AlwaysAllow
	_, err := client.For[policy.PodDisruptionBudget](e.Client, disruption.PodDisruptionBudgets).Patch(e.Ctx, "default", "db", client.MergePatchType,
		[]byte(`{"spec":{"unhealthyPodEvictionPolicy":"`+string(always)+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, "db", "expected=2 desired=2 healthy=1 allowed=0 observed=2/2 False/InsufficientPods")
	if err := evict(e, unready); err != nil {
		t.Fatalf("unready pod under AlwaysAllow: %v", err)
	}
}

func asStatus(err error, target **client.StatusError) bool {
	return errors.As(err, target)
}
