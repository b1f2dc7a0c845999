package podautoscaler_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager"
	"github.com/skiff-sh/skiff/controllermanager/podautoscaler"
	"github.com/skiff-sh/skiff/nodeagent/stats"
	"github.com/skiff-sh/skiff/scheduler"
	"github.com/skiff-sh/skiff/test/harness"
)

var (
	deployments = client.Resource{Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true}
	podsRes     = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	eventsRes   = client.Resource{Version: "v1", Resource: "events", Namespaced: true}
)

// startAutoscaling is an in-process API server with sim nodes (stats sampled every
// statsInterval), the scheduler, and the deployment, replicaset and HPA controllers (HPA sync
// every syncPeriod), stopped when t ends; ctx ends with t too.
func startAutoscaling(t *testing.T, statsInterval, syncPeriod time.Duration, nodes ...string) (*harness.Server, *client.Client, context.Context) {
	t.Helper()
	s := harness.StartServer(t, harness.ServerOptions{})
	s.StartSimNodes(t, statsInterval, nodes...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := s.ClientConfig()
	cfg.QPS = 0
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = scheduler.Run(ctx, scheduler.Config{Client: c, Logger: quiet}) }()
	go func() {
		_ = controllermanager.Run(ctx, controllermanager.Config{Client: c, MetricsAddr: "-", Logger: quiet,
			Controllers: []string{"deployment", "replicaset", podautoscaler.Name},
			Options: controllermanager.Options{HPA: podautoscaler.Options{SyncPeriod: syncPeriod,
				// The sim nodes' pods are Ready at once; their CPU counts from the start.
				CPUInitializationPeriod: time.Millisecond}}})
	}()
	return s, c, ctx
}

// TestAutoscalingOnSimNodes: a Deployment whose pods use 400 % of their CPU request
// (synthetic usage on sim nodes, from the sim.skiff.sh/cpu annotation) is scaled by an
// HPA (50 % target, 1..5) to its maximum, with Kubernetes' event and conditions; when the
// pods stop burning it goes back to its minimum (a 0s scale-down window in its behavior).
func TestAutoscalingOnSimNodes(t *testing.T) {
	s, c, ctx := startAutoscaling(t, 200*time.Millisecond, 500*time.Millisecond, "hpa-0", "hpa-1")

	replicas := int32(1)
	labels := map[string]string{"app": "burn"}
	d := &apps.Deployment{ObjectMeta: meta.ObjectMeta{Name: "burn", Namespace: "default"}, Spec: apps.DeploymentSpec{
		Replicas: &replicas, Selector: &meta.LabelSelector{MatchLabels: labels},
		Template: core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: labels, Annotations: map[string]string{stats.SimCPUAnnotation: "800m"}},
			Spec: core.PodSpec{Containers: []core.Container{{Name: "burn", Image: "busybox", Resources: core.ResourceRequirements{
				Requests: core.ResourceList{core.ResourceCPU: resource.MustParse("200m")}}}}}}}}
	if _, err := client.For[apps.Deployment](c, deployments).Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	minR, util, zero := int32(1), int32(50), int32(0)
	hpa := &autoscaling.HorizontalPodAutoscaler{ObjectMeta: meta.ObjectMeta{Name: "burn", Namespace: "default"},
		Spec: autoscaling.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscaling.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "burn"},
			MinReplicas:    &minR, MaxReplicas: 5,
			Metrics: []autoscaling.MetricSpec{{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricSource{
				Name: core.ResourceCPU, Target: autoscaling.MetricTarget{Type: autoscaling.UtilizationMetricType, AverageUtilization: &util}}}},
			Behavior: &autoscaling.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscaling.HPAScalingRules{StabilizationWindowSeconds: &zero}},
		}}
	hpas := client.For[autoscaling.HorizontalPodAutoscaler](c, podautoscaler.HorizontalPodAutoscalers)
	created, err := hpas.Create(ctx, hpa)
	if err != nil {
		t.Fatal(err)
	}
	if p := created.Spec.Behavior.ScaleDown.Policies; len(p) != 1 || p[0].Type != autoscaling.PercentScalingPolicy || p[0].Value != 100 {
		t.Errorf("scaleDown policies not defaulted: %+v", p)
	}

	scaleOf := func() int32 {
		got, err := client.For[apps.Deployment](c, deployments).Get(ctx, "default", "burn")
		if err != nil || got.Spec.Replicas == nil {
			return -1
		}
		return *got.Spec.Replicas
	}
	harness.Eventually(t, 60*time.Second, "scaled up to the maximum", func() (bool, string) {
		n := scaleOf()
		return n == 5, fmt.Sprintf("replicas %d", n)
	})
	harness.Eventually(t, 30*time.Second, "status and event", func() (bool, string) {
		h, err := hpas.Get(ctx, "default", "burn")
		if err != nil {
			return false, err.Error()
		}
		evs, _ := client.For[core.Event](c, eventsRes).List(ctx, "default", client.ListOptions{FieldSelector: "involvedObject.name=burn,reason=SuccessfulRescale"})
		found := false
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "HorizontalPodAutoscaler" && e.Message == "New size: 5; reason: cpu resource utilization (percentage of request) above target" {
				found = true
			}
		}
		cond := map[autoscaling.HorizontalPodAutoscalerConditionType]string{}
		for _, c := range h.Status.Conditions {
			cond[c.Type] = string(c.Status) + "/" + c.Reason
		}
		ok := found && h.Status.DesiredReplicas == 5 && h.Status.LastScaleTime != nil && len(h.Status.CurrentMetrics) == 1 &&
			h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization != nil && *h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization == 400 &&
			strings.HasPrefix(cond[autoscaling.AbleToScale], "True/") && cond[autoscaling.ScalingActive] == "True/ValidMetricFound" &&
			cond[autoscaling.ScalingLimited] == "True/TooManyReplicas"
		return ok, fmt.Sprintf("event found %v, status %+v, conditions %v", found, h.Status, cond)
	})
	if _, err := exec.LookPath("kubectl"); err == nil {
		out := (&harness.Kubectl{Kubeconfig: s.Kubeconfig}).Run(t, "get", "hpa", "burn")
		if !strings.Contains(out, "cpu: 400%/50%") || !strings.Contains(out, "Deployment/burn") {
			t.Errorf("kubectl get hpa:\n%s", out)
		}
	}

	// The load stops: every pod now uses 10m of its 200m.
	pods := client.For[core.Pod](c, podsRes)
	harness.Eventually(t, 30*time.Second, "load taken off every pod", func() (bool, string) {
		list, err := pods.List(ctx, "default", client.ListOptions{LabelSelector: "app=burn"})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range list.Items {
			if p.Annotations[stats.SimCPUAnnotation] == "10m" {
				continue
			}
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"10m"}}}`, stats.SimCPUAnnotation)
			if _, err := pods.Patch(ctx, "default", p.Name, client.MergePatchType, []byte(patch)); err != nil {
				return false, err.Error()
			}
		}
		return true, ""
	})
	harness.Eventually(t, 60*time.Second, "scaled down to the minimum", func() (bool, string) {
		n := scaleOf()
		return n == 1, fmt.Sprintf("replicas %d", n)
	})
}
