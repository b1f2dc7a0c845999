// Package harness starts skiff clusters from tests: in-process (embedded etcd + API server,
// for integration tests) or as real processes (the binaries, for end-to-end tests), and runs
// the real kubectl against them. It is importable by users testing their own controllers.
package harness

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/internal/controlplane"
)

// Binaries builds every skiff binary once per test process and returns their directory
// (skifftest.Binaries does the same).
func Binaries(t testing.TB) string {
	t.Helper()
	dir, err := controlplane.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Kubectl runs the real kubectl with the given kubeconfig.
type Kubectl struct {
	Kubeconfig string
	// Env is added to kubectl's environment (e.g. EDITOR=...).
	Env []string
}

// Run runs kubectl and returns stdout, failing the test on a non-zero exit.
func (k *Kubectl) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, err := k.Exec(args, "")
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// RunStdin is Run with stdin.
func (k *Kubectl) RunStdin(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := k.Exec(args, stdin)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// Exec runs kubectl and returns stdout, stderr and the exit error.
func (k *Kubectl) Exec(args []string, stdin string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	cmd.Env = append(append(os.Environ(), "KUBECTL_DISABLE_COMPLETION=true"), k.Env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	return so.String(), se.String(), err
}

// Eventually polls cond until it returns true or the deadline passes, then fails with the
// last observation cond reported.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, seen := cond()
		if ok {
			return
		}
		last = seen
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
