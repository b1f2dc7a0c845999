package nodeagent_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent"
	"github.com/skiff-sh/skiff/nodeagent/runtime/sim"
	"github.com/skiff-sh/skiff/test/harness"
)

// cidrGatedRuntime is the sim runtime with the containerd runtime's readiness: its network
// (CNI) is not ready until it has a pod CIDR.
type cidrGatedRuntime struct {
	*sim.Runtime
	hasCIDR atomic.Bool
}

func (r *cidrGatedRuntime) SetPodCIDR(cidr string) error {
	if err := r.Runtime.SetPodCIDR(cidr); err != nil {
		return err
	}
	r.hasCIDR.Store(true)
	return nil
}

func (r *cidrGatedRuntime) NetworkReady() error {
	if !r.hasCIDR.Load() {
		return errors.New("no pod CIDR yet")
	}
	return nil
}

// TestPodCIDRFromTheWatch: the pod CIDR the IPAM controller sets on the Node reaches the
// agent through its watch of the Node, at once; the node reports Ready right away, and its
// pods get addresses from that CIDR, without waiting for the next heartbeat (a minute here).
func TestPodCIDRFromTheWatch(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{})
	c, err := client.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := nodeagent.New(nodeagent.Config{
		NodeName: "late-cidr", Client: c, Runtime: &cidrGatedRuntime{Runtime: sim.New(sim.Options{})}, Sim: true,
		NodeIP: "192.0.2.12", HeartbeatInterval: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s := &simCluster{c: c, pods: client.For[core.Pod](c, podsRes), nodes: client.For[core.Node](c, nodesRes)}

	ready := func(n *core.Node) core.ConditionStatus {
		for _, cond := range n.Status.Conditions {
			if cond.Type == core.NodeReady {
				return cond.Status
			}
		}
		return ""
	}
	harness.Eventually(t, 20*time.Second, "node late-cidr registered, not ready", func() (bool, string) {
		n, err := s.nodes.Get(ctx, "", "late-cidr")
		if err != nil {
			return false, err.Error()
		}
		return ready(n) == core.ConditionFalse, "Ready=" + string(ready(n))
	})

	// What the IPAM controller does.
	patch := []byte(`{"spec":{"podCIDR":"10.244.5.0/24","podCIDRs":["10.244.5.0/24"]}}`)
	if _, err := s.nodes.Patch(ctx, "", "late-cidr", client.MergePatchType, patch); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 5*time.Second, "node Ready soon after its pod CIDR is set", func() (bool, string) {
		n, err := s.nodes.Get(ctx, "", "late-cidr")
		if err != nil {
			return false, err.Error()
		}
		return ready(n) == core.ConditionTrue, "Ready=" + string(ready(n))
	})
	s.create(t, pod("first", "late-cidr", core.RestartPolicyAlways, ctr("c", "sleep", "1d")))
	p := s.waitPod(t, "first", "a pod IP", func(p *core.Pod) bool { return p.Status.PodIP != "" })
	if ip := netip.MustParseAddr(p.Status.PodIP); !netip.MustParsePrefix("10.244.5.0/24").Contains(ip) {
		t.Errorf("pod IP %s is not from the node's pod CIDR 10.244.5.0/24", ip)
	}
}
