package controlplane

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds every skiff program (go build ./cmd/...) once per test process, into a
// temporary directory, and returns that directory. Clusters of real processes (Runtime
// "containerd", skiff's own end-to-end tests) run these.
//
// A test process cannot remove its directory when it exits (Go has no exit hook), so the
// directory is named after the process, and each build first removes the directories of
// processes that are gone: a machine running the tests again and again keeps ~180 MB per
// live test process, not per run.
func Binaries() (string, error) {
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		removeStaleBinaries()
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", binPrefix, os.Getpid()))
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			os.RemoveAll(dir)
			buildErr = fmt.Errorf("go build ./cmd/... in %s: %v\n%s", root, err, out)
			return
		}
		binDir = dir
	})
	return binDir, buildErr
}

const binPrefix = "skiff-bin-"

// removeStaleBinaries removes skiff-bin-PID-* directories whose process no longer runs
// (and the unnamed ones older tests left, skiff-bin-NNN, after a day).
func removeStaleBinaries() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), binPrefix)
		pid, _, named := strings.Cut(rest, "-")
		if named {
			if n, err := strconv.Atoi(pid); err == nil && n != os.Getpid() {
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", n)); os.IsNotExist(err) {
					os.RemoveAll(d)
				}
			}
			continue
		}
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			os.RemoveAll(d)
		}
	}
}

// moduleRoot is the skiff module's directory (a checkout, or the module cache when skiff is
// a dependency).
func moduleRoot() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above %s", file)
		}
		dir = parent
	}
}
