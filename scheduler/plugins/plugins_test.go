package plugins

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// Builders for pods and nodes.

type podB struct{ p *core.Pod }

var uidSeq int

func pod(name string) *podB {
	uidSeq++
	return &podB{&core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default", UID: fmt.Sprintf("uid-%d", uidSeq)},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c"}}}}}
}

func (b *podB) req(cpu, mem string) *podB {
	rl := core.ResourceList{}
	if cpu != "" {
		rl[core.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[core.ResourceMemory] = resource.MustParse(mem)
	}
	b.p.Spec.Containers[0].Resources.Requests = rl
	return b
}

func (b *podB) extended(name, q string) *podB {
	if b.p.Spec.Containers[0].Resources.Requests == nil {
		b.p.Spec.Containers[0].Resources.Requests = core.ResourceList{}
	}
	b.p.Spec.Containers[0].Resources.Requests[core.ResourceName(name)] = resource.MustParse(q)
	return b
}

func (b *podB) labels(kv ...string) *podB {
	if b.p.Labels == nil {
		b.p.Labels = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b.p.Labels[kv[i]] = kv[i+1]
	}
	return b
}

func (b *podB) ns(ns string) *podB               { b.p.Namespace = ns; return b }
func (b *podB) spec(f func(*core.PodSpec)) *podB { f(&b.p.Spec); return b }
func (b *podB) on(node string) *podB             { b.p.Spec.NodeName = node; return b }
func (b *podB) info() *fw.PodInfo                { return fw.NewPodInfo(b.p) }

type nodeB struct{ n *core.Node }

func node(name string) *nodeB {
	rl := core.ResourceList{core.ResourceCPU: resource.MustParse("4"), core.ResourceMemory: resource.MustParse("8Gi"), core.ResourcePods: resource.MustParse("110")}
	return &nodeB{&core.Node{ObjectMeta: meta.ObjectMeta{Name: name, Labels: map[string]string{core.LabelHostname: name}},
		Status: core.NodeStatus{Allocatable: rl}}}
}

func (b *nodeB) alloc(name, q string) *nodeB {
	b.n.Status.Allocatable[core.ResourceName(name)] = resource.MustParse(q)
	return b
}

func (b *nodeB) labels(kv ...string) *nodeB {
	for i := 0; i+1 < len(kv); i += 2 {
		b.n.Labels[kv[i]] = kv[i+1]
	}
	return b
}

func (b *nodeB) taint(key, value string, effect core.TaintEffect) *nodeB {
	b.n.Spec.Taints = append(b.n.Spec.Taints, core.Taint{Key: key, Value: value, Effect: effect})
	return b
}

func (b *nodeB) images(size int64, names ...string) *nodeB {
	b.n.Status.Images = append(b.n.Status.Images, core.ContainerImage{Names: names, SizeBytes: size})
	return b
}

// info builds the NodeInfo with pods on it.
func (b *nodeB) info(pods ...*podB) *fw.NodeInfo {
	ni := fw.NewNodeInfo()
	ni.SetNode(b.n)
	for _, p := range pods {
		p.p.Spec.NodeName = b.n.Name
		ni.AddPod(p.info())
	}
	return ni
}

// run runs PreFilter and Filter of p against every node of snap, returning each node's
// status as "Code: reasons" ("" for success).
func filterAll(t *testing.T, p fw.Plugin, pod *fw.PodInfo, snap *fw.Snapshot) []string {
	t.Helper()
	state := fw.NewCycleState(snap, nil)
	var out []string
	if pf, ok := p.(fw.PreFilterPlugin); ok {
		st := pf.PreFilter(context.Background(), state, pod)
		if st.IsSkip() {
			for range snap.NodeInfoList {
				out = append(out, "")
			}
			return out
		}
		if !st.IsSuccess() {
			t.Fatalf("PreFilter: %v", st.Message())
		}
	}
	for _, n := range snap.NodeInfoList {
		out = append(out, statusString(p.(fw.FilterPlugin).Filter(context.Background(), state, pod, n)))
	}
	return out
}

func statusString(st *fw.Status) string {
	switch st.Code() {
	case fw.Success:
		return ""
	case fw.Unschedulable:
		return "Unschedulable: " + st.Message()
	case fw.UnschedulableAndUnresolvable:
		return "Unresolvable: " + st.Message()
	}
	return fmt.Sprintf("code %d: %s", st.Code(), st.Message())
}

// scoreAll runs PreScore, Score and NormalizeScore over every node of snap.
func scoreAll(t *testing.T, p fw.ScorePlugin, pod *fw.PodInfo, snap *fw.Snapshot) []int64 {
	t.Helper()
	state := fw.NewCycleState(snap, nil)
	scores := make([]int64, len(snap.NodeInfoList))
	if ps, ok := p.(fw.PreScorePlugin); ok {
		st := ps.PreScore(context.Background(), state, pod, snap.NodeInfoList)
		if st.IsSkip() {
			return scores
		}
		if !st.IsSuccess() {
			t.Fatalf("PreScore: %v", st.Message())
		}
	}
	for i, n := range snap.NodeInfoList {
		s, st := p.Score(context.Background(), state, pod, n)
		if !st.IsSuccess() {
			t.Fatalf("Score: %v", st.Message())
		}
		scores[i] = s
	}
	if norm, ok := p.(fw.ScoreNormalizer); ok {
		norm.NormalizeScore(state, pod, snap.NodeInfoList, scores)
	}
	return scores
}

func TestNodeUnschedulable(t *testing.T) {
	cordoned := node("n").n
	cordoned.Spec.Unschedulable = true
	tests := []struct {
		name string
		pod  *podB
		node *core.Node
		want string
	}{
		{"schedulable node", pod("p"), node("n").n, ""},
		{"cordoned", pod("p"), cordoned, "Unresolvable: node(s) were unschedulable"},
		{"tolerates the unschedulable taint", pod("p").spec(func(s *core.PodSpec) {
			s.Tolerations = []core.Toleration{{Key: core.TaintNodeUnschedulable, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule}}
		}), cordoned, ""},
		{"tolerates everything", pod("p").spec(func(s *core.PodSpec) {
			s.Tolerations = []core.Toleration{{Operator: core.TolerationOpExists}}
		}), cordoned, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ni := fw.NewNodeInfo()
			ni.SetNode(tc.node)
			got := filterAll(t, NodeUnschedulable{}, tc.pod.info(), fw.NewSnapshot(ni))[0]
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNodeName(t *testing.T) {
	snap := fw.NewSnapshot(node("a").info(), node("b").info())
	got := filterAll(t, NodeName{}, pod("p").spec(func(s *core.PodSpec) { s.NodeName = "b" }).info(), snap)
	want := []string{"Unresolvable: node(s) didn't match the requested node name", ""}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTaintTolerationFilter(t *testing.T) {
	tol := func(key string, op core.TolerationOperator, value string, effect core.TaintEffect) *podB {
		return pod("p").spec(func(s *core.PodSpec) {
			s.Tolerations = []core.Toleration{{Key: key, Operator: op, Value: value, Effect: effect}}
		})
	}
	gpu := node("gpu").taint("dedicated", "gpu", core.TaintEffectNoSchedule)
	exec := node("exec").taint("evict", "", core.TaintEffectNoExecute)
	prefer := node("prefer").taint("spot", "true", core.TaintEffectPreferNoSchedule)
	tests := []struct {
		name string
		pod  *podB
		node *nodeB
		want string
	}{
		{"no taints", pod("p"), node("n"), ""},
		{"NoSchedule untolerated", pod("p"), gpu, "Unresolvable: node(s) had untolerated taint {dedicated: gpu}"},
		{"NoExecute untolerated", pod("p"), exec, "Unresolvable: node(s) had untolerated taint {evict: }"},
		{"PreferNoSchedule never filters", pod("p"), prefer, ""},
		{"Equal with the value", tol("dedicated", core.TolerationOpEqual, "gpu", core.TaintEffectNoSchedule), gpu, ""},
		{"Equal with another value", tol("dedicated", core.TolerationOpEqual, "tpu", core.TaintEffectNoSchedule), gpu, "Unresolvable: node(s) had untolerated taint {dedicated: gpu}"},
		{"empty operator means Equal", tol("dedicated", "", "gpu", ""), gpu, ""},
		{"Exists on the key, any effect", tol("dedicated", core.TolerationOpExists, "", ""), gpu, ""},
		{"Exists with another effect", tol("dedicated", core.TolerationOpExists, "", core.TaintEffectNoExecute), gpu, "Unresolvable: node(s) had untolerated taint {dedicated: gpu}"},
		{"empty key with Exists tolerates everything", tol("", core.TolerationOpExists, "", ""), exec, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := filterAll(t, TaintToleration{}, tc.pod.info(), fw.NewSnapshot(tc.node.info()))[0]
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTaintTolerationScore(t *testing.T) {
	snap := fw.NewSnapshot(
		node("clean").info(),
		node("one").taint("a", "", core.TaintEffectPreferNoSchedule).info(),
		node("two").taint("a", "", core.TaintEffectPreferNoSchedule).taint("b", "", core.TaintEffectPreferNoSchedule).info(),
	)
	tests := []struct {
		name string
		pod  *podB
		want []int64
	}{
		{"fewer untolerated PreferNoSchedule taints is better", pod("p"), []int64{100, 50, 0}},
		{"tolerated ones do not count", pod("p").spec(func(s *core.PodSpec) {
			s.Tolerations = []core.Toleration{{Key: "a", Operator: core.TolerationOpExists}}
		}), []int64{100, 100, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scoreAll(t, TaintToleration{}, tc.pod.info(), snap); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNodeAffinityFilter(t *testing.T) {
	snap := fw.NewSnapshot(
		node("a").labels("zone", "z1", "gen", "3").info(),
		node("b").labels("zone", "z2", "gen", "10", "gpu", "").info(),
		node("c").labels("gen", "x").info(),
	)
	req := func(terms ...core.NodeSelectorTerm) *podB {
		return pod("p").spec(func(s *core.PodSpec) {
			s.Affinity = &core.Affinity{NodeAffinity: &core.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &core.NodeSelector{NodeSelectorTerms: terms}}}
		})
	}
	term := func(reqs ...core.NodeSelectorRequirement) core.NodeSelectorTerm {
		return core.NodeSelectorTerm{MatchExpressions: reqs}
	}
	r := func(key string, op core.NodeSelectorOperator, vals ...string) core.NodeSelectorRequirement {
		return core.NodeSelectorRequirement{Key: key, Operator: op, Values: vals}
	}
	const no = "Unresolvable: " + ReasonNodeAffinity
	tests := []struct {
		name string
		pod  *podB
		want []string
	}{
		{"nothing asked", pod("p"), []string{"", "", ""}},
		{"nodeSelector", pod("p").spec(func(s *core.PodSpec) { s.NodeSelector = map[string]string{"zone": "z2"} }), []string{no, "", no}},
		{"In", req(term(r("zone", core.NodeSelectorOpIn, "z1", "z3"))), []string{"", no, no}},
		{"NotIn matches a missing label", req(term(r("zone", core.NodeSelectorOpNotIn, "z1"))), []string{no, "", ""}},
		{"Exists", req(term(r("gpu", core.NodeSelectorOpExists))), []string{no, "", no}},
		{"DoesNotExist", req(term(r("gpu", core.NodeSelectorOpDoesNotExist))), []string{"", no, ""}},
		{"Gt compares integers, not strings", req(term(r("gen", core.NodeSelectorOpGt, "5"))), []string{no, "", no}},
		{"Lt; a non-integer label never matches", req(term(r("gen", core.NodeSelectorOpLt, "5"))), []string{"", no, no}},
		{"requirements of a term are ANDed", req(term(r("zone", core.NodeSelectorOpExists), r("gen", core.NodeSelectorOpLt, "5"))), []string{"", no, no}},
		{"terms are ORed", req(term(r("zone", core.NodeSelectorOpIn, "z1")), term(r("gen", core.NodeSelectorOpIn, "x"))), []string{"", no, ""}},
		{"an empty term matches nothing", req(core.NodeSelectorTerm{}), []string{no, no, no}},
		{"matchFields on metadata.name", req(core.NodeSelectorTerm{MatchFields: []core.NodeSelectorRequirement{r("metadata.name", core.NodeSelectorOpIn, "c")}}), []string{no, no, ""}},
		{"nodeSelector and affinity both apply", req(term(r("zone", core.NodeSelectorOpExists))).spec(func(s *core.PodSpec) {
			s.NodeSelector = map[string]string{"gen": "3"}
		}), []string{"", no, no}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := filterAll(t, NodeAffinity{}, tc.pod.info(), snap); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNodeAffinityMalformed(t *testing.T) {
	p := pod("p").spec(func(s *core.PodSpec) {
		s.Affinity = &core.Affinity{NodeAffinity: &core.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &core.NodeSelector{
			NodeSelectorTerms: []core.NodeSelectorTerm{{MatchExpressions: []core.NodeSelectorRequirement{{Key: "gen", Operator: core.NodeSelectorOpGt, Values: []string{"five"}}}}}}}}
	})
	st := NodeAffinity{}.PreFilter(context.Background(), fw.NewCycleState(fw.NewSnapshot(), nil), p.info())
	if st.Code() != fw.UnschedulableAndUnresolvable || st.Message() != `operator Gt needs an integer value for key "gen", got "five"` {
		t.Fatalf("got %v %q", st.Code(), st.Message())
	}
}

func TestNodeAffinityScore(t *testing.T) {
	snap := fw.NewSnapshot(node("a").labels("zone", "z1").info(), node("b").labels("zone", "z2", "ssd", "").info(), node("c").info())
	p := pod("p").spec(func(s *core.PodSpec) {
		s.Affinity = &core.Affinity{NodeAffinity: &core.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []core.PreferredSchedulingTerm{
			{Weight: 20, Preference: core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{{Key: "zone", Operator: core.NodeSelectorOpExists}}}},
			{Weight: 60, Preference: core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{{Key: "ssd", Operator: core.NodeSelectorOpExists}}}},
		}}}
	})
	if got, want := scoreAll(t, NodeAffinity{}, p.info(), snap), []int64{25, 100, 0}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// sidecarPort is a pod whose sidecar (an init container that keeps running) binds host port p.
func sidecarPort(p int32) *podB {
	always := core.ContainerRestartPolicyAlways
	return pod("p").spec(func(s *core.PodSpec) {
		s.InitContainers = []core.Container{{Name: "proxy", RestartPolicy: &always,
			Ports: []core.ContainerPort{{ContainerPort: p, HostPort: p}}}}
	})
}

func TestNodePorts(t *testing.T) {
	port := func(ip string, proto core.Protocol, p int32) *podB {
		return pod("p").spec(func(s *core.PodSpec) {
			s.Containers[0].Ports = []core.ContainerPort{{ContainerPort: p, HostPort: p, HostIP: ip, Protocol: proto}}
		})
	}
	const taken = "Unschedulable: " + ReasonNodePorts
	tests := []struct {
		name     string
		existing *podB
		pod      *podB
		want     string
	}{
		{"no host ports", port("", "", 80), pod("p"), ""},
		{"same port, same protocol", port("", core.ProtocolTCP, 80), port("", core.ProtocolTCP, 80), taken},
		{"same port, other protocol", port("", core.ProtocolTCP, 53), port("", core.ProtocolUDP, 53), ""},
		{"empty protocol is TCP", port("", "", 80), port("", core.ProtocolTCP, 80), taken},
		{"different addresses", port("10.0.0.1", "", 80), port("10.0.0.2", "", 80), ""},
		{"0.0.0.0 collides with a specific address", port("10.0.0.1", "", 80), port("0.0.0.0", "", 80), taken},
		{"a specific address collides with 0.0.0.0", port("", "", 80), port("10.0.0.2", "", 80), taken},
		{"other port", port("", "", 80), port("", "", 81), ""},
		{":: is every address too", port("10.0.0.1", "", 80), port("::", "", 80), taken},
		// As the node agent admits them: a sidecar's ports are bound beside the app's.
		{"a sidecar's port is taken", sidecarPort(80), port("", "", 80), taken},
		{"a sidecar's port collides", port("", "", 80), sidecarPort(80), taken},
		{"a plain init container's port is released", pod("p").spec(func(s *core.PodSpec) {
			s.InitContainers = []core.Container{{Name: "init", Ports: []core.ContainerPort{{ContainerPort: 80, HostPort: 80}}}}
		}), port("", "", 80), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := fw.NewSnapshot(node("n").info(tc.existing))
			if got := filterAll(t, NodePorts{}, tc.pod.info(), snap)[0]; got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNodeResourcesFitFilter(t *testing.T) {
	fit, err := NewNodeResourcesFit(NodeResourcesFitArgs{})
	if err != nil {
		t.Fatal(err)
	}
	init := func(cpu string, sidecar bool) func(*core.PodSpec) {
		return func(s *core.PodSpec) {
			c := core.Container{Name: fmt.Sprintf("init-%d", len(s.InitContainers)), Resources: core.ResourceRequirements{
				Requests: core.ResourceList{core.ResourceCPU: resource.MustParse(cpu)}}}
			if sidecar {
				always := core.ContainerRestartPolicyAlways
				c.RestartPolicy = &always
			}
			s.InitContainers = append(s.InitContainers, c)
		}
	}
	n := node("n").alloc("example.com/gpu", "2").alloc("ephemeral-storage", "10Gi")
	tests := []struct {
		name     string
		existing []*podB
		pod      *podB
		want     string
	}{
		{"fits", []*podB{pod("a").req("2", "4Gi")}, pod("p").req("2", "4Gi"), ""},
		{"cpu short", []*podB{pod("a").req("3", "")}, pod("p").req("2", ""), "Unschedulable: Insufficient cpu"},
		{"cpu and memory short", []*podB{pod("a").req("3", "7Gi")}, pod("p").req("2", "2Gi"), "Unschedulable: Insufficient cpu, Insufficient memory"},
		{"bigger than the whole node cannot be helped by preemption", nil, pod("p").req("5", ""), "Unresolvable: Insufficient cpu"},
		{"a pod asking nothing always fits resources", []*podB{pod("a").req("4", "8Gi")}, pod("p"), ""},
		{"extended resource", []*podB{pod("a").extended("example.com/gpu", "1")}, pod("p").extended("example.com/gpu", "2"), "Unschedulable: Insufficient example.com/gpu"},
		{"extended resource absent on the node", nil, pod("p").extended("example.com/fpga", "1"), "Unresolvable: Insufficient example.com/fpga"},
		{"ephemeral storage", nil, pod("p").extended("ephemeral-storage", "20Gi"), "Unresolvable: Insufficient ephemeral-storage"},
		{"init containers count by the max rule", []*podB{pod("a").req("1", "")},
			pod("p").req("1", "").spec(init("3", false)), ""},
		{"an init container bigger than what is left", []*podB{pod("a").req("2", "")},
			pod("p").req("1", "").spec(init("3", false)), "Unschedulable: Insufficient cpu"},
		{"sidecars add to the containers", []*podB{pod("a").req("1", "")},
			pod("p").req("2", "").spec(init("2", true)), "Unschedulable: Insufficient cpu"},
		{"overhead adds", []*podB{pod("a").req("1", "")},
			pod("p").req("2", "").spec(func(s *core.PodSpec) { s.Overhead = core.ResourceList{core.ResourceCPU: resource.MustParse("1500m")} }), "Unschedulable: Insufficient cpu"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := filterAll(t, fit, tc.pod.info(), fw.NewSnapshot(n.info(tc.existing...)))[0]; got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("pods slot", func(t *testing.T) {
		full := node("full").alloc("pods", "1").info(pod("a"))
		if got := filterAll(t, fit, pod("p").info(), fw.NewSnapshot(full))[0]; got != "Unschedulable: Too many pods" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestPodRequests(t *testing.T) {
	always := core.ContainerRestartPolicyAlways
	c := func(cpu string) core.Container {
		return core.Container{Resources: core.ResourceRequirements{Requests: core.ResourceList{core.ResourceCPU: resource.MustParse(cpu)}}}
	}
	sidecar := func(cpu string) core.Container { x := c(cpu); x.RestartPolicy = &always; return x }
	tests := []struct {
		name           string
		containers     []core.Container
		init           []core.Container
		cpu, nonZeroMB int64
	}{
		{"sum of containers", []core.Container{c("1"), c("500m")}, nil, 1500, 400},
		{"init larger than the sum", []core.Container{c("1")}, []core.Container{c("2")}, 2000, 200},
		{"init smaller than the sum", []core.Container{c("3")}, []core.Container{c("2")}, 3000, 200},
		{"sidecar adds to the containers and to later init containers", []core.Container{c("1")}, []core.Container{sidecar("1"), c("2")}, 3000, 400},
		{"no requests count 100m/200Mi for spreading only", []core.Container{{}}, nil, 0, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &core.Pod{Spec: core.PodSpec{Containers: tc.containers, InitContainers: tc.init}}
			req, nz := fw.PodRequests(p)
			if req.MilliCPU != tc.cpu || nz.Memory != tc.nonZeroMB*1024*1024 {
				t.Fatalf("cpu %dm nonzero memory %d, want %dm and %dMi", req.MilliCPU, nz.Memory, tc.cpu, tc.nonZeroMB)
			}
		})
	}
}

func TestResourceScores(t *testing.T) {
	least, _ := NewNodeResourcesFit(NodeResourcesFitArgs{})
	most, _ := NewNodeResourcesFit(NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Type: MostAllocated}})
	weighted, _ := NewNodeResourcesFit(NodeResourcesFitArgs{ScoringStrategy: &ScoringStrategy{Resources: []ResourceSpec{{Name: "cpu", Weight: 3}, {Name: "memory", Weight: 1}}}})
	balanced, _ := NewBalancedAllocation(BalancedAllocationArgs{})
	// 4 cpu / 8Gi nodes: "empty", "half" (2 cpu, 4Gi used), "skewed" (3 cpu, 1Gi used).
	snap := fw.NewSnapshot(
		node("empty").info(),
		node("half").info(pod("a").req("2", "4Gi")),
		node("skewed").info(pod("b").req("3", "1Gi")),
	)
	p := pod("p").req("1", "2Gi").info()
	tests := []struct {
		name   string
		plugin fw.ScorePlugin
		want   []int64
	}{
		// LeastAllocated: mean over cpu and memory of free/allocatable after placing the pod.
		{"least allocated", least, []int64{(75 + 75) / 2, (25 + 25) / 2, (0 + 62) / 2}},
		{"most allocated", most, []int64{(25 + 25) / 2, (75 + 75) / 2, (100 + 37) / 2}},
		{"weighted resources", weighted, []int64{(75*3 + 75) / 4, (25*3 + 25) / 4, (0*3 + 62) / 4}},
		// Balanced: 100·(1 − |cpu fraction − memory fraction| / 2).
		{"balanced allocation", balanced, []int64{100, 100, 68}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scoreAll(t, tc.plugin, p, snap); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestImageLocality(t *testing.T) {
	const mb = 1024 * 1024
	n1 := node("has-both").images(500*mb, "nginx:1.25").images(300*mb, "docker.io/redis:latest", "redis").info()
	n2 := node("has-nginx").images(500*mb, "nginx:1.25").info()
	n3 := node("has-none").info()
	// ImageStates are kept by the cache; set them as it would.
	setStates := func(ni *fw.NodeInfo, counts map[string]int, sizes map[string]int64) {
		ni.ImageStates = map[string]*fw.ImageState{}
		for _, img := range ni.Node.Status.Images {
			for _, name := range img.Names {
				name = fw.NormalizedImageName(name)
				ni.ImageStates[name] = &fw.ImageState{Size: sizes[name], NumNodes: counts[name]}
			}
		}
	}
	counts := map[string]int{"nginx:1.25": 2, "docker.io/redis:latest": 1, "redis:latest": 1}
	sizes := map[string]int64{"nginx:1.25": 500 * mb, "docker.io/redis:latest": 300 * mb, "redis:latest": 300 * mb}
	setStates(n1, counts, sizes)
	setStates(n2, counts, sizes)
	snap := fw.NewSnapshot(n1, n2, n3)
	p := pod("p").spec(func(s *core.PodSpec) {
		s.Containers = []core.Container{{Name: "a", Image: "nginx:1.25"}, {Name: "b", Image: "redis"}}
	}).info()
	got := scoreAll(t, ImageLocality{}, p, snap)
	// Sum of size × spread (nodes with it / all nodes), clamped to [23MB, 1000MB × containers].
	sum1 := int64(500*mb*2/3) + int64(300*mb*1/3)
	sum2 := int64(500 * mb * 2 / 3)
	score := func(sum int64) int64 { return 100 * (sum - 23*mb) / (2000*mb - 23*mb) }
	if want := []int64{score(sum1), score(sum2), 0}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestNormalizedImageName(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                  "nginx:latest",
		"nginx:1.25":             "nginx:1.25",
		"localhost:5000/app":     "localhost:5000/app:latest",
		"localhost:5000/app:v1":  "localhost:5000/app:v1",
		"busybox@sha256:abcdef0": "busybox@sha256:abcdef0",
	} {
		if got := fw.NormalizedImageName(in); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
