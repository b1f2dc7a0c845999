package limitranger

import (
	"context"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

type objects []meta.Object

func (o objects) Get(context.Context, string, string, string, string) (meta.Object, error) {
	return nil, nil
}
func (o objects) List(_, res, _ string) []meta.Object {
	if res != "limitranges" {
		return nil
	}
	return o
}

func rl(kv ...string) core.ResourceList {
	out := core.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[core.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// limitRange is defaulted as the API server stores it (default from max, defaultRequest
// from default or min).
func limitRange(items ...core.LimitRangeItem) *core.LimitRange {
	lr := &core.LimitRange{ObjectMeta: meta.ObjectMeta{Name: "limits", Namespace: "ns"}, Spec: core.LimitRangeSpec{Limits: items}}
	defaults.Object(lr)
	return lr
}

func kind(t *testing.T, res string) *registry.Kind {
	k, ok := registry.Default().Lookup("", "v1", res)
	if !ok {
		t.Fatalf("no kind %s", res)
	}
	return k
}

func container(name string, req, lim core.ResourceList) core.Container {
	return core.Container{Name: name, Resources: core.ResourceRequirements{Requests: req, Limits: lim}}
}

func run(t *testing.T, lr *core.LimitRange, obj meta.Object, res string) error {
	t.Helper()
	p := New(objects{lr})
	a := &admission.Attributes{Operation: admission.Create, Kind: kind(t, res), Namespace: "ns", Name: obj.GetObjectMeta().Name, Object: obj}
	if err := p.Admit(context.Background(), a); err != nil {
		return err
	}
	return p.Validate(context.Background(), a)
}

func TestDefaults(t *testing.T) {
	lr := limitRange(core.LimitRangeItem{Type: core.LimitTypeContainer,
		Default: rl("cpu", "500m", "memory", "256Mi"), DefaultRequest: rl("cpu", "100m")})
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: core.PodSpec{
		InitContainers: []core.Container{container("init", nil, nil)},
		Containers:     []core.Container{container("app", rl("memory", "64Mi"), rl("cpu", "1"))}}}
	if err := run(t, lr, pod, "pods"); err != nil {
		t.Fatal(err)
	}
	app := pod.Spec.Containers[0].Resources
	if q := app.Limits["cpu"]; q.String() != "1" {
		t.Errorf("a set limit was overwritten: %s", q.String())
	}
	if q := app.Limits["memory"]; q.String() != "256Mi" {
		t.Errorf("memory limit %s, want the default 256Mi", q.String())
	}
	if q := app.Requests["cpu"]; q.String() != "100m" {
		t.Errorf("cpu request %s, want the defaultRequest 100m", q.String())
	}
	// memory's defaultRequest came from its default (LimitRange defaulting).
	if q := pod.Spec.InitContainers[0].Resources.Requests["memory"]; q.String() != "256Mi" {
		t.Errorf("init container memory request %s, want 256Mi", q.String())
	}
	want := "LimitRanger plugin set: cpu request for container app; memory limit for container app; cpu, memory request for init container init; cpu, memory limit for init container init"
	if got := pod.Annotations[Annotation]; got != want {
		t.Errorf("annotation\n got %q\nwant %q", got, want)
	}
}

func TestConstraints(t *testing.T) {
	pod := func(cs ...core.Container) *core.Pod {
		return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: core.PodSpec{Containers: cs}}
	}
	for _, tc := range []struct {
		name string
		item core.LimitRangeItem
		pod  *core.Pod
		want string
	}{
		{"max limit", core.LimitRangeItem{Type: core.LimitTypeContainer, Max: rl("cpu", "1")},
			pod(container("a", rl("cpu", "500m"), rl("cpu", "2"))),
			`pods "p" is forbidden: maximum cpu usage per Container is 1, but limit is 2`},
		{"max defaults the limit, so within it", core.LimitRangeItem{Type: core.LimitTypeContainer, Max: rl("cpu", "1")},
			pod(container("a", nil, nil)), ""},
		{"min request", core.LimitRangeItem{Type: core.LimitTypeContainer, Min: rl("memory", "64Mi")},
			pod(container("a", rl("memory", "32Mi"), rl("memory", "128Mi"))),
			`minimum memory usage per Container is 64Mi, but request is 32Mi`},
		{"ratio", core.LimitRangeItem{Type: core.LimitTypeContainer, MaxLimitRequestRatio: rl("cpu", "2")},
			pod(container("a", rl("cpu", "100m"), rl("cpu", "500m"))),
			`cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000`},
		{"ratio without a limit", core.LimitRangeItem{Type: core.LimitTypeContainer, MaxLimitRequestRatio: rl("cpu", "2")},
			pod(container("a", rl("cpu", "100m"), nil)),
			`cpu max limit to request ratio per Container is 2, but no limit is specified or limit is 0`},
		{"two errors", core.LimitRangeItem{Type: core.LimitTypeContainer, Max: rl("cpu", "1", "memory", "1Gi")},
			pod(container("a", nil, rl("cpu", "2", "memory", "2Gi"))),
			`[maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Container is 1Gi, but limit is 2Gi]`},
		{"pod total", core.LimitRangeItem{Type: core.LimitTypePod, Max: rl("cpu", "1")},
			pod(container("a", rl("cpu", "600m"), rl("cpu", "600m")), container("b", rl("cpu", "600m"), rl("cpu", "600m"))),
			`maximum cpu usage per Pod is 1, but limit is 1200m`},
		{"pod total within", core.LimitRangeItem{Type: core.LimitTypePod, Max: rl("cpu", "2")},
			pod(container("a", rl("cpu", "600m"), rl("cpu", "600m")), container("b", rl("cpu", "600m"), rl("cpu", "600m"))), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t, limitRange(tc.item), tc.pod, "pods")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ae, ok := err.(*admission.Error)
			if !ok || ae.Status.Code != 403 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a 403 containing %q", err, tc.want)
			}
		})
	}
}

func TestClaims(t *testing.T) {
	lr := limitRange(core.LimitRangeItem{Type: core.LimitTypePersistentVolumeClaim, Min: rl("storage", "1Gi"), Max: rl("storage", "10Gi")})
	claim := func(size string) *core.PersistentVolumeClaim {
		return &core.PersistentVolumeClaim{ObjectMeta: meta.ObjectMeta{Name: "c", Namespace: "ns"},
			Spec: core.PersistentVolumeClaimSpec{Resources: core.VolumeResourceRequirements{Requests: rl("storage", size)}}}
	}
	if err := run(t, lr, claim("5Gi"), "persistentvolumeclaims"); err != nil {
		t.Fatalf("5Gi refused: %v", err)
	}
	for size, want := range map[string]string{
		"20Gi":  `persistentvolumeclaims "c" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi`,
		"100Mi": `minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 100Mi`,
	} {
		if err := run(t, lr, claim(size), "persistentvolumeclaims"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", size, err, want)
		}
	}
}

func TestPodUpdatesAreLeftAlone(t *testing.T) {
	lr := limitRange(core.LimitRangeItem{Type: core.LimitTypeContainer, Max: rl("cpu", "1")})
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: core.PodSpec{Containers: []core.Container{container("a", nil, rl("cpu", "2"))}}}
	a := &admission.Attributes{Operation: admission.Update, Kind: kind(t, "pods"), Namespace: "ns", Name: "p", Object: pod, OldObject: pod}
	if err := New(objects{lr}).Validate(context.Background(), a); err != nil {
		t.Fatalf("an update was checked: %v", err)
	}
}
