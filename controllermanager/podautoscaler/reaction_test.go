package podautoscaler_test

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/podautoscaler"
	"github.com/skiff-sh/skiff/nodeagent/stats"
	"github.com/skiff-sh/skiff/test/harness"
)

// TestHPAReactionTime measures (for docs/PERFORMANCE.md, not a pass/fail check) how long an
// HPA takes from load put on its pods to new replicas, five times, on sim nodes, with the
// stats interval and sync period of the same run as the reference:
//
//	SKIFF_HPA_REACTION=1 go test ./controllermanager/podautoscaler -run TestHPAReactionTime -count=1 -v
func TestHPAReactionTime(t *testing.T) {
	if os.Getenv("SKIFF_HPA_REACTION") == "" {
		t.Skip("a measurement: set SKIFF_HPA_REACTION=1")
	}
	const statsInterval, syncPeriod = time.Second, time.Second
	_, c, ctx := startAutoscaling(t, statsInterval, syncPeriod, "r-0", "r-1")
	one, util, zero := int32(1), int32(50), int32(0)
	labels := map[string]string{"app": "react"}
	d := &apps.Deployment{ObjectMeta: meta.ObjectMeta{Name: "react", Namespace: "default"}, Spec: apps.DeploymentSpec{
		Replicas: &one, Selector: &meta.LabelSelector{MatchLabels: labels},
		Template: core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: labels, Annotations: map[string]string{stats.SimCPUAnnotation: "10m"}},
			Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox", Resources: core.ResourceRequirements{
				Requests: core.ResourceList{core.ResourceCPU: resource.MustParse("200m")}}}}}}}}
	deps := client.For[apps.Deployment](c, deployments)
	if _, err := deps.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := client.For[autoscaling.HorizontalPodAutoscaler](c, podautoscaler.HorizontalPodAutoscalers).Create(ctx, &autoscaling.HorizontalPodAutoscaler{
		ObjectMeta: meta.ObjectMeta{Name: "react", Namespace: "default"},
		Spec: autoscaling.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscaling.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "react"},
			MinReplicas: &one, MaxReplicas: 4,
			Metrics: []autoscaling.MetricSpec{{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricSource{
				Name: core.ResourceCPU, Target: autoscaling.MetricTarget{Type: autoscaling.UtilizationMetricType, AverageUtilization: &util}}}},
			Behavior: &autoscaling.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscaling.HPAScalingRules{StabilizationWindowSeconds: &zero}}}}); err != nil {
		t.Fatal(err)
	}
	pods := client.For[core.Pod](c, podsRes)
	setLoad := func(cpu string) {
		list, err := pods.List(ctx, "default", client.ListOptions{LabelSelector: "app=react"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list.Items {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, stats.SimCPUAnnotation, cpu)
			_, _ = pods.Patch(ctx, "default", p.Name, client.MergePatchType, []byte(patch))
		}
	}
	replicas := func() int32 {
		got, err := deps.Get(ctx, "default", "react")
		if err != nil || got.Spec.Replicas == nil {
			return -1
		}
		return *got.Spec.Replicas
	}
	running := func() bool {
		list, err := pods.List(ctx, "default", client.ListOptions{LabelSelector: "app=react"})
		if err != nil || len(list.Items) != 1 {
			return false
		}
		return list.Items[0].Status.Phase == core.PodRunning && list.Items[0].DeletionTimestamp == nil
	}
	var took []time.Duration
	for run := range 5 {
		harness.Eventually(t, 2*time.Minute, "at rest with one running pod", func() (bool, string) {
			return replicas() == 1 && running(), fmt.Sprintf("replicas %d", replicas())
		})
		time.Sleep(2 * statsInterval) // the pod's rate is its idle one in the latest samples
		start := time.Now()
		setLoad("800m")
		for replicas() <= 1 {
			time.Sleep(20 * time.Millisecond)
		}
		took = append(took, time.Since(start))
		t.Logf("run %d: load to new replicas %v", run+1, took[run])
		setLoad("10m")
		// New pods come with the template's 10m: the autoscaler goes back to 1.
	}
	slices.Sort(took)
	t.Logf("HPA reaction p50 %v (runs %v); stats interval %v + sync period %v = %v; p50 / (interval + period) = %.2f",
		took[2], took, statsInterval, syncPeriod, statsInterval+syncPeriod, took[2].Seconds()/(statsInterval+syncPeriod).Seconds())
}
