package statefulset_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/statefulset"
)

func newSet(name string, replicas int32, tweak func(*apps.StatefulSet)) *apps.StatefulSet {
	s := &apps.StatefulSet{TypeMeta: meta.TypeMeta{Kind: "StatefulSet", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: apps.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: name,
			Selector:    &meta.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "img:1"}}}},
		}}
	if tweak != nil {
		tweak(s)
	}
	return s
}

// order watches the set's pods and records every break of OrderedReady: a pod created
// before its predecessor was running and ready, or deleted while a successor still existed.
type order struct {
	mu         sync.Mutex
	violations []string
	created    []string
}

func watchOrder(t *testing.T, e *testenv.Env, app string) *order {
	o := &order{}
	inf := informer.NewInformer(client.For[core.Pod](e.Client, controller.Pods), "default", client.ListOptions{LabelSelector: "app=" + app}, 0)
	ord := func(name string) int {
		n, _ := strconv.Atoi(name[strings.LastIndexByte(name, '-')+1:])
		return n
	}
	inf.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(p *core.Pod) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.created = append(o.created, p.Name)
			if n := ord(p.Name); n > 0 {
				prev, ok := inf.Indexer().GetByName("default", fmt.Sprintf("%s-%d", app, n-1))
				if !ok || !prev.IsReady() {
					o.violations = append(o.violations, p.Name+" created before its predecessor was ready")
				}
			}
		},
		DeleteFunc: func(p *core.Pod) {
			o.mu.Lock()
			defer o.mu.Unlock()
			if _, ok := inf.Indexer().GetByName("default", fmt.Sprintf("%s-%d", app, ord(p.Name)+1)); ok {
				o.violations = append(o.violations, p.Name+" deleted before its successor")
			}
		},
	})
	go inf.Run(e.Ctx)
	informer.WaitForCacheSync(e.Ctx, inf.HasSynced)
	return o
}

func (o *order) check(t *testing.T) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.violations) > 0 {
		t.Errorf("ordering broken: %v (creations: %v)", o.violations, o.created)
	}
}

func names(t *testing.T, e *testenv.Env, app string) string {
	return strings.Join(testenv.PodNames(e.Pods(t, "default", "app="+app)), " ")
}

func images(t *testing.T, e *testenv.Env, app string) string {
	var out []string
	for _, p := range e.Pods(t, "default", "app="+app) {
		out = append(out, p.Name+"="+p.Spec.Containers[0].Image)
	}
	return strings.Join(out, " ")
}

func getSet(t *testing.T, e *testenv.Env, name string) *apps.StatefulSet {
	return testenv.Get[apps.StatefulSet](t, e, controller.StatefulSets, "default", name)
}

func TestOrderedScaleUpAndDown(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, statefulset.New(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{})
	o := watchOrder(t, e, "web")
	testenv.Create(t, e, controller.StatefulSets, newSet("web", 3, func(s *apps.StatefulSet) {
		s.Spec.VolumeClaimTemplates = []core.PersistentVolumeClaim{{ObjectMeta: meta.ObjectMeta{Name: "data"},
			Spec: core.PersistentVolumeClaimSpec{AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce},
				Resources: core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse("1Gi")}}}}}
	}))
	testenv.Eventually(t, "three ready pods", func() (bool, string) {
		s := getSet(t, e, "web")
		got := fmt.Sprintf("%s ready=%d", names(t, e, "web"), s.Status.ReadyReplicas)
		return got == "web-0 web-1 web-2 ready=3", got
	})
	o.check(t)
	for i, p := range e.Pods(t, "default", "app=web") {
		claim := fmt.Sprintf("data-web-%d", i)
		if p.Spec.Hostname != p.Name || p.Spec.Subdomain != "web" || p.Labels[apps.StatefulSetPodNameLabel] != p.Name ||
			p.Labels[apps.PodIndexLabel] != strconv.Itoa(i) || p.Spec.Volumes[0].PersistentVolumeClaim == nil ||
			p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != claim {
			t.Errorf("pod %s: hostname %s subdomain %s labels %v volumes %+v", p.Name, p.Spec.Hostname, p.Spec.Subdomain, p.Labels, p.Spec.Volumes)
		}
		if testenv.Get[core.PersistentVolumeClaim](t, e, controller.PersistentVolumeClaims, "default", claim) == nil {
			t.Errorf("claim %s missing", claim)
		}
	}

	if _, err := client.For[apps.StatefulSet](e.Client, controller.StatefulSets).Patch(e.Ctx, "default", "web", client.MergePatchType, []byte(`{"spec":{"replicas":1}}`)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "scaled down to web-0", func() (bool, string) {
		got := names(t, e, "web")
		return got == "web-0", got
	})
	o.check(t)
}

func TestParallel(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, statefulset.New(e.CC))
	// No node agent: no pod ever becomes ready, and Parallel does not wait.
	testenv.Create(t, e, controller.StatefulSets, newSet("par", 3, func(s *apps.StatefulSet) {
		s.Spec.PodManagementPolicy = apps.ParallelPodManagement
	}))
	testenv.Eventually(t, "all pods at once", func() (bool, string) {
		got := names(t, e, "par")
		return got == "par-0 par-1 par-2", got
	})
}

func TestRollingUpdateWithPartition(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, statefulset.New(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{})
	testenv.Create(t, e, controller.StatefulSets, newSet("db", 3, func(s *apps.StatefulSet) {
		s.Spec.UpdateStrategy.RollingUpdate = &apps.RollingUpdateStatefulSetStrategy{Partition: controller.Ptr(int32(1))}
	}))
	testenv.Eventually(t, "ready", func() (bool, string) {
		s := getSet(t, e, "db")
		return s.Status.ReadyReplicas == 3, fmt.Sprint(s.Status)
	})
	first := getSet(t, e, "db").Status.UpdateRevision
	patch := func(p string) {
		if _, err := client.For[apps.StatefulSet](e.Client, controller.StatefulSets).Patch(e.Ctx, "default", "db", client.StrategicMergePatchType, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	patch(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"img:2"}]}}}}`)
	testenv.Eventually(t, "ordinals from the partition up updated", func() (bool, string) {
		s := getSet(t, e, "db")
		got := fmt.Sprintf("%s | updated=%d ready=%d current=%v", images(t, e, "db"), s.Status.UpdatedReplicas, s.Status.ReadyReplicas, s.Status.CurrentRevision == first)
		return got == "db-0=img:1 db-1=img:2 db-2=img:2 | updated=2 ready=3 current=true", got
	})
	patch(`{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`)
	testenv.Eventually(t, "all updated and current", func() (bool, string) {
		s := getSet(t, e, "db")
		got := fmt.Sprintf("%s | updated=%d current=update:%v", images(t, e, "db"), s.Status.UpdatedReplicas, s.Status.CurrentRevision == s.Status.UpdateRevision)
		return got == "db-0=img:2 db-1=img:2 db-2=img:2 | updated=3 current=update:true", got
	})
	revs, err := client.For[apps.ControllerRevision](e.Client, controller.ControllerRevisions).List(e.Ctx, "default", client.ListOptions{LabelSelector: "app=db"})
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for _, r := range revs.Items {
		nums = append(nums, fmt.Sprintf("%d", r.Revision))
	}
	sort.Strings(nums)
	if strings.Join(nums, ",") != "1,2" {
		t.Errorf("revisions: %v", nums)
	}
	// Deleted by hand, a pod comes back with the same name (and the update revision).
	if err := client.For[core.Pod](e.Client, controller.Pods).Delete(e.Ctx, "default", "db-1", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "db-1 back", func() (bool, string) {
		got := images(t, e, "db")
		return got == "db-0=img:2 db-1=img:2 db-2=img:2", got
	})
}
