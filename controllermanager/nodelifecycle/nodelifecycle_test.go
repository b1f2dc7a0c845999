package nodelifecycle_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/nodelifecycle"
)

func node(name string, podCIDR string) *core.Node {
	now := meta.Now()
	return &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: name},
		Spec:       core.NodeSpec{PodCIDR: podCIDR},
		Status: core.NodeStatus{Conditions: []core.NodeCondition{
			{Type: core.NodeReady, Status: core.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now},
		}}}
}

func TestIPAM(t *testing.T) {
	e := testenv.New(t)
	testenv.Create(t, e, controller.Nodes, node("pre", "10.244.1.0/24")) // set by its agent: kept
	ipam, err := nodelifecycle.NewIPAM(e.CC, nodelifecycle.IPAMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.Start(t, ipam)
	for _, n := range []string{"a", "b", "c"} {
		testenv.Create(t, e, controller.Nodes, node(n, ""))
	}
	cidrs := func() string {
		var out []string
		for _, n := range []string{"pre", "a", "b", "c"} {
			nd := testenv.Get[core.Node](t, e, controller.Nodes, "", n)
			s := n + "=" + nd.Spec.PodCIDR
			if n != "pre" && fmt.Sprint(nd.Spec.PodCIDRs) != "["+nd.Spec.PodCIDR+"]" {
				s += fmt.Sprint(nd.Spec.PodCIDRs) // podCIDRs must repeat podCIDR
			}
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	testenv.Eventually(t, "pod CIDRs", func() (bool, string) {
		got := cidrs()
		var set []string
		for _, f := range strings.Fields(got) {
			set = append(set, strings.SplitN(f, "=", 2)[1])
		}
		sort.Strings(set)
		want := "[10.244.0.0/24 10.244.1.0/24 10.244.2.0/24 10.244.3.0/24]"
		return fmt.Sprint(set) == want && strings.HasPrefix(got, "pre=10.244.1.0/24"), got
	})
}

// heartbeats renews the Leases of the named nodes, as their agents would, until stopped.
type heartbeats struct {
	mu    sync.Mutex
	alive map[string]bool
}

func startHeartbeats(t *testing.T, e *testenv.Env, nodes ...string) *heartbeats {
	h := &heartbeats{alive: map[string]bool{}}
	leases := client.For[coordination.Lease](e.Client, controller.Leases)
	for _, n := range nodes {
		h.alive[n] = true
		_, err := leases.Create(e.Ctx, &coordination.Lease{TypeMeta: meta.TypeMeta{Kind: "Lease", APIVersion: "coordination.k8s.io/v1"},
			ObjectMeta: meta.ObjectMeta{Namespace: "kube-node-lease", Name: n},
			Spec:       coordination.LeaseSpec{HolderIdentity: controller.Ptr(n), LeaseDurationSeconds: controller.Ptr(int32(40)), RenewTime: controller.Ptr(meta.NowMicro())}})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(e.Ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, n := range nodes {
				h.mu.Lock()
				alive := h.alive[n]
				h.mu.Unlock()
				if !alive {
					continue
				}
				if l, err := leases.Get(ctx, "kube-node-lease", n); err == nil {
					l.Spec.RenewTime = controller.Ptr(meta.NowMicro())
					_, _ = leases.Update(ctx, l)
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func (h *heartbeats) isAlive(node string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.alive[node]
}

func (h *heartbeats) set(node string, alive bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.alive[node] = alive
}

func boundPod(name, node string, tolerations ...core.Toleration) *core.Pod {
	return &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: core.PodSpec{NodeName: node, Tolerations: tolerations,
			Containers: []core.Container{{Name: "c", Image: "img"}}}}
}

func nodeState(t *testing.T, e *testenv.Env, name string) string {
	n := testenv.Get[core.Node](t, e, controller.Nodes, "", name)
	var ready string
	for _, c := range n.Status.Conditions {
		if c.Type == core.NodeReady {
			ready = string(c.Status) + "/" + c.Reason
		}
	}
	var taints []string
	for _, tn := range n.Spec.Taints {
		taints = append(taints, tn.ToString())
	}
	sort.Strings(taints)
	return fmt.Sprintf("ready=%s taints=%v", ready, taints)
}

func podState(t *testing.T, e *testenv.Env, name string) string {
	p := testenv.Get[core.Pod](t, e, controller.Pods, "default", name)
	if p == nil {
		return "gone"
	}
	s := "ready"
	if !p.IsReady() {
		s = "notready"
	}
	if p.DeletionTimestamp != nil {
		s += ",deleted"
	}
	return s
}

func unreachable(seconds *int64) core.Toleration {
	return core.Toleration{Key: core.TaintNodeUnreachable, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute, TolerationSeconds: seconds}
}

// A node whose agent stops: Unknown after the grace period, unreachable taints, its pods
// marked not ready and evicted as their tolerations allow; back when the agent is.
func TestUnreachableNode(t *testing.T) {
	e := testenv.New(t)
	testenv.Create(t, e, controller.Nodes, node("lost", "10.244.7.0/24"))
	testenv.Create(t, e, controller.Nodes, node("fine", "10.244.8.0/24"))
	h := startHeartbeats(t, e, "lost", "fine")
	e.Start(t, nodelifecycle.New(e.CC, nodelifecycle.Options{GracePeriod: 2 * time.Second, MonitorPeriod: 100 * time.Millisecond}))
	// The agents run their pods while alive; a dead one neither reports nor confirms deletions.
	e.RunKubelet(t, &testenv.Kubelet{Only: func(p *core.Pod) bool { return p.DeletionTimestamp == nil && h.isAlive(p.Spec.NodeName) }})
	// The API server gives a pod without unreachable/not-ready tolerations the default 300 s
	// ones (as Kubernetes' DefaultTolerationSeconds admission), so a pod evicted at once is one
	// that tolerates the taint for 0 s.
	testenv.Create(t, e, controller.Pods, boundPod("intolerant", "lost", unreachable(controller.Ptr(int64(0)))))
	testenv.Create(t, e, controller.Pods, boundPod("patient", "lost", unreachable(controller.Ptr(int64(3)))))
	testenv.Create(t, e, controller.Pods, boundPod("forever", "lost", unreachable(nil)))
	testenv.Create(t, e, controller.Pods, boundPod("elsewhere", "fine"))
	testenv.Eventually(t, "pods ready", func() (bool, string) {
		got := podState(t, e, "intolerant") + " " + podState(t, e, "patient") + " " + podState(t, e, "forever")
		return got == "ready ready ready", got
	})

	h.set("lost", false)
	testenv.Eventually(t, "node unreachable", func() (bool, string) {
		got := nodeState(t, e, "lost")
		return got == "ready=Unknown/NodeStatusUnknown taints=[node.kubernetes.io/unreachable:NoExecute node.kubernetes.io/unreachable:NoSchedule]", got
	})
	testenv.Eventually(t, "intolerant pod evicted at once, the others marked not ready", func() (bool, string) {
		got := podState(t, e, "intolerant") + " " + podState(t, e, "patient") + " " + podState(t, e, "forever")
		return got == "notready,deleted notready notready", got
	})
	testenv.Eventually(t, "patient pod evicted after its tolerationSeconds", func() (bool, string) {
		got := podState(t, e, "patient") + " " + podState(t, e, "forever") + " " + podState(t, e, "elsewhere")
		return got == "notready,deleted notready ready", got
	})
	p := testenv.Get[core.Pod](t, e, controller.Pods, "default", "intolerant")
	if c := p.Status.Condition(core.DisruptionTarget); c == nil || c.Reason != "DeletionByTaintManager" {
		t.Errorf("DisruptionTarget condition: %+v", c)
	}
	if got := nodeState(t, e, "fine"); got != "ready=True/KubeletReady taints=[]" {
		t.Errorf("healthy node touched: %s", got)
	}

	// The agent is back: it reports Ready and renews its lease; the taints go.
	h.set("lost", true)
	for {
		n := testenv.Get[core.Node](t, e, controller.Nodes, "", "lost")
		now := meta.Now()
		for i := range n.Status.Conditions {
			c := &n.Status.Conditions[i]
			c.Status, c.Reason, c.LastHeartbeatTime = core.ConditionFalse, "KubeletHasSufficientResources", now
			if c.Type == core.NodeReady {
				c.Status, c.Reason = core.ConditionTrue, "KubeletReady"
			}
		}
		_, err := client.For[core.Node](e.Client, controller.Nodes).UpdateStatus(e.Ctx, n)
		if err == nil {
			break
		}
		if !client.IsConflict(err) {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "taints removed", func() (bool, string) {
		got := nodeState(t, e, "lost")
		return strings.HasSuffix(got, "taints=[]"), got
	})
}

// When every node is down at once the control plane is the likelier culprit: no NoExecute
// taint, no evictions (Kubernetes' full disruption).
func TestFullDisruptionDoesNotEvict(t *testing.T) {
	e := testenv.New(t)
	testenv.Create(t, e, controller.Nodes, node("only", "10.244.9.0/24"))
	h := startHeartbeats(t, e, "only")
	e.Start(t, nodelifecycle.New(e.CC, nodelifecycle.Options{GracePeriod: 2 * time.Second, MonitorPeriod: 100 * time.Millisecond}))
	testenv.Create(t, e, controller.Pods, boundPod("stay", "only"))
	h.set("only", false)
	testenv.Eventually(t, "node unreachable, NoSchedule only", func() (bool, string) {
		got := nodeState(t, e, "only")
		return got == "ready=Unknown/NodeStatusUnknown taints=[node.kubernetes.io/unreachable:NoSchedule]", got
	})
	// The monitor runs every 100ms: many passes have gone by once the state was seen twice
	// over a second of the controller's monitoring. Nothing is deleted.
	if got := e.Actions.List("DELETE", "/pods/stay"); len(got) != 0 {
		t.Errorf("pod deleted in a full disruption: %v", got)
	}
}

// A node reporting Ready=False gets the not-ready taints.
func TestNotReadyNode(t *testing.T) {
	e := testenv.New(t)
	n := node("sick", "10.244.10.0/24")
	n.Status.Conditions[0].Status, n.Status.Conditions[0].Reason = core.ConditionFalse, "KubeletNotReady"
	testenv.Create(t, e, controller.Nodes, n)
	testenv.Create(t, e, controller.Nodes, node("well", "10.244.11.0/24"))
	startHeartbeats(t, e, "sick", "well")
	e.Start(t, nodelifecycle.New(e.CC, nodelifecycle.Options{MonitorPeriod: 100 * time.Millisecond}))
	testenv.Eventually(t, "not-ready taints", func() (bool, string) {
		got := nodeState(t, e, "sick")
		return got == "ready=False/KubeletNotReady taints=[node.kubernetes.io/not-ready:NoExecute node.kubernetes.io/not-ready:NoSchedule]", got
	})
}

// A NoExecute taint without timeAdded (as kubectl taint adds it) evicts a pod that tolerates
// it for a while once that while has passed from when the taint was first seen; the node's
// other updates (heartbeats) do not restart the count.
func TestTolerationSecondsWithoutTimeAdded(t *testing.T) {
	e := testenv.New(t)
	n := node("tainted", "10.244.9.0/24")
	n.Spec.Taints = []core.Taint{{Key: "example.com/drain", Value: "yes", Effect: core.TaintEffectNoExecute}}
	testenv.Create(t, e, controller.Nodes, n)
	startHeartbeats(t, e, "tainted")
	e.Start(t, nodelifecycle.New(e.CC, nodelifecycle.Options{GracePeriod: time.Minute, MonitorPeriod: 100 * time.Millisecond}))
	e.RunKubelet(t, &testenv.Kubelet{Only: func(p *core.Pod) bool { return p.DeletionTimestamp == nil }})
	tol := func(seconds *int64) core.Toleration {
		return core.Toleration{Key: "example.com/drain", Operator: core.TolerationOpEqual, Value: "yes", Effect: core.TaintEffectNoExecute, TolerationSeconds: seconds}
	}
	testenv.Create(t, e, controller.Pods, boundPod("brief", "tainted", tol(controller.Ptr(int64(2)))))
	testenv.Create(t, e, controller.Pods, boundPod("forever", "tainted", tol(nil)))
	testenv.Eventually(t, "the briefly tolerating pod evicted, the other kept", func() (bool, string) {
		got := podState(t, e, "brief") + " " + podState(t, e, "forever")
		return strings.HasSuffix(podState(t, e, "brief"), ",deleted") && !strings.HasSuffix(podState(t, e, "forever"), ",deleted"), got
	})
}
