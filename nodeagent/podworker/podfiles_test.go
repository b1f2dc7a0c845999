package podworker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// A host-network pod's /etc/hosts is the node's, under the kubelet's host-network header
// (so the e2e suite sees it as not managed), with its hostAliases; a pod-network pod's is
// the managed one. Both are mounted. The termination-message file is writable by anyone:
// a non-root container must be able to write it.
func TestPodFilesAndMounts(t *testing.T) {
	root := t.TempDir()
	nodeHosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(nodeHosts, []byte("127.0.0.1\tlocalhost\n10.1.2.3\tthe-node\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(Config{RootDir: root, DNS: DNSConfig{HostHosts: nodeHosts, HostResolvConf: nodeHosts}})
	c := core.Container{Name: "c", Image: "busybox"}
	for _, tc := range []struct {
		hostNetwork bool
		want        string
	}{
		{true, "# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n10.1.2.3\tthe-node\n\n# Entries added by HostAliases.\n10.9.9.9\tfoo\tbar\n"},
		{false, "# Kubernetes-managed hosts file.\n"},
	} {
		pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-" + map[bool]string{true: "host", false: "pod"}[tc.hostNetwork]},
			Spec: core.PodSpec{HostNetwork: tc.hostNetwork, Containers: []core.Container{c},
				HostAliases: []core.HostAlias{{IP: "10.9.9.9", Hostnames: []string{"foo", "bar"}}}}}
		if err := m.writePodFiles(pod, &runtime.Sandbox{IP: "10.244.0.5"}); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(m.podDir(pod.UID), "etc-hosts"))
		if err != nil || !strings.HasPrefix(string(got), tc.want) {
			t.Errorf("hostNetwork=%v: /etc/hosts\n%s\nwant prefix\n%s", tc.hostNetwork, got, tc.want)
		}
		mounts, err := m.mounts(&actionContext{pod: pod}, &c, 0, envLookup(nil))
		if err != nil {
			t.Fatal(err)
		}
		byPath := map[string]runtime.Mount{}
		for _, mt := range mounts {
			byPath[mt.ContainerPath] = mt
		}
		if byPath["/etc/hosts"].HostPath != filepath.Join(m.podDir(pod.UID), "etc-hosts") {
			t.Errorf("hostNetwork=%v: /etc/hosts mount %+v", tc.hostNetwork, byPath["/etc/hosts"])
		}
		tm, ok := byPath["/dev/termination-log"]
		if !ok {
			t.Fatalf("no termination-log mount: %v", mounts)
		}
		if fi, err := os.Stat(tm.HostPath); err != nil || fi.Mode().Perm() != 0o666 {
			t.Errorf("termination-log file mode %v (%v), want 0666", fi.Mode().Perm(), err)
		}
	}
}

// An agent killed between creating a pod's sandbox and writing the pod's files finds the
// sandbox ready after its restart: the files are written when a container's mounts are
// made (with the sandbox's IP), not assumed — runc refuses to mount a missing /etc/hosts,
// and every start of the pod's containers failed for ever. Files that are there are kept.
func TestPodFilesWrittenWhenMissing(t *testing.T) {
	m := New(Config{RootDir: t.TempDir(), DNS: DNSConfig{HostResolvConf: filepath.Join(t.TempDir(), "none")}})
	c := core.Container{Name: "c", Image: "busybox"}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-1"}, Spec: core.PodSpec{Containers: []core.Container{c}}}
	if _, err := m.mounts(&actionContext{pod: pod, sandbox: &runtime.Sandbox{IP: "10.244.0.7"}}, &c, 0, envLookup(nil)); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(m.podDir(pod.UID), "etc-hosts")
	got, err := os.ReadFile(hosts)
	if err != nil || !strings.Contains(string(got), "10.244.0.7\tp\n") {
		t.Fatalf("/etc/hosts after the mounts of a pod without files: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(m.podDir(pod.UID), "resolv.conf")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hosts, []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.mounts(&actionContext{pod: pod, sandbox: &runtime.Sandbox{IP: "10.244.0.8"}}, &c, 1, envLookup(nil)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(hosts); string(got) != "kept\n" {
		t.Errorf("an existing /etc/hosts was rewritten: %q", got)
	}
}

// Init containers that completed are reported ready (as the kubelet does); a failed or
// running one is not.
func TestInitContainersReady(t *testing.T) {
	for _, tc := range []struct {
		c    *runtime.Container
		want bool
	}{
		{&runtime.Container{ID: "i", Name: "i", State: runtime.ContainerExited, ExitCode: 0}, true},
		{&runtime.Container{ID: "i", Name: "i", State: runtime.ContainerExited, ExitCode: 1}, false},
		{&runtime.Container{ID: "i", Name: "i", State: runtime.ContainerRunning}, false},
	} {
		pod := &core.Pod{Spec: core.PodSpec{RestartPolicy: core.RestartPolicyNever,
			InitContainers: []core.Container{{Name: "i"}}, Containers: []core.Container{{Name: "a"}}}}
		o := newObserved()
		o.containers = group([]*runtime.Container{tc.c})
		st := o.podStatus(pod)
		if got := st.InitContainerStatuses[0].Ready; got != tc.want {
			t.Errorf("init container %s exit %d: ready %v, want %v", tc.c.State, tc.c.ExitCode, got, tc.want)
		}
	}
}

// subPathExpr expands the container's environment; the result is checked as the kubelet
// checks it, with its messages (the container's CreateContainerConfigError shows them).
func TestSubPath(t *testing.T) {
	env := envLookup([]string{"POD_NAME=web-1", "UP=..", "ABS=/etc", "EMPTY="})
	for _, tc := range []struct {
		vm   core.VolumeMount
		want string
		err  string
	}{
		{core.VolumeMount{SubPath: "a/b"}, "a/b", ""},
		{core.VolumeMount{SubPathExpr: "logs/$(POD_NAME)"}, "logs/web-1", ""},
		{core.VolumeMount{SubPathExpr: "$(UP)/x"}, "", "unable to provision SubPath `../x`: must not contain '..'"},
		{core.VolumeMount{SubPathExpr: "$(ABS)"}, "", "error SubPath `/etc` must not be an absolute path"},
		{core.VolumeMount{SubPathExpr: "$(NOPE)/$(EMPTY)"}, "", "missing value for EMPTY, NOPE"},
		{core.VolumeMount{SubPath: "a..b/c"}, "a..b/c", ""},
	} {
		got, err := subPath(tc.vm, env)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("%+v: %q %v, want %q %q", tc.vm, got, err, tc.want, tc.err)
		}
		var ce *configError
		if err != nil && !errors.As(err, &ce) {
			t.Errorf("%+v: %v is not a config error", tc.vm, err)
		}
	}

	// A missing subPath directory takes the volume's mode (an emptyDir's 0777), past the umask.
	vol := t.TempDir()
	if err := os.Chmod(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := makeSubPath(vol, filepath.Join(vol, "a", "b")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "a/b"} {
		if fi, err := os.Stat(filepath.Join(vol, p)); err != nil || fi.Mode().Perm() != 0o777 {
			t.Errorf("%s: mode %v (%v), want 0777", p, fi.Mode().Perm(), err)
		}
	}
	// An fsGroup volume's setgid bit carries on too.
	if err := os.Chmod(vol, 0o770|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := makeSubPath(vol, filepath.Join(vol, "g")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(vol, "g")); err != nil || fi.Mode()&(os.ModePerm|os.ModeSetgid) != 0o770|os.ModeSetgid {
		t.Errorf("g: mode %v (%v), want drwxrws---", fi.Mode(), err)
	}
}

// pullRuntime has image "here" and can pull "there"; it records the policies asked for.
type pullRuntime struct {
	runtime.Runtime
	asked []core.PullPolicy
}

func (r *pullRuntime) Type() string { return "fake" }

func (r *pullRuntime) EnsureImage(_ context.Context, ref string, policy core.PullPolicy, _ []runtime.PullAuth) (*runtime.Image, error) {
	r.asked = append(r.asked, policy)
	if ref != "here" && policy == core.PullNever {
		return nil, runtime.ErrImageNeverPull
	}
	return &runtime.Image{Ref: ref, SizeBytes: 42}, nil
}

type eventList []string

func (l *eventList) Eventf(_ meta.Object, _, reason, format string, args ...any) {
	*l = append(*l, reason+": "+fmt.Sprintf(format, args...))
}

// "Pulling" is recorded before an image that is not present is pulled, and "Pulled"
// says whether it was pulled or already there, as the kubelet's events do.
func TestPullEvents(t *testing.T) {
	for _, tc := range []struct {
		image  string
		policy core.PullPolicy
		want   []string
	}{
		{"here", core.PullIfNotPresent, []string{`Pulled: Container image "here" already present on machine`}},
		{"there", core.PullIfNotPresent, []string{`Pulling: Pulling image "there"`, `Pulled: Successfully pulled image "there"`}},
		{"here", core.PullAlways, []string{`Pulling: Pulling image "here"`, `Pulled: Successfully pulled image "here"`}},
	} {
		var events eventList
		rt := &pullRuntime{}
		m := New(Config{Runtime: rt, Recorder: &events})
		pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", UID: "u"}}
		if _, err := m.ensureImage(context.Background(), pod, &core.Container{Name: "c", Image: tc.image, ImagePullPolicy: tc.policy}, nil); err != nil {
			t.Fatal(err)
		}
		if len(events) != len(tc.want) {
			t.Fatalf("%s %s: events %q, want %q", tc.image, tc.policy, events, tc.want)
		}
		for i := range events {
			if !strings.HasPrefix(events[i], tc.want[i]) {
				t.Errorf("%s %s: event %d %q, want %q...", tc.image, tc.policy, i, events[i], tc.want[i])
			}
		}
	}
}

type noObjects struct{}

func (noObjects) ConfigMap(context.Context, string, string) (*core.ConfigMap, error) {
	return nil, &client.StatusError{Status: meta.Status{Reason: meta.ReasonNotFound, Code: 404}}
}

func (noObjects) Secret(context.Context, string, string) (*core.Secret, error) {
	return nil, &client.StatusError{Status: meta.Status{Reason: meta.ReasonNotFound, Code: 404}}
}

// A container whose ConfigMap is missing waits in CreateContainerConfigError, and both its
// waiting message and the Failed event name the ConfigMap, as the kubelet's do.
func TestCreateContainerConfigErrorNamesTheObject(t *testing.T) {
	var events eventList
	m := New(Config{Runtime: &pullRuntime{}, Recorder: &events, Objects: noObjects{},
		NodeIP: func() string { return "10.0.0.1" }, Allocatable: func() core.ResourceList { return nil }})
	c := core.Container{Name: "c", Image: "here", EnvFrom: []core.EnvFromSource{{ConfigMapRef: &core.ConfigMapEnvSource{
		LocalObjectReference: core.LocalObjectReference{Name: "settings"}}}}}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p", UID: "u"}, Spec: core.PodSpec{Containers: []core.Container{c}}}
	ac := &actionContext{pod: pod, st: &podState{waiting: map[string]core.ContainerStateWaiting{}}, sandbox: &runtime.Sandbox{}}
	if err := m.startContainer(context.Background(), ac, &c, 0, false); err == nil {
		t.Fatal("started without its ConfigMap")
	}
	w := ac.st.waiting["c"]
	if w.Reason != "CreateContainerConfigError" || w.Message != `configmap "settings" not found` {
		t.Errorf("waiting %+v", w)
	}
	if last := events[len(events)-1]; last != `Failed: Error: configmap "settings" not found` {
		t.Errorf("event %q", last)
	}
}

// A volume is read-only in a container when the volume says so (a claim's readOnly) or the
// mount does (the only way to make a generic ephemeral volume read-only).
func TestReadOnlyMounts(t *testing.T) {
	m := New(Config{RootDir: t.TempDir()})
	vols := map[string]runtime.Mount{
		"claim-ro":  {HostPath: "/v/claim-ro", ReadOnly: true},
		"ephemeral": {HostPath: "/v/ephemeral"},
	}
	c := core.Container{Name: "c", VolumeMounts: []core.VolumeMount{
		{Name: "claim-ro", MountPath: "/claim"},
		{Name: "ephemeral", MountPath: "/eph-ro", ReadOnly: true},
		{Name: "ephemeral", MountPath: "/eph-rw"},
	}}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p", UID: "u"}, Spec: core.PodSpec{Containers: []core.Container{c}}}
	mounts, err := m.mounts(&actionContext{pod: pod, mounts: vols}, &c, 0, envLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"/claim": true, "/eph-ro": true, "/eph-rw": false}
	for _, mt := range mounts {
		if ro, ok := want[mt.ContainerPath]; ok && mt.ReadOnly != ro {
			t.Errorf("%s: readOnly %v, want %v", mt.ContainerPath, mt.ReadOnly, ro)
		}
		delete(want, mt.ContainerPath)
	}
	if len(want) > 0 {
		t.Errorf("mounts missing: %v", want)
	}
}
