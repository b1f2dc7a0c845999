package quota

import (
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

func rl(kv ...string) core.ResourceList {
	out := core.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[core.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func TestPodUsage(t *testing.T) {
	always := core.ContainerRestartPolicyAlways
	now := time.Now()
	past := meta.NewTime(now.Add(-time.Minute))
	grace := int64(10)
	for _, tc := range []struct {
		name string
		pod  core.Pod
		want core.ResourceList
	}{
		{"best effort", core.Pod{Spec: core.PodSpec{Containers: []core.Container{{Name: "a"}}}},
			rl("count/pods", "1", "pods", "1")},
		{"two containers add up", core.Pod{Spec: core.PodSpec{Containers: []core.Container{
			{Name: "a", Resources: core.ResourceRequirements{Requests: rl("cpu", "100m", "memory", "64Mi"), Limits: rl("cpu", "200m")}},
			{Name: "b", Resources: core.ResourceRequirements{Requests: rl("cpu", "300m")}}}}},
			rl("count/pods", "1", "pods", "1", "cpu", "400m", "requests.cpu", "400m", "memory", "64Mi", "requests.memory", "64Mi", "limits.cpu", "200m")},
		{"an init container larger than the sum wins", core.Pod{Spec: core.PodSpec{
			InitContainers: []core.Container{{Name: "i", Resources: core.ResourceRequirements{Requests: rl("cpu", "1")}}},
			Containers:     []core.Container{{Name: "a", Resources: core.ResourceRequirements{Requests: rl("cpu", "100m")}}}}},
			rl("count/pods", "1", "pods", "1", "cpu", "1", "requests.cpu", "1")},
		{"a sidecar adds to the app containers", core.Pod{Spec: core.PodSpec{
			InitContainers: []core.Container{{Name: "s", RestartPolicy: &always, Resources: core.ResourceRequirements{Requests: rl("cpu", "100m")}}},
			Containers:     []core.Container{{Name: "a", Resources: core.ResourceRequirements{Requests: rl("cpu", "100m")}}}}},
			rl("count/pods", "1", "pods", "1", "cpu", "200m", "requests.cpu", "200m")},
		{"a finished pod counts only as an object", core.Pod{Spec: core.PodSpec{Containers: []core.Container{{Name: "a",
			Resources: core.ResourceRequirements{Requests: rl("cpu", "1")}}}}, Status: core.PodStatus{Phase: core.PodSucceeded}},
			rl("count/pods", "1")},
		{"a pod past its deletion grace counts only as an object", core.Pod{ObjectMeta: meta.ObjectMeta{DeletionTimestamp: &past, DeletionGracePeriodSeconds: &grace},
			Spec: core.PodSpec{Containers: []core.Container{{Name: "a"}}}}, rl("count/pods", "1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := For("", "pods").Usage(&tc.pod, now)
			if !Equals(got, tc.want) {
				t.Errorf("usage %s, want %s", PrettyPrint(got), PrettyPrint(tc.want))
			}
		})
	}
}

func TestObjectUsage(t *testing.T) {
	class := "fast"
	lb := &core.Service{Spec: core.ServiceSpec{Type: core.ServiceTypeLoadBalancer, Ports: []core.ServicePort{{Port: 80}, {Port: 443}}}}
	pvc := &core.PersistentVolumeClaim{Spec: core.PersistentVolumeClaimSpec{StorageClassName: &class,
		Resources: core.VolumeResourceRequirements{Requests: rl("storage", "5Gi")}}}
	for _, tc := range []struct {
		group, res string
		obj        meta.Object
		want       core.ResourceList
	}{
		{"", "services", lb, rl("count/services", "1", "services", "1", "services.loadbalancers", "1", "services.nodeports", "2")},
		{"", "persistentvolumeclaims", pvc, rl("count/persistentvolumeclaims", "1", "persistentvolumeclaims", "1", "requests.storage", "5Gi",
			"fast.storageclass.storage.k8s.io/persistentvolumeclaims", "1", "fast.storageclass.storage.k8s.io/requests.storage", "5Gi")},
		{"", "configmaps", &core.ConfigMap{}, rl("count/configmaps", "1", "configmaps", "1")},
		{"apps", "deployments", &core.ConfigMap{}, rl("count/deployments.apps", "1")},
	} {
		if got := For(tc.group, tc.res).Usage(tc.obj, time.Now()); !Equals(got, tc.want) {
			t.Errorf("%s: usage %s, want %s", tc.res, PrettyPrint(got), PrettyPrint(tc.want))
		}
	}
}

func TestCalculateUsageByScope(t *testing.T) {
	deadline := int64(30)
	be := &core.Pod{Spec: core.PodSpec{Containers: []core.Container{{Name: "a"}}}}
	burst := &core.Pod{Spec: core.PodSpec{ActiveDeadlineSeconds: &deadline, Containers: []core.Container{{Name: "a",
		Resources: core.ResourceRequirements{Requests: rl("cpu", "250m")}}}}}
	pods := []meta.Object{be, burst, burst}
	for _, tc := range []struct {
		scope core.ResourceQuotaScope
		want  core.ResourceList
	}{
		{"", rl("pods", "3", "requests.cpu", "500m")},
		{core.ResourceQuotaScopeBestEffort, rl("pods", "1")},
		{core.ResourceQuotaScopeNotBestEffort, rl("pods", "2", "requests.cpu", "500m")},
		{core.ResourceQuotaScopeTerminating, rl("pods", "2", "requests.cpu", "500m")},
		{core.ResourceQuotaScopeNotTerminating, rl("pods", "1", "requests.cpu", "0")},
	} {
		q := &core.ResourceQuota{Spec: core.ResourceQuotaSpec{Hard: rl("pods", "10", "requests.cpu", "2")}}
		if tc.scope == core.ResourceQuotaScopeBestEffort {
			q.Spec.Hard = rl("pods", "10") // BestEffort quotas may only hold pods
		}
		if tc.scope != "" {
			q.Spec.Scopes = []core.ResourceQuotaScope{tc.scope}
		}
		if got := CalculateUsage(q, For("", "pods"), pods, time.Now()); !Equals(got, tc.want) {
			t.Errorf("scope %q: %s, want %s", tc.scope, PrettyPrint(got), PrettyPrint(tc.want))
		}
	}
}
