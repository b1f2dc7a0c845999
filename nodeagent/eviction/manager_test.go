package eviction

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/statsapi"
)

const mi = 1 << 20

// fakeNode is a node whose samples a test writes.
type fakeNode struct {
	now      time.Time
	memAvail uint64 // node memory available; capacity is 4Gi
	fsAvail  uint64 // nodefs available; capacity 100Gi
	pods     []*core.Pod
	usage    map[string]uint64 // pod name → memory working set
	disk     map[string]uint64 // pod name → local storage
	volumes  map[string]map[string]uint64
	evicted  []evicted
	reclaims int
	// afterReclaim is the nodefs available once reclaiming ran (0: unchanged).
	afterReclaim uint64
	events       []string
}

type evicted struct {
	pod   string
	grace int64
	msg   string
	cond  *core.PodCondition
}

func (f *fakeNode) summary() *statsapi.Summary {
	t := meta.NewTime(f.now)
	u := func(v uint64) *uint64 { return &v }
	s := &statsapi.Summary{Node: statsapi.NodeStats{
		Memory: &statsapi.MemoryStats{Time: t, AvailableBytes: u(f.memAvail), WorkingSetBytes: u(4096*mi - f.memAvail)},
		Fs:     &statsapi.FsStats{Time: t, AvailableBytes: u(f.fsAvail), CapacityBytes: u(100 << 30), InodesFree: u(1e6), Inodes: u(2e6)},
	}}
	for _, p := range f.pods {
		ps := statsapi.PodStats{PodRef: statsapi.PodReference{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
			Memory:           &statsapi.MemoryStats{Time: t, WorkingSetBytes: u(f.usage[p.Name])},
			EphemeralStorage: &statsapi.FsStats{Time: t, UsedBytes: u(f.disk[p.Name])}}
		for _, c := range p.Spec.Containers {
			ps.Containers = append(ps.Containers, statsapi.ContainerStats{Name: c.Name,
				Memory: &statsapi.MemoryStats{Time: t, WorkingSetBytes: u(f.usage[p.Name])},
				Rootfs: &statsapi.FsStats{UsedBytes: u(f.disk[p.Name])}, Logs: &statsapi.FsStats{UsedBytes: u(0)}})
		}
		for name, used := range f.volumes[p.Name] {
			ps.VolumeStats = append(ps.VolumeStats, statsapi.VolumeStats{Name: name, FsStats: statsapi.FsStats{UsedBytes: u(used)}})
		}
		s.Pods = append(s.Pods, ps)
	}
	return s
}

func (f *fakeNode) manager(t *testing.T, fl Flags, cfg Config) *Manager {
	t.Helper()
	ts, err := Parse(fl)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Thresholds = ts
	cfg.Summary = f.summary
	cfg.Refresh = func(context.Context) *statsapi.Summary {
		if f.afterReclaim > 0 {
			f.fsAvail = f.afterReclaim
		}
		f.now = f.now.Add(time.Millisecond)
		return f.summary()
	}
	cfg.Pods = func() []*core.Pod { return f.pods }
	cfg.Now = func() time.Time { return f.now }
	cfg.Log = slog.New(slog.DiscardHandler)
	cfg.DiskReclaim = []func(context.Context) error{func(context.Context) error { f.reclaims++; return nil }}
	cfg.Evict = func(_ context.Context, pod *core.Pod, grace int64, msg string, cond *core.PodCondition) error {
		f.evicted = append(f.evicted, evicted{pod.Name, grace, msg, cond})
		f.pods = slices.DeleteFunc(f.pods, func(p *core.Pod) bool { return p == pod })
		return nil
	}
	cfg.PodEvent = func(pod *core.Pod, eventType, reason, msg string) {
		f.events = append(f.events, pod.Name+" "+eventType+" "+reason)
	}
	cfg.NodeEvent = func(eventType, reason, msg string) {
		f.events = append(f.events, "node "+eventType+" "+reason+": "+msg)
	}
	return New(cfg)
}

// tick moves time on and takes a round.
func (f *fakeNode) tick(m *Manager, d time.Duration) []*core.Pod {
	f.now = f.now.Add(d)
	return m.Synchronize(context.Background())
}

func pod(name string, prio int32, req string, containers ...string) *core.Pod {
	p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name}}
	p.Spec.Priority = &prio
	if len(containers) == 0 {
		containers = []string{"c"}
	}
	for _, c := range containers {
		ct := core.Container{Name: c}
		if req != "" {
			ct.Resources.Requests = core.ResourceList{core.ResourceMemory: resource.MustParse(req)}
		}
		p.Spec.Containers = append(p.Spec.Containers, ct)
	}
	p.Status.Phase = core.PodRunning
	return p
}

func names(ps []*core.Pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// Memory below the hard threshold: MemoryPressure, and the kubelet's victim: a pod using
// more than it requests before one within its request, lower priority first, then the
// most above its request — with Kubernetes' message and the DisruptionTarget condition.
func TestHardMemoryEviction(t *testing.T) {
	f := &fakeNode{now: time.Unix(1e9, 0), memAvail: 2048 * mi, fsAvail: 50 << 30,
		pods: []*core.Pod{
			pod("within-request", 0, "500Mi"),
			pod("important", 1000, "100Mi"),
			pod("besteffort", 0, ""),
			pod("burstable", 0, "100Mi"),
		},
		usage: map[string]uint64{"within-request": 400 * mi, "important": 900 * mi, "besteffort": 300 * mi, "burstable": 350 * mi}}
	m := f.manager(t, Flags{Hard: "memory.available<100Mi"}, Config{})
	if ev := f.tick(m, time.Second); len(ev) != 0 || m.Under(core.NodeMemoryPressure) {
		t.Fatalf("plenty of memory: evicted %v, pressure %v", names(ev), m.Under(core.NodeMemoryPressure))
	}
	f.memAvail = 50 * mi
	ev := f.tick(m, time.Second)
	if !m.Under(core.NodeMemoryPressure) || m.Under(core.NodeDiskPressure) {
		t.Error("want MemoryPressure only")
	}
	// besteffort and burstable both exceed their requests at priority 0; burstable is
	// 250Mi above its request, besteffort 300Mi.
	if got := names(ev); !slices.Equal(got, []string{"besteffort"}) {
		t.Fatalf("evicted %v, want [besteffort]", got)
	}
	e := f.evicted[0]
	want := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container c was using 300Mi, request is 0, has larger consumption of memory. "
	if e.msg != want || e.grace != 1 {
		t.Errorf("message %q grace %d\nwant    %q grace 1", e.msg, e.grace, want)
	}
	if e.cond == nil || e.cond.Type != core.DisruptionTarget || e.cond.Reason != "TerminationByKubelet" || e.cond.Message != want {
		t.Errorf("condition %+v", e.cond)
	}
	if !slices.Contains(f.events, "node Warning EvictionThresholdMet: Attempting to reclaim memory") || !slices.Contains(f.events, "besteffort Warning Evicted") {
		t.Errorf("events %q", f.events)
	}
	// The same sample again: no second eviction on stale numbers.
	if ev := m.Synchronize(context.Background()); len(ev) != 0 {
		t.Errorf("stale sample evicted %v", names(ev))
	}
	// Still short: burstable (above its request) before important (higher priority) and
	// within-request.
	if got := names(f.tick(m, time.Second)); !slices.Equal(got, []string{"burstable"}) {
		t.Errorf("second eviction %v, want [burstable]", got)
	}
	if got := names(f.tick(m, time.Second)); !slices.Equal(got, []string{"important"}) {
		t.Errorf("third eviction %v, want [important]", got)
	}
	// Recovered: the condition stays for the transition period (5m by default).
	f.memAvail = 3000 * mi
	if ev := f.tick(m, time.Second); len(ev) != 0 || !m.Under(core.NodeMemoryPressure) {
		t.Errorf("just recovered: evicted %v, pressure %v (want it kept)", names(ev), m.Under(core.NodeMemoryPressure))
	}
	f.tick(m, 5*time.Minute)
	if m.Under(core.NodeMemoryPressure) {
		t.Error("pressure kept past the transition period")
	}
}

// A soft threshold evicts only once it held for its grace period, and gives the pod the
// smaller of --eviction-max-pod-grace-period and its own terminationGracePeriodSeconds.
func TestSoftThresholdGracePeriod(t *testing.T) {
	p := pod("p", 0, "")
	tgps := int64(5)
	p.Spec.TerminationGracePeriodSeconds = &tgps
	f := &fakeNode{now: time.Unix(1e9, 0), memAvail: 500 * mi, fsAvail: 50 << 30, pods: []*core.Pod{p}, usage: map[string]uint64{"p": 100 * mi}}
	m := f.manager(t, Flags{Soft: "memory.available<1Gi", SoftGracePeriod: "memory.available=1m"}, Config{MaxPodGracePeriodSeconds: 30, PressureTransitionPeriod: time.Second})
	if ev := f.tick(m, time.Second); len(ev) != 0 || !m.Under(core.NodeMemoryPressure) {
		t.Fatalf("first seen: evicted %v, pressure %v; want pressure and no eviction yet", names(ev), m.Under(core.NodeMemoryPressure))
	}
	if ev := f.tick(m, 30*time.Second); len(ev) != 0 {
		t.Fatalf("30s in: evicted %v", names(ev))
	}
	if ev := f.tick(m, 31*time.Second); len(ev) != 1 || f.evicted[0].grace != 5 {
		t.Fatalf("61s in: evicted %v (%+v), want p with grace 5", names(ev), f.evicted)
	}
	// Below the threshold in between resets the clock.
	f.pods = []*core.Pod{pod("q", 0, "")}
	f.memAvail = 2048 * mi
	f.tick(m, 2*time.Second)
	f.memAvail = 500 * mi
	f.tick(m, time.Second)
	if ev := f.tick(m, 30*time.Second); len(ev) != 0 {
		t.Errorf("a new episode evicted after 30s: %v", names(ev))
	}
}

// A threshold met stays met until the signal is past it by the minimum reclaim.
func TestMinimumReclaim(t *testing.T) {
	f := &fakeNode{now: time.Unix(1e9, 0), memAvail: 50 * mi, fsAvail: 50 << 30,
		pods: []*core.Pod{pod("a", 0, ""), pod("b", 0, "")}, usage: map[string]uint64{"a": 10 * mi, "b": 20 * mi}}
	m := f.manager(t, Flags{Hard: "memory.available<100Mi", MinimumReclaim: "memory.available=500Mi"}, Config{})
	if got := names(f.tick(m, time.Second)); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("evicted %v, want [b]", got)
	}
	f.memAvail = 300 * mi // past the threshold, not past threshold + reclaim
	if got := names(f.tick(m, time.Second)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("evicted %v, want [a]: 300Mi is short of 100Mi+500Mi", got)
	}
	f.pods = []*core.Pod{pod("c", 0, "")}
	f.memAvail = 700 * mi
	if ev := f.tick(m, time.Second); len(ev) != 0 {
		t.Errorf("past the minimum reclaim: evicted %v", names(ev))
	}
}

// Disk pressure reclaims node-level resources first; a pod is evicted only when that was
// not enough.
func TestDiskPressureReclaimsFirst(t *testing.T) {
	f := &fakeNode{now: time.Unix(1e9, 0), memAvail: 2048 * mi, fsAvail: 5 << 30, afterReclaim: 20 << 30,
		pods: []*core.Pod{pod("a", 0, ""), pod("b", 0, "")}, disk: map[string]uint64{"a": 1 << 30, "b": 2 << 30}}
	m := f.manager(t, Flags{Hard: "nodefs.available<10%"}, Config{})
	if ev := f.tick(m, time.Second); len(ev) != 0 || f.reclaims != 1 || !m.Under(core.NodeDiskPressure) {
		t.Fatalf("evicted %v, reclaims %d, pressure %v; want a reclaim, no eviction, DiskPressure", names(ev), f.reclaims, m.Under(core.NodeDiskPressure))
	}
	f.fsAvail, f.afterReclaim = 5<<30, 6<<30 // reclaiming is not enough now
	ev := f.tick(m, time.Second)
	if got := names(ev); !slices.Equal(got, []string{"b"}) || f.reclaims != 2 {
		t.Fatalf("evicted %v after %d reclaims, want [b] (the larger user) after 2", got, f.reclaims)
	}
	// The round's observations (before reclaiming), and 10% computed as the kubelet does.
	want := "The node was low on resource: ephemeral-storage. Threshold quantity: 10737418400, available: 5Gi. Container c was using 2Gi, request is 0, has larger consumption of ephemeral-storage. "
	if f.evicted[0].msg != want {
		t.Errorf("message %q\nwant    %q", f.evicted[0].msg, want)
	}
}

// Critical pods (static, mirror, system-critical priority) are never evicted.
func TestCriticalPodsAreNotEvicted(t *testing.T) {
	static := pod("static", 0, "")
	static.Annotations = map[string]string{"kubernetes.io/config.source": "file"}
	mirror := pod("mirror", 0, "")
	mirror.Annotations = map[string]string{core.MirrorPodAnnotationKey: "x"}
	sys := pod("system", 2000001000, "")
	f := &fakeNode{now: time.Unix(1e9, 0), memAvail: 50 * mi, fsAvail: 50 << 30, pods: []*core.Pod{static, mirror, sys, pod("user", 100, "")},
		usage: map[string]uint64{"static": 900 * mi, "mirror": 900 * mi, "system": 900 * mi, "user": 1 * mi}}
	m := f.manager(t, Flags{Hard: "memory.available<100Mi"}, Config{})
	if got := names(f.tick(m, time.Second)); !slices.Equal(got, []string{"user"}) {
		t.Errorf("evicted %v, want [user]", got)
	}
}

// Local storage limits: an emptyDir past its sizeLimit, a container past its
// ephemeral-storage limit, a pod past its containers' total — each evicted with the
// kubelet's message, without node pressure.
func TestLocalStorageLimits(t *testing.T) {
	withDir := pod("emptydir", 0, "")
	lim := resource.MustParse("10Mi")
	withDir.Spec.Volumes = []core.Volume{{Name: "scratch", VolumeSource: core.VolumeSource{EmptyDir: &core.EmptyDirVolumeSource{SizeLimit: &lim}}}}
	withLimit := pod("container", 0, "", "small", "big")
	withLimit.Spec.Containers[0].Resources.Limits = core.ResourceList{core.ResourceEphemeralStorage: resource.MustParse("20Mi")}
	withLimit.Spec.Containers[1].Resources.Limits = core.ResourceList{core.ResourceEphemeralStorage: resource.MustParse("1Gi")}
	within := pod("within", 0, "")
	within.Spec.Volumes = withDir.Spec.Volumes
	f := &fakeNode{now: time.Unix(1e9, 0), memAvail: 2048 * mi, fsAvail: 50 << 30, pods: []*core.Pod{withDir, withLimit, within},
		volumes: map[string]map[string]uint64{"emptydir": {"scratch": 11 * mi}, "within": {"scratch": 10 * mi}},
		disk:    map[string]uint64{"container": 30 * mi}}
	m := f.manager(t, Flags{Hard: "memory.available<100Mi"}, Config{})
	if got := names(f.tick(m, time.Second)); !slices.Equal(got, []string{"container", "emptydir"}) {
		t.Fatalf("evicted %v, want [container emptydir]", got)
	}
	msgs := map[string]string{}
	for _, e := range f.evicted {
		msgs[e.pod] = e.msg
		if e.cond != nil || e.grace != 1 {
			t.Errorf("%s: condition %v grace %d; want none and 1", e.pod, e.cond, e.grace)
		}
	}
	if want := `Usage of EmptyDir volume "scratch" exceeds the limit "10Mi". `; msgs["emptydir"] != want {
		t.Errorf("emptyDir message %q, want %q", msgs["emptydir"], want)
	}
	if want := `Container small exceeded its local ephemeral storage limit "20Mi". `; msgs["container"] != want {
		t.Errorf("container message %q, want %q", msgs["container"], want)
	}
	// The pod-level limit is the sum of its containers' (all must have one).
	p := pod("pod", 0, "", "a", "b")
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].Resources.Limits = core.ResourceList{core.ResourceEphemeralStorage: resource.MustParse("100Mi")}
	}
	u := uint64(250 * mi)
	msg := overLocalStorage(p, statsapi.PodStats{EphemeralStorage: &statsapi.FsStats{UsedBytes: &u}})
	if want := "Pod ephemeral local storage usage exceeds the total limit of containers 200Mi. "; msg != want {
		t.Errorf("pod message %q, want %q", msg, want)
	}
}

// After an eviction the manager waits for the evicted pod's resources to come back before
// its next round (the kubelet's waitForPodsCleanup), and gives up after CleanupTimeout.
func TestWaitsForEvictedPodsCleanup(t *testing.T) {
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p"}}
	calls := 0
	m := New(Config{Log: slog.Default(), PodCleanedUp: func(context.Context, *core.Pod) bool { calls++; return calls >= 2 }})
	m.waitForCleanup(context.Background(), []*core.Pod{pod})
	if calls != 2 {
		t.Errorf("PodCleanedUp asked %d times, want until it said yes (2)", calls)
	}
	calls = 0
	m = New(Config{Log: slog.Default(), CleanupTimeout: time.Millisecond, PodCleanedUp: func(context.Context, *core.Pod) bool { calls++; return false }})
	m.waitForCleanup(context.Background(), []*core.Pod{pod})
	if calls < 1 || calls > 2 {
		t.Errorf("PodCleanedUp asked %d times with a 1ms timeout", calls)
	}
}
