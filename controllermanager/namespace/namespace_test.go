package namespace_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/namespace"
)

func nsObj(name string) *core.Namespace {
	return &core.Namespace{TypeMeta: meta.TypeMeta{Kind: "Namespace", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: name}}
}

func configMap(ns, name string, finalizers ...string) *core.ConfigMap {
	return &core.ConfigMap{TypeMeta: meta.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name, Finalizers: finalizers}}
}

var configMaps = client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}

func condition(ns *core.Namespace, t core.NamespaceConditionType) string {
	for _, c := range ns.Status.Conditions {
		if c.Type == t {
			return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
		}
	}
	return "<none>"
}

// A deleted namespace is emptied, waits for a pod's grace period (confirmed by the node
// agent) and for an object's finalizer, reports both in its conditions, and then goes away.
func TestDeleteNamespaceWaitsForContent(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, namespace.New(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{Only: func(p *core.Pod) bool { return p.DeletionTimestamp != nil }})

	testenv.Create(t, e, controller.Namespaces, nsObj("shop"))
	testenv.Create(t, e, configMaps, configMap("shop", "plain"))
	testenv.Create(t, e, configMaps, configMap("shop", "held", "example.com/hold"))
	pod := &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "shop", Name: "bound"},
		Spec:       core.PodSpec{NodeName: "node-1", Containers: []core.Container{{Name: "c", Image: "busybox"}}}}
	testenv.Create(t, e, controller.Pods, pod)

	namespaces := client.For[core.Namespace](e.Client, controller.Namespaces)
	if err := namespaces.Delete(e.Ctx, "", "shop", nil); err != nil {
		t.Fatal(err)
	}

	// The finalizer holds one config map; everything else goes.
	testenv.Eventually(t, "the namespace reports the held config map", func() (bool, string) {
		ns := testenv.Get[core.Namespace](t, e, controller.Namespaces, "", "shop")
		if ns == nil {
			return false, "namespace gone while an object still had a finalizer"
		}
		got := condition(ns, core.NamespaceFinalizersRemaining)
		return strings.HasPrefix(got, "True SomeFinalizersRemain: Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"), got
	})
	if p := testenv.Get[core.Pod](t, e, controller.Pods, "shop", "bound"); p != nil {
		t.Errorf("pod still there after the node agent confirmed: deletionTimestamp=%v", p.DeletionTimestamp)
	}
	if cm := testenv.Get[core.ConfigMap](t, e, configMaps, "shop", "plain"); cm != nil {
		t.Errorf("config map without finalizer still there")
	}
	held := testenv.Get[core.ConfigMap](t, e, configMaps, "shop", "held")
	if held == nil || held.DeletionTimestamp == nil {
		t.Fatalf("held config map should be marked for deletion: %+v", held)
	}

	// Releasing the finalizer lets the namespace finish.
	if err := controller.PatchMetadata(e.Ctx, e.Client, configMaps, "shop", "held", "", map[string]any{"finalizers": nil}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the namespace is gone", func() (bool, string) {
		ns := testenv.Get[core.Namespace](t, e, controller.Namespaces, "", "shop")
		if ns == nil {
			return true, ""
		}
		return false, fmt.Sprintf("phase %s, conditions %v", ns.Status.Phase, ns.Status.Conditions)
	})
	// A sync racing the last one may finalize again from a stale cache (answered 404), as in
	// Kubernetes; at least one finalize did the work.
	if got := e.Actions.List("PUT", "/api/v1/namespaces/shop/finalize"); len(got) == 0 {
		t.Errorf("namespace removed without a finalize call")
	}
}

// Namespaces that are not being deleted are left alone: no writes at all.
func TestActiveNamespaceUntouched(t *testing.T) {
	e := testenv.New(t)
	testenv.Create(t, e, controller.Namespaces, nsObj("quiet"))
	testenv.Create(t, e, configMaps, configMap("quiet", "a"))
	e.Actions.Reset()
	c := namespace.New(e.CC)
	e.Start(t, c)
	// A deleted second namespace proves the controller ran past "quiet".
	testenv.Create(t, e, controller.Namespaces, nsObj("gone"))
	if err := client.For[core.Namespace](e.Client, controller.Namespaces).Delete(e.Ctx, "", "gone", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "namespace gone is removed", func() (bool, string) {
		return testenv.Get[core.Namespace](t, e, controller.Namespaces, "", "gone") == nil, "still there"
	})
	for _, a := range e.Actions.List() {
		if strings.Contains(a, "/quiet") {
			t.Errorf("write to the active namespace: %s", a)
		}
	}
}
