package proxy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/apiserver/authz/bootstrappolicy"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/proxy"
	"github.com/skiff-sh/skiff/proxy/netpol"
	"github.com/skiff-sh/skiff/test/harness"
)

// nftRecorder stands in for nft: it keeps the last script it was given.
type nftRecorder struct {
	mu   sync.Mutex
	last string
	runs int
}

func (r *nftRecorder) exec(_ context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "nft" {
		r.last, r.runs = string(stdin), r.runs+1
	}
	return nil, nil
}

func (r *nftRecorder) script() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// The proxy, as its own identity (system:kube-proxy: RBAC lets it watch pods, namespaces
// and policies), enforces policies from watches: a policy, a pod's labels and its
// deletion each reach the node's ruleset without a restart.
func TestNetworkPolicyEnforcementFollowsWatches(t *testing.T) {
	if err := netpol.Check(); err != nil {
		t.Skip(err)
	}
	srv := harness.StartServer(t, harness.ServerOptions{})
	admin := srv.Client(t)
	pc, err := client.New(srv.UserConfig(t, bootstrappolicy.ProxyUser))
	if err != nil {
		t.Fatal(err)
	}
	rec := &nftRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- proxy.Run(ctx, proxy.Config{Client: pc, NodeName: "node-a", Backend: &fakeBackend{}, Exec: rec.exec,
			NetworkPolicies: true, PolicyMinSyncPeriod: 10 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
	})

	pods := client.For[core.Pod](admin, proxy.PodsResource)
	newPod := func(name, ip string, lbls map[string]string) {
		p, err := pods.Create(ctx, &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name, Labels: lbls},
			Spec: core.PodSpec{NodeName: "node-a", Containers: []core.Container{{Name: "c", Image: "busybox"}}}})
		if err != nil {
			t.Fatal(err)
		}
		p.Status = core.PodStatus{Phase: core.PodRunning, PodIP: ip, PodIPs: []core.PodIP{{IP: ip}}}
		if _, err := pods.UpdateStatus(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	newPod("web", "10.244.1.2", map[string]string{"app": "web"})
	newPod("cli", "10.244.1.3", map[string]string{"role": "other"})

	wait := func(what string, ok func(string) bool) {
		t.Helper()
		harness.Eventually(t, 10*time.Second, what, func() (bool, string) {
			s := rec.script()
			return ok(s), s
		})
	}
	policies := client.For[networking.NetworkPolicy](admin, proxy.NetworkPoliciesResource)
	_, err = policies.Create(ctx, &networking.NetworkPolicy{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: networking.NetworkPolicySpec{PodSelector: meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Ingress: []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{{PodSelector: &meta.LabelSelector{
				MatchLabels: map[string]string{"role": "client"}}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	wait("web isolated, no client yet", func(s string) bool {
		return strings.Contains(s, "10.244.1.2 : jump pod-in-10-244-1-2") && !strings.Contains(s, "10.244.1.3")
	})

	// Relabelling a pod makes it a client.
	p, err := pods.Get(ctx, "default", "cli")
	if err != nil {
		t.Fatal(err)
	}
	p.Labels["role"] = "client"
	if _, err := pods.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	wait("the relabelled pod added to web's peer set (that element alone)", func(s string) bool {
		return strings.HasPrefix(s, "add element ip "+netpol.Table+" peer-") && strings.HasSuffix(s, "{\n\t10.244.1.3\n}\n") &&
			strings.Count(s, "\n") == 3
	})

	// Deleting the policy removes the table.
	if err := policies.Delete(ctx, "default", "web", nil); err != nil {
		t.Fatal(err)
	}
	wait("the policy table deleted", func(s string) bool {
		return s == "add table ip "+netpol.Table+"\ndelete table ip "+netpol.Table+"\n"
	})
}
