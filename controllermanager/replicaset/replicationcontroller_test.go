package replicaset_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/replicaset"
)

func getRC(t *testing.T, e *testenv.Env, name string) *core.ReplicationController {
	return testenv.Get[core.ReplicationController](t, e, controller.ReplicationControllers, "default", name)
}

// A ReplicationController is kept by the ReplicaSet controller's machinery: pods from its
// template owned by the ReplicationController (its kind in the reference), its status in the
// core/v1 shape, scaling through the scale subresource, adoption of a matching orphan and
// release of a pod whose labels stop matching.
func TestReplicationController(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, replicaset.NewReplicationManager(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{})
	rcs := client.For[core.ReplicationController](e.Client, controller.ReplicationControllers)

	orphan := testenv.Create(t, e, controller.Pods, &core.Pod{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "orphan", Labels: map[string]string{"app": "rc"}},
		Spec:       core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox"}}},
	})
	two := int32(2)
	// No selector: it defaults to the template's labels, and so do the labels.
	rc := testenv.Create(t, e, controller.ReplicationControllers, &core.ReplicationController{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "rc"},
		Spec: core.ReplicationControllerSpec{Replicas: &two, Template: &core.PodTemplateSpec{
			ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": "rc"}},
			Spec:       core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox"}}},
		}},
	})
	if rc.Spec.Selector["app"] != "rc" || rc.Labels["app"] != "rc" {
		t.Fatalf("defaults: selector %v labels %v", rc.Spec.Selector, rc.Labels)
	}
	status := func(want string) {
		t.Helper()
		testenv.Eventually(t, "status "+want, func() (bool, string) {
			s := getRC(t, e, "rc").Status
			got := fmt.Sprintf("replicas=%d ready=%d available=%d", s.Replicas, s.ReadyReplicas, s.AvailableReplicas)
			return got == want, got
		})
	}
	status("replicas=2 ready=2 available=2")
	pods := e.Pods(t, "default", "app=rc")
	if len(pods) != 2 {
		t.Fatalf("pods: %v", testenv.PodNames(pods))
	}
	for _, p := range pods {
		ref := meta.GetControllerOf(&p.ObjectMeta)
		if ref == nil || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || ref.UID != rc.UID {
			t.Errorf("pod %s: ownerReferences %+v", p.Name, p.OwnerReferences)
		}
		if p.Name == orphan.Name {
			continue
		}
		if !strings.HasPrefix(p.Name, "rc-") {
			t.Errorf("pod %s not named after the controller", p.Name)
		}
	}
	adopted := false
	for _, p := range pods {
		adopted = adopted || p.Name == "orphan"
	}
	if !adopted {
		t.Errorf("the matching orphan was not adopted: %v", testenv.PodNames(pods))
	}

	// Scaled up (the scale subresource is tested in the API server's tests).
	if _, err := rcs.Patch(e.Ctx, "default", "rc", client.MergePatchType, []byte(`{"spec":{"replicas":3}}`)); err != nil {
		t.Fatal(err)
	}
	status("replicas=3 ready=3 available=3")

	// Relabelled out of the selector: released (no owner), replaced.
	if _, err := client.For[core.Pod](e.Client, controller.Pods).Patch(e.Ctx, "default", "orphan", client.MergePatchType,
		[]byte(`{"metadata":{"labels":{"app":"gone"}}}`)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "orphan released", func() (bool, string) {
		p := testenv.Get[core.Pod](t, e, controller.Pods, "default", "orphan")
		return meta.GetControllerOf(&p.ObjectMeta) == nil, fmt.Sprint(p.OwnerReferences)
	})
	status("replicas=3 ready=3 available=3")
	if n := len(e.Pods(t, "default", "app=rc")); n != 3 {
		t.Errorf("%d pods after the release, want 3", n)
	}
}
