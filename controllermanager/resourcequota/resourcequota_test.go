package resourcequota_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/resourcequota"
)

func rl(kv ...string) core.ResourceList {
	out := core.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[core.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func pod(name string, reqs core.ResourceList) *core.Pod {
	return &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox", Resources: core.ResourceRequirements{Requests: reqs}}}}}
}

func used(t *testing.T, e *testenv.Env, name string, r core.ResourceName) string {
	q := testenv.Get[core.ResourceQuota](t, e, resourcequota.ResourceQuotas, "default", name)
	if _, ok := q.Status.Used[r]; !ok {
		return "<unset>"
	}
	v := q.Status.Used[r]
	return v.String()
}

func waitUsed(t *testing.T, e *testenv.Env, name string, r core.ResourceName, want string) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("%s used %s=%s", name, r, want), func() (bool, string) {
		got := used(t, e, name, r)
		return got == want, got
	})
}

// Quota exactness: 200 pods created at once against `pods: 50` — exactly 50 are stored, the
// rest refused with Kubernetes' message, status.used is exactly 50; deletes give usage back.
func TestConcurrentCreatesRacingTheLimit(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, resourcequota.New(e.CC, resourcequota.Options{}))
	testenv.Create(t, e, resourcequota.ResourceQuotas, &core.ResourceQuota{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "small"},
		Spec:       core.ResourceQuotaSpec{Hard: rl("pods", "50")}})
	waitUsed(t, e, "small", "pods", "0")

	pods := client.For[core.Pod](e.Client, controller.Pods)
	var created, refused atomic.Int32
	var other sync.Map
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := pods.Create(e.Ctx, pod(fmt.Sprintf("p%03d", i), nil))
			switch {
			case err == nil:
				created.Add(1)
			case client.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota: small, requested: pods=1, used: pods=50, limited: pods=50"):
				refused.Add(1)
			default:
				other.Store(i, err.Error())
			}
		}()
	}
	wg.Wait()
	other.Range(func(k, v any) bool { t.Errorf("create %v: %v", k, v); return true })
	stored := e.Pods(t, "default", "")
	if created.Load() != 50 || refused.Load() != 150 || len(stored) != 50 {
		t.Fatalf("created %d, refused %d, stored %d; want 50, 150, 50", created.Load(), refused.Load(), len(stored))
	}
	if got := used(t, e, "small", "pods"); got != "50" {
		t.Fatalf("status.used pods=%s right after the race, want 50", got)
	}

	// Deleting pods releases their usage (the controller recalculates), and the freed room
	// is usable again — exactly.
	for _, p := range stored[:10] {
		if err := pods.Delete(e.Ctx, "default", p.Name, &meta.DeleteOptions{GracePeriodSeconds: controller.Ptr(int64(0))}); err != nil {
			t.Fatal(err)
		}
	}
	waitUsed(t, e, "small", "pods", "40")
	for i := range 10 {
		if _, err := pods.Create(e.Ctx, pod(fmt.Sprintf("again%d", i), nil)); err != nil {
			t.Fatalf("create after deletes: %v", err)
		}
	}
	if _, err := pods.Create(e.Ctx, pod("one-too-many", nil)); !client.IsForbidden(err) {
		t.Fatalf("the 51st pod: %v, want 403", err)
	}
	waitUsed(t, e, "small", "pods", "50")
}

// Compute resources and scopes: status.used per resource, a best-effort pod charged only to
// the BestEffort quota, a finished pod releasing its compute usage.
func TestComputeResourcesAndScopes(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, resourcequota.New(e.CC, resourcequota.Options{}))
	testenv.Create(t, e, resourcequota.ResourceQuotas, &core.ResourceQuota{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "compute"},
		Spec:       core.ResourceQuotaSpec{Hard: rl("requests.cpu", "1", "count/configmaps", "5"), Scopes: []core.ResourceQuotaScope{core.ResourceQuotaScopeNotBestEffort}}})
	testenv.Create(t, e, resourcequota.ResourceQuotas, &core.ResourceQuota{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "besteffort"},
		Spec:       core.ResourceQuotaSpec{Hard: rl("pods", "1"), Scopes: []core.ResourceQuotaScope{core.ResourceQuotaScopeBestEffort}}})
	testenv.Create(t, e, resourcequota.ResourceQuotas, &core.ResourceQuota{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "objects"},
		Spec:       core.ResourceQuotaSpec{Hard: rl("count/configmaps", "5", "configmaps", "5")}})
	waitUsed(t, e, "compute", "requests.cpu", "0")
	waitUsed(t, e, "besteffort", "pods", "0")
	// Existing configmaps (kube-root-ca.crt is not published here) are counted: whatever
	// there is, status.used equals the live count.
	waitUsed(t, e, "objects", "count/configmaps", "0")

	pods := client.For[core.Pod](e.Client, controller.Pods)
	if _, err := pods.Create(e.Ctx, pod("burst", rl("cpu", "600m"))); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(e.Ctx, pod("burst2", rl("cpu", "600m"))); err == nil ||
		!strings.Contains(err.Error(), `pods "burst2" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1`) {
		t.Fatalf("second burstable pod: %v", err)
	}
	if _, err := pods.Create(e.Ctx, pod("be", nil)); err != nil {
		t.Fatalf("a best-effort pod is not charged to the NotBestEffort quota: %v", err)
	}
	if _, err := pods.Create(e.Ctx, pod("be2", nil)); err == nil || !strings.Contains(err.Error(), "exceeded quota: besteffort") {
		t.Fatalf("second best-effort pod: %v", err)
	}
	cms := client.For[core.ConfigMap](e.Client, client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true})
	if _, err := cms.Create(e.Ctx, &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "c1"}}); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, e, "objects", "configmaps", "1")
	if got := used(t, e, "objects", "count/configmaps"); got != "1" {
		t.Errorf("count/configmaps=%s, want 1", got)
	}

	// The burstable pod finishes: its cpu is released, and another fits.
	e.UpdatePodStatus(t, "default", "burst", func(p *core.Pod) { p.Status.Phase = core.PodSucceeded })
	waitUsed(t, e, "compute", "requests.cpu", "0")
	if _, err := pods.Create(e.Ctx, pod("burst3", rl("cpu", "600m"))); err != nil {
		t.Fatalf("after the first finished: %v", err)
	}
}

// Object counts of every kind are given back as soon as an object is deleted, not at the
// next periodic recount (5 minutes): the conformance "capture the life of a configMap /
// secret / replica set / replication controller" specs wait a minute.
func TestDeletesReleaseObjectCounts(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, resourcequota.New(e.CC, resourcequota.Options{}))
	testenv.Create(t, e, resourcequota.ResourceQuotas, &core.ResourceQuota{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "counts"},
		Spec: core.ResourceQuotaSpec{Hard: rl("configmaps", "10", "secrets", "10", "replicationcontrollers", "10",
			"count/replicasets.apps", "10", "resourcequotas", "10")}})
	waitUsed(t, e, "counts", "resourcequotas", "1")
	before := used(t, e, "counts", "configmaps") // kube-root-ca.crt may be there or not

	cms := client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}
	secrets := client.Resource{Version: "v1", Resource: "secrets", Namespaced: true}
	rcs := client.Resource{Version: "v1", Resource: "replicationcontrollers", Namespaced: true}
	om := meta.ObjectMeta{Namespace: "default", Name: "x"}
	testenv.Create(t, e, cms, &core.ConfigMap{ObjectMeta: om})
	testenv.Create(t, e, secrets, &core.Secret{ObjectMeta: om})
	testenv.Create(t, e, rcs, &core.ReplicationController{ObjectMeta: om, Spec: core.ReplicationControllerSpec{
		Selector: map[string]string{"a": "b"}, Template: &core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"a": "b"}},
			Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox"}}}}}})
	testenv.Create(t, e, resourcequota.ResourceQuotas, &core.ResourceQuota{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "other"},
		Spec: core.ResourceQuotaSpec{Hard: rl("count/replicasets.apps", "5")}})
	waitUsed(t, e, "counts", "secrets", "1")
	waitUsed(t, e, "counts", "replicationcontrollers", "1")
	waitUsed(t, e, "counts", "resourcequotas", "2")

	for _, r := range []client.Resource{cms, secrets, rcs} {
		if err := client.For[meta.PartialObjectMetadata](e.Client, r).Delete(e.Ctx, "default", "x", nil); err != nil {
			t.Fatalf("delete %s: %v", r.Resource, err)
		}
	}
	if err := client.For[core.ResourceQuota](e.Client, resourcequota.ResourceQuotas).Delete(e.Ctx, "default", "other", nil); err != nil {
		t.Fatal(err)
	}
	waitUsed(t, e, "counts", "configmaps", before)
	waitUsed(t, e, "counts", "secrets", "0")
	waitUsed(t, e, "counts", "replicationcontrollers", "0")
	waitUsed(t, e, "counts", "resourcequotas", "1")
}
