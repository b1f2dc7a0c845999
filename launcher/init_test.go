package launcher

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/internal/systemdunit"
)

// skiff init writes every file the control-plane units of deploy/systemd name, and the
// environment file gives every variable their command lines use.
func TestInitWritesWhatTheUnitsRead(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := Init(InitOptions{DataDir: dir, AdvertiseAddress: "10.0.0.10", Out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "skiff token create") {
		t.Errorf("init does not say how to make the join command:\n%s", out.String())
	}
	for _, name := range []string{"skiff-apiserver", "skiff-controller-manager", "skiff-scheduler"} {
		u, err := systemdunit.Read(filepath.Join("..", "deploy", "systemd", name+".service"))
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		if u.EnvironmentFile != "" {
			if env, err = systemdunit.ReadEnv(strings.Replace(u.EnvironmentFile, "/var/lib/skiff", dir, 1)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		cmd, err := u.Command(env)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cmd[0] != "/usr/local/bin/"+name {
			t.Errorf("%s runs %s", name, cmd[0])
		}
		for i, a := range cmd {
			if !strings.HasPrefix(a, "/var/lib/skiff/") || cmd[i-1] == "--data-dir" {
				continue
			}
			if _, err := os.Stat(strings.Replace(a, "/var/lib/skiff", dir, 1)); err != nil {
				t.Errorf("%s: %s %s: skiff init did not write it: %v", name, cmd[i-1], a, err)
			}
		}
	}
	for _, bad := range []string{"", "127.0.0.1", "0.0.0.0", "nonsense"} {
		if err := Init(InitOptions{DataDir: t.TempDir(), AdvertiseAddress: bad, Out: &out}); err == nil {
			t.Errorf("--advertise-address %q accepted", bad)
		}
	}
}
