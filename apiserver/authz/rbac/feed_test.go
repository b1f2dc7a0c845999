package rbac

import (
	"context"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/authz"
	"github.com/skiff-sh/skiff/storage/storagetest"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// TestFeedFromWatchCaches: the authorizer loads what the watch caches hold before it is
// synced, then follows their changes.
func TestFeedFromWatchCaches(t *testing.T) {
	store, _ := storagetest.NewStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg := registry.Default()
	kinds := map[string]*registry.Kind{}
	caches := map[string]*watchcache.Cache{}
	for _, res := range []string{"roles", "clusterroles", "rolebindings", "clusterrolebindings"} {
		k, _ := reg.Lookup(rbacv1.GroupName, rbacv1.Version, res)
		kinds[res] = k
		caches[res] = watchcache.New(store, k.Prefix(""), k.New, watchcache.Options{})
		go caches[res].Run(ctx)
	}
	put := func(res string, obj meta.Object) {
		t.Helper()
		m := obj.GetObjectMeta()
		if err := store.Create(ctx, kinds[res].Key(m.Namespace, m.Name), obj); err != nil {
			t.Fatal(err)
		}
	}
	// Present before the authorizer starts.
	put("clusterroles", &rbacv1.ClusterRole{ObjectMeta: om("", "pod-reader"), Rules: podReader})
	put("clusterrolebindings", &rbacv1.ClusterRoleBinding{ObjectMeta: om("", "alice"),
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pod-reader"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}})

	// The caches hold both before the authorizer starts.
	rev, err := store.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caches {
		// WaitUntilFresh gives up after 3 s, as Kubernetes' cache does; a loaded machine
		// may need longer for a cache's first list, so ask again until the test's deadline.
		deadline := time.Now().Add(60 * time.Second)
		for {
			err := c.WaitUntilFresh(ctx, rev)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
		}
	}
	a := New(Sources{Roles: caches["roles"], ClusterRoles: caches["clusterroles"],
		RoleBindings: caches["rolebindings"], ClusterRoleBindings: caches["clusterrolebindings"]}, nil)
	a.Run(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := a.WaitSynced(wctx); err != nil {
		t.Fatal(err)
	}
	if d, _ := decide(t, a, alice, getPods("x")); d != authz.Allow {
		t.Fatalf("the state before start was not loaded: %v %v %v", a.index.clusterRoles, a.index.clusterRoleBindings, a.index.clusterBySubject)
	}
	// Live: a binding added, then deleted.
	put("rolebindings", &rbacv1.RoleBinding{ObjectMeta: om("ns1", "devs"),
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pod-reader"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "devs"}}})
	storagetest.Eventually(t, 10*time.Second, "devs allowed in ns1", func() bool {
		d, _ := decide(t, a, devs, getPods("ns1"))
		return d == authz.Allow
	})
	if _, err := store.Delete(ctx, kinds["clusterrolebindings"].Key("", "alice"), kinds["clusterrolebindings"].New, nil); err != nil {
		t.Fatal(err)
	}
	storagetest.Eventually(t, 10*time.Second, "alice refused after her binding is deleted", func() bool {
		d, _ := decide(t, a, alice, getPods("x"))
		return d == authz.NoOpinion
	})
}
