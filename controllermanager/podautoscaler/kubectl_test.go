package podautoscaler_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/stats"
	"github.com/skiff-sh/skiff/test/harness"
)

// TestKubectlAutoscaleAtBothVersions: the real kubectl's `kubectl autoscale` makes an
// autoscaler, and an autoscaling/v1 manifest applied with kubectl makes another; the
// controller (which reads autoscaling/v2) scales both Deployments on the sim nodes' CPU, and
// kubectl shows them through both versions (by full resource name: kubectl expands a short
// name such as hpa.v1.autoscaling to the preferred version).
func TestKubectlAutoscaleAtBothVersions(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed")
	}
	s, c, ctx := startAutoscaling(t, 200*time.Millisecond, 500*time.Millisecond, "as-0", "as-1")
	for _, name := range []string{"web", "api"} {
		one := int32(1)
		labels := map[string]string{"app": name}
		d := &apps.Deployment{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"}, Spec: apps.DeploymentSpec{
			Replicas: &one, Selector: &meta.LabelSelector{MatchLabels: labels},
			Template: core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: labels, Annotations: map[string]string{stats.SimCPUAnnotation: "800m"}},
				Spec: core.PodSpec{Containers: []core.Container{{Name: "burn", Image: "busybox", Resources: core.ResourceRequirements{
					Requests: core.ResourceList{core.ResourceCPU: resource.MustParse("200m")}}}}}}}}
		if _, err := client.For[apps.Deployment](c, deployments).Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	k := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
	out, errOut, err := k.Exec([]string{"autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=5", "-v=6"}, "")
	if err != nil || !strings.Contains(out, "horizontalpodautoscaler.autoscaling/web autoscaled") {
		t.Fatalf("kubectl autoscale: %v\n%s\n%s", err, out, errOut)
	}
	for _, l := range strings.Split(errOut, "\n") {
		if strings.Contains(l, "POST") && strings.Contains(l, "horizontalpodautoscalers") {
			t.Logf("kubectl autoscale sent: %s", l[strings.Index(l, "POST"):])
		}
	}
	k.RunStdin(t, `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  maxReplicas: 3
  targetCPUUtilizationPercentage: 50
`, "apply", "-f", "-")

	for name, want := range map[string]int32{"web": 5, "api": 3} {
		harness.Eventually(t, 60*time.Second, name+" scaled up to its maximum", func() (bool, string) {
			got, err := client.For[apps.Deployment](c, deployments).Get(ctx, "default", name)
			if err != nil || got.Spec.Replicas == nil {
				return false, fmt.Sprint(err)
			}
			return *got.Spec.Replicas == want, fmt.Sprintf("replicas %d", *got.Spec.Replicas)
		})
	}
	harness.Eventually(t, 30*time.Second, "kubectl get hpa through both versions", func() (bool, string) {
		table, _, _ := k.Exec([]string{"get", "hpa"}, "")
		v1, v1err, _ := k.Exec([]string{"get", "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "jsonpath={.spec.targetCPUUtilizationPercentage} {.status.currentCPUUtilizationPercentage}"}, "")
		v2, _, _ := k.Exec([]string{"get", "horizontalpodautoscalers.v2.autoscaling", "api", "-o", "jsonpath={.spec.metrics[0].resource.target.averageUtilization}"}, "")
		ok := strings.Contains(table, "Deployment/web") && strings.Contains(table, "cpu: 400%/50%") && strings.Contains(table, "Deployment/api") &&
			v1 == "50 400" && v2 == "50"
		return ok, fmt.Sprintf("get hpa:\n%s\nv1 web: %q (%s), v2 api: %q", table, v1, v1err, v2)
	})
}
