package tutorials

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// repoRoot is where the tutorials' commands run, as a reader runs them from a checkout.
const repoRoot = "../.."

// chapters are the tutorials in reading order (their names start with the number).
func chapters(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs/tutorials/[0-9][0-9]-*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tutorials under docs/tutorials: %v", err)
	}
	sort.Strings(files)
	return files
}

// Every tutorial parses, and every manifest under examples/tutorials is used by one, so no
// example is left untested.
func TestEveryExampleIsInATutorial(t *testing.T) {
	var all strings.Builder
	for _, f := range chapters(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parse(string(b)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		all.Write(b)
	}
	err := filepath.WalkDir(filepath.Join(repoRoot, "examples/tutorials"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		if !strings.Contains(all.String(), rel) && !strings.Contains(all.String(), filepath.Dir(rel)+"/") {
			t.Errorf("%s is not used by any tutorial", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTutorials starts one cluster as a reader does (`skiff up --nodes 2`, real containers)
// and runs every tutorial against it in order, each chapter leaving the cluster as it found
// it. A chapter that fails does not stop the next ones.
func TestTutorials(t *testing.T) {
	needContainerd(t)
	started := time.Now()
	// SKIFF_TUTORIALS_HOME=DIR runs the tutorials against a cluster already up in DIR/.skiff
	// (what an author does while writing one: go test -run 'TestTutorials/(00|05)').
	home := os.Getenv("SKIFF_TUTORIALS_HOME")
	if home == "" {
		home = tempHome(t)
		dataDir := filepath.Join(home, ".skiff") // skiff up's default data dir for this HOME
		if err := os.Mkdir(dataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		harness.Up(t, dataDir, "--nodes", "2")
		t.Logf("skiff up: %s", time.Since(started).Round(time.Second))
	}
	env := readerEnv(t, home)
	for _, f := range chapters(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".md")
		t.Run(name, func(t *testing.T) {
			begun := time.Now()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			steps, err := parse(string(b))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, s := range steps {
				run(t, f, s, env)
			}
			t.Logf("%s: %d steps in %s", name, len(steps), time.Since(begun).Round(100*time.Millisecond))
		})
	}
	t.Logf("all tutorials: %s", time.Since(started).Round(time.Second))
}

// run runs one step as bash would for the reader and checks what the tutorial says.
func run(t *testing.T, file string, s step, env []string) {
	t.Helper()
	where := fmt.Sprintf("%s:%d", filepath.Base(file), s.Line)
	begun := time.Now()
	defer func() {
		if d := time.Since(begun); d > 5*time.Second {
			t.Logf("%s took %s", where, d.Round(100*time.Millisecond))
		}
	}()
	deadline := begun.Add(s.Timeout)
	for {
		out, err := bash(s.Script, env)
		if ok, why := judge(s, out, err); ok {
			return
		} else if !s.Eventually || time.Now().After(deadline) {
			t.Fatalf("%s: %s\n%s\noutput:\n%s", where, why, s.Script, out)
		}
		time.Sleep(time.Second)
	}
}

// judge says whether a step's run shows what the tutorial says, and if not, why.
func judge(s step, out string, err error) (bool, string) {
	switch {
	case s.Fails && err == nil:
		return false, "the tutorial says this fails; it succeeded"
	case !s.Fails && err != nil:
		return false, err.Error()
	case s.Expect != nil && !s.Expect.MatchString(out):
		return false, fmt.Sprintf("the output does not match %q", s.Expect)
	}
	return true, ""
}

func bash(script string, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = repoRoot
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// readerEnv is the environment of a reader who has built skiff and started it with the
// default data directory: HOME is the test's (so ~/.skiff is this cluster's), the skiff
// binaries and kubectl are on PATH, and Go keeps its usual caches.
func readerEnv(t *testing.T, home string) []string {
	t.Helper()
	env := []string{
		"HOME=" + home,
		"KUBECONFIG=" + filepath.Join(home, ".skiff", "kubeconfig"),
		"PATH=" + harness.Binaries(t) + ":" + os.Getenv("PATH"),
		"KUBECTL_DISABLE_COMPLETION=true",
	}
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", v, err)
		}
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}
	return env
}

// tempHome is the reader's home directory, removed once the cluster's last process is gone
// (stopping containerd nodes can outlast harness.Up's wait on a loaded machine).
func tempHome(t *testing.T) string {
	t.Helper()
	home, err := os.MkdirTemp("", "skiff-tutorials-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Minute)
		for len(processesMentioning(home)) > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Second)
		}
		if left := processesMentioning(home); len(left) > 0 {
			t.Logf("processes of the cluster still running after 3m; leaving %s:\n%s", home, strings.Join(left, "\n"))
			return
		}
		os.RemoveAll(home)
	})
	return home
}

func processesMentioning(s string) []string {
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = append(found, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

func needContainerd(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("the tutorials run real containers: needs root")
	}
	for _, bin := range []string{"containerd", "runc", "kubectl", "bash"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (scripts/install-deps.sh)", bin)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		t.Skip("CNI plugins not installed (apt-get install containernetworking-plugins)")
	}
	if _, err := os.Stat(images.BusyboxPath); err != nil {
		t.Skip("busybox-static not installed")
	}
}
