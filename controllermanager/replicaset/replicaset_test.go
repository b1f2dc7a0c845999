package replicaset_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/replicaset"
)

func replicaSet(name string, replicas int32, tweak func(*apps.ReplicaSet)) *apps.ReplicaSet {
	rs := &apps.ReplicaSet{
		TypeMeta:   meta.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: apps.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: core.PodTemplateSpec{
				ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": name, "tier": "web"}},
				Spec:       core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	if tweak != nil {
		tweak(rs)
	}
	return rs
}

func getRS(t *testing.T, e *testenv.Env, name string) *apps.ReplicaSet {
	return testenv.Get[apps.ReplicaSet](t, e, controller.ReplicaSets, "default", name)
}

func scale(t *testing.T, e *testenv.Env, name string, n int32) {
	t.Helper()
	_, err := client.For[apps.ReplicaSet](e.Client, controller.ReplicaSets).Patch(e.Ctx, "default", name, client.MergePatchType,
		[]byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)))
	if err != nil {
		t.Fatal(err)
	}
}

func statusString(rs *apps.ReplicaSet) string {
	s := rs.Status
	return fmt.Sprintf("replicas=%d fullyLabeled=%d ready=%d available=%d observedGeneration=%d/%d",
		s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas, s.AvailableReplicas, s.ObservedGeneration, rs.Generation)
}

func waitStatus(t *testing.T, e *testenv.Env, name, want string) {
	t.Helper()
	testenv.Eventually(t, name+" status "+want, func() (bool, string) {
		got := statusString(getRS(t, e, name))
		return strings.HasPrefix(got, want), got
	})
}

func TestScaleUpAndDown(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, replicaset.New(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{})
	rs := testenv.Create(t, e, controller.ReplicaSets, replicaSet("web", 3, nil))

	waitStatus(t, e, "web", "replicas=3 fullyLabeled=3 ready=3 available=3 observedGeneration=1/1")
	pods := e.Pods(t, "default", "app=web")
	if len(pods) != 3 {
		t.Fatalf("pods: %v", testenv.PodNames(pods))
	}
	for _, p := range pods {
		ref := meta.GetControllerOf(&p.ObjectMeta)
		if !strings.HasPrefix(p.Name, "web-") || ref == nil || ref.UID != rs.UID || ref.Kind != "ReplicaSet" ||
			ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion || p.Labels["tier"] != "web" {
			t.Errorf("pod %s: ownerReferences %+v labels %v", p.Name, p.OwnerReferences, p.Labels)
		}
	}
	if got := e.Actions.List("POST", "/namespaces/default/pods"); len(got) != 3 {
		t.Errorf("pod creations: %d, want exactly 3 (%v)", len(got), got)
	}
	if got := e.Events.List(controller.SuccessfulCreate); len(got) != 3 || !strings.HasPrefix(got[0].Message, "Created pod: web-") {
		t.Errorf("events: %v", got)
	}

	scale(t, e, "web", 1)
	waitStatus(t, e, "web", "replicas=1 fullyLabeled=1 ready=1 available=1 observedGeneration=2/2")
	testenv.Eventually(t, "one pod left", func() (bool, string) {
		pods := e.Pods(t, "default", "app=web")
		return len(pods) == 1, fmt.Sprint(testenv.PodNames(pods))
	})
	if got := e.Events.List(controller.SuccessfulDelete); len(got) != 2 {
		t.Errorf("delete events: %v", got)
	}
}

// Scaling down removes pending pods before not-ready ones before ready ones.
func TestScaleDownOrder(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, replicaset.New(e.CC))
	testenv.Create(t, e, controller.ReplicaSets, replicaSet("web", 3, nil))
	var pods []core.Pod
	testenv.Eventually(t, "three pods", func() (bool, string) {
		pods = e.Pods(t, "default", "app=web")
		return len(pods) == 3, fmt.Sprint(testenv.PodNames(pods))
	})
	ready, notReady := pods[0].Name, pods[1].Name // pods[2] stays Pending
	e.UpdatePodStatus(t, "default", ready, func(p *core.Pod) { testenv.SetPodPhase(p, core.PodRunning, true) })
	e.UpdatePodStatus(t, "default", notReady, func(p *core.Pod) { testenv.SetPodPhase(p, core.PodRunning, false) })
	waitStatus(t, e, "web", "replicas=3 fullyLabeled=3 ready=1")

	scale(t, e, "web", 2)
	testenv.Eventually(t, "the pending pod deleted first", func() (bool, string) {
		names := testenv.PodNames(e.Pods(t, "default", "app=web"))
		return fmt.Sprint(names) == fmt.Sprint([]string{ready, notReady}), fmt.Sprint(names)
	})
	scale(t, e, "web", 1)
	testenv.Eventually(t, "then the not-ready pod", func() (bool, string) {
		names := testenv.PodNames(e.Pods(t, "default", "app=web"))
		return fmt.Sprint(names) == fmt.Sprint([]string{ready}), fmt.Sprint(names)
	})
}

// A matching orphan is adopted (counting towards replicas); an owned pod whose labels stop
// matching is released and replaced.
func TestAdoptAndRelease(t *testing.T) {
	e := testenv.New(t)
	orphan := &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "orphan", Labels: map[string]string{"app": "web"}},
		Spec:       core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox"}}}}
	testenv.Create(t, e, controller.Pods, orphan)
	e.Start(t, replicaset.New(e.CC))
	rs := testenv.Create(t, e, controller.ReplicaSets, replicaSet("web", 2, nil))

	testenv.Eventually(t, "orphan adopted, one more created", func() (bool, string) {
		pods := e.Pods(t, "default", "app=web")
		owned := 0
		for _, p := range pods {
			if meta.IsControlledBy(&p.ObjectMeta, rs) {
				owned++
			}
		}
		return len(pods) == 2 && owned == 2, fmt.Sprintf("%d pods, %d owned", len(pods), owned)
	})
	waitStatus(t, e, "web", "replicas=2 fullyLabeled=1") // the orphan lacks the template's tier label

	if err := controller.PatchMetadata(e.Ctx, e.Client, controller.Pods, "default", "orphan", "", map[string]any{"labels": map[string]string{"app": "other"}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "relabelled pod released and replaced", func() (bool, string) {
		p := testenv.Get[core.Pod](t, e, controller.Pods, "default", "orphan")
		pods := e.Pods(t, "default", "app=web")
		return len(p.OwnerReferences) == 0 && len(pods) == 2, fmt.Sprintf("released pod refs %v, %d web pods", p.OwnerReferences, len(pods))
	})
}

// A pod the API server refuses gives a FailedCreate event and the ReplicaFailure condition,
// and is retried with backoff one pod per attempt (slow start), not replicas per attempt.
func TestFailedCreate(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, replicaset.New(e.CC))
	testenv.Create(t, e, controller.ReplicaSets, replicaSet("bad", 5, func(rs *apps.ReplicaSet) {
		rs.Spec.Template.Spec.PriorityClassName = "no-such-class"
	}))
	testenv.Eventually(t, "ReplicaFailure condition", func() (bool, string) {
		rs := getRS(t, e, "bad")
		for _, c := range rs.Status.Conditions {
			if c.Type == apps.ReplicaSetReplicaFailure && c.Status == core.ConditionTrue && c.Reason == "FailedCreate" &&
				strings.Contains(c.Message, "no-such-class") {
				return true, ""
			}
		}
		return false, fmt.Sprint(rs.Status.Conditions)
	})
	// Compare attempts with failure events at one instant: both grow one per sync.
	failed := e.Events.List(controller.FailedCreate)
	attempts := e.Actions.List("POST", "/namespaces/default/pods")
	if len(failed) == 0 || len(attempts) > len(failed)+1 {
		t.Errorf("%d create attempts for %d FailedCreate events: not slow-started", len(attempts), len(failed))
	}
	if len(failed) > 0 && !strings.HasPrefix(failed[0].Message, "Error creating: ") {
		t.Errorf("event: %v", failed[0])
	}
}

// Deleting a ReplicaSet's pods by hand: they are replaced.
func TestReplacesDeletedPods(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, replicaset.New(e.CC))
	testenv.Create(t, e, controller.ReplicaSets, replicaSet("web", 2, nil))
	var pods []core.Pod
	testenv.Eventually(t, "two pods", func() (bool, string) {
		pods = e.Pods(t, "default", "app=web")
		return len(pods) == 2, fmt.Sprint(testenv.PodNames(pods))
	})
	if err := client.For[core.Pod](e.Client, controller.Pods).Delete(context.Background(), "default", pods[0].Name, nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "replacement", func() (bool, string) {
		now := e.Pods(t, "default", "app=web")
		names := testenv.PodNames(now)
		return len(now) == 2 && !strings.Contains(fmt.Sprint(names), pods[0].Name), fmt.Sprint(names)
	})
}
