package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// kubectl logs, exec, attach and port-forward against the real API server and a
// containerd node agent: the API server proxies pods/log and relays the exec, attach and
// port-forward upgrades to the node agent, which runs the processes in the containers.

func TestStreamingContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	startAgent(t, api, "e2e-stream", "10.244.12.0/24")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	harness.Eventually(t, 60*time.Second, "node Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", "e2e-stream", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"}, "")
		return out == "True", out
	})
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: lines}
spec:
  nodeName: e2e-stream
  containers:
  - {name: lines, image: `+busyboxImage+`, command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 0.5; echo oops >&2; exec sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  nodeName: e2e-stream
  containers:
  - {name: ticker, image: `+busyboxImage+`, command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]}
---
apiVersion: v1
kind: Pod
metadata: {name: pair}
spec:
  nodeName: e2e-stream
  containers:
  - {name: a, image: `+busyboxImage+`, command: ["sh", "-c", "echo from-a; exec sleep 3600"]}
  - {name: b, image: `+busyboxImage+`, command: ["sh", "-c", "echo from-b; exec sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: e2e-stream
  containers:
  - name: web
    image: `+busyboxImage+`
    # Only on the pod's localhost: port-forward reaches it from inside the pod's network.
    command: ["sh", "-c", "mkdir -p /www && echo hello from httpd > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"]
---
apiVersion: v1
kind: Pod
metadata: {name: unscheduled}
spec:
  containers:
  - {name: c, image: `+busyboxImage+`}
`, "apply", "-f", "-")
	for _, name := range []string{"lines", "ticker", "pair", "web"} {
		waitPod(t, k, name, "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
	}
	// The first lines are in the log once the shell has written them.
	harness.Eventually(t, 30*time.Second, "lines' output", func() (bool, string) {
		out, errOut, _ := k.Exec([]string{"logs", "lines"}, "")
		return strings.Contains(out, "oops"), out + errOut
	})

	t.Run("logs", func(t *testing.T) {
		if got, want := k.Run(t, "logs", "lines"), "line 1\nline 2\nline 3\nline 4\nline 5\noops\n"; got != want {
			t.Errorf("kubectl logs lines = %q, want %q", got, want)
		}
		if got, want := k.Run(t, "logs", "lines", "--tail=2"), "line 5\noops\n"; got != want {
			t.Errorf("kubectl logs --tail=2 = %q, want %q", got, want)
		}
		if got := k.Run(t, "logs", "lines", "--timestamps", "--tail=1"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+ oops\n$`).MatchString(got) {
			t.Errorf("kubectl logs --timestamps --tail=1 = %q", got)
		}
		if got := k.Run(t, "logs", "lines", "--limit-bytes=4"); got != "line" {
			t.Errorf("kubectl logs --limit-bytes=4 = %q", got)
		}
		if got := k.Run(t, "logs", "pair", "-c", "b"); got != "from-b\n" {
			t.Errorf("kubectl logs pair -c b = %q", got)
		}
		if got := k.Run(t, "logs", "pair", "--all-containers", "--prefix"); !strings.Contains(got, "[pod/pair/a] from-a") || !strings.Contains(got, "[pod/pair/b] from-b") {
			t.Errorf("kubectl logs --all-containers --prefix = %q", got)
		}
	})

	t.Run("log errors", func(t *testing.T) {
		// kubectl itself picks the first container; the API answers Kubernetes' error.
		_, errOut, err := k.Exec([]string{"get", "--raw", "/api/v1/namespaces/default/pods/pair/log"}, "")
		if err == nil || !strings.Contains(errOut, "a container name must be specified for pod pair, choose one of: [a b]") {
			t.Errorf("pods/log of a two-container pod: err=%v, stderr=%q", err, errOut)
		}
		_, errOut, err = k.Exec([]string{"logs", "unscheduled"}, "")
		if err == nil || !strings.Contains(errOut, "BadRequest") || !strings.Contains(errOut, "does not have a host assigned") {
			t.Errorf("logs of an unscheduled pod: err=%v, stderr=%q", err, errOut)
		}
		_, errOut, err = k.Exec([]string{"logs", "lines", "-c", "nope"}, "")
		if err == nil || !strings.Contains(errOut, "container nope is not valid for pod lines") {
			t.Errorf("logs of an unknown container: err=%v, stderr=%q", err, errOut)
		}
		_, errOut, err = k.Exec([]string{"logs", "lines", "--previous"}, "")
		if err == nil || !strings.Contains(errOut, "previous terminated container") {
			t.Errorf("logs --previous of a container that never restarted: err=%v, stderr=%q", err, errOut)
		}
		_, errOut, err = k.Exec([]string{"logs", "nosuchpod"}, "")
		if err == nil || !strings.Contains(errOut, "NotFound") {
			t.Errorf("logs of a missing pod: err=%v, stderr=%q", err, errOut)
		}
	})

	t.Run("logs -f follows", func(t *testing.T) {
		// Start from the newest line and read until two more have arrived.
		p := startKubectl(t, k, "logs", "-f", "ticker", "--tail=1")
		first := p.readLine(t, 30*time.Second)
		var n int
		if _, err := fmt.Sscanf(first, "tick %d", &n); err != nil {
			t.Fatalf("first line %q", first)
		}
		for want := n + 1; want <= n+2; want++ {
			if got := p.readLine(t, 30*time.Second); got != fmt.Sprintf("tick %d", want) {
				t.Fatalf("followed line = %q, want tick %d", got, want)
			}
		}
	})

	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"websocket", nil},
		// kubectl's fallback, forced: the same commands over SPDY/3.1.
		{"spdy", []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false", "KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}},
	} {
		km := &harness.Kubectl{Kubeconfig: k.Kubeconfig, Env: mode.env}
		t.Run("exec/"+mode.name, func(t *testing.T) {
			out, errOut, err := km.Exec([]string{"exec", "lines", "--", "sh", "-c", "echo hi; echo there >&2; exit 3"}, "")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Errorf("exec exit: err=%v, want exit code 3 (stderr %q)", err, errOut)
			}
			if out != "hi\n" || !strings.Contains(errOut, "there\n") {
				t.Errorf("exec stdout=%q stderr=%q, want hi and there", out, errOut)
			}
			if out := km.Run(t, "exec", "lines", "--", "cat", "/proc/1/cmdline"); !strings.Contains(out, "sleep") {
				t.Errorf("exec does not run beside the container's process: %q", out)
			}
			in := "one\ntwo\nthree\n"
			if out := km.RunStdin(t, in, "exec", "-i", "lines", "--", "cat"); out != in {
				t.Errorf("exec -i cat = %q, want %q", out, in)
			}
			if out := km.RunStdin(t, in, "exec", "-i", "lines", "--", "wc", "-l"); strings.TrimSpace(out) != "3" {
				t.Errorf("exec -i wc -l = %q, want 3", out)
			}
			if out := km.Run(t, "exec", "pair", "-c", "b", "--", "sh", "-c", "echo in-b"); out != "in-b\n" {
				t.Errorf("exec -c b = %q", out)
			}
			_, errOut, err = km.Exec([]string{"exec", "lines", "--", "/no/such/command"}, "")
			if err == nil || !strings.Contains(errOut, "/no/such/command") {
				t.Errorf("exec of a missing command: err=%v stderr=%q", err, errOut)
			}
		})

		t.Run("exec -t/"+mode.name, func(t *testing.T) {
			if _, err := exec.LookPath("script"); err != nil {
				t.Skip("script (util-linux) is needed for a pseudo-terminal")
			}
			// kubectl sends its terminal's size; the process's terminal takes it.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "script", "-qec",
				"stty cols 77 rows 22; kubectl --kubeconfig "+km.Kubeconfig+" exec -it lines -- stty size", "/dev/null")
			cmd.Env = append(os.Environ(), mode.env...)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "22 77") {
				t.Errorf("exec -it stty size: err=%v output=%q, want 22 77", err, out)
			}
		})

		t.Run("cp/"+mode.name, func(t *testing.T) {
			dir := t.TempDir()
			up := filepath.Join(dir, "up.txt")
			if err := os.WriteFile(up, []byte("uploaded by kubectl cp\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			km.Run(t, "cp", up, "lines:/tmp/up.txt")
			if out := km.Run(t, "exec", "lines", "--", "cat", "/tmp/up.txt"); out != "uploaded by kubectl cp\n" {
				t.Errorf("file copied in = %q", out)
			}
			down := filepath.Join(dir, "down.txt")
			km.Run(t, "cp", "lines:/tmp/up.txt", down)
			if b, err := os.ReadFile(down); err != nil || string(b) != "uploaded by kubectl cp\n" {
				t.Errorf("file copied out = %q, %v", b, err)
			}
		})

		t.Run("port-forward/"+mode.name, func(t *testing.T) {
			local := harness.FreePort(t)
			p := startKubectlEnv(t, km, mode.env, "port-forward", "pod/web", fmt.Sprintf("%d:8080", local))
			if line := p.readLine(t, 30*time.Second); !strings.Contains(line, fmt.Sprintf("127.0.0.1:%d -> 8080", local)) {
				t.Fatalf("port-forward said %q", line)
			}
			// Two connections, each a new stream pair on the same session.
			for i := 0; i < 2; i++ {
				var body string
				harness.Eventually(t, 30*time.Second, "GET through the forwarded port", func() (bool, string) {
					c := &http.Client{Timeout: 5 * time.Second}
					resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", local))
					if err != nil {
						return false, err.Error()
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					body = string(b)
					return resp.StatusCode == 200, resp.Status + " " + body
				})
				if body != "hello from httpd\n" {
					t.Errorf("body through port-forward = %q", body)
				}
			}
		})

		t.Run("port-forward to a closed port/"+mode.name, func(t *testing.T) {
			local := harness.FreePort(t)
			p := startKubectlEnv(t, km, mode.env, "port-forward", "pod/web", fmt.Sprintf("%d:9", local))
			p.readLine(t, 30*time.Second) // Forwarding from ...
			harness.Eventually(t, 30*time.Second, "kubectl to report the failure", func() (bool, string) {
				if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", local), time.Second); err == nil {
					c.SetDeadline(time.Now().Add(time.Second))
					io.ReadAll(c)
					c.Close()
				}
				return strings.Contains(p.stderr(), "error forwarding port 9 to pod web"), p.stderr()
			})
		})
	}

	t.Run("attach", func(t *testing.T) {
		p := startKubectl(t, k, "attach", "ticker")
		for i := 0; i < 2; i++ {
			if line := p.readLine(t, 30*time.Second); !strings.HasPrefix(line, "tick ") {
				t.Fatalf("attach read %q", line)
			}
		}
	})
}

// kubectlProc is a kubectl left running (logs -f, port-forward, attach), read line by line.
type kubectlProc struct {
	lines chan string
	errs  *lockedBuffer
}

// lockedBuffer is kubectl's stderr, read while it is written.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startKubectl(t *testing.T, k *harness.Kubectl, args ...string) *kubectlProc {
	return startKubectlEnv(t, k, nil, args...)
}

func startKubectlEnv(t *testing.T, k *harness.Kubectl, env []string, args ...string) *kubectlProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	cmd.Env = append(append(os.Environ(), "KUBECTL_DISABLE_COMPLETION=true"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &kubectlProc{lines: make(chan string, 1000), errs: &lockedBuffer{}}
	cmd.Stderr = p.errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = cmd.Wait()
	})
	return p
}

// readLine returns the next line kubectl printed, failing the test after timeout.
func (p *kubectlProc) readLine(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("kubectl ended; stderr: %s", p.stderr())
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("no line from kubectl after %s; stderr: %s", timeout, p.stderr())
	}
	return ""
}

func (p *kubectlProc) stderr() string { return p.errs.String() }
