package scheduler_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

var (
	replicaSetsR = client.Resource{Group: "apps", Version: "v1", Resource: "replicasets", Namespaced: true}
	servicesR    = client.Resource{Version: "v1", Resource: "services", Namespaced: true}
)

// TestReplicasSpreadOverIdenticalNodes: the replicas of a workload, requesting nothing, spread
// evenly over two identical big nodes, even when created in one burst (each is scheduled
// while the previous bindings are in flight, so the assumed pods must count). On such nodes
// LeastAllocated cannot tell them apart (a default 100m out of 32 cores moves no whole
// point); the spreading comes from PodTopologySpread's system default constraints, which
// apply to pods selected by a ReplicaSet (or a Service).
func TestReplicasSpreadOverIdenticalNodes(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const rounds, replicas = 5, 4
	// The selecting objects exist before the nodes, so the scheduler knows them before it
	// can place any pod.
	rsets := client.For[apps.ReplicaSet](e.c, replicaSetsR)
	uids := map[string]string{}
	for r := range rounds - 1 {
		name := fmt.Sprintf("web%d", r)
		sel := map[string]string{"app": name}
		rs, err := rsets.Create(ctx, &apps.ReplicaSet{
			TypeMeta:   meta.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
			ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"},
			Spec: apps.ReplicaSetSpec{Replicas: ptr(int32(replicas)), Selector: &meta.LabelSelector{MatchLabels: sel},
				Template: core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: sel},
					Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox:1.36"}}}}},
		})
		if err != nil {
			t.Fatalf("create replica set: %v", err)
		}
		uids[name] = rs.UID
	}
	// The last round's pods have no controller, but a Service selects them.
	svc := &core.Service{ObjectMeta: meta.ObjectMeta{Name: "svc", Namespace: "default"},
		Spec: core.ServiceSpec{Selector: map[string]string{"app": "svc"}, Ports: []core.ServicePort{{Port: 80}}}}
	if _, err := client.For[core.Service](e.c, servicesR).Create(ctx, svc); err != nil {
		t.Fatalf("create service: %v", err)
	}
	e.addNode("n1", "32", "256Gi")
	e.addNode("n2", "32", "256Gi")
	e.waitCachedNodes(2)

	for r := range rounds {
		app := fmt.Sprintf("web%d", r)
		if r == rounds-1 {
			app = "svc"
		}
		for i := range replicas {
			opts := []podOpt{podLabels("app", app)}
			if uid, ok := uids[app]; ok {
				opts = append(opts, func(p *core.Pod) {
					p.OwnerReferences = []meta.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app, UID: uid,
						Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}
				})
			}
			e.addPod(fmt.Sprintf("%s-%d", app, i), opts...)
		}
		count := map[string]int{}
		for i := range replicas {
			count[e.waitBound(fmt.Sprintf("%s-%d", app, i))]++
		}
		if count["n1"] != replicas/2 || count["n2"] != replicas/2 {
			t.Errorf("%s: %d replicas placed %v, want %d on each node", app, replicas, count, replicas/2)
		}
	}
}
