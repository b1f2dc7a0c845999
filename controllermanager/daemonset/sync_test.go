package daemonset

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

// TestSyncPlacesPodsOnEligibleNodes calls sync on prepared caches and asserts the exact
// writes: one ControllerRevision, one pod per node the selector, affinity and taints admit
// (the rules shared with the scheduler, api/nodeaffinity and core's toleration helpers),
// and the status.
func TestSyncPlacesPodsOnEligibleNodes(t *testing.T) {
	f := testenv.NewFake(t)
	c := New(f.CC)
	c.now = func() time.Time { return time.Unix(2000, 0) }
	ds := &apps.DaemonSet{
		TypeMeta:   meta.TypeMeta{Kind: "DaemonSet", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "kube-system", Name: "agent", UID: "ds-uid", Generation: 1},
		Spec: apps.DaemonSetSpec{
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: core.PodTemplateSpec{
				ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec: core.PodSpec{
					NodeSelector: map[string]string{"zone": "a"},
					Containers:   []core.Container{{Name: "c", Image: "busybox"}},
				},
			},
		},
	}
	node := func(name, zone string, tweak func(*core.Node)) *core.Node {
		n := &core.Node{ObjectMeta: meta.ObjectMeta{Name: name, Labels: map[string]string{"zone": zone}}}
		if tweak != nil {
			tweak(n)
		}
		return n
	}
	c.sets.Indexer().Add(ds)
	for _, n := range []*core.Node{
		node("a-plain", "a", nil),
		node("b-plain", "b", nil), // the nodeSelector says no
		node("a-tainted", "a", func(n *core.Node) { // an untolerated NoSchedule taint says no
			n.Spec.Taints = []core.Taint{{Key: "dedicated", Value: "gpu", Effect: core.TaintEffectNoSchedule}}
		}),
		node("a-cordoned", "a", func(n *core.Node) { // daemons tolerate unschedulable
			n.Spec.Unschedulable = true
			n.Spec.Taints = []core.Taint{{Key: core.TaintNodeUnschedulable, Effect: core.TaintEffectNoSchedule}}
		}),
	} {
		c.nodes.Indexer().Add(n)
	}
	if err := c.sync(context.Background(), "kube-system/agent"); err != nil {
		t.Fatal(err)
	}
	const ns = "/apis/apps/v1/namespaces/kube-system"
	want := []string{
		"POST /api/v1/namespaces/kube-system/pods",
		"POST /api/v1/namespaces/kube-system/pods",
		"POST " + ns + "/controllerrevisions",
		"PUT " + ns + "/daemonsets/agent/status",
	}
	if got := f.WriteStrings(); !slices.Equal(got, want) {
		t.Fatalf("writes:\n got %q\nwant %q", got, want)
	}
	var placed []string
	for _, w := range f.Writes() {
		if w.Path != "/api/v1/namespaces/kube-system/pods" {
			continue
		}
		var p core.Pod
		if err := json.Unmarshal(w.Body, &p); err != nil {
			t.Fatal(err)
		}
		placed = append(placed, targetNode(&p))
		if r := meta.GetControllerOf(&p.ObjectMeta); r == nil || r.UID != "ds-uid" {
			t.Errorf("pod for %s has controller %+v", targetNode(&p), r)
		}
	}
	slices.Sort(placed)
	if !slices.Equal(placed, []string{"a-cordoned", "a-plain"}) {
		t.Errorf("pods placed on %v, want a-cordoned and a-plain", placed)
	}
}
