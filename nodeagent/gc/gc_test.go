package gc

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// fakeRuntime holds sandboxes, containers and images in memory, and an image filesystem
// whose usage is what its images take plus a fixed amount. Methods the collector does not
// use panic (the embedded interface is nil).
type fakeRuntime struct {
	runtime.Runtime

	mu         sync.Mutex
	sandboxes  []*runtime.Sandbox
	containers []*runtime.Container
	images     []runtime.Image
	capacity   uint64
	other      uint64 // bytes used by something else than images
	noFs       bool
	removed    []string // in order: container, sandbox and image IDs / refs
	failRemove map[string]bool
}

func (f *fakeRuntime) ListContainers(_ context.Context, uid string) ([]*runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtime.Container
	for _, c := range f.containers {
		if uid == "" || c.Pod.UID == uid {
			cc := *c
			out = append(out, &cc)
		}
	}
	return out, nil
}

func (f *fakeRuntime) ListPodSandboxes(_ context.Context, uid string) ([]*runtime.Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtime.Sandbox
	for _, sb := range f.sandboxes {
		if uid == "" || sb.Pod.UID == uid {
			c := *sb
			out = append(out, &c)
		}
	}
	return out, nil
}

func (f *fakeRuntime) RemoveContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRemove[id] {
		return fmt.Errorf("remove %s: injected failure", id)
	}
	f.containers = slices.DeleteFunc(f.containers, func(c *runtime.Container) bool {
		if c.ID == id && c.State == runtime.ContainerRunning {
			panic("removed a running container " + id)
		}
		return c.ID == id
	})
	f.removed = append(f.removed, id)
	return nil
}

func (f *fakeRuntime) RemovePodSandbox(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sandboxes = slices.DeleteFunc(f.sandboxes, func(sb *runtime.Sandbox) bool { return sb.ID == id })
	f.removed = append(f.removed, id)
	return nil
}

func (f *fakeRuntime) ListImages(context.Context) ([]runtime.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.images), nil
}

func (f *fakeRuntime) RemoveImage(_ context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRemove[ref] {
		return fmt.Errorf("remove %s: injected failure", ref)
	}
	f.images = slices.DeleteFunc(f.images, func(img runtime.Image) bool { return img.Ref == ref })
	f.removed = append(f.removed, ref)
	return nil
}

func (f *fakeRuntime) ImageFsUsage(context.Context) (*runtime.FsUsage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noFs {
		return nil, fmt.Errorf("no image fs: %w", runtime.ErrNotSupported)
	}
	used := f.other
	for _, img := range f.images {
		used += uint64(img.SizeBytes)
	}
	return &runtime.FsUsage{Path: "/fake", CapacityBytes: f.capacity, FreeBytes: f.capacity - used, InodesTotal: 1000, InodesFree: 900}, nil
}

func (f *fakeRuntime) removedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.removed)
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ctr(pod, name string, attempt int, state runtime.ContainerState) *runtime.Container {
	return &runtime.Container{
		ID: fmt.Sprintf("%s-%s-%d", pod, name, attempt), Pod: runtime.PodRef{UID: pod, Namespace: "ns", Name: pod},
		Name: name, Attempt: attempt, State: state, Image: "img/" + name, CreatedAt: t0.Add(time.Duration(attempt) * time.Minute),
	}
}

func sandbox(pod string, attempt int, state runtime.SandboxState) *runtime.Sandbox {
	return &runtime.Sandbox{ID: fmt.Sprintf("%s-sb-%d", pod, attempt), Pod: runtime.PodRef{UID: pod, Name: pod}, Attempt: attempt,
		State: state, CreatedAt: t0.Add(time.Duration(attempt) * time.Minute)}
}

func TestCollectContainers(t *testing.T) {
	const (
		running = runtime.ContainerRunning
		exited  = runtime.ContainerExited
		created = runtime.ContainerCreated
	)
	tests := []struct {
		name       string
		keep       int
		containers []*runtime.Container
		sandboxes  []*runtime.Sandbox
		want       []string // removed, sorted
	}{
		{
			name: "a running container keeps its newest dead attempt (kubectl logs --previous)",
			containers: []*runtime.Container{
				ctr("a", "app", 0, exited), ctr("a", "app", 1, exited), ctr("a", "app", 2, exited), ctr("a", "app", 3, running),
			},
			want: []string{"a-app-0", "a-app-1"},
		},
		{
			name: "a crash-looping container keeps its last exit, the restart count's source",
			containers: []*runtime.Container{
				ctr("a", "app", 0, exited), ctr("a", "app", 1, exited), ctr("a", "app", 2, exited),
			},
			want: []string{"a-app-0", "a-app-1"},
		},
		{
			name: "each container name and each pod counts on its own",
			containers: []*runtime.Container{
				ctr("a", "app", 0, exited), ctr("a", "app", 1, running),
				ctr("a", "side", 0, exited), ctr("a", "side", 1, exited),
				ctr("a", "init", 0, exited), // a completed init container: its only attempt stays
				ctr("b", "app", 0, exited), ctr("b", "app", 1, exited),
			},
			want: []string{"a-side-0", "b-app-0"},
		},
		{
			name: "created and running containers are never removed",
			containers: []*runtime.Container{
				ctr("a", "app", 0, exited), ctr("a", "app", 1, exited), ctr("a", "app", 2, created),
				ctr("b", "app", 0, running),
			},
			want: []string{"a-app-0"},
		},
		{
			name: "a higher limit keeps more",
			keep: 2,
			containers: []*runtime.Container{
				ctr("a", "app", 0, exited), ctr("a", "app", 1, exited), ctr("a", "app", 2, exited), ctr("a", "app", 3, exited),
			},
			want: []string{"a-app-0", "a-app-1"},
		},
		{
			name: "dead sandboxes go, except each pod's newest",
			sandboxes: []*runtime.Sandbox{
				sandbox("a", 0, runtime.SandboxNotReady), sandbox("a", 1, runtime.SandboxNotReady), sandbox("a", 2, runtime.SandboxReady),
				sandbox("b", 0, runtime.SandboxNotReady), sandbox("b", 1, runtime.SandboxNotReady), // pod b ended: its last stays
				sandbox("c", 0, runtime.SandboxReady),
			},
			want: []string{"a-sb-0", "a-sb-1", "b-sb-0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &fakeRuntime{containers: tt.containers, sandboxes: tt.sandboxes}
			g := New(Config{Runtime: rt, MaxPerPodContainer: tt.keep})
			n, err := g.CollectContainers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := rt.removedIDs()
			sort.Strings(got)
			if !slices.Equal(got, tt.want) || n != len(tt.want) {
				t.Errorf("removed %v (%d), want %v", got, n, tt.want)
			}
			// A second round finds nothing more: the result is a fixed point.
			if n, err := g.CollectContainers(context.Background()); n != 0 || err != nil {
				t.Errorf("second round removed %d (%v)", n, err)
			}
		})
	}
}

func TestCollectContainersCarriesOnAfterAFailure(t *testing.T) {
	rt := &fakeRuntime{
		containers: []*runtime.Container{
			ctr("a", "app", 0, runtime.ContainerExited), ctr("a", "app", 1, runtime.ContainerExited),
			ctr("b", "app", 0, runtime.ContainerExited), ctr("b", "app", 1, runtime.ContainerExited),
		},
		failRemove: map[string]bool{"a-app-0": true},
	}
	n, err := New(Config{Runtime: rt}).CollectContainers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "a-app-0") {
		t.Errorf("err = %v, want the failed removal", err)
	}
	if n != 1 || !slices.Equal(rt.removedIDs(), []string{"b-app-0"}) {
		t.Errorf("removed %v (%d), want [b-app-0]", rt.removedIDs(), n)
	}
}

const mb = 1 << 20

func img(ref string, size int64) runtime.Image {
	return runtime.Image{Ref: ref, Names: []string{ref, ref + "@sha256:0123"}, SizeBytes: size}
}

func TestCollectImages(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	rt := &fakeRuntime{
		capacity: 1000 * mb,
		other:    500 * mb,
		images: []runtime.Image{
			{Ref: "skiff.local/pause:1", Names: []string{"skiff.local/pause:1"}, SizeBytes: 1 * mb, Pinned: true},
			img("old:1", 100*mb),
			img("used:1", 100*mb),
			img("exited-user:1", 100*mb),
			img("newer:1", 100*mb),
		},
		containers: []*runtime.Container{
			{ID: "c1", Pod: runtime.PodRef{UID: "p"}, Name: "app", State: runtime.ContainerRunning, Image: "used:1"},
			// An exited container still uses its image (by digest reference here).
			{ID: "c2", Pod: runtime.PodRef{UID: "p"}, Name: "job", State: runtime.ContainerExited, ImageRef: "exited-user:1@sha256:0123"},
		},
	}
	g := New(Config{Runtime: rt, Now: clock})

	// First round at 90.1% used: every image is new (MinImageAge), nothing goes.
	if freed, err := g.CollectImages(context.Background()); freed != 0 || err == nil {
		t.Fatalf("first round freed %d (%v); want nothing, and a failure to reach the low threshold", freed, err)
	}
	// A "newer" image is used for a while, then not any more: it is more recently used
	// than "old", so "old" goes first.
	now = now.Add(time.Minute)
	rt.mu.Lock()
	rt.containers = append(rt.containers, &runtime.Container{ID: "c3", Pod: runtime.PodRef{UID: "q"}, State: runtime.ContainerRunning, Image: "newer:1"})
	rt.mu.Unlock()
	if _, err := g.CollectImages(context.Background()); err == nil {
		t.Fatal("want a failure: everything is still too new")
	}
	rt.mu.Lock()
	rt.containers = rt.containers[:2]
	rt.mu.Unlock()

	now = now.Add(5 * time.Minute)
	freed, err := g.CollectImages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 901 MB of 1000 used; the low threshold (80%) wants 101 MB freed: "old" (100 MB) is
	// not enough, "newer" goes too. Pinned and used images stay.
	if want := []string{"old:1", "newer:1"}; !slices.Equal(rt.removedIDs(), want) || freed != 200*mb {
		t.Errorf("removed %v (%d bytes), want %v (200 MB)", rt.removedIDs(), freed, want)
	}
	// Now at 70.1%: below the high threshold, nothing more.
	if freed, err := g.CollectImages(context.Background()); freed != 0 || err != nil {
		t.Errorf("below the threshold: freed %d (%v)", freed, err)
	}
}

func TestCollectImagesBelowThresholdOrWithoutAnImageFs(t *testing.T) {
	for _, rt := range []*fakeRuntime{
		{capacity: 1000 * mb, other: 700 * mb, images: []runtime.Image{img("a:1", 100*mb)}}, // 80%: under 85
		{noFs: true, images: []runtime.Image{img("a:1", 100*mb)}},                           // sim
	} {
		g := New(Config{Runtime: rt, MinImageAge: -1})
		if freed, err := g.CollectImages(context.Background()); freed != 0 || err != nil || len(rt.removedIDs()) > 0 {
			t.Errorf("freed %d, removed %v (%v); want nothing", freed, rt.removedIDs(), err)
		}
	}
}

// DeleteUnusedImages (the eviction manager's reclaim) removes every image that may go,
// whatever the thresholds, and still never a used, pinned or too new one.
func TestDeleteUnusedImages(t *testing.T) {
	now := t0
	rt := &fakeRuntime{
		capacity: 1000 * mb, other: 100 * mb, // 10%: far below the high threshold
		images: []runtime.Image{
			{Ref: "skiff.local/pause:1", Names: []string{"skiff.local/pause:1"}, SizeBytes: 1 * mb, Pinned: true},
			img("old:1", 100*mb), img("other:1", 100*mb), img("used:1", 100*mb),
		},
		containers: []*runtime.Container{{ID: "c1", Pod: runtime.PodRef{UID: "p"}, Name: "app", State: runtime.ContainerRunning, Image: "used:1"}},
	}
	g := New(Config{Runtime: rt, Now: func() time.Time { return now }})
	if err := g.DeleteUnusedImages(context.Background()); err != nil || len(rt.removedIDs()) > 0 {
		t.Fatalf("first seen now: removed %v (%v), want none", rt.removedIDs(), err)
	}
	now = now.Add(5 * time.Minute)
	if err := g.DeleteUnusedImages(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rt.removedIDs()
	slices.Sort(got)
	if want := []string{"old:1", "other:1"}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
}
