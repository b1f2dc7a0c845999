package daemonset_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/daemonset"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

func node(name string, labels map[string]string, taints ...core.Taint) *core.Node {
	return &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: name, Labels: labels}, Spec: core.NodeSpec{Taints: taints}}
}

func newDS(name string, tweak func(*apps.DaemonSet)) *apps.DaemonSet {
	ds := &apps.DaemonSet{TypeMeta: meta.TypeMeta{Kind: "DaemonSet", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: apps.DaemonSetSpec{
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "img:1"}}}},
		}}
	if tweak != nil {
		tweak(ds)
	}
	return ds
}

// placement is "node=image" for each live daemon pod, sorted.
func placement(t *testing.T, e *testenv.Env, app string) string {
	var out []string
	for _, p := range e.Pods(t, "default", "app="+app) {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Spec.NodeName+"="+p.Spec.Containers[0].Image)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func start(t *testing.T) *testenv.Env {
	e := testenv.New(t)
	e.Start(t, daemonset.New(e.CC))
	e.RunBinder(t)
	e.RunKubelet(t, &testenv.Kubelet{})
	return e
}

func TestEveryEligibleNode(t *testing.T) {
	e := start(t)
	testenv.Create(t, e, controller.Nodes, node("a", map[string]string{"disk": "ssd"}))
	testenv.Create(t, e, controller.Nodes, node("b", map[string]string{"disk": "ssd"}, core.Taint{Key: "dedicated", Value: "db", Effect: core.TaintEffectNoSchedule}))
	testenv.Create(t, e, controller.Nodes, node("c", map[string]string{"disk": "hdd"}))
	// Cordoned and not ready: the default tolerations still place a daemon there.
	testenv.Create(t, e, controller.Nodes, node("d", map[string]string{"disk": "ssd"},
		core.Taint{Key: core.TaintNodeUnschedulable, Effect: core.TaintEffectNoSchedule},
		core.Taint{Key: core.TaintNodeNotReady, Effect: core.TaintEffectNoExecute}))
	testenv.Create(t, e, controller.DaemonSets, newDS("agent", func(ds *apps.DaemonSet) {
		ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	}))
	testenv.Eventually(t, "one pod per eligible node", func() (bool, string) {
		ds := testenv.Get[apps.DaemonSet](t, e, controller.DaemonSets, "default", "agent")
		got := fmt.Sprintf("%s | desired=%d current=%d ready=%d updated=%d", placement(t, e, "agent"),
			ds.Status.DesiredNumberScheduled, ds.Status.CurrentNumberScheduled, ds.Status.NumberReady, ds.Status.UpdatedNumberScheduled)
		return got == "a=img:1 d=img:1 | desired=2 current=2 ready=2 updated=2", got
	})
	p := e.Pods(t, "default", "app=agent")[0]
	if n := len(p.Spec.Tolerations); n != 6 {
		t.Errorf("default tolerations: %+v", p.Spec.Tolerations)
	}
	terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || terms[0].MatchFields[0].Key != "metadata.name" {
		t.Errorf("pod not pinned by node affinity: %+v", terms)
	}

	// A new node gets one; a node that stops matching loses its pod.
	testenv.Create(t, e, controller.Nodes, node("e", map[string]string{"disk": "ssd"}))
	if err := controller.PatchMetadata(e.Ctx, e.Client, controller.Nodes, "", "a", "", map[string]any{"labels": map[string]string{"disk": "hdd"}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "placement follows the nodes", func() (bool, string) {
		got := placement(t, e, "agent")
		return got == "d=img:1 e=img:1", got
	})
}

// During a rolling update (maxUnavailable 1) at most one node lacks an available daemon.
func TestRollingUpdate(t *testing.T) {
	e := start(t)
	for _, n := range []string{"a", "b", "c"} {
		testenv.Create(t, e, controller.Nodes, node(n, nil))
	}
	testenv.Create(t, e, controller.DaemonSets, newDS("agent", nil))
	// Available everywhere as the controller sees it (its status): an old pod it has not yet
	// seen ready serves nothing, and is rightly replaced without waiting its turn.
	testenv.Eventually(t, "available everywhere", func() (bool, string) {
		ds := testenv.Get[apps.DaemonSet](t, e, controller.DaemonSets, "default", "agent")
		got := fmt.Sprintf("%s available=%d", placement(t, e, "agent"), ds.Status.NumberAvailable)
		return got == "a=img:1 b=img:1 c=img:1 available=3", got
	})

	var mu sync.Mutex
	var worst int
	var worstSeen string
	pods := informer.NewInformer(client.For[core.Pod](e.Client, controller.Pods), "default", client.ListOptions{LabelSelector: "app=agent"}, 0)
	check := func() {
		covered := map[string]bool{}
		var seen []string
		for _, p := range pods.Indexer().List() {
			if p.DeletionTimestamp == nil && p.IsReady() {
				covered[p.Spec.NodeName] = true
			}
			seen = append(seen, fmt.Sprintf("%s@%s:%s ready=%v deleting=%v", p.Name, p.Spec.NodeName, p.Spec.Containers[0].Image, p.IsReady(), p.DeletionTimestamp != nil))
		}
		sort.Strings(seen)
		mu.Lock()
		if 3-len(covered) > worst {
			worst, worstSeen = 3-len(covered), strings.Join(seen, "\n")
		}
		mu.Unlock()
	}
	pods.AddEventHandler(informer.Handler[*core.Pod]{UpdateFunc: func(_, _ *core.Pod) { check() }, DeleteFunc: func(*core.Pod) { check() }})
	go pods.Run(e.Ctx)
	informer.WaitForCacheSync(e.Ctx, pods.HasSynced)

	_, err := client.For[apps.DaemonSet](e.Client, controller.DaemonSets).Patch(e.Ctx, "default", "agent", client.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"img:2"}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "updated everywhere", func() (bool, string) {
		ds := testenv.Get[apps.DaemonSet](t, e, controller.DaemonSets, "default", "agent")
		got := fmt.Sprintf("%s updated=%d available=%d", placement(t, e, "agent"), ds.Status.UpdatedNumberScheduled, ds.Status.NumberAvailable)
		return got == "a=img:2 b=img:2 c=img:2 updated=3 available=3", got
	})
	mu.Lock()
	defer mu.Unlock()
	if worst > 1 {
		t.Errorf("%d nodes were without a ready daemon at once; maxUnavailable is 1; the pods then:\n%s", worst, worstSeen)
	}
}
