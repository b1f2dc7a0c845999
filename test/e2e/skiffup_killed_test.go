package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// A `skiff up` killed outright (SIGKILL of its process group) while its containerd node is
// still starting leaves nothing behind: its janitor stops the node's containerd and removes
// the node's network namespace and bridge. (Issue: interrupted start-up leaked containerd.)
func TestSkiffUpKilledDuringStartLeavesNothing(t *testing.T) {
	needContainerd(t)
	bin := harness.Binaries(t)
	dir := t.TempDir()
	port := harness.FreePort(t)
	logf, err := os.Create(filepath.Join(dir, "up.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "skiff"), "up", "--data-dir", dir, "--port", strconv.Itoa(port), "--nodes", "1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { exec.Command(filepath.Join(bin, "skiff"), "down", "--data-dir", dir).Run() })

	pidFile := filepath.Join(dir, "nodes", "node-1", "containerd", "containerd.pid")
	var containerdPID int
	harness.Eventually(t, 60*time.Second, "the node's containerd started", func() (bool, string) {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false, err.Error()
		}
		containerdPID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", containerdPID))
		return strings.TrimSpace(string(comm)) == "containerd", string(comm)
	})
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done

	harness.Eventually(t, 90*time.Second, "no process of the cluster left (the janitor last)", func() (bool, string) {
		left := processesMentioning(dir)
		return len(left) == 0, strings.Join(left, "\n")
	})
	if syscall.Kill(containerdPID, 0) == nil {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", containerdPID))
		if strings.TrimSpace(string(comm)) == "containerd" {
			t.Errorf("the node's containerd (pid %d) still runs", containerdPID)
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/run/netns/skiff%d-node-1", port)); err == nil {
		t.Errorf("network namespace skiff%d-node-1 left behind", port)
	}
	if _, err := net.InterfaceByName(fmt.Sprintf("skiff%d", port)); err == nil {
		t.Errorf("bridge skiff%d left behind", port)
	}
	if _, err := os.Stat(filepath.Join(dir, "skiff.pid")); err == nil {
		t.Errorf("the dead launcher's pid file is left: the next skiff up would think it runs")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "logs", "janitor.log")); !strings.Contains(string(b), "cleaned up") {
		t.Errorf("janitor log:\n%s", b)
	}
}
