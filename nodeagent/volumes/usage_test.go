package volumes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// The tmpfs of a memory emptyDir is sized as the kubelet sizes it: the smallest of the
// node's allocatable memory, the pod's memory limit (when every container has one) and
// the volume's sizeLimit.
func TestMemoryVolumeSize(t *testing.T) {
	m := &Manager{Allocatable: func() core.ResourceList { return core.ResourceList{core.ResourceMemory: resource.MustParse("1Gi")} }}
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	limited := func(l ...string) *core.Pod {
		p := &core.Pod{}
		for _, v := range l {
			c := core.Container{}
			if v != "" {
				c.Resources.Limits = core.ResourceList{core.ResourceMemory: resource.MustParse(v)}
			}
			p.Spec.Containers = append(p.Spec.Containers, c)
		}
		return p
	}
	for _, tt := range []struct {
		name string
		pod  *core.Pod
		ed   core.EmptyDirVolumeSource
		want int64
	}{
		{"no limits: allocatable", limited(""), core.EmptyDirVolumeSource{}, 1 << 30},
		{"the pod's limit", limited("64Mi", "64Mi"), core.EmptyDirVolumeSource{}, 128 << 20},
		{"one container without a limit: no pod limit", limited("64Mi", ""), core.EmptyDirVolumeSource{}, 1 << 30},
		{"sizeLimit below", limited("64Mi"), core.EmptyDirVolumeSource{SizeLimit: q("10Mi")}, 10 << 20},
		{"sizeLimit above the pod's limit", limited("64Mi"), core.EmptyDirVolumeSource{SizeLimit: q("1Gi")}, 64 << 20},
		{"sizeLimit above allocatable", limited(""), core.EmptyDirVolumeSource{SizeLimit: q("2Gi")}, 1 << 30},
	} {
		if got := m.memoryVolumeSize(tt.pod, &tt.ed); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := (&Manager{}).memoryVolumeSize(limited(""), &core.EmptyDirVolumeSource{}); got != 0 {
		t.Errorf("nothing known: %d, want 0 (the kernel's default)", got)
	}
}

// Usage reports what each emptyDir holds.
func TestEmptyDirUsage(t *testing.T) {
	m, _ := newManager(t)
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"},
		Spec: core.PodSpec{Volumes: []core.Volume{
			{Name: "scratch", VolumeSource: core.VolumeSource{EmptyDir: &core.EmptyDirVolumeSource{}}},
			{Name: "empty", VolumeSource: core.VolumeSource{EmptyDir: &core.EmptyDirVolumeSource{}}},
		}}}
	mounts, err := m.Setup(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	data[0] = 1
	if err := os.WriteFile(filepath.Join(mounts["scratch"].HostPath, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, u := range m.Usage(pod) {
		got[u.Stats.Name] = *u.Stats.UsedBytes
		if u.Memory {
			t.Errorf("%s: memory-backed", u.Stats.Name)
		}
	}
	if got["scratch"] < 1<<20 || got["empty"] > 64<<10 || len(got) != 2 {
		t.Errorf("usage %v, want scratch ≥ 1MiB and empty about nothing", got)
	}
}
