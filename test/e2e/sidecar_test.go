package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// Sidecar containers (init containers with restartPolicy Always) on a containerd node,
// driven with the real kubectl:
//   - the sidecar starts after the init container before it, and the init container after
//     it starts only once the sidecar's startup probe passed (it checks the file the
//     sidecar writes, and the pod does not restart: had it run first, the pod would fail);
//   - initContainerStatuses shows the sidecar started and ready, the pod is Ready;
//   - a sidecar that exits is restarted although the pod's restartPolicy is Never;
//   - on deletion the app container stops first, then the sidecars, the last one first;
//   - a Job's pod completes when its app container finishes although its sidecar would
//     run forever.
func TestSidecarsContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	startProcess(t, api.Kubeconfig, t.TempDir(), "skiff-controller-manager", "--metrics-addr", "127.0.0.1:"+strconv.Itoa(harness.FreePort(t)))
	const node = "e2e-sidecar"
	startAgent(t, api, node, "10.244.31.0/24")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	harness.Eventually(t, 60*time.Second, "node Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"}, "")
		return out == "True", out
	})
	host := t.TempDir() // where the containers record the order they were stopped in
	if err := os.Chmod(host, 0o777); err != nil {
		t.Fatal(err)
	}
	// Each container records its SIGTERM, then exits (a shell runs the trap between sleeps).
	stopper := func(name string) string {
		return `trap 'echo ` + name + ` >> /host/order; exit 0' TERM; `
	}
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: ordered}
spec:
  nodeName: `+node+`
  restartPolicy: Never
  terminationGracePeriodSeconds: 20
  volumes:
  - {name: shared, emptyDir: {}}
  - {name: host, hostPath: {path: `+host+`}}
  initContainers:
  - name: setup
    image: `+busyboxImage+`
    command: ["sh", "-c", "echo setup > /shared/setup"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: proxy
    image: `+busyboxImage+`
    restartPolicy: Always
    command: ["sh", "-c", "`+stopper("proxy")+`test -f /shared/setup || exit 9; sleep 2; touch /shared/proxy-up; while [ ! -f /shared/crash ]; do sleep 0.2; done; rm /shared/crash; exit 3"]
    startupProbe: {exec: {command: ["test", "-f", "/shared/proxy-up"]}, periodSeconds: 1, failureThreshold: 30}
    readinessProbe: {exec: {command: ["test", "-f", "/shared/proxy-up"]}, periodSeconds: 1}
    volumeMounts: [{name: shared, mountPath: /shared}, {name: host, mountPath: /host}]
  - name: check
    image: `+busyboxImage+`
    command: ["sh", "-c", "test -f /shared/proxy-up"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: logger
    image: `+busyboxImage+`
    restartPolicy: Always
    command: ["sh", "-c", "`+stopper("logger")+`while true; do sleep 0.2; done"]
    volumeMounts: [{name: host, mountPath: /host}]
  containers:
  - name: app
    image: `+busyboxImage+`
    command: ["sh", "-c", "`+stopper("app")+`while true; do sleep 0.2; done"]
    volumeMounts: [{name: shared, mountPath: /shared}, {name: host, mountPath: /host}]
`, "apply", "-f", "-")
	jp := func(name, path string) string {
		out, _, _ := k.Exec([]string{"get", "pod", name, "-o", "jsonpath=" + path}, "")
		return out
	}
	harness.Eventually(t, 120*time.Second, "ordered pod Ready", func() (bool, string) {
		out := jp("ordered", `{.status.phase} {.status.conditions[?(@.type=="Ready")].status}`)
		return out == "Running True", out + " " + jp("ordered", "{.status.initContainerStatuses}")
	})
	if got := jp("ordered", `{.status.initContainerStatuses[?(@.name=="check")].state.terminated.exitCode} {.status.initContainerStatuses[?(@.name=="check")].restartCount}`); got != "0 0" {
		t.Errorf("check: exit code and restarts %q, want \"0 0\" (it ran before the sidecar had started?)", got)
	}
	for _, sc := range []string{"proxy", "logger"} {
		got := jp("ordered", `{.status.initContainerStatuses[?(@.name=="`+sc+`")].started} {.status.initContainerStatuses[?(@.name=="`+sc+`")].ready} {.status.initContainerStatuses[?(@.name=="`+sc+`")].state.running.startedAt}`)
		if f := strings.Fields(got); len(f) != 3 || f[0] != "true" || f[1] != "true" {
			t.Errorf("%s: started ready running = %q", sc, got)
		}
	}

	// The sidecar exits: it is restarted (restartPolicy Never is the app containers').
	k.Run(t, "exec", "ordered", "-c", "app", "--", "touch", "/shared/crash")
	harness.Eventually(t, 60*time.Second, "proxy restarted", func() (bool, string) {
		out := jp("ordered", `{.status.initContainerStatuses[?(@.name=="proxy")].restartCount} {.status.initContainerStatuses[?(@.name=="proxy")].lastState.terminated.exitCode} {.status.initContainerStatuses[?(@.name=="proxy")].ready}`)
		return out == "1 3 true", out
	})

	// Deleted: the app container stops first, then logger, then proxy.
	k.Run(t, "delete", "pod", "ordered", "--wait=true", "--timeout=90s")
	order, err := os.ReadFile(filepath.Join(host, "order"))
	if err != nil || string(order) != "app\nlogger\nproxy\n" {
		t.Errorf("stop order %q (%v), want app, logger, proxy", order, err)
	}

	// A Job's pod completes though its sidecar never exits on its own.
	k.RunStdin(t, `apiVersion: batch/v1
kind: Job
metadata: {name: with-sidecar}
spec:
  backoffLimit: 0
  template:
    spec:
      nodeName: `+node+`
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      initContainers:
      - {name: forever, image: `+busyboxImage+`, restartPolicy: Always, command: ["sleep", "3600"]}
      containers:
      - {name: work, image: `+busyboxImage+`, command: ["sh", "-c", "echo worked"]}
`, "apply", "-f", "-")
	k.Run(t, "wait", "--for=condition=complete", "job/with-sidecar", "--timeout=120s")
	out := k.Run(t, "get", "pods", "-l", "job-name=with-sidecar", "-o",
		`jsonpath={.items[0].status.phase} {.items[0].status.initContainerStatuses[0].state.terminated.reason}`)
	if f := strings.Fields(out); len(f) != 2 || f[0] != "Succeeded" {
		t.Errorf("job pod: phase and sidecar state %q, want Succeeded with the sidecar terminated", out)
	}
}
