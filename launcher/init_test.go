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

// With --etcd-members, each member's directory holds every file skiff-etcd.service names
// and every variable it uses, and the API server's SKIFF_ETCD_ARGS name files that exist.
func TestInitWritesEtcdMembers(t *testing.T) {
	dir := t.TempDir()
	ms, err := ParseEtcdMembers("e1=10.0.0.21,e2=10.0.0.22")
	if err != nil {
		t.Fatal(err)
	}
	if err := Init(InitOptions{DataDir: dir, AdvertiseAddress: "10.0.0.10", EtcdMembers: ms, Out: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	u, err := systemdunit.Read(filepath.Join("..", "deploy", "systemd", "skiff-etcd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		mdir := filepath.Join(dir, "etcd-members", m.Name)
		env, err := systemdunit.ReadEnv(strings.Replace(u.EnvironmentFile, "/var/lib/skiff", mdir, 1))
		if err != nil {
			t.Fatal(err)
		}
		cmd, err := u.Command(env)
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Join(cmd, " ")
		for _, want := range []string{"--name " + m.Name, "https://" + m.IP.String() + ":2380",
			"--initial-cluster e1=https://10.0.0.21:2380,e2=https://10.0.0.22:2380"} {
			if !strings.Contains(line, want) {
				t.Errorf("%s: %q not in %s", m.Name, want, line)
			}
		}
		for i, a := range cmd {
			if strings.HasPrefix(a, "/var/lib/skiff/pki/") {
				if _, err := os.Stat(strings.Replace(a, "/var/lib/skiff", mdir, 1)); err != nil {
					t.Errorf("%s: %s %s: not written: %v", m.Name, cmd[i-1], a, err)
				}
			}
		}
	}
	env, err := systemdunit.ReadEnv(filepath.Join(dir, "skiff.env"))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(env["SKIFF_ETCD_ARGS"])
	if len(args) != 8 || args[1] != "https://10.0.0.21:2379,https://10.0.0.22:2379" {
		t.Fatalf("SKIFF_ETCD_ARGS = %q", env["SKIFF_ETCD_ARGS"])
	}
	for _, f := range []string{args[3], args[5], args[7]} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("SKIFF_ETCD_ARGS names %s: %v", f, err)
		}
	}
	for _, bad := range []string{"e1", "e1=nonsense", "=10.0.0.1", "e1=10.0.0.1,e1=10.0.0.2"} {
		if _, err := ParseEtcdMembers(bad); err == nil {
			t.Errorf("--etcd-members %q accepted", bad)
		}
	}
}
