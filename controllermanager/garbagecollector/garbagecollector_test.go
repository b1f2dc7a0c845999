package garbagecollector_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/garbagecollector"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

var configMaps = client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}

func cm(name string, finalizers []string, owners ...*core.ConfigMap) *core.ConfigMap {
	c := &core.ConfigMap{TypeMeta: meta.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name, Finalizers: finalizers}}
	for _, o := range owners {
		c.OwnerReferences = append(c.OwnerReferences, meta.OwnerReference{APIVersion: "v1", Kind: "ConfigMap",
			Name: o.Name, UID: o.UID, BlockOwnerDeletion: controller.Ptr(true)})
	}
	return c
}

// state describes each named config map: "-" gone, "D" marked for deletion, "ok" present,
// plus its owners.
func state(t *testing.T, e *testenv.Env, names ...string) string {
	out := ""
	for _, n := range names {
		c := testenv.Get[core.ConfigMap](t, e, configMaps, "default", n)
		switch {
		case c == nil:
			out += n + ":- "
		default:
			s := "ok"
			if c.DeletionTimestamp != nil {
				s = "D"
			}
			var owners []string
			for _, r := range c.OwnerReferences {
				owners = append(owners, r.Name)
			}
			out += fmt.Sprintf("%s:%s%v ", n, s, owners)
		}
	}
	return out
}

func deleteCM(t *testing.T, e *testenv.Env, name, policy string) {
	t.Helper()
	var opts *meta.DeleteOptions
	if policy != "" {
		opts = &meta.DeleteOptions{PropagationPolicy: &policy}
	}
	if err := client.For[core.ConfigMap](e.Client, configMaps).Delete(e.Ctx, "default", name, opts); err != nil {
		t.Fatal(err)
	}
}

func waitState(t *testing.T, e *testenv.Env, want string, names ...string) {
	t.Helper()
	testenv.Eventually(t, want, func() (bool, string) {
		got := state(t, e, names...)
		return got == want, got
	})
}

func TestPropagation(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		// after is the state once the collector is done.
		after string
	}{
		{"background", "", "parent:- a:- b:- "},
		{"explicit background", meta.DeletePropagationBackground, "parent:- a:- b:- "},
		{"orphan", meta.DeletePropagationOrphan, "parent:- a:ok[] b:ok[] "},
		{"foreground", meta.DeletePropagationForeground, "parent:- a:- b:- "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testenv.New(t)
			e.Start(t, garbagecollector.New(e.CC))
			parent := testenv.Create(t, e, configMaps, cm("parent", nil))
			a := testenv.Create(t, e, configMaps, cm("a", nil, parent))
			testenv.Create(t, e, configMaps, cm("b", nil, parent))
			testenv.Create(t, e, configMaps, cm("grandchild", nil, a))
			deleteCM(t, e, "parent", tc.policy)
			want := tc.after
			if tc.policy == meta.DeletePropagationOrphan {
				want += "grandchild:ok[a] "
			} else {
				want += "grandchild:- "
			}
			waitState(t, e, want, "parent", "a", "b", "grandchild")
		})
	}
}

// Foreground deletion keeps the owner until every blocking dependent is gone, including
// one held by a finalizer of its own.
func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, garbagecollector.New(e.CC))
	parent := testenv.Create(t, e, configMaps, cm("parent", nil))
	testenv.Create(t, e, configMaps, cm("held", []string{"example.com/hold"}, parent))
	testenv.Create(t, e, configMaps, cm("free", nil, parent))
	deleteCM(t, e, "parent", meta.DeletePropagationForeground)
	waitState(t, e, "parent:D[] held:D[parent] free:- ", "parent", "held", "free")

	if err := controller.PatchMetadata(e.Ctx, e.Client, configMaps, "default", "held", "", map[string]any{"finalizers": nil}); err != nil {
		t.Fatal(err)
	}
	waitState(t, e, "parent:- held:- free:- ", "parent", "held", "free")
}

// A dependent with two owners loses only the reference to the one deleted.
func TestLiveOwnerKeepsDependent(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, garbagecollector.New(e.CC))
	p1 := testenv.Create(t, e, configMaps, cm("p1", nil))
	p2 := testenv.Create(t, e, configMaps, cm("p2", nil))
	testenv.Create(t, e, configMaps, cm("shared", nil, p1, p2))
	deleteCM(t, e, "p1", "")
	waitState(t, e, "p1:- p2:ok[] shared:ok[p2] ", "p1", "p2", "shared")
}

// Owners deleted while no collector ran, or replaced by a new object of the same name, are
// still recognised as gone.
func TestOwnerGoneBeforeStart(t *testing.T) {
	e := testenv.New(t)
	old := testenv.Create(t, e, configMaps, cm("old", nil))
	testenv.Create(t, e, configMaps, cm("child", nil, old))
	replaced := testenv.Create(t, e, configMaps, cm("replaced", nil))
	testenv.Create(t, e, configMaps, cm("child2", nil, replaced))
	deleteCM(t, e, "old", "")
	deleteCM(t, e, "replaced", "")
	testenv.Create(t, e, configMaps, cm("replaced", nil)) // same name, new uid
	alive := testenv.Create(t, e, configMaps, cm("alive", nil))
	testenv.Create(t, e, configMaps, cm("kept", nil, alive))

	e.Start(t, garbagecollector.New(e.CC))
	waitState(t, e, "child:- child2:- replaced:ok[] kept:ok[alive] ", "child", "child2", "replaced", "kept")
}

// Orphaning leaves dependents untouched but for the reference, and the collector writes
// nothing else.
func TestOrphanWrites(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, garbagecollector.New(e.CC))
	parent := testenv.Create(t, e, configMaps, cm("parent", nil))
	testenv.Create(t, e, configMaps, cm("a", nil, parent))
	e.Actions.Reset()
	deleteCM(t, e, "parent", meta.DeletePropagationOrphan)
	waitState(t, e, "parent:- a:ok[] ", "parent", "a")
	got := e.Actions.List()
	want := []string{
		"DELETE /api/v1/namespaces/default/configmaps/parent",
		"PATCH /api/v1/namespaces/default/configmaps/a",
		"PATCH /api/v1/namespaces/default/configmaps/parent",
	}
	if !slices.Equal(got, want) {
		t.Errorf("writes:\n got %v\nwant %v", got, want)
	}
}
