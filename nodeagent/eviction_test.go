package nodeagent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent"
	"github.com/skiff-sh/skiff/nodeagent/eviction"
	"github.com/skiff-sh/skiff/nodeagent/stats"
	"github.com/skiff-sh/skiff/test/harness"
)

// A simulated node of 2Gi whose pod's synthetic memory grows past memory.available<500Mi:
// the node reports MemoryPressure, evicts that pod (above its request) and not the quiet one
// (within its request), the pod ends Failed/Evicted with Kubernetes' message and the
// DisruptionTarget condition, and the pressure ends after the transition period.
func TestSimNodeMemoryPressureEviction(t *testing.T) {
	thresholds, err := eviction.Parse(eviction.Flags{Hard: "memory.available<500Mi"})
	if err != nil {
		t.Fatal(err)
	}
	s := startSimWith(t, func(c *nodeagent.Config) {
		c.Capacity = core.ResourceList{core.ResourceCPU: resource.MustParse("4"), core.ResourceMemory: resource.MustParse("2Gi")}
		c.StatsInterval, c.HeartbeatInterval = 200*time.Millisecond, 200*time.Millisecond
		c.Eviction = eviction.Config{Thresholds: thresholds, PressureTransitionPeriod: 2 * time.Second}
	}, "tight")
	ctx := context.Background()
	hog := pod("hog", "tight", core.RestartPolicyAlways, ctr("app", "sleep", "3600"))
	hog.Annotations = map[string]string{stats.SimMemoryAnnotation: "10Mi"}
	quiet := pod("quiet", "tight", core.RestartPolicyAlways, ctr("app", "sleep", "3600"))
	quiet.Annotations = map[string]string{stats.SimMemoryAnnotation: "50Mi"}
	quiet.Spec.Containers[0].Resources.Requests = core.ResourceList{core.ResourceMemory: resource.MustParse("100Mi")}
	s.create(t, hog)
	s.create(t, quiet)
	for _, name := range []string{"hog", "quiet"} {
		s.waitPod(t, name, name+" running", func(p *core.Pod) bool { return p.Status.Phase == core.PodRunning })
	}
	// Allocatable is capacity less the hard memory threshold, as the kubelet reports it.
	n, err := s.nodes.Get(ctx, "", "tight")
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Status.Allocatable[core.ResourceMemory]; got.String() != "1548Mi" {
		t.Errorf("allocatable memory %s, want 1548Mi (2Gi - 500Mi)", got.String())
	}
	if c := nodeCondition(n, core.NodeMemoryPressure); c == nil || c.Status != core.ConditionFalse || c.Reason != "KubeletHasSufficientMemory" {
		t.Errorf("MemoryPressure before: %+v", c)
	}

	// 256Mi of system + 1500Mi + 50Mi leaves 242Mi of 2Gi.
	if _, err := s.pods.Patch(ctx, "default", "hog", client.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"`+stats.SimMemoryAnnotation+`":"1500Mi"}}}`)); err != nil {
		t.Fatal(err)
	}
	p := s.waitPod(t, "hog", "hog evicted", func(p *core.Pod) bool { return p.Status.Phase == core.PodFailed })
	if p.Status.Reason != "Evicted" || !strings.HasPrefix(p.Status.Message, "The node was low on resource: memory. Threshold quantity: 500Mi, available: ") ||
		!strings.Contains(p.Status.Message, "Container app was using 1500Mi, request is 0, has larger consumption of memory. ") {
		t.Errorf("evicted pod: reason %q message %q", p.Status.Reason, p.Status.Message)
	}
	if c := condition(p, core.DisruptionTarget); c != core.ConditionTrue {
		t.Errorf("DisruptionTarget %q, want True", c)
	}
	harness.Eventually(t, 20*time.Second, "MemoryPressure reported", func() (bool, string) {
		n, err := s.nodes.Get(ctx, "", "tight")
		if err != nil {
			return false, err.Error()
		}
		c := nodeCondition(n, core.NodeMemoryPressure)
		return c != nil && c.Status == core.ConditionTrue && c.Reason == "KubeletHasInsufficientMemory" &&
			c.Message == "kubelet has insufficient memory available", describeCond(c)
	})
	if q, err := s.pods.Get(ctx, "default", "quiet"); err != nil || q.Status.Phase != core.PodRunning {
		t.Errorf("the pod within its request: %v %v", describe(q), err)
	}
	// The hog is stopped: memory is back, and after the transition period so is the node.
	harness.Eventually(t, 30*time.Second, "MemoryPressure over", func() (bool, string) {
		n, err := s.nodes.Get(ctx, "", "tight")
		if err != nil {
			return false, err.Error()
		}
		c := nodeCondition(n, core.NodeMemoryPressure)
		return c != nil && c.Status == core.ConditionFalse, describeCond(c)
	})
	if q, err := s.pods.Get(ctx, "default", "quiet"); err != nil || q.Status.Phase != core.PodRunning {
		t.Errorf("the pod within its request, at the end: %v %v", describe(q), err)
	}
}

func nodeCondition(n *core.Node, t core.NodeConditionType) *core.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func describeCond(c *core.NodeCondition) string {
	if c == nil {
		return "no condition"
	}
	return string(c.Status) + " " + c.Reason + ": " + c.Message
}
