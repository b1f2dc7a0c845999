package launcher

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A cluster with containerd nodes leaves state outside its processes: each node's containerd
// (its own process group, so that it and the containers outlive a node agent that crashes),
// network namespaces, a bridge, host routes. Up removes them when it stops; but a launcher
// killed outright (SIGKILL of its process group, an OOM kill) cannot. So Up starts a janitor
// first: `skiff janitor`, in a session of its own, reading a pipe from the launcher. A clean
// stop writes "done" and the janitor exits; if the pipe closes without it, the launcher
// died, and the janitor cleans up what it left.

const janitorDone = "done"

// startJanitor starts the janitor for o; release, called when Up's own cleanup has finished,
// dismisses it. Without a skiff binary to run (a test that builds only the components) there
// is no janitor, and release does nothing.
func startJanitor(o Options) (release func()) {
	bin, err := FindBinary(o.BinDir, "skiff")
	if err != nil {
		o.Logger.Warn("no janitor: a killed launcher will leave its nodes' containerd and network behind", "err", err)
		return func() {}
	}
	r, w, err := os.Pipe()
	if err != nil {
		o.Logger.Warn("no janitor", "err", err)
		return func() {}
	}
	cmd := exec.Command(bin, "janitor", "--data-dir", o.DataDir, "--port", strconv.Itoa(o.Port),
		"--nodes", strconv.Itoa(o.Nodes), "--bin-dir", o.BinDir, "--launcher-pid", strconv.Itoa(os.Getpid()))
	cmd.Stdin = r
	logf, err := os.OpenFile(filepath.Join(o.DataDir, "logs", "janitor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		cmd.Stdout, cmd.Stderr = logf, logf
		defer logf.Close()
	}
	// A session of its own: the signal or kill aimed at the launcher's group misses it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		o.Logger.Warn("no janitor", "err", err)
		return func() {}
	}
	r.Close()
	go cmd.Wait() // reap it
	return func() {
		fmt.Fprintln(w, janitorDone)
		w.Close()
	}
}

// Janitor waits for the launcher to finish (EOF on in). If it stopped without saying it was
// done, the janitor removes what the launcher left: the nodes' containers and containerd,
// their network namespaces and bridge, and the pid file.
func Janitor(o Options, launcherPID int, in io.Reader) error {
	if err := o.setDefaults(); err != nil {
		return err
	}
	line, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) == janitorDone {
		return nil
	}
	o.Logger.Warn("the launcher died without cleaning up; cleaning up after it", "pid", launcherPID)
	// Its children got SIGTERM from their death signal; give them the time they take to stop.
	deadline := time.Now().Add(15 * time.Second)
	for processAlive(launcherPID) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if o.Nodes > 0 {
		nw := newNodeNetwork(o.Port, o.Nodes)
		cleanupNodes(o, nw)
		nw.tearDown()
	}
	pidFile := filepath.Join(o.DataDir, "skiff.pid")
	if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(launcherPID) {
		os.Remove(pidFile)
	}
	o.Logger.Info("cleaned up")
	return nil
}

// stopContainerd stops the containerd whose pid file is in dir, if it still runs (cleanup
// normally stops it; a node whose agent never got far enough to record its runtime is not
// cleaned that way).
func stopContainerd(dir string, o Options) {
	b, err := os.ReadFile(filepath.Join(dir, "containerd.pid"))
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		return
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "containerd" {
		return
	}
	o.Logger.Info("stopping containerd", "pid", pid, "dir", dir)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if !processAlive(pid) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
