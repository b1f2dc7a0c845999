package containerd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nimages "github.com/skiff-sh/skiff/nodeagent/images"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
	"github.com/skiff-sh/skiff/test/images"
)

// startRuntime starts a containerd of the test's own (as the node agent does, through
// Start with no Address) under a temporary data dir, or skips saying what is missing.
func startRuntime(t *testing.T) *Runtime {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: containerd and runc create namespaces and cgroups")
	}
	for _, bin := range []string{"containerd", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed (apt-get install containerd runc; scripts/install-deps.sh)", bin)
		}
	}
	if _, err := os.Stat(images.BusyboxPath); err != nil {
		t.Skip("busybox-static is not installed (apt-get install busybox-static)")
	}
	// The pause program of every sandbox, built as the node agent finds it (next to itself).
	dir := t.TempDir()
	pause := filepath.Join(dir, "skiff-pause")
	build := exec.Command("go", "build", "-o", pause, "github.com/skiff-sh/skiff/cmd/skiff-pause")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build skiff-pause: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Start(ctx, Options{DataDir: filepath.Join(dir, "node"), Namespace: "skiff-test", PauseBinary: pause})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func importBusybox(t *testing.T, r *Runtime) string {
	t.Helper()
	const name = "skiff.test/busybox:1"
	img, err := images.Busybox(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := nimages.Build(&buf, img); err != nil {
		t.Fatal(err)
	}
	names, err := r.Import(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("import named no image")
	}
	return name
}

// TestPodLifecycle drives one pod through the runtime against real containerd: a
// host-network sandbox (no CNI needed), a busybox container, exec, stop with a grace
// period, exit status, removal.
func TestPodLifecycle(t *testing.T) {
	r := startRuntime(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if v, err := r.Version(ctx); err != nil || v == "" {
		t.Fatalf("Version = %q, %v", v, err)
	}
	image := importBusybox(t, r)
	if _, err := r.EnsureImage(ctx, image, "IfNotPresent", nil); err != nil {
		t.Fatalf("EnsureImage of an imported image: %v", err)
	}

	pod := runtime.PodRef{UID: "uid-1", Namespace: "ns", Name: "web"}
	// The pod worker labels what it creates; the runtime lists by these labels.
	labels := func(extra ...string) map[string]string {
		l := map[string]string{runtime.LabelPodUID: pod.UID, runtime.LabelPodName: pod.Name, runtime.LabelPodNamespace: pod.Namespace}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	logDir := t.TempDir()
	sb, err := r.RunPodSandbox(ctx, &runtime.SandboxConfig{Pod: pod, Hostname: "web", HostNetwork: true, LogDir: logDir, Labels: labels()})
	if err != nil {
		t.Fatal(err)
	}
	// Whatever fails below, no pod process outlives the test (Close leaves containers
	// running, as a node agent's restart must).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = r.StopPodSandbox(ctx, sb.ID)
		_ = r.RemovePodSandbox(ctx, sb.ID)
	})
	if sbs, err := r.ListPodSandboxes(ctx, pod.UID); err != nil || len(sbs) != 1 || sbs[0].ID != sb.ID || sbs[0].State != runtime.SandboxReady {
		t.Fatalf("ListPodSandboxes = %+v, %v", sbs, err)
	}

	id, err := r.CreateContainer(ctx, sb.ID, &runtime.ContainerConfig{
		Pod: pod, Name: "app", Image: image,
		// Exits 3 on SIGTERM, so the stop below is seen to deliver it.
		Command: []string{"sh", "-c", "trap 'exit 3' TERM; echo started; while true; do sleep 1; done"},
		LogPath: filepath.Join(logDir, "app", "0.log"),
		Labels:  labels(runtime.LabelContainerName, "app"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	res, err := r.ExecSync(ctx, id, []string{"sh", "-c", "echo hello; exit 7"}, 30*time.Second)
	if err != nil || res.ExitCode != 7 || strings.TrimSpace(string(res.Output)) != "hello" {
		t.Fatalf("ExecSync = %+v (%q), %v", res, res.Output, err)
	}
	if err := r.StopContainer(ctx, id, 20*time.Second, ""); err != nil {
		t.Fatal(err)
	}
	cs, err := r.ListContainers(ctx, pod.UID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("ListContainers = %+v, %v", cs, err)
	}
	if c := cs[0]; c.ID != id || c.Name != "app" || c.State != runtime.ContainerExited || c.ExitCode != 3 {
		t.Errorf("stopped container: %+v, want exited with 3 (SIGTERM trapped)", c)
	}
	if err := r.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := r.StopPodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.RemovePodSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if sbs, _ := r.ListPodSandboxes(ctx, pod.UID); len(sbs) != 0 {
		t.Errorf("sandboxes after removal: %+v", sbs)
	}
	if cs, _ := r.ListContainers(ctx, pod.UID); len(cs) != 0 {
		t.Errorf("containers after removal: %+v", cs)
	}
}
