package controllermanager_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager"
	"github.com/skiff-sh/skiff/test/harness"
)

var (
	leases          = client.Resource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Namespaced: true}
	namespaces      = client.Resource{Version: "v1", Resource: "namespaces"}
	serviceAccounts = client.Resource{Version: "v1", Resource: "serviceaccounts", Namespaced: true}
)

type manager struct {
	id     string
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, c *client.Client, id string) *manager {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := &manager{id: id, addr: fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)), cancel: cancel, done: make(chan error, 1)}
	go func() {
		m.done <- controllermanager.Run(ctx, controllermanager.Config{
			Client: c, LeaderElect: true, Identity: id, MetricsAddr: m.addr,
			LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond,
			Controllers: []string{"*"},
		})
	}()
	t.Cleanup(func() { cancel(); <-m.done })
	return m
}

func holder(t *testing.T, c *client.Client) string {
	l, err := client.For[coordination.Lease](c, leases).Get(context.Background(), "kube-system", "kube-controller-manager")
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func get(t *testing.T, url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Two controller managers: one leads and works, the other waits; when the leader stops,
// the other takes over and works in turn.
func TestLeaderElectionHandsOver(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	c, err := client.New(s.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := start(t, c, "a")
	harness.Eventually(t, 30*time.Second, "a leads", func() (bool, string) {
		h := holder(t, c)
		return h == "a", "holder " + h
	})
	b := start(t, c, "b")

	// The leader's controllers work: a new namespace gets its default service account.
	mkNamespace := func(name string) {
		_, err := client.For[core.Namespace](c, namespaces).Create(context.Background(),
			&core.Namespace{TypeMeta: meta.TypeMeta{Kind: "Namespace", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 30*time.Second, "default service account in "+name, func() (bool, string) {
			_, err := client.For[core.ServiceAccount](c, serviceAccounts).Get(context.Background(), name, "default")
			return err == nil, fmt.Sprint(err)
		})
	}
	mkNamespace("one")

	for _, m := range []*manager{a, b} {
		code, body := get(t, "http://"+m.addr+"/healthz")
		if code != 200 || body != "ok" {
			t.Errorf("%s /healthz: %d %q", m.id, code, body)
		}
	}
	_, metrics := get(t, "http://"+a.addr+"/metrics")
	for _, want := range []string{`leader_election_master_status{name="kube-controller-manager"} 1`, `workqueue_depth{name="serviceaccount"}`, `controller_reconcile_duration_seconds_count{controller="serviceaccount"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("leader metrics lack %q", want)
		}
	}
	_, metrics = get(t, "http://"+b.addr+"/metrics")
	if !strings.Contains(metrics, `leader_election_master_status{name="kube-controller-manager"} 0`) {
		t.Errorf("follower does not report itself as follower")
	}

	a.cancel()
	if err := <-a.done; err != nil {
		t.Fatalf("stopped leader returned %v", err)
	}
	a.done <- nil // for the cleanup
	// A graceful stop released the lease (no holder, a 1 s duration, as client-go writes it):
	// b need not wait the lease out. (It may have taken it already.)
	if h := holder(t, c); h == "a" {
		t.Errorf("the stopped leader still holds the lease")
	}
	harness.Eventually(t, 30*time.Second, "b leads", func() (bool, string) {
		h := holder(t, c)
		return h == "b", "holder " + h
	})
	mkNamespace("two")
}

func TestUnknownController(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	c, _ := client.New(s.ClientConfig())
	err := controllermanager.Run(context.Background(), controllermanager.Config{Client: c, Controllers: []string{"*", "-nope"}, MetricsAddr: "-"})
	if err == nil || !strings.Contains(err.Error(), `unknown controller "-nope"`) {
		t.Fatalf("got %v", err)
	}
}
