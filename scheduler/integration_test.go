package scheduler_test

// Integration tests: the scheduler in-process against an in-process API server over embedded
// etcd, with Node objects created directly (no node agents).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/scheduler"
	"github.com/skiff-sh/skiff/test/harness"
)

var (
	podsR   = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	nodesR  = client.Resource{Version: "v1", Resource: "nodes"}
	eventsR = client.Resource{Version: "v1", Resource: "events", Namespaced: true}
	pcR     = client.Resource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}
)

// env is one API server with a scheduler running against it.
type env struct {
	t      *testing.T
	c      *client.Client
	pods   *client.Typed[core.Pod, *core.Pod]
	nodes  *client.Typed[core.Node, *core.Node]
	events *client.Typed[core.Event, *core.Event]
	sched  *scheduler.Scheduler
	added  int // nodes created by addNode
}

func newEnv(t *testing.T, cfg *scheduler.Configuration) *env {
	t.Helper()
	srv := harness.StartServer(t, harness.ServerOptions{})
	c, err := client.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, c: c,
		pods:   client.For[core.Pod](c, podsR),
		nodes:  client.For[core.Node](c, nodesR),
		events: client.For[core.Event](c, eventsR),
	}
	e.sched = e.startScheduler(cfg, scheduler.LeaderElection{})
	return e
}

// startScheduler runs a scheduler until the test ends and waits for its caches to sync.
func (e *env) startScheduler(cfg *scheduler.Configuration, le scheduler.LeaderElection) *scheduler.Scheduler {
	e.t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := scheduler.New(scheduler.Config{Client: e.c, Configuration: cfg, Logger: logger, LeaderElection: le})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, scheduler.ErrLostLeadership) {
			e.t.Errorf("scheduler: %v", err)
		}
	})
	harness.Eventually(e.t, 30*time.Second, "scheduler caches synced", func() (bool, string) {
		return s.Ready(), "not synced"
	})
	return s
}

type nodeOpt func(*core.Node)

func labels(kv ...string) nodeOpt {
	return func(n *core.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func taint(key, value string, effect core.TaintEffect) nodeOpt {
	return func(n *core.Node) {
		n.Spec.Taints = append(n.Spec.Taints, core.Taint{Key: key, Value: value, Effect: effect})
	}
}

func cordoned(n *core.Node) { n.Spec.Unschedulable = true }

// addNode creates a Node with cpu (e.g. "4"), memory ("8Gi") and room for 110 pods.
func (e *env) addNode(name, cpu, memory string, opts ...nodeOpt) *core.Node {
	e.t.Helper()
	n := &core.Node{
		ObjectMeta: meta.ObjectMeta{Name: name, Labels: map[string]string{core.LabelHostname: name}},
		Status: core.NodeStatus{
			Capacity: core.ResourceList{core.ResourceCPU: resource.MustParse(cpu), core.ResourceMemory: resource.MustParse(memory),
				core.ResourcePods: resource.MustParse("110")},
			Allocatable: core.ResourceList{core.ResourceCPU: resource.MustParse(cpu), core.ResourceMemory: resource.MustParse(memory),
				core.ResourcePods: resource.MustParse("110")},
			Conditions: []core.NodeCondition{{Type: core.NodeReady, Status: core.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	out, err := e.nodes.Create(context.Background(), n)
	if err != nil {
		e.t.Fatalf("create node %s: %v", name, err)
	}
	// Nodes and pods reach the scheduler on separate watches, so a pod created right after a
	// node can be tried before the node is known. Tests mean "this node, then this pod", so
	// wait until the scheduler has it (no test deletes nodes, so the count only grows; nodes
	// created other ways may add to it).
	e.added++
	if e.sched != nil {
		harness.Eventually(e.t, 20*time.Second, "node "+name+" in the scheduler cache", func() (bool, string) {
			got, _, _ := e.sched.Cache().Counts()
			return got >= e.added, fmt.Sprintf("%d nodes, %d created", got, e.added)
		})
	}
	return out
}

type podOpt func(*core.Pod)

func requests(cpu, memory string) podOpt {
	return func(p *core.Pod) {
		rl := core.ResourceList{}
		if cpu != "" {
			rl[core.ResourceCPU] = resource.MustParse(cpu)
		}
		if memory != "" {
			rl[core.ResourceMemory] = resource.MustParse(memory)
		}
		p.Spec.Containers[0].Resources.Requests = rl
	}
}

func podLabels(kv ...string) podOpt {
	return func(p *core.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func withSpec(f func(*core.PodSpec)) podOpt { return func(p *core.Pod) { f(&p.Spec) } }

func (e *env) addPod(name string, opts ...podOpt) *core.Pod {
	e.t.Helper()
	zero := int64(0)
	p := &core.Pod{
		ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"},
		Spec: core.PodSpec{
			Containers:                    []core.Container{{Name: "c", Image: "busybox:1.36"}},
			TerminationGracePeriodSeconds: &zero,
		},
	}
	for _, o := range opts {
		o(p)
	}
	out, err := e.pods.Create(context.Background(), p)
	if err != nil {
		e.t.Fatalf("create pod %s: %v", name, err)
	}
	return out
}

func (e *env) getPod(name string) *core.Pod {
	e.t.Helper()
	p, err := e.pods.Get(context.Background(), "default", name)
	if err != nil {
		e.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// waitBound waits until the pod is bound and returns its node.
func (e *env) waitBound(name string) string {
	e.t.Helper()
	var node string
	harness.Eventually(e.t, 20*time.Second, "pod "+name+" bound", func() (bool, string) {
		p, err := e.pods.Get(context.Background(), "default", name)
		if err != nil {
			return false, err.Error()
		}
		node = p.Spec.NodeName
		return node != "", fmt.Sprintf("nodeName=%q conditions=%+v", node, p.Status.Conditions)
	})
	return node
}

// waitUnschedulable waits for PodScheduled=False/Unschedulable and returns its message.
func (e *env) waitUnschedulable(name string) string {
	e.t.Helper()
	var msg string
	harness.Eventually(e.t, 20*time.Second, "pod "+name+" unschedulable", func() (bool, string) {
		p, err := e.pods.Get(context.Background(), "default", name)
		if err != nil {
			return false, err.Error()
		}
		if p.Spec.NodeName != "" {
			return false, "bound to " + p.Spec.NodeName
		}
		for _, c := range p.Status.Conditions {
			if c.Type == core.PodScheduled && c.Status == core.ConditionFalse && c.Reason == core.PodReasonUnschedulable {
				msg = c.Message
				return true, ""
			}
		}
		return false, fmt.Sprintf("conditions=%+v", p.Status.Conditions)
	})
	return msg
}

// stillPending checks, after the scheduler has certainly considered it (its condition is
// set), that a pod is not bound.
func (e *env) stillPending(name string) {
	e.t.Helper()
	e.waitUnschedulable(name)
	if n := e.getPod(name).Spec.NodeName; n != "" {
		e.t.Fatalf("pod %s was bound to %s, want pending", name, n)
	}
}

// eventsFor lists the events about a pod as "Reason: message".
func (e *env) eventsFor(name string) []string {
	e.t.Helper()
	list, err := e.events.List(context.Background(), "default", client.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		out = append(out, ev.Reason+": "+ev.Message)
	}
	sort.Strings(out)
	return out
}

func (e *env) waitEvent(name, want string) {
	e.t.Helper()
	harness.Eventually(e.t, 20*time.Second, "event "+want+" for "+name, func() (bool, string) {
		evs := e.eventsFor(name)
		for _, ev := range evs {
			if strings.Contains(ev, want) {
				return true, ""
			}
		}
		return false, strings.Join(evs, " | ")
	})
}

func TestSchedulesAndRecordsEvent(t *testing.T) {
	e := newEnv(t, nil)
	e.addNode("node-1", "4", "8Gi")
	e.addPod("web")
	if got := e.waitBound("web"); got != "node-1" {
		t.Fatalf("bound to %s, want node-1", got)
	}
	e.waitEvent("web", "Scheduled: Successfully assigned default/web to node-1")
	p := e.getPod("web")
	found := false
	for _, c := range p.Status.Conditions {
		if c.Type == core.PodScheduled && c.Status == core.ConditionTrue {
			found = true
		}
	}
	if !found {
		t.Fatalf("no PodScheduled=True condition: %+v", p.Status.Conditions)
	}
}

func ptr[T any](v T) *T { return &v }

func podsCapacity(n string) nodeOpt {
	return func(node *core.Node) {
		node.Status.Allocatable[core.ResourcePods] = resource.MustParse(n)
		node.Status.Capacity[core.ResourcePods] = resource.MustParse(n)
	}
}

func nodeSelector(kv ...string) podOpt {
	return withSpec(func(s *core.PodSpec) {
		s.NodeSelector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			s.NodeSelector[kv[i]] = kv[i+1]
		}
	})
}

func requiredNodeAffinity(terms ...core.NodeSelectorTerm) podOpt {
	return withSpec(func(s *core.PodSpec) {
		s.Affinity = &core.Affinity{NodeAffinity: &core.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &core.NodeSelector{NodeSelectorTerms: terms}}}
	})
}

func expr(key string, op core.NodeSelectorOperator, values ...string) core.NodeSelectorRequirement {
	return core.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func tolerate(t core.Toleration) podOpt {
	return withSpec(func(s *core.PodSpec) { s.Tolerations = append(s.Tolerations, t) })
}

func hostPort(port int32) podOpt {
	return withSpec(func(s *core.PodSpec) {
		s.Containers[0].Ports = append(s.Containers[0].Ports, core.ContainerPort{ContainerPort: port, HostPort: port, Protocol: core.ProtocolTCP})
	})
}

func podAffinityTerm(key, value, topologyKey string) core.PodAffinityTerm {
	return core.PodAffinityTerm{LabelSelector: &meta.LabelSelector{MatchLabels: map[string]string{key: value}}, TopologyKey: topologyKey}
}

func podAffinity(t core.PodAffinityTerm) podOpt {
	return withSpec(func(s *core.PodSpec) {
		s.Affinity = &core.Affinity{PodAffinity: &core.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []core.PodAffinityTerm{t}}}
	})
}

func podAntiAffinity(t core.PodAffinityTerm) podOpt {
	return withSpec(func(s *core.PodSpec) {
		s.Affinity = &core.Affinity{PodAntiAffinity: &core.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []core.PodAffinityTerm{t}}}
	})
}

func spread(maxSkew int32, topologyKey string, action core.UnsatisfiableConstraintAction, kv ...string) podOpt {
	return withSpec(func(s *core.PodSpec) {
		sel := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			sel[kv[i]] = kv[i+1]
		}
		s.TopologySpreadConstraints = append(s.TopologySpreadConstraints, core.TopologySpreadConstraint{
			MaxSkew: maxSkew, TopologyKey: topologyKey, WhenUnsatisfiable: action, LabelSelector: &meta.LabelSelector{MatchLabels: sel}})
	})
}

func priorityClass(name string) podOpt {
	return withSpec(func(s *core.PodSpec) { s.PriorityClassName = name })
}

// addPriorityClass creates a PriorityClass.
func (e *env) addPriorityClass(name string, value int32) {
	e.t.Helper()
	pcs := client.For[schedulingPC](e.c, pcR)
	if _, err := pcs.Create(context.Background(), &schedulingPC{ObjectMeta: meta.ObjectMeta{Name: name}, Value: value}); err != nil {
		e.t.Fatalf("create priority class %s: %v", name, err)
	}
}

// TestScheduling is the table of scheduling behaviours, each against its own cluster: nodes
// are created, then pods (in order; a step may wait for an earlier pod), then every pod is
// checked to be bound where expected or pending with the FailedScheduling message Kubernetes
// would write.
func TestScheduling(t *testing.T) {
	const noHelp = "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	tests := []struct {
		name  string
		setup func(e *env)
		// bound: pod → node it must be on ("" any node). pending: pod → FailedScheduling message.
		bound   map[string]string
		pending map[string]string
		// check runs last, for expectations beyond placement.
		check func(e *env)
	}{
		{
			name: "resources: requests fit the node with room",
			setup: func(e *env) {
				e.addNode("small", "2", "4Gi")
				e.addNode("big", "4", "8Gi")
				e.addPod("fits-big", requests("3", "1Gi"))
				e.addPod("too-big", requests("8", "1Gi"))
				e.addPod("too-much-memory", requests("1", "64Gi"))
			},
			bound: map[string]string{"fits-big": "big"},
			pending: map[string]string{
				"too-big":         "0/2 nodes are available: 2 Insufficient cpu. " + noHelp,
				"too-much-memory": "0/2 nodes are available: 2 Insufficient memory. " + noHelp,
			},
		},
		{
			name: "resources: the pods slot counts, and a full node is a preemption candidate",
			setup: func(e *env) {
				e.addNode("one-slot", "4", "8Gi", podsCapacity("1"))
				e.addNode("other", "1", "1Gi")
				e.addPod("first", nodeSelector(core.LabelHostname, "one-slot"))
				e.waitBound("first")
				e.addPod("second", requests("2", ""))
			},
			bound: map[string]string{"first": "one-slot"},
			pending: map[string]string{
				"second": "0/2 nodes are available: 1 Insufficient cpu, 1 Too many pods. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
			},
		},
		{
			name: "nodeSelector",
			setup: func(e *env) {
				e.addNode("ssd", "4", "8Gi", labels("disktype", "ssd"))
				e.addNode("hdd", "4", "8Gi", labels("disktype", "hdd"))
				e.addPod("wants-ssd", nodeSelector("disktype", "ssd"))
				e.addPod("wants-nvme", nodeSelector("disktype", "nvme"))
			},
			bound:   map[string]string{"wants-ssd": "ssd"},
			pending: map[string]string{"wants-nvme": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. " + noHelp},
		},
		{
			name: "required node affinity: In, NotIn, Exists, DoesNotExist, Gt, Lt, matchFields",
			setup: func(e *env) {
				e.addNode("gen-3", "4", "8Gi", labels("gen", "3", "zone", "a"))
				e.addNode("gen-5", "4", "8Gi", labels("gen", "5", "zone", "b", "gpu", "yes"))
				e.addNode("gen-7", "4", "8Gi", labels("gen", "7", "zone", "c"))
				e.addPod("in", requiredNodeAffinity(core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpIn, "c", "d")}}))
				e.addPod("notin", requiredNodeAffinity(core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpNotIn, "b", "c")}}))
				e.addPod("exists", requiredNodeAffinity(core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("gpu", core.NodeSelectorOpExists)}}))
				e.addPod("gt-lt", requiredNodeAffinity(core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{
					expr("gen", core.NodeSelectorOpGt, "4"), expr("gen", core.NodeSelectorOpLt, "6")}}))
				e.addPod("gt", requiredNodeAffinity(core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("gen", core.NodeSelectorOpGt, "6")}}))
				e.addPod("fields", requiredNodeAffinity(core.NodeSelectorTerm{MatchFields: []core.NodeSelectorRequirement{expr("metadata.name", core.NodeSelectorOpIn, "gen-3")}}))
				// Terms are ORed: the first matches nothing, the second gen-5 only.
				e.addPod("or", requiredNodeAffinity(
					core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpIn, "x")}},
					core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("gpu", core.NodeSelectorOpExists), expr("gen", core.NodeSelectorOpLt, "6")}}))
				e.addPod("none", requiredNodeAffinity(core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{
					expr("gpu", core.NodeSelectorOpDoesNotExist), expr("gen", core.NodeSelectorOpLt, "3")}}))
			},
			bound: map[string]string{"in": "gen-7", "notin": "gen-3", "exists": "gen-5", "gt-lt": "gen-5", "gt": "gen-7", "fields": "gen-3", "or": "gen-5"},
			pending: map[string]string{"none": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. " +
				"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."},
		},
		{
			name: "taints and tolerations",
			setup: func(e *env) {
				e.addNode("gpu", "4", "8Gi", taint("dedicated", "gpu", core.TaintEffectNoSchedule))
				e.addNode("draining", "4", "8Gi", taint("maintenance", "", core.TaintEffectNoExecute))
				e.addPod("plain")
				e.addPod("gpu-job", tolerate(core.Toleration{Key: "dedicated", Operator: core.TolerationOpEqual, Value: "gpu", Effect: core.TaintEffectNoSchedule}))
				e.addPod("wrong-value", tolerate(core.Toleration{Key: "dedicated", Operator: core.TolerationOpEqual, Value: "tpu"}))
				e.addPod("maintenance", tolerate(core.Toleration{Key: "maintenance", Operator: core.TolerationOpExists}))
				e.addPod("everything", tolerate(core.Toleration{Operator: core.TolerationOpExists}))
			},
			bound: map[string]string{"gpu-job": "gpu", "maintenance": "draining", "everything": ""},
			pending: map[string]string{
				"plain":       "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {maintenance: }. " + noHelp,
				"wrong-value": "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {maintenance: }. " + noHelp,
			},
		},
		{
			name: "cordoned nodes take only pods that tolerate unschedulable",
			setup: func(e *env) {
				e.addNode("cordoned", "4", "8Gi", cordoned)
				e.addNode("cordoned-too", "4", "8Gi", cordoned)
				e.addPod("plain")
				e.addPod("daemon", tolerate(core.Toleration{Key: core.TaintNodeUnschedulable, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule}))
			},
			bound:   map[string]string{"daemon": ""},
			pending: map[string]string{"plain": "0/2 nodes are available: 2 node(s) were unschedulable. " + noHelp},
		},
		{
			name: "host ports",
			setup: func(e *env) {
				e.addNode("a", "4", "8Gi")
				e.addNode("b", "4", "8Gi")
				for _, n := range []string{"web-1", "web-2"} {
					e.addPod(n, hostPort(8080))
					e.waitBound(n)
				}
				e.addPod("web-3", hostPort(8080))
				e.addPod("other-port", hostPort(9090))
			},
			bound: map[string]string{"web-1": "", "web-2": "", "other-port": ""},
			pending: map[string]string{"web-3": "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports. " +
				"preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."},
		},
		{
			name: "inter-pod affinity and anti-affinity by zone and host",
			setup: func(e *env) {
				e.addNode("a1", "4", "8Gi", labels(core.LabelTopologyZone, "a"))
				e.addNode("a2", "4", "8Gi", labels(core.LabelTopologyZone, "a"))
				e.addNode("b1", "4", "8Gi", labels(core.LabelTopologyZone, "b"))
				e.addPod("db", podLabels("app", "db"), nodeSelector(core.LabelHostname, "a1"))
				e.waitBound("db")
				e.addPod("cache", podAffinity(podAffinityTerm("app", "db", core.LabelHostname)))
				e.addPod("web", podAffinity(podAffinityTerm("app", "db", core.LabelTopologyZone)), nodeSelector(core.LabelHostname, "a2"))
				e.addPod("away", podAntiAffinity(podAffinityTerm("app", "db", core.LabelTopologyZone)))
				e.addPod("nowhere", podAffinity(podAffinityTerm("app", "db", core.LabelTopologyZone)), nodeSelector(core.LabelTopologyZone, "b"))
			},
			bound: map[string]string{"db": "a1", "cache": "a1", "web": "a2", "away": "b1"},
			pending: map[string]string{"nowhere": "0/3 nodes are available: 1 node(s) didn't match pod affinity rules, 2 node(s) didn't match Pod's node affinity/selector. " +
				"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."},
		},
		{
			name: "anti-affinity to its own kind: one per node",
			setup: func(e *env) {
				e.addNode("n1", "4", "8Gi")
				e.addNode("n2", "4", "8Gi")
				for _, n := range []string{"r1", "r2"} {
					e.addPod(n, podLabels("app", "redis"), podAntiAffinity(podAffinityTerm("app", "redis", core.LabelHostname)))
					e.waitBound(n)
				}
				e.addPod("r3", podLabels("app", "redis"), podAntiAffinity(podAffinityTerm("app", "redis", core.LabelHostname)))
				// Not anti-affine itself, but the placed pods are to it.
				e.addPod("intruder", podLabels("app", "redis"))
			},
			bound: map[string]string{"r1": "", "r2": ""},
			pending: map[string]string{
				"r3": "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. " +
					"preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
				"intruder": "0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules. " +
					"preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
			},
		},
		{
			name: "topology spread, DoNotSchedule",
			setup: func(e *env) {
				e.addNode("z1-a", "4", "8Gi", labels(core.LabelTopologyZone, "z1"))
				e.addNode("z1-b", "4", "8Gi", labels(core.LabelTopologyZone, "z1"))
				e.addNode("z2-a", "4", "8Gi", labels(core.LabelTopologyZone, "z2"))
				for i := 1; i <= 4; i++ {
					n := fmt.Sprintf("s%d", i)
					e.addPod(n, podLabels("app", "s"), spread(1, core.LabelTopologyZone, core.DoNotSchedule, "app", "s"))
					e.waitBound(n)
				}
				// z1 and z2 hold two each: a pod that must go to z1 would make the skew 2.
				e.addPod("s5", podLabels("app", "s"), spread(1, core.LabelTopologyZone, core.DoNotSchedule, "app", "s"),
					tolerate(core.Toleration{Operator: core.TolerationOpExists}), nodeSelector(core.LabelTopologyZone, "z1"))
			},
			// With nodeAffinityPolicy Honor (the default) only z1 counts for s5, so it fits.
			bound: map[string]string{"s1": "", "s2": "", "s3": "", "s4": "", "s5": ""},
			check: func(e *env) {
				zones := map[string]int{}
				for i := 1; i <= 4; i++ {
					zones[e.waitBound(fmt.Sprintf("s%d", i))[:2]]++
				}
				if zones["z1"] != 2 || zones["z2"] != 2 {
					e.t.Errorf("s1..s4 per zone = %v, want 2 and 2", zones)
				}
			},
		},
		{
			name: "topology spread counts nodes the pod cannot use (taints are ignored by default)",
			setup: func(e *env) {
				e.addNode("z1", "4", "8Gi", labels(core.LabelTopologyZone, "z1"))
				e.addNode("z2", "4", "8Gi", labels(core.LabelTopologyZone, "z2"), taint("team", "x", core.TaintEffectNoSchedule))
				e.addNode("nozone", "4", "8Gi")
				e.addPod("t1", podLabels("app", "t"), spread(1, core.LabelTopologyZone, core.DoNotSchedule, "app", "t"))
				e.waitBound("t1")
				e.addPod("t2", podLabels("app", "t"), spread(1, core.LabelTopologyZone, core.DoNotSchedule, "app", "t"))
			},
			bound: map[string]string{"t1": "z1"},
			pending: map[string]string{"t2": "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, " +
				"1 node(s) didn't match pod topology spread constraints (missing required label), 1 node(s) had untolerated taint {team: x}. " +
				"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."},
		},
		{
			name: "scores: least allocated, preferred affinity, PreferNoSchedule",
			setup: func(e *env) {
				e.addNode("busy", "4", "8Gi", labels("tier", "fast"))
				e.addNode("idle", "4", "8Gi", taint("spot", "", core.TaintEffectPreferNoSchedule))
				e.addNode("idle-2", "4", "8Gi")
				e.addPod("filler", requests("3", "6Gi"), nodeSelector(core.LabelHostname, "busy"))
				e.waitBound("filler")
				e.addPod("spreads", requests("500m", "512Mi"), withSpec(func(s *core.PodSpec) {
					s.Affinity = &core.Affinity{NodeAffinity: &core.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &core.NodeSelector{
						NodeSelectorTerms: []core.NodeSelectorTerm{{MatchExpressions: []core.NodeSelectorRequirement{expr(core.LabelHostname, core.NodeSelectorOpIn, "busy", "idle-2")}}}}}}
				}))
				e.addPod("prefers-fast", requests("500m", "512Mi"), withSpec(func(s *core.PodSpec) {
					s.Affinity = &core.Affinity{NodeAffinity: &core.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []core.PreferredSchedulingTerm{
						{Weight: 100, Preference: core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("tier", core.NodeSelectorOpIn, "fast")}}}}}}
				}))
				e.addPod("avoids-spot", nodeSelector(core.LabelHostname, "idle"), requests("100m", ""))
			},
			bound: map[string]string{"spreads": "idle-2", "prefers-fast": "busy", "avoids-spot": "idle"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tc.setup(e)
			for pod, want := range tc.bound {
				if got := e.waitBound(pod); want != "" && got != want {
					t.Errorf("%s bound to %s, want %s", pod, got, want)
				}
			}
			for pod, want := range tc.pending {
				if got := e.waitUnschedulable(pod); got != want {
					t.Errorf("%s: PodScheduled message\n got: %s\nwant: %s", pod, got, want)
				}
				e.waitEvent(pod, "FailedScheduling: "+want)
			}
			if tc.check != nil {
				tc.check(e)
			}
		})
	}
}

type schedulingPC = scheduling.PriorityClass

// waitInQueue waits until the scheduler holds the pod in the given part of its queue.
func (e *env) waitInQueue(name, where string) {
	e.t.Helper()
	uid := e.getPod(name).UID
	harness.Eventually(e.t, 20*time.Second, name+" in the "+where+" queue", func() (bool, string) {
		got := e.sched.Queue().Where(uid)
		return got == where, "in " + got
	})
}

// waitCachedNodes waits until the scheduler's cache has n nodes (so an event about the last
// one has been handled).
func (e *env) waitCachedNodes(n int) {
	e.t.Helper()
	harness.Eventually(e.t, 20*time.Second, fmt.Sprintf("%d nodes in the scheduler cache", n), func() (bool, string) {
		got, _, _ := e.sched.Cache().Counts()
		return got == n, fmt.Sprintf("%d nodes", got)
	})
}

func (e *env) updateNode(name string, f func(*core.Node)) {
	e.t.Helper()
	for {
		n, err := e.nodes.Get(context.Background(), "", name)
		if err != nil {
			e.t.Fatal(err)
		}
		f(n)
		if _, err = e.nodes.Update(context.Background(), n); err == nil {
			return
		}
		if !client.IsConflict(err) {
			e.t.Fatalf("update node %s: %v", name, err)
		}
	}
}

func (e *env) deletePod(name string) {
	e.t.Helper()
	if err := e.pods.Delete(context.Background(), "default", name, &meta.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil && !client.IsNotFound(err) {
		e.t.Fatalf("delete pod %s: %v", name, err)
	}
}

// TestRetriesOnlyWhenTheClusterChanges: an unschedulable pod waits among the unschedulable pods
// (no retries, no API writes) until an event that could help it, and is then scheduled.
func TestRetriesOnlyWhenTheClusterChanges(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env) // leaves pod "p" pending
		noHelp  func(e *env) // a change that cannot help "p" (nil: none)
		helps   func(e *env) // a change after which "p" fits
		message string       // the FailedScheduling message while pending
		node    string       // where "p" ends up
	}{
		{
			name:    "no nodes, then a node is added",
			setup:   func(e *env) { e.addPod("p") },
			helps:   func(e *env) { e.addNode("new", "4", "8Gi") },
			message: "no nodes available to schedule pods",
			node:    "new",
		},
		{
			name: "cordoned, then uncordoned",
			setup: func(e *env) {
				e.addNode("n1", "4", "8Gi", cordoned)
				e.addPod("p")
			},
			helps:   func(e *env) { e.updateNode("n1", func(n *core.Node) { n.Spec.Unschedulable = false }) },
			message: "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
			node:    "n1",
		},
		{
			name: "selector unmatched; an unlabelled node does not help, labelling it does",
			setup: func(e *env) {
				e.addNode("n1", "4", "8Gi")
				e.addPod("p", nodeSelector("disk", "ssd"))
			},
			noHelp: func(e *env) {
				e.addNode("n2", "4", "8Gi")
				e.waitCachedNodes(2)
			},
			helps:   func(e *env) { e.updateNode("n2", func(n *core.Node) { n.Labels["disk"] = "ssd" }) },
			message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
			node:    "n2",
		},
		{
			name: "no room, then the pod taking it is deleted",
			setup: func(e *env) {
				e.addNode("n1", "2", "4Gi")
				e.addPod("filler", requests("2", ""))
				e.waitBound("filler")
				e.addPod("p", requests("1", ""))
			},
			noHelp: func(e *env) {
				e.addNode("tiny", "500m", "1Gi")
				e.waitCachedNodes(2)
			},
			helps:   func(e *env) { e.deletePod("filler") },
			message: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
			node:    "n1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			tc.setup(e)
			if got := e.waitUnschedulable("p"); got != tc.message {
				t.Fatalf("message\n got: %s\nwant: %s", got, tc.message)
			}
			e.waitInQueue("p", "unschedulable")
			if tc.noHelp != nil {
				tc.noHelp(e)
				if got := e.sched.Queue().Where(e.getPod("p").UID); got != "unschedulable" {
					t.Fatalf("after an irrelevant change the pod moved to %q, want it left unschedulable", got)
				}
			}
			tc.helps(e)
			if got := e.waitBound("p"); got != tc.node {
				t.Fatalf("bound to %s, want %s", got, tc.node)
			}
		})
	}
}

// addPriorityClassPolicy creates a PriorityClass with a preemption policy.
func (e *env) addPriorityClassPolicy(name string, value int32, policy core.PreemptionPolicy) {
	e.t.Helper()
	pcs := client.For[schedulingPC](e.c, pcR)
	if _, err := pcs.Create(context.Background(), &schedulingPC{ObjectMeta: meta.ObjectMeta{Name: name}, Value: value, PreemptionPolicy: &policy}); err != nil {
		e.t.Fatalf("create priority class %s: %v", name, err)
	}
}

func (e *env) waitGone(name string) {
	e.t.Helper()
	harness.Eventually(e.t, 20*time.Second, name+" deleted", func() (bool, string) {
		p, err := e.pods.Get(context.Background(), "default", name)
		if client.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("still there (deletionTimestamp %v)", p.DeletionTimestamp)
	})
}

func (e *env) exists(name string) bool {
	e.t.Helper()
	_, err := e.pods.Get(context.Background(), "default", name)
	if client.IsNotFound(err) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return true
}

// TestPreemption: priorities come from PriorityClasses (low 100, mid 500, high 1000), resolved
// by the API server's priority admission.
func TestPreemption(t *testing.T) {
	placed := func(e *env, name, class, cpu, node string) {
		e.addPod(name, priorityClass(class), requests(cpu, ""), nodeSelector(core.LabelHostname, node))
		e.waitBound(name)
	}
	const full = "0/1 nodes are available: 1 Insufficient cpu. "
	tests := []struct {
		name    string
		setup   func(e *env)
		bound   map[string]string // preemptor → node
		victims []string          // pods that must be deleted
		among   []string          // or: exactly n of these (equal-priority ties)
		n       int
		kept    []string          // pods that must remain
		pending map[string]string // pod → FailedScheduling message
	}{
		{
			name: "evicts the fewest lower-priority pods it needs",
			setup: func(e *env) {
				e.addNode("n1", "3", "8Gi")
				for _, n := range []string{"low-1", "low-2", "low-3"} {
					placed(e, n, "low", "1", "n1")
				}
				e.addPod("high", priorityClass("high"), requests("2", ""))
			},
			bound: map[string]string{"high": "n1"},
			among: []string{"low-1", "low-2", "low-3"},
			n:     2,
		},
		{
			name: "picks the node whose victims have the lowest priority",
			setup: func(e *env) {
				e.addNode("n1", "1", "8Gi")
				e.addNode("n2", "1", "8Gi")
				placed(e, "mid", "mid", "1", "n1")
				placed(e, "low", "low", "1", "n2")
				e.addPod("high", priorityClass("high"), requests("1", ""))
			},
			bound:   map[string]string{"high": "n2"},
			victims: []string{"low"},
			kept:    []string{"mid"},
		},
		{
			name: "prefers the node with fewer victims",
			setup: func(e *env) {
				e.addNode("n1", "2", "8Gi")
				e.addNode("n2", "2", "8Gi")
				placed(e, "low-a", "low", "1", "n1")
				placed(e, "low-b", "low", "1", "n1")
				placed(e, "low-big", "low", "2", "n2")
				e.addPod("high", priorityClass("high"), requests("2", ""))
			},
			bound:   map[string]string{"high": "n2"},
			victims: []string{"low-big"},
			kept:    []string{"low-a", "low-b"},
		},
		{
			name: "never evicts pods of equal or higher priority",
			setup: func(e *env) {
				e.addNode("n1", "1", "8Gi")
				placed(e, "mid", "mid", "1", "n1")
				e.addPod("peer", priorityClass("mid"), requests("1", ""))
				e.addPod("lower", priorityClass("low"), requests("1", ""))
			},
			kept: []string{"mid"},
			pending: map[string]string{
				"peer":  full + "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
				"lower": full + "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
			},
		},
		{
			name: "preemptionPolicy Never does not preempt",
			setup: func(e *env) {
				e.addNode("n1", "1", "8Gi")
				placed(e, "low", "low", "1", "n1")
				e.addPod("polite", priorityClass("polite"), requests("1", ""))
			},
			kept:    []string{"low"},
			pending: map[string]string{"polite": full + "preemption: not eligible due to preemptionPolicy=Never."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.addPriorityClass("low", 100)
			e.addPriorityClass("mid", 500)
			e.addPriorityClass("high", 1000)
			e.addPriorityClassPolicy("polite", 1000, core.PreemptNever)
			tc.setup(e)
			for pod, want := range tc.bound {
				if got := e.waitBound(pod); got != want {
					t.Errorf("%s bound to %s, want %s", pod, got, want)
				}
			}
			if tc.among != nil {
				var gone []string
				for _, n := range tc.among {
					if !e.exists(n) {
						gone = append(gone, n)
					}
				}
				if len(gone) != tc.n {
					t.Errorf("preempted %v, want %d of %v", gone, tc.n, tc.among)
				}
			}
			for _, v := range tc.victims {
				e.waitGone(v)
				e.waitEvent(v, "Preempted: Preempted by pod ")
			}
			for pod, want := range tc.pending {
				if got := e.waitUnschedulable(pod); got != want {
					t.Errorf("%s: message\n got: %s\nwant: %s", pod, got, want)
				}
			}
			for _, k := range tc.kept {
				if !e.exists(k) {
					t.Errorf("%s was preempted, want it kept", k)
				}
			}
		})
	}
}

// TestPreemptionWaitsForGracefulVictims: a victim with a grace period lingers (no node agent
// confirms here); the preemptor is nominated to the node, waits without preempting more, and is
// bound there once the victim is gone.
func TestPreemptionWaitsForGracefulVictims(t *testing.T) {
	e := newEnv(t, nil)
	e.addPriorityClass("low", 100)
	e.addPriorityClass("high", 1000)
	e.addNode("n1", "1", "8Gi")
	e.addNode("n2", "1", "8Gi")
	for _, n := range []string{"slow-1", "slow-2"} {
		e.addPod(n, priorityClass("low"), requests("1", ""), withSpec(func(s *core.PodSpec) { s.TerminationGracePeriodSeconds = ptr(int64(30)) }))
		e.waitBound(n)
	}
	e.addPod("high", priorityClass("high"), requests("1", ""))
	var nominated string
	harness.Eventually(t, 20*time.Second, "high nominated", func() (bool, string) {
		p := e.getPod("high")
		nominated = p.Status.NominatedNodeName
		return nominated != "", fmt.Sprintf("nominatedNodeName=%q nodeName=%q", nominated, p.Spec.NodeName)
	})
	var victim, other string
	for _, n := range []string{"slow-1", "slow-2"} {
		if p := e.getPod(n); p.Spec.NodeName == nominated {
			victim = n
			if p.DeletionTimestamp == nil {
				t.Fatalf("victim %s on %s is not terminating", n, nominated)
			}
		} else {
			other = n
		}
	}
	e.waitInQueue("high", "unschedulable")
	if p := e.getPod(other); p.DeletionTimestamp != nil {
		t.Fatalf("%s was preempted too; one victim is enough", other)
	}
	// The node agent would confirm the deletion after the grace period; do it now.
	e.deletePod(victim)
	if got := e.waitBound("high"); got != nominated {
		t.Fatalf("high bound to %s, want its nominated node %s", got, nominated)
	}
}

func TestProfilesAndPolicies(t *testing.T) {
	cfg, err := scheduler.ParseConfig([]byte(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
- schedulerName: round-robin
  policy: round-robin
- schedulerName: least-pods
  policy: least-pods
`))
	if err != nil {
		t.Fatal(err)
	}
	scheduler := func(name string) podOpt { return withSpec(func(s *core.PodSpec) { s.SchedulerName = name }) }
	e := newEnv(t, cfg)
	e.addNode("n1", "4", "8Gi")
	e.addNode("n2", "4", "8Gi")
	e.addNode("n3", "4", "8Gi")
	e.addPod("filler", requests("2", "1Gi"), nodeSelector(core.LabelHostname, "n2"))
	e.waitBound("filler")

	t.Run("bin-packer fills the fullest node that fits", func(t *testing.T) {
		e.addPod("packed", scheduler("bin-packer"), requests("1", "1Gi"))
		if got := e.waitBound("packed"); got != "n2" {
			t.Fatalf("packed on %s, want n2", got)
		}
	})
	t.Run("default spreads to the emptiest", func(t *testing.T) {
		e.addPod("spread", requests("1", "1Gi"))
		if got := e.waitBound("spread"); got == "n2" {
			t.Fatalf("spread landed on the busiest node n2")
		}
	})
	t.Run("round-robin takes the nodes in turn", func(t *testing.T) {
		var got []string
		for i := 0; i < 6; i++ {
			name := fmt.Sprintf("rr-%d", i)
			e.addPod(name, scheduler("round-robin"))
			got = append(got, e.waitBound(name))
		}
		for i := 3; i < 6; i++ {
			if got[i] != got[i-3] {
				t.Fatalf("round robin order %v does not repeat every 3 nodes", got)
			}
		}
		if got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
			t.Fatalf("round robin order %v does not visit every node", got)
		}
	})
	t.Run("least-pods picks the node with fewest pods", func(t *testing.T) {
		counts := map[string]int{}
		for _, n := range []string{"n1", "n2", "n3"} {
			counts[n] = len(e.sched.Cache().PodsOnNode(n))
		}
		e.addPod("least", scheduler("least-pods"))
		got := e.waitBound("least")
		for n, c := range counts {
			if c < counts[got] {
				t.Fatalf("least-pods chose %s (%d pods) over %s (%d pods)", got, counts[got], n, c)
			}
		}
	})
	t.Run("a pod for another scheduler is left alone", func(t *testing.T) {
		e.addPod("foreign", scheduler("someone-else"))
		// Pods are delivered in order: once a later pod is bound, "foreign" was seen and skipped.
		e.addPod("after")
		e.waitBound("after")
		p := e.getPod("foreign")
		if p.Spec.NodeName != "" || len(p.Status.Conditions) > 0 {
			t.Fatalf("foreign pod touched: node %q conditions %+v", p.Spec.NodeName, p.Status.Conditions)
		}
		if w := e.sched.Queue().Where(p.UID); w != "" {
			t.Fatalf("foreign pod queued in %q", w)
		}
	})
}

// TestMalformedNodeIsSkipped writes a node the API server would refuse straight into etcd: the
// scheduler reports it with an event and schedules around it.
func TestMalformedNodeIsSkipped(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{})
	bad := `{"kind":"Node","apiVersion":"v1","metadata":{"name":"bad","uid":"bad-uid","labels":{"kubernetes.io/hostname":"bad"}},` +
		`"spec":{"taints":[{"key":"x","effect":"Sometimes"}]},` +
		`"status":{"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"}}}`
	if _, err := srv.Etcd.Put(context.Background(), "/registry/nodes/bad", bad); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, c: c, pods: client.For[core.Pod](c, podsR), nodes: client.For[core.Node](c, nodesR), events: client.For[core.Event](c, eventsR)}
	e.sched = e.startScheduler(nil, scheduler.LeaderElection{})
	e.addPod("p")
	want := "0/1 nodes are available: 1 node(s) had malformed taints or labels. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	if got := e.waitUnschedulable("p"); got != want {
		t.Fatalf("message\n got: %s\nwant: %s", got, want)
	}
	harness.Eventually(t, 20*time.Second, "MalformedNode event", func() (bool, string) {
		list, err := e.events.List(context.Background(), "default", client.ListOptions{FieldSelector: "involvedObject.name=bad"})
		if err != nil {
			return false, err.Error()
		}
		for _, ev := range list.Items {
			if ev.Reason == "MalformedNode" && ev.InvolvedObject.Kind == "Node" && strings.Contains(ev.Message, `effect "Sometimes"`) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(list.Items))
	})
	e.addNode("good", "4", "8Gi")
	if got := e.waitBound("p"); got != "good" {
		t.Fatalf("bound to %s, want good", got)
	}
}

// TestLeaderElection: two schedulers, one schedules; when it stops, the other takes over, and
// no pod is bound twice.
func TestLeaderElection(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{})
	c, err := client.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, c: c, pods: client.For[core.Pod](c, podsR), nodes: client.For[core.Node](c, nodesR), events: client.For[core.Event](c, eventsR)}
	le := func(id string) scheduler.LeaderElection {
		return scheduler.LeaderElection{Enabled: true, Identity: id, LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 250 * time.Millisecond}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	type replica struct {
		s      *scheduler.Scheduler
		cancel context.CancelFunc
		done   chan error
	}
	start := func(id string) *replica {
		s, err := scheduler.New(scheduler.Config{Client: c, Logger: logger, LeaderElection: le(id)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{s: s, cancel: cancel, done: make(chan error, 1)}
		go func() { r.done <- s.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-r.done })
		return r
	}
	a, b := start("a"), start("b")
	var leader, follower *replica
	harness.Eventually(t, 20*time.Second, "one leader", func() (bool, string) {
		switch {
		case a.s.Leading() && !b.s.Leading():
			leader, follower = a, b
		case b.s.Leading() && !a.s.Leading():
			leader, follower = b, a
		default:
			return false, fmt.Sprintf("a leading=%v b leading=%v", a.s.Leading(), b.s.Leading())
		}
		return true, ""
	})
	e.addNode("n1", "8", "16Gi")
	for i := 0; i < 5; i++ {
		e.addPod(fmt.Sprintf("before-%d", i))
	}
	for i := 0; i < 5; i++ {
		e.waitBound(fmt.Sprintf("before-%d", i))
	}
	leader.cancel()
	if err := <-leader.done; err != nil {
		t.Fatalf("stopped leader: %v", err)
	}
	leader.done <- nil // for the cleanup
	harness.Eventually(t, 20*time.Second, "follower takes over", func() (bool, string) {
		return follower.s.Leading(), "not leading"
	})
	for i := 0; i < 5; i++ {
		e.addPod(fmt.Sprintf("after-%d", i))
	}
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("after-%d", i)
		e.waitBound(name)
	}
	for i := 0; i < 5; i++ {
		for _, name := range []string{fmt.Sprintf("before-%d", i), fmt.Sprintf("after-%d", i)} {
			e.waitEvent(name, "Scheduled:")
			n := 0
			for _, ev := range e.eventsFor(name) {
				if strings.HasPrefix(ev, "Scheduled:") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s has %d Scheduled events, want 1", name, n)
			}
		}
	}
}

// TestFailedBindingIsRetried puts a proxy in front of the API server that refuses the first
// binding with a 500: the scheduler forgets the assumed pod, says so in an event, and binds the
// pod on a later attempt.
func TestFailedBindingIsRetried(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{})
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = srv.HTTPClient(t).Transport // the front talks to the server as an administrator
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/binding") && refused.CompareAndSwap(0, 1) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"InternalError","code":500,"message":"injected failure"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c, err := client.New(&client.Config{Host: front.URL})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, c: c, pods: client.For[core.Pod](c, podsR), nodes: client.For[core.Node](c, nodesR), events: client.For[core.Event](c, eventsR)}
	e.sched = e.startScheduler(nil, scheduler.LeaderElection{})
	e.addNode("n1", "4", "8Gi")
	e.addPod("p")
	if got := e.waitBound("p"); got != "n1" {
		t.Fatalf("bound to %s", got)
	}
	if refused.Load() != 1 {
		t.Fatal("the first binding was not refused")
	}
	e.waitEvent("p", "FailedScheduling: Binding rejected: injected failure")
	e.waitEvent("p", "Scheduled: Successfully assigned default/p to n1")
	harness.Eventually(t, 20*time.Second, "assumption confirmed", func() (bool, string) {
		_, pods, assumed := e.sched.Cache().Counts()
		return pods == 1 && assumed == 0, fmt.Sprintf("%d pods, %d assumed", pods, assumed)
	})
}

// TestMetrics checks the metrics kube-scheduler users look for.
func TestMetrics(t *testing.T) {
	e := newEnv(t, nil)
	e.addNode("n1", "1", "1Gi")
	e.addPod("fits")
	e.waitBound("fits")
	e.addPod("too-big", requests("2", ""))
	e.waitUnschedulable("too-big")
	scrape := func() string {
		rec := httptest.NewRecorder()
		e.sched.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	for _, want := range []string{
		`scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 1`,
		`scheduler_schedule_attempts_total{profile="default-scheduler",result="unschedulable"} 1`,
		`scheduler_pending_pods{queue="unschedulable"} 1`,
		`scheduler_pending_pods{queue="active"} 0`,
		`scheduler_preemption_attempts_total 1`,
		`scheduler_cache_size{type="nodes"} 1`,
		`scheduler_pod_scheduling_sli_duration_seconds_count{attempts="1"} 1`,
		`scheduler_scheduling_attempt_duration_seconds_count{profile="default-scheduler",result="scheduled"} 1`,
	} {
		harness.Eventually(t, 10*time.Second, want, func() (bool, string) {
			m := scrape()
			return strings.Contains(m, want), "not in the metrics"
		})
	}
}

// TestPublishesDecision: the bound pod carries the scheduler's reasons in the
// scheduling.skiff.sh/decision annotation (through the Binding), while the Scheduled event
// keeps Kubernetes' exact words.
func TestPublishesDecision(t *testing.T) {
	e := newEnv(t, nil)
	e.addNode("tainted", "4", "8Gi", taint("dedicated", "gpu", core.TaintEffectNoSchedule))
	e.addNode("busy", "4", "8Gi")
	e.addNode("free", "4", "8Gi")
	e.addPod("hog", requests("3", "1Gi"), nodeSelector("kubernetes.io/hostname", "busy"))
	if got := e.waitBound("hog"); got != "busy" {
		t.Fatalf("hog bound to %s, want busy", got)
	}
	e.addPod("web", requests("500m", "256Mi"))
	if got := e.waitBound("web"); got != "free" {
		t.Fatalf("web bound to %s, want free (least allocated)", got)
	}
	e.waitEvent("web", "Scheduled: Successfully assigned default/web to free")
	raw := e.getPod("web").Annotations[scheduling.DecisionAnnotation]
	var d scheduling.Decision
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatalf("annotation %q: %v", raw, err)
	}
	if d.Node != "free" || d.Profile != "default-scheduler" || d.Nodes != 3 || d.Evaluated != 3 || d.Feasible != 2 {
		t.Fatalf("decision %+v", d)
	}
	if len(d.Rejected) != 1 || d.Rejected[0].Nodes != 1 || d.Rejected[0].Plugin != "TaintToleration" ||
		!strings.Contains(d.Rejected[0].Reason, "untolerated taint {dedicated: gpu}") {
		t.Fatalf("rejected %+v", d.Rejected)
	}
	if len(d.Scores) != 2 || d.Scores[0].Node != "free" || d.Scores[1].Node != "busy" || d.Scores[0].Total <= d.Scores[1].Total {
		t.Fatalf("scores %+v", d.Scores)
	}
	var sum int64
	for _, s := range d.Scores[0].Plugins {
		sum += s
	}
	if sum != d.Scores[0].Total || d.Scores[0].Plugins["NodeResourcesFit"] <= d.Scores[1].Plugins["NodeResourcesFit"] {
		t.Fatalf("per-plugin scores %+v do not explain the totals", d.Scores)
	}
	if !strings.Contains(d.Why, "highest total score") {
		t.Fatalf("why %q", d.Why)
	}
}
