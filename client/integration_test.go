package client_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/client/leaderelection"
	"github.com/skiff-sh/skiff/test/harness"
)

// These tests run the client library against the real API server (in-process, over etcd).

var configMaps = client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}

func newClient(t *testing.T) *client.Client {
	s := harness.StartServer(t, harness.ServerOptions{})
	cfg, err := client.LoadKubeconfig(s.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTypedClientAgainstAPIServer(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	cms := client.For[core.ConfigMap](c, configMaps)
	cm := &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "a", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	created, err := cms.Create(ctx, cm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, cm); !client.IsAlreadyExists(err) {
		t.Fatalf("second create: %v", err)
	}
	created.Data["k"] = "w"
	updated, err := cms.Update(ctx, created)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Update(ctx, created); !client.IsConflict(err) {
		t.Fatalf("stale update: %v", err)
	}
	patched, err := cms.Patch(ctx, "default", "a", client.MergePatchType, []byte(`{"data":{"p":"1"}}`))
	if err != nil || patched.Data["p"] != "1" || patched.Data["k"] != "w" {
		t.Fatalf("patch: %v %v", patched, err)
	}
	list, err := cms.List(ctx, "default", client.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].ResourceVersion != patched.ResourceVersion {
		t.Fatalf("list: %+v %v", list, err)
	}
	_ = updated
	if err := cms.Delete(ctx, "default", "a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "default", "a"); !client.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestInformerAgainstAPIServer(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cms := client.For[core.ConfigMap](c, configMaps)
	for i := 0; i < 3; i++ {
		if _, err := cms.Create(ctx, &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: fmt.Sprintf("pre-%d", i), Namespace: "default"}}); err != nil {
			t.Fatal(err)
		}
	}
	inf := informer.NewInformer(cms, "default", client.ListOptions{}, 0)
	var mu sync.Mutex
	events := map[string][]string{}
	record := func(kind string) func(*core.ConfigMap) {
		return func(o *core.ConfigMap) { mu.Lock(); events[o.Name] = append(events[o.Name], kind); mu.Unlock() }
	}
	inf.AddEventHandler(informer.Handler[*core.ConfigMap]{
		AddFunc:    record("add"),
		UpdateFunc: func(_, n *core.ConfigMap) { record("update")(n) },
		DeleteFunc: record("delete"),
	})
	go inf.Run(ctx)
	if !informer.WaitForCacheSync(ctx, inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if n := inf.Indexer().Len(); n != 3 {
		t.Fatalf("cache has %d objects after sync, want 3", n)
	}
	obj, err := cms.Create(ctx, &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "live", Namespace: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	obj.Data = map[string]string{"x": "y"}
	if _, err := cms.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "default", "live", nil); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, "add, update, delete of live", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		got := fmt.Sprint(events["live"])
		return got == "[add update delete]", got
	})
}

func TestLeaderElectionAgainstAPIServer(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	leading := map[string]bool{}
	maxConcurrent := 0
	start := func(id string) context.CancelFunc {
		cctx, ccancel := context.WithCancel(ctx)
		le, err := leaderelection.New(c, leaderelection.Config{
			Lock:          leaderelection.LeaseLock{Namespace: "kube-system", Name: "test-lock", Identity: id},
			LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 200 * time.Millisecond,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.Callbacks{OnStartedLeading: func(lctx context.Context) {
				mu.Lock()
				leading[id] = true
				n := 0
				for _, v := range leading {
					if v {
						n++
					}
				}
				if n > maxConcurrent {
					maxConcurrent = n
				}
				mu.Unlock()
				<-lctx.Done()
				mu.Lock()
				leading[id] = false
				mu.Unlock()
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		go le.Run(cctx)
		return ccancel
	}
	stopA := start("a")
	stopB := start("b")
	defer stopB()
	leader := func() string {
		mu.Lock()
		defer mu.Unlock()
		for id, v := range leading {
			if v {
				return id
			}
		}
		return ""
	}
	harness.Eventually(t, 10*time.Second, "a leader", func() (bool, string) { return leader() != "", leader() })
	first := leader()
	if first == "a" {
		stopA()
	} else {
		stopB()
		defer stopA()
	}
	harness.Eventually(t, 15*time.Second, "the other candidate to take over", func() (bool, string) {
		l := leader()
		return l != "" && l != first, l
	})
	mu.Lock()
	defer mu.Unlock()
	if maxConcurrent > 1 {
		t.Fatalf("%d leaders at once", maxConcurrent)
	}
}
