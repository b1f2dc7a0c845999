package cache

import (
	"slices"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

func node(name string) *core.Node {
	return &core.Node{ObjectMeta: meta.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: core.NodeStatus{Allocatable: core.ResourceList{core.ResourceCPU: resource.MustParse("4"), core.ResourcePods: resource.MustParse("110")}}}
}

func pod(name, nodeName, cpu string) *core.Pod {
	return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name},
		Spec: core.PodSpec{NodeName: nodeName, Containers: []core.Container{{Name: "c", Resources: core.ResourceRequirements{
			Requests: core.ResourceList{core.ResourceCPU: resource.MustParse(cpu)}}}}}}
}

func requestedCPU(s *fw.Snapshot, name string) int64 {
	if n := s.Get(name); n != nil {
		return n.Requested.MilliCPU
	}
	return -1
}

func TestAssumeConfirmForget(t *testing.T) {
	tests := []struct {
		name    string
		steps   func(c *Cache)
		wantCPU map[string]int64 // node → requested milli-CPU in the snapshot
		assumed int
	}{
		{"assumed pods count at once", func(c *Cache) {
			_ = c.AssumePod(fw.NewPodInfo(pod("p", "n1", "1")))
		}, map[string]int64{"n1": 1000, "n2": 0}, 1},
		{"the informer confirms an assumed pod", func(c *Cache) {
			_ = c.AssumePod(fw.NewPodInfo(pod("p", "n1", "1")))
			c.AddPod(pod("p", "n1", "1"))
		}, map[string]int64{"n1": 1000, "n2": 0}, 0},
		{"confirmed on another node (someone else bound it) moves it", func(c *Cache) {
			_ = c.AssumePod(fw.NewPodInfo(pod("p", "n1", "1")))
			c.AddPod(pod("p", "n2", "1"))
		}, map[string]int64{"n1": 0, "n2": 1000}, 0},
		{"a failed binding forgets it", func(c *Cache) {
			_ = c.AssumePod(fw.NewPodInfo(pod("p", "n1", "1")))
			c.ForgetPod(pod("p", "n1", "1"))
		}, map[string]int64{"n1": 0, "n2": 0}, 0},
		{"forget does not remove a confirmed pod", func(c *Cache) {
			c.AddPod(pod("p", "n1", "1"))
			c.ForgetPod(pod("p", "n1", "1"))
		}, map[string]int64{"n1": 1000, "n2": 0}, 0},
		{"an update replaces the requests", func(c *Cache) {
			c.AddPod(pod("p", "n1", "1"))
			c.UpdatePod(pod("p", "n1", "2"))
		}, map[string]int64{"n1": 2000, "n2": 0}, 0},
		{"deleting an assumed pod removes it", func(c *Cache) {
			_ = c.AssumePod(fw.NewPodInfo(pod("p", "n1", "1")))
			c.RemovePod(pod("p", "", "1"))
		}, map[string]int64{"n1": 0, "n2": 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			c.AddNode(node("n1"))
			c.AddNode(node("n2"))
			tc.steps(c)
			snap := fw.NewEmptySnapshot()
			c.UpdateSnapshot(snap)
			for n, want := range tc.wantCPU {
				if got := requestedCPU(snap, n); got != want {
					t.Errorf("%s requested %dm, want %dm", n, got, want)
				}
			}
			if _, _, assumed := c.Counts(); assumed != tc.assumed {
				t.Errorf("%d assumed, want %d", assumed, tc.assumed)
			}
		})
	}
}

func TestAssumeTwiceFails(t *testing.T) {
	c := New()
	c.AddNode(node("n1"))
	if err := c.AssumePod(fw.NewPodInfo(pod("p", "n1", "1"))); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(fw.NewPodInfo(pod("p", "n1", "1"))); err == nil {
		t.Fatal("assuming the same pod twice succeeded")
	}
}

// TestSnapshotIsIncremental: a snapshot update copies only the nodes that changed, leaving the
// others' NodeInfos (and the list) as they were.
func TestSnapshotIsIncremental(t *testing.T) {
	c := New()
	for _, n := range []string{"a", "b", "c"} {
		c.AddNode(node(n))
	}
	snap := fw.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	before := map[string]fw.NodeInfo{}
	for name, ni := range snap.NodeInfoMap {
		before[name] = *ni
	}
	c.AddPod(pod("p", "b", "1"))
	c.UpdateSnapshot(snap)
	for name, ni := range snap.NodeInfoMap {
		changed := ni.Generation != before[name].Generation
		if changed != (name == "b") {
			t.Errorf("node %s changed=%v after a pod was added to b", name, changed)
		}
	}
	if got := snap.Get("b").Requested.MilliCPU; got != 1000 {
		t.Fatalf("b requested %dm", got)
	}
	// The snapshot is a copy: the cache changing does not change it until the next update.
	c.AddPod(pod("q", "b", "1"))
	if got := snap.Get("b").Requested.MilliCPU; got != 1000 {
		t.Fatalf("snapshot changed under the cycle: b requested %dm", got)
	}
	var names []string
	for _, ni := range snap.NodeInfoList {
		names = append(names, ni.Name())
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("node list %v", names)
	}
}

func TestSnapshotNodeRemovalAndAffinityLists(t *testing.T) {
	c := New()
	c.AddNode(node("a"))
	c.AddNode(node("b"))
	anti := pod("anti", "a", "1")
	anti.Spec.Affinity = &core.Affinity{PodAntiAffinity: &core.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []core.PodAffinityTerm{
		{LabelSelector: &meta.LabelSelector{}, TopologyKey: "kubernetes.io/hostname"}}}}
	c.AddPod(anti)
	snap := fw.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	if len(snap.HavePodsWithRequiredAntiAffinityList) != 1 || len(snap.HavePodsWithAffinityList) != 1 {
		t.Fatalf("affinity lists: %d, %d", len(snap.HavePodsWithAffinityList), len(snap.HavePodsWithRequiredAntiAffinityList))
	}
	c.RemoveNode(node("a"))
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 1 || snap.Get("a") != nil || len(snap.HavePodsWithRequiredAntiAffinityList) != 0 {
		t.Fatalf("after removing a: %d nodes, a=%v, anti list %d", snap.NumNodes(), snap.Get("a"), len(snap.HavePodsWithRequiredAntiAffinityList))
	}
	// The pod still names the removed node; once it goes, nothing is left of a.
	c.RemovePod(anti)
	if nodes, pods, _ := c.Counts(); nodes != 1 || pods != 0 {
		t.Fatalf("%d nodes, %d pods", nodes, pods)
	}
	// A node that comes back is listed again.
	c.AddNode(node("a"))
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 2 {
		t.Fatalf("%d nodes after re-adding a", snap.NumNodes())
	}
}

func TestImageStates(t *testing.T) {
	c := New()
	withImage := func(name string) *core.Node {
		n := node(name)
		n.Status.Images = []core.ContainerImage{{Names: []string{"nginx"}, SizeBytes: 100}}
		return n
	}
	c.AddNode(withImage("a"))
	c.AddNode(withImage("b"))
	c.AddNode(node("c"))
	snap := fw.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	st := snap.Get("b").ImageStates["nginx:latest"]
	if st == nil || st.NumNodes != 2 || st.Size != 100 {
		t.Fatalf("image state on b: %+v", st)
	}
	c.RemoveNode(withImage("a"))
	c.UpdateNode(withImage("b"))
	c.UpdateSnapshot(snap)
	if st := snap.Get("b").ImageStates["nginx:latest"]; st.NumNodes != 1 {
		t.Fatalf("after a left, nginx is on %d nodes", st.NumNodes)
	}
}

func TestValidateNode(t *testing.T) {
	tests := []struct {
		name string
		edit func(*core.Node)
		want string // substring; "" means valid
	}{
		{"valid", func(*core.Node) {}, ""},
		{"bad taint effect", func(n *core.Node) { n.Spec.Taints = []core.Taint{{Key: "k", Effect: "Sometimes"}} }, `spec.taints[0].effect "Sometimes"`},
		{"empty taint key", func(n *core.Node) { n.Spec.Taints = []core.Taint{{Effect: core.TaintEffectNoSchedule}} }, `spec.taints[0].key ""`},
		{"bad label key", func(n *core.Node) { n.Labels["bad key"] = "v" }, `label key "bad key"`},
		{"bad label value", func(n *core.Node) { n.Labels["k"] = "a b" }, `label k value "a b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := node("n")
			tc.edit(n)
			got := ValidateNode(n)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			c := New()
			if invalid := c.AddNode(n); invalid != got {
				t.Fatalf("AddNode reported %q", invalid)
			}
		})
	}
}
