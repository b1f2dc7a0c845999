package launcher

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// importWait bounds how long `skiff image import` waits for the nodes of a cluster that is
// still starting.
const importWait = 2 * time.Minute

// startedNodes are the runtime.json files of the containerd nodes under dataDir that can
// take images. When a `skiff up` is running from dataDir (its pid file names a live
// process) and has not started all its containerd nodes yet — `skiff image import` right
// after `skiff up` — it waits for them, bounded by wait, saying what it waits for. Nodes of
// an earlier run (runtime.json older than the pid file) do not count while a new run starts.
func startedNodes(dataDir string, wait time.Duration, out io.Writer) ([]string, error) {
	pid, want, since, running := runningCluster(dataDir)
	started := func() []string {
		all, _ := filepath.Glob(filepath.Join(dataDir, "nodes", "*", "runtime.json"))
		if !running {
			return all
		}
		var fresh []string
		for _, f := range all {
			if fi, err := os.Stat(f); err == nil && !fi.ModTime().Before(since) {
				fresh = append(fresh, f)
			}
		}
		return fresh
	}
	nodes := started()
	if running && want == 0 {
		return nil, fmt.Errorf("the cluster running from %s (pid %d) has no containerd nodes (--runtime sim or --nodes 0): there is nowhere to import images", dataDir, pid)
	}
	if running && len(nodes) < want {
		fmt.Fprintf(out, "waiting up to %s for the %d containerd node(s) that skiff up (pid %d) is starting from %s (%d started)\n",
			wait, want, pid, dataDir, len(nodes))
		deadline := time.Now().Add(wait)
		for len(nodes) < want && time.Now().Before(deadline) && processAlive(pid) {
			time.Sleep(500 * time.Millisecond)
			nodes = started()
		}
		if len(nodes) < want {
			return nil, fmt.Errorf("%d of %d containerd nodes started from %s after %s; see the node agents' logs in %s",
				len(nodes), want, dataDir, wait, filepath.Join(dataDir, "logs"))
		}
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("no containerd node has run from %s (start one with skiff up --data-dir %s)", dataDir, dataDir)
	}
	return nodes, nil
}

// runningCluster reads the pid file of a `skiff up` running from dataDir: its pid, how many
// containerd nodes it starts (from its command line: --nodes, default 1, none with
// --runtime sim) and when it started (the pid file's time). running is false when there is
// no such live process.
func runningCluster(dataDir string) (pid, containerdNodes int, since time.Time, running bool) {
	path := filepath.Join(dataDir, "skiff.pid")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, time.Time{}, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !processAlive(pid) {
		return 0, 0, time.Time{}, false
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, time.Time{}, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, 0, time.Time{}, false
	}
	return pid, containerdNodesOf(strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")), fi.ModTime(), true
}

// containerdNodesOf is how many containerd nodes `skiff up` started with args will run.
func containerdNodesOf(args []string) int {
	nodes, runtime := 1, "containerd"
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || (name != "nodes" && name != "runtime") {
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		if name == "nodes" {
			if n, err := strconv.Atoi(value); err == nil {
				nodes = n
			}
		} else {
			runtime = value
		}
	}
	if runtime != "containerd" {
		return 0
	}
	return nodes
}
