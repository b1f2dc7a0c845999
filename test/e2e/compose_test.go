package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// The docker-compose stack (deploy/compose) as a user runs it: prepare.sh (static binaries,
// the node base image from Debian's packages), `docker-compose up -d --build`, two nodes
// Ready, an image loaded with `skiff image import --kubeconfig`, pods on both nodes reaching
// each other and a Service by DNS name, kubectl logs and exec, `restart` keeping every object
// and bringing the pods back, `down -v` leaving nothing; and a node container without
// privileges refused with a message saying so. dockerd is started by the test (its own
// data-root and socket, no iptables rules on the host) when none answers.

const composeProject = "skiffe2e"

func TestComposeStack(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("docker needs root")
	}
	compose := composeCommand(t)
	env := dockerEnv(t)
	repo := repoRoot(t)
	dir := filepath.Join(repo, "deploy", "compose")
	kcDir := t.TempDir()
	port := harness.FreePort(t)
	env = append(env, "SKIFF_API_PORT="+strconv.Itoa(port), "SKIFF_KUBECONFIG_DIR="+kcDir)
	run := func(timeout time.Duration, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		timer := time.AfterFunc(timeout, func() {
			if cmd.Process != nil {
				cmd.Process.Kill()
			}
		})
		defer timer.Stop()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	dc := func(timeout time.Duration, args ...string) string {
		t.Helper()
		return run(timeout, compose[0], append(append(compose[1:], "-p", composeProject, "-f", "docker-compose.yml"), args...)...)
	}

	start := time.Now()
	run(15*time.Minute, "./prepare.sh")
	t.Logf("prepare.sh (binaries, node base image): %s", time.Since(start).Round(time.Second))
	start = time.Now()
	dc(10*time.Minute, "build")
	t.Logf("%s build: %s", strings.Join(compose, " "), time.Since(start).Round(time.Second))
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command(compose[0], append(append(compose[1:], "-p", composeProject, "-f", "docker-compose.yml"), "logs", "--tail", "40")...)
			cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
			out, _ := cmd.CombinedOutput()
			t.Logf("compose logs:\n%s", out)
		}
		cmd := exec.Command(compose[0], append(append(compose[1:], "-p", composeProject, "-f", "docker-compose.yml"), "down", "-v", "--timeout", "60")...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		cmd.Run()
	})

	start = time.Now()
	dc(5*time.Minute, "up", "-d")
	k := &harness.Kubectl{Kubeconfig: filepath.Join(kcDir, "kubeconfig")}
	waitNodesReady(t, k, 2)
	t.Logf("MEASURE compose up (images built) to both nodes Ready: %s", time.Since(start).Round(100*time.Millisecond))

	arch := filepath.Join(t.TempDir(), "busybox.tar")
	img, err := images.Busybox(busyboxImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := images.WriteFile(arch, img); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(harness.Binaries(t), "skiff"), "image", "import", "--kubeconfig", k.Kubeconfig, arch).CombinedOutput()
	if err != nil || strings.Count(string(out), busyboxImage) != 2 {
		t.Fatalf("skiff image import: %v\n%s", err, out)
	}

	k.RunStdin(t, twoNodeApp, "apply", "-f", "-")
	k.Run(t, "create", "configmap", "kept", "--from-literal=a=b")
	k.Run(t, "rollout", "status", "deploy/web", "--timeout=180s")
	pods := podsByNode(t, k, "app=web")
	if len(pods) != 2 {
		t.Fatalf("want one web pod on each node, got %v", pods)
	}
	// checkTraffic: from a pod on each node, the web pod on the other node by its IP and the
	// Service by DNS name. Retried as a whole with the pods read afresh: after a restart the
	// pods' status shows their old IPs until the node agents have run them again.
	attempt := 0
	checkTraffic := func(t *testing.T) {
		t.Helper()
		harness.Eventually(t, 4*time.Minute, "pods on both nodes reach each other and the Service by DNS", func() (bool, string) {
			attempt++
			pods := podsByNode(t, k, "app=web")
			if len(pods) != 2 {
				return false, fmt.Sprint(pods)
			}
			for node := range pods {
				var other podPlace
				for n, p := range pods {
					if n != node {
						other = p
					}
				}
				name := fmt.Sprintf("client-%d-%s", attempt, node)
				k.RunStdin(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  nodeName: %s
  restartPolicy: Never
  containers:
  - name: c
    image: %s
    command: ["sh", "-c", "for i in $(seq 10); do wget -qO- http://%s:8080/ | grep -q 'hello from %s' && wget -qO- http://web.default.svc.cluster.local/ | grep -q 'hello from web-' && echo reached && exit 0; sleep 1; done; exit 1"]
`, name, node, busyboxImage, other.ip, other.name), "apply", "-f", "-")
				p := waitPod(t, k, name, "finished", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" })
				if p.Status.Phase != "Succeeded" {
					b, _ := json.Marshal(p.Status)
					return false, fmt.Sprintf("a pod on %s could not reach %s (%s) on the other node and the Service by DNS name: %s", node, other.name, other.ip, b)
				}
				if logs := k.Run(t, "logs", name); strings.TrimSpace(logs) != "reached" {
					return false, fmt.Sprintf("kubectl logs %s: %q", name, logs)
				}
			}
			return true, ""
		})
	}
	checkTraffic(t)
	for _, p := range pods {
		if got := k.Run(t, "exec", p.name, "--", "cat", "/tmp/index.html"); got != "hello from "+p.name+"\n" {
			t.Errorf("kubectl exec %s: %q", p.name, got)
		}
	}

	t.Run("restart keeps every object and the pods come back", func(t *testing.T) {
		dc(5*time.Minute, "restart")
		waitNodesReady(t, k, 2)
		if got := k.Run(t, "get", "configmap", "kept", "-o", "jsonpath={.data.a}"); got != "b" {
			t.Errorf("configmap after restart: %q", got)
		}
		k.Run(t, "rollout", "status", "deploy/web", "--timeout=180s")
		checkTraffic(t)
	})

	t.Run("a node container without privileges says what is wrong", func(t *testing.T) {
		cmd := exec.Command("docker", "run", "--rm", "--entrypoint", "/usr/local/bin/skiff-node", "skiff.local/node:dev")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "this container is not privileged") || !strings.Contains(string(out), "privileged: true") {
			t.Errorf("unprivileged node: %v\n%s", err, out)
		}
	})

	t.Run("down -v leaves nothing behind", func(t *testing.T) {
		dc(3*time.Minute, "down", "-v", "--timeout", "60")
		for _, what := range [][]string{
			{"ps", "-aq", "--filter", "label=com.docker.compose.project=" + composeProject},
			{"volume", "ls", "-q", "--filter", "label=com.docker.compose.project=" + composeProject},
			{"network", "ls", "-q", "--filter", "label=com.docker.compose.project=" + composeProject},
		} {
			cmd := exec.Command("docker", what...)
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "" {
				t.Errorf("docker %s: %v %q", strings.Join(what, " "), err, out)
			}
		}
		left, _ := filepath.Glob("/sys/fs/cgroup/*/skiff-compose-node-*")
		if more, _ := filepath.Glob("/sys/fs/cgroup/skiff-compose-node-*"); len(more) > 0 {
			left = append(left, more...)
		}
		if len(left) > 0 {
			t.Errorf("node cgroups left on the host: %v", left)
		}
	})
}

func waitNodesReady(t *testing.T, k *harness.Kubectl, n int) {
	t.Helper()
	harness.Eventually(t, 4*time.Minute, fmt.Sprintf("%d nodes Ready", n), func() (bool, string) {
		out, errOut, err := k.Exec([]string{"get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}`}, "")
		if err != nil {
			return false, errOut
		}
		return strings.Count(out, "=True") == n, out
	})
}

// composeCommand is `docker compose` when the plugin is there, else docker-compose (Debian's
// 1.29 reads the same file).
func composeCommand(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	t.Skip("neither `docker compose` nor docker-compose is installed (apt-get install docker-compose)")
	return nil
}

// dockerEnv is the environment that reaches a Docker engine: the one that answers, or a
// dockerd the test starts (stopped when it ends) with its own data-root, which outlives
// the test so a later run reuses the images it built.
func dockerEnv(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "info").Run() == nil {
		return nil
	}
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		t.Skip("no Docker engine answers and dockerd is not installed (apt-get install docker.io)")
	}
	const sock = "/run/skiff-e2e-docker.sock"
	env := []string{"DOCKER_HOST=unix://" + sock}
	logf, err := os.CreateTemp("", "skiff-e2e-dockerd-*.log")
	if err != nil {
		t.Fatal(err)
	}
	// No iptables: the host's rules stay as they are (other clusters use them); containers
	// reach each other on their bridge and published ports go through docker-proxy.
	cmd := exec.Command(bin, "--data-root", "/var/lib/skiff-e2e-docker", "--exec-root", "/run/skiff-e2e-docker",
		"--pidfile", "/run/skiff-e2e-docker.pid", "-H", "unix://"+sock, "--iptables=false", "--bridge=none")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Skipf("dockerd cannot start here: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		os.Remove(logf.Name())
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		c := exec.Command("docker", "info")
		c.Env = append(os.Environ(), env...)
		if c.Run() == nil {
			return env
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logf.Name())
			t.Skipf("dockerd cannot run here (%v): %s", err, tail(string(b), 2000))
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("dockerd did not answer within 60s: %s", tail(string(b), 2000))
		}
		time.Sleep(300 * time.Millisecond)
	}
}
