package deployment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/deployment"
	"github.com/skiff-sh/skiff/controllermanager/garbagecollector"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/replicaset"
)

func newDeployment(name string, replicas int32, tweak func(*apps.Deployment)) *apps.Deployment {
	d := &apps.Deployment{
		TypeMeta:   meta.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: apps.DeploymentSpec{
			Replicas: &replicas,
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: core.PodTemplateSpec{
				ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       core.PodSpec{Containers: []core.Container{{Name: "c", Image: "img:1"}}},
			},
		},
	}
	if tweak != nil {
		tweak(d)
	}
	return d
}

func start(t *testing.T, k *testenv.Kubelet) *testenv.Env {
	e := testenv.New(t)
	e.Start(t, replicaset.New(e.CC), deployment.New(e.CC), garbagecollector.New(e.CC))
	e.RunKubelet(t, k)
	return e
}

func getD(t *testing.T, e *testenv.Env, name string) *apps.Deployment {
	return testenv.Get[apps.Deployment](t, e, controller.Deployments, "default", name)
}

func replicaSets(t *testing.T, e *testenv.Env, app string) []apps.ReplicaSet {
	list, err := client.For[apps.ReplicaSet](e.Client, controller.ReplicaSets).List(e.Ctx, "default", client.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(list.Items, func(i, j int) bool {
		return list.Items[i].Annotations[deployment.RevisionAnnotation] < list.Items[j].Annotations[deployment.RevisionAnnotation]
	})
	return list.Items
}

// rsSummary is "revision:name-suffix=spec/available" per ReplicaSet, by revision.
func rsSummary(sets []apps.ReplicaSet) string {
	var parts []string
	for _, rs := range sets {
		parts = append(parts, fmt.Sprintf("%s:%d/%d", rs.Annotations[deployment.RevisionAnnotation], *rs.Spec.Replicas, rs.Status.AvailableReplicas))
	}
	return strings.Join(parts, " ")
}

func condition(d *apps.Deployment, t apps.DeploymentConditionType) string {
	for _, c := range d.Status.Conditions {
		if c.Type == t {
			return fmt.Sprintf("%s %s", c.Status, c.Reason)
		}
	}
	return "<none>"
}

// complete is what kubectl rollout status waits for.
func complete(d *apps.Deployment) (bool, string) {
	s := d.Status
	got := fmt.Sprintf("gen %d/%d replicas %d updated %d available %d progressing %q", s.ObservedGeneration, d.Generation,
		s.Replicas, s.UpdatedReplicas, s.AvailableReplicas, condition(d, apps.DeploymentProgressing))
	want := *d.Spec.Replicas
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want &&
		condition(d, apps.DeploymentProgressing) == "True NewReplicaSetAvailable", got
}

func waitComplete(t *testing.T, e *testenv.Env, name string) {
	t.Helper()
	testenv.Eventually(t, name+" rolled out", func() (bool, string) { return complete(getD(t, e, name)) })
}

func patchD(t *testing.T, e *testenv.Env, name, patch string) {
	t.Helper()
	_, err := client.For[apps.Deployment](e.Client, controller.Deployments).Patch(e.Ctx, "default", name, client.StrategicMergePatchType, []byte(patch))
	if err != nil {
		t.Fatal(err)
	}
}

func setImage(t *testing.T, e *testenv.Env, name, image string) {
	patchD(t, e, name, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image))
}

func TestCreateAndStatus(t *testing.T) {
	e := start(t, &testenv.Kubelet{})
	testenv.Create(t, e, controller.Deployments, newDeployment("web", 3, func(d *apps.Deployment) {
		d.Annotations = map[string]string{"kubernetes.io/change-cause": "first"}
	}))
	waitComplete(t, e, "web")
	d := getD(t, e, "web")
	if got := condition(d, apps.DeploymentAvailable); got != "True MinimumReplicasAvailable" {
		t.Errorf("Available: %s", got)
	}
	if d.Annotations[deployment.RevisionAnnotation] != "1" {
		t.Errorf("deployment revision annotation: %v", d.Annotations)
	}
	sets := replicaSets(t, e, "web")
	if len(sets) != 1 {
		t.Fatalf("replica sets: %s", rsSummary(sets))
	}
	rs := sets[0]
	hash := rs.Labels[apps.DefaultDeploymentUniqueLabelKey]
	if hash == "" || rs.Name != "web-"+hash || rs.Spec.Selector.MatchLabels[apps.DefaultDeploymentUniqueLabelKey] != hash ||
		rs.Spec.Template.Labels[apps.DefaultDeploymentUniqueLabelKey] != hash || !meta.IsControlledBy(&rs.ObjectMeta, d) {
		t.Errorf("replica set %s: labels %v selector %v", rs.Name, rs.Labels, rs.Spec.Selector)
	}
	for k, v := range map[string]string{deployment.RevisionAnnotation: "1", deployment.DesiredReplicasAnnotation: "3",
		deployment.MaxReplicasAnnotation: "4", "kubernetes.io/change-cause": "first"} {
		if rs.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, rs.Annotations[k], v)
		}
	}
	want := fmt.Sprintf("Scaled up replica set %s from 0 to 3", rs.Name)
	if ev := e.Events.List("ScalingReplicaSet"); len(ev) != 1 || ev[0].Message != want {
		t.Errorf("events %v, want %q", ev, want)
	}
}

// invariant watches ReplicaSets and pods during a rollout and records every moment when
// the Deployment's guarantees are broken: the ReplicaSets' sizes sum to at most
// replicas+maxSurge, and at least replicas-maxUnavailable pods are ready. (Pods themselves can
// briefly exceed the surge: a ReplicaSet scaled down deletes its pod a moment after the new
// one was allowed to grow; Kubernetes bounds the sizes, not the pods.)
type invariant struct {
	mu         sync.Mutex
	history    []string // the ReplicaSet sizes after each change, to explain a violation
	violations []string
	maxTotal   int32
	minReady   int
}

func watchInvariant(t *testing.T, e *testenv.Env, app string, maxTotal int32, minReady int) *invariant {
	inv := &invariant{maxTotal: maxTotal, minReady: minReady}
	sets := informer.NewInformer(client.For[apps.ReplicaSet](e.Client, controller.ReplicaSets), "default", client.ListOptions{LabelSelector: "app=" + app}, 0)
	pods := informer.NewInformer(client.For[core.Pod](e.Client, controller.Pods), "default", client.ListOptions{LabelSelector: "app=" + app}, 0)
	check := func() {
		inv.mu.Lock()
		defer inv.mu.Unlock()
		var total int32
		var detail []string
		for _, rs := range sets.Indexer().List() {
			total += *rs.Spec.Replicas
			detail = append(detail, fmt.Sprintf("%s@%s=%d", rs.Name, rs.ResourceVersion, *rs.Spec.Replicas))
		}
		inv.history = append(inv.history, fmt.Sprint(detail))
		if total > inv.maxTotal {
			recent := inv.history[max(0, len(inv.history)-10):]
			inv.violations = append(inv.violations, fmt.Sprintf("replica sets sum to %d > %d; the last changes:\n%s", total, inv.maxTotal, strings.Join(recent, "\n")))
		}
		ready := 0
		for _, p := range pods.Indexer().List() {
			if p.DeletionTimestamp == nil && p.IsReady() {
				ready++
			}
		}
		if pods.HasSynced() && ready < inv.minReady {
			inv.violations = append(inv.violations, fmt.Sprintf("%d ready pods < %d", ready, inv.minReady))
		}
	}
	sets.AddEventHandler(informer.Handler[*apps.ReplicaSet]{AddFunc: func(*apps.ReplicaSet) { check() }, UpdateFunc: func(_, _ *apps.ReplicaSet) { check() }})
	pods.AddEventHandler(informer.Handler[*core.Pod]{UpdateFunc: func(_, _ *core.Pod) { check() }, DeleteFunc: func(*core.Pod) { check() }})
	ctx, cancel := context.WithCancel(e.Ctx)
	t.Cleanup(cancel)
	go sets.Run(ctx)
	go pods.Run(ctx)
	informer.WaitForCacheSync(ctx, sets.HasSynced, pods.HasSynced)
	return inv
}

func (inv *invariant) check(t *testing.T) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.violations) > 0 {
		t.Errorf("rollout broke its bounds %d times, first: %s", len(inv.violations), inv.violations[0])
	}
}

func TestRollingUpdateUndoAndHistory(t *testing.T) {
	e := start(t, &testenv.Kubelet{})
	testenv.Create(t, e, controller.Deployments, newDeployment("web", 4, func(d *apps.Deployment) {
		d.Spec.Strategy = apps.DeploymentStrategy{Type: apps.RollingUpdateDeploymentStrategyType, RollingUpdate: &apps.RollingUpdateDeployment{
			MaxSurge: controller.Ptr(intstr.FromInt(1)), MaxUnavailable: controller.Ptr(intstr.FromInt(1))}}
	}))
	waitComplete(t, e, "web")
	inv := watchInvariant(t, e, "web", 5, 3)

	// kubectl set image
	setImage(t, e, "web", "img:2")
	waitComplete(t, e, "web")
	testenv.Eventually(t, "old scaled down", func() (bool, string) {
		got := rsSummary(replicaSets(t, e, "web"))
		return got == "1:0/0 2:4/4", got
	})
	pods := e.Pods(t, "default", "app=web")
	for _, p := range pods {
		if p.Spec.Containers[0].Image != "img:2" {
			t.Errorf("pod %s runs %s", p.Name, p.Spec.Containers[0].Image)
		}
	}

	// kubectl rollout undo: the template of revision 1 goes back into the Deployment; its
	// ReplicaSet comes back as revision 3 and remembers it was revision 1.
	sets := replicaSets(t, e, "web")
	first := sets[0].Name
	tmpl := sets[0].Spec.Template
	delete(tmpl.Labels, apps.DefaultDeploymentUniqueLabelKey)
	body, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
	if _, err := client.For[apps.Deployment](e.Client, controller.Deployments).Patch(e.Ctx, "default", "web", client.JSONPatchType, body); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, e, "web")
	testenv.Eventually(t, "revision 1 back as 3", func() (bool, string) {
		sets := replicaSets(t, e, "web")
		got := rsSummary(sets)
		return got == "2:0/0 3:4/4" && sets[1].Name == first && sets[1].Annotations[deployment.RevisionHistoryAnnotation] == "1",
			fmt.Sprintf("%s (revision 3 is %s with history %q)", got, sets[len(sets)-1].Name, sets[len(sets)-1].Annotations[deployment.RevisionHistoryAnnotation])
	})
	if d := getD(t, e, "web"); d.Annotations[deployment.RevisionAnnotation] != "3" {
		t.Errorf("deployment revision %q", d.Annotations[deployment.RevisionAnnotation])
	}
	if n := len(replicaSets(t, e, "web")); n != 2 {
		t.Errorf("%d replica sets, want 2: undo must reuse the old one", n)
	}
	inv.check(t)
}

func TestScalePauseResume(t *testing.T) {
	e := start(t, &testenv.Kubelet{})
	testenv.Create(t, e, controller.Deployments, newDeployment("web", 2, nil))
	waitComplete(t, e, "web")

	patchD(t, e, "web", `{"spec":{"replicas":5}}`)
	waitComplete(t, e, "web")
	if got := rsSummary(replicaSets(t, e, "web")); got != "1:5/5" {
		t.Errorf("after scale: %s", got)
	}

	patchD(t, e, "web", `{"spec":{"paused":true}}`)
	testenv.Eventually(t, "paused condition", func() (bool, string) {
		got := condition(getD(t, e, "web"), apps.DeploymentProgressing)
		return got == "Unknown DeploymentPaused", got
	})
	setImage(t, e, "web", "img:2")
	patchD(t, e, "web", `{"spec":{"replicas":3}}`)
	testenv.Eventually(t, "a paused deployment scales but does not roll out", func() (bool, string) {
		got := rsSummary(replicaSets(t, e, "web"))
		d := getD(t, e, "web")
		return got == "1:3/3" && d.Status.ObservedGeneration == d.Generation, got
	})

	patchD(t, e, "web", `{"spec":{"paused":false}}`)
	waitComplete(t, e, "web")
	if got := rsSummary(replicaSets(t, e, "web")); got != "1:0/0 2:3/3" {
		t.Errorf("after resume: %s", got)
	}
}

// Recreate never runs old and new pods together.
func TestRecreate(t *testing.T) {
	e := start(t, &testenv.Kubelet{})
	testenv.Create(t, e, controller.Deployments, newDeployment("web", 3, func(d *apps.Deployment) {
		d.Spec.Strategy = apps.DeploymentStrategy{Type: apps.RecreateDeploymentStrategyType}
	}))
	waitComplete(t, e, "web")

	var mu sync.Mutex
	var mixed []string
	pods := informer.NewInformer(client.For[core.Pod](e.Client, controller.Pods), "default", client.ListOptions{LabelSelector: "app=web"}, 0)
	check := func(*core.Pod) {
		images := map[string]bool{}
		for _, p := range pods.Indexer().List() {
			images[p.Spec.Containers[0].Image] = true
		}
		if len(images) > 1 {
			mu.Lock()
			mixed = append(mixed, fmt.Sprint(images))
			mu.Unlock()
		}
	}
	pods.AddEventHandler(informer.Handler[*core.Pod]{AddFunc: check})
	go pods.Run(e.Ctx)
	informer.WaitForCacheSync(e.Ctx, pods.HasSynced)

	setImage(t, e, "web", "img:2")
	waitComplete(t, e, "web")
	if got := rsSummary(replicaSets(t, e, "web")); got != "1:0/0 2:3/3" {
		t.Errorf("replica sets: %s", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mixed) > 0 {
		t.Errorf("old and new pods together: %v", mixed)
	}
}

func TestProgressDeadlineExceeded(t *testing.T) {
	e := start(t, &testenv.Kubelet{Ready: func(p *core.Pod) bool { return p.Spec.Containers[0].Image != "broken" }})
	testenv.Create(t, e, controller.Deployments, newDeployment("web", 2, func(d *apps.Deployment) {
		d.Spec.ProgressDeadlineSeconds = controller.Ptr(int32(1))
	}))
	waitComplete(t, e, "web")
	setImage(t, e, "web", "broken")
	testenv.Eventually(t, "rollout reported stuck", func() (bool, string) {
		got := condition(getD(t, e, "web"), apps.DeploymentProgressing)
		return got == "False ProgressDeadlineExceeded", got
	})
	// The old pods keep serving: the rollout stalls within maxUnavailable (25% of 2 = 0).
	if got := rsSummary(replicaSets(t, e, "web")); got != "1:2/2 2:1/0" {
		t.Errorf("replica sets: %s", got)
	}
}

func TestRevisionHistoryLimit(t *testing.T) {
	e := start(t, &testenv.Kubelet{})
	testenv.Create(t, e, controller.Deployments, newDeployment("web", 1, func(d *apps.Deployment) {
		d.Spec.RevisionHistoryLimit = controller.Ptr(int32(1))
	}))
	for i := 2; i <= 4; i++ {
		waitComplete(t, e, "web")
		setImage(t, e, "web", fmt.Sprintf("img:%d", i))
	}
	waitComplete(t, e, "web")
	testenv.Eventually(t, "history trimmed to one old replica set", func() (bool, string) {
		got := rsSummary(replicaSets(t, e, "web"))
		return got == "3:0/0 4:1/1", got
	})
}

// Scaled in the middle of a stuck rollout, the Deployment spreads the new replicas over both
// ReplicaSets in proportion (Kubernetes' documented example: 10→15 with 8 old and 5 new
// gives 11 and 7).
func TestProportionalScalingMidRollout(t *testing.T) {
	e := start(t, &testenv.Kubelet{Ready: func(p *core.Pod) bool { return p.Spec.Containers[0].Image != "broken" }})
	testenv.Create(t, e, controller.Deployments, newDeployment("web", 10, func(d *apps.Deployment) {
		d.Spec.Strategy = apps.DeploymentStrategy{Type: apps.RollingUpdateDeploymentStrategyType, RollingUpdate: &apps.RollingUpdateDeployment{
			MaxSurge: controller.Ptr(intstr.FromInt(3)), MaxUnavailable: controller.Ptr(intstr.FromInt(2))}}
	}))
	waitComplete(t, e, "web")
	setImage(t, e, "web", "broken")
	testenv.Eventually(t, "rollout stuck at 8 old and 5 new", func() (bool, string) {
		got := rsSummary(replicaSets(t, e, "web"))
		return got == "1:8/8 2:5/0", got
	})
	patchD(t, e, "web", `{"spec":{"replicas":15}}`)
	testenv.Eventually(t, "15 spread 11/7", func() (bool, string) {
		got := rsSummary(replicaSets(t, e, "web"))
		return strings.HasPrefix(got, "1:11/") && strings.HasPrefix(strings.Fields(got)[1], "2:7/"), got
	})
}

// Deleting a Deployment deletes its ReplicaSets and their pods (background), or leaves them
// (orphan).
func TestDeleteCascades(t *testing.T) {
	for _, policy := range []string{meta.DeletePropagationBackground, meta.DeletePropagationForeground, meta.DeletePropagationOrphan} {
		t.Run(policy, func(t *testing.T) {
			e := start(t, &testenv.Kubelet{})
			testenv.Create(t, e, controller.Deployments, newDeployment("web", 2, nil))
			waitComplete(t, e, "web")
			err := client.For[apps.Deployment](e.Client, controller.Deployments).Delete(e.Ctx, "default", "web", &meta.DeleteOptions{PropagationPolicy: &policy})
			if err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, "cascade "+policy, func() (bool, string) {
				d := getD(t, e, "web")
				sets, pods := replicaSets(t, e, "web"), e.Pods(t, "default", "app=web")
				got := fmt.Sprintf("deployment %v, %d replica sets, %d pods", d != nil, len(sets), len(pods))
				if policy == meta.DeletePropagationOrphan {
					return got == "deployment false, 1 replica sets, 2 pods" && len(sets[0].OwnerReferences) == 0, got
				}
				return got == "deployment false, 0 replica sets, 0 pods", got
			})
		})
	}
}
