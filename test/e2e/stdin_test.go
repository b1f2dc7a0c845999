package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// Stdin without a terminal, with the real kubectl: `kubectl run -i --rm` pipes its input
// to the container and deletes the pod; `kubectl attach -i` reaches a running container
// created with stdin (stdinOnce: its stdin ends with the first attach, and the container
// with it; without: it stays open for the next attach).
func TestStdinWithoutTTYContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	startAgent(t, api, "e2e-stdin", "10.244.42.0/24")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	harness.Eventually(t, 60*time.Second, "node Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", "e2e-stdin", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"}, "")
		return out == "True", out
	})

	t.Run("kubectl run -i --rm", func(t *testing.T) {
		// No scheduler here: the override binds the pod to the node.
		out, errOut, err := k.Exec([]string{"run", "-i", "--rm", "--restart=Never", "t", "--image=" + busyboxImage,
			"--overrides", `{"spec":{"nodeName":"e2e-stdin"}}`, "--", "cat"}, "hi\nthere\n")
		if err != nil || !strings.Contains(out, "hi\nthere\n") {
			t.Fatalf("kubectl run -i: %v\nstdout %q\nstderr %q", err, out, errOut)
		}
		harness.Eventually(t, 60*time.Second, "the pod deleted (--rm)", func() (bool, string) {
			_, errOut, err := k.Exec([]string{"get", "pod", "t"}, "")
			return err != nil && strings.Contains(errOut, "NotFound"), errOut
		})
	})

	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  nodeName: e2e-stdin
  restartPolicy: Never
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["sh", "-c", "cat; echo stdin ended"], stdin: true, stdinOnce: true}
---
apiVersion: v1
kind: Pod
metadata: {name: open}
spec:
  nodeName: e2e-stdin
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["sh", "-c", "cat; echo stdin ended"], stdin: true}
---
apiVersion: v1
kind: Pod
metadata: {name: nostdin}
spec:
  nodeName: e2e-stdin
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["sleep", "3600"]}
`, "apply", "-f", "-")
	for _, name := range []string{"once", "open", "nostdin"} {
		waitPod(t, k, name, "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
	}

	t.Run("attach -i, stdinOnce", func(t *testing.T) {
		out, errOut, err := k.Exec([]string{"attach", "-i", "once"}, "bye\n")
		if err != nil || !strings.Contains(out, "bye\n") {
			t.Fatalf("attach -i: %v\nstdout %q\nstderr %q", err, out, errOut)
		}
		// The attach's end was stdin's: cat saw EOF and the container finished.
		waitPod(t, k, "once", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" })
		logs := k.Run(t, "logs", "once")
		if logs != "bye\nstdin ended\n" {
			t.Errorf("logs %q", logs)
		}
	})

	t.Run("attach -i twice, stdin stays open", func(t *testing.T) {
		for _, word := range []string{"first", "second"} {
			attachAndSee(t, k, "open", word)
		}
		waitPod(t, k, "open", "still Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
		if logs := k.Run(t, "logs", "open"); logs != "first\nsecond\n" {
			t.Errorf("logs %q", logs)
		}
	})

	t.Run("attach -i to a container without stdin", func(t *testing.T) {
		_, errOut, err := k.Exec([]string{"attach", "-i", "nostdin"}, "x\n")
		if err == nil || !strings.Contains(errOut, "was not started with stdin: true") {
			t.Errorf("attach -i without stdin: %v, stderr %q", err, errOut)
		}
	})
}

// attachAndSee attaches to pod with stdin left open, types word and waits to read it back,
// then ends kubectl (as a user's Ctrl-C).
func attachAndSee(t *testing.T, k *harness.Kubectl, pod, word string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", k.Kubeconfig, "attach", "-i", pod)
	cmd.Env = append(os.Environ(), "KUBECTL_DISABLE_COMPLETION=true")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errs := &lockedBuffer{}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// kubectl holds what is typed before its stream opens and sends it then.
	deadline := time.After(60 * time.Second)
	if _, err := io.WriteString(stdin, word+"\n"); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("kubectl attach ended: read %q, stderr %q", seen, errs.String())
			}
			if l == word {
				return
			}
			seen = append(seen, l)
		case <-deadline:
			t.Fatalf("%q never came back: read %q, stderr %q", word, seen, errs.String())
		}
	}
}
