package systemdunit

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadAndCommand(t *testing.T) {
	dir := t.TempDir()
	unit := filepath.Join(dir, "x.service")
	os.WriteFile(unit, []byte("[Unit]\nDescription=x\nExecStart=/bin/false\n\n[Service]\n# comment\nEnvironmentFile=-/etc/x.env\nExecStart=/bin/x --listen ${ADDR}:${PORT} --name ${NAME}\nRestart=always\n"), 0o644)
	u, err := Read(unit)
	if err != nil {
		t.Fatal(err)
	}
	if u.EnvironmentFile != "/etc/x.env" {
		t.Errorf("EnvironmentFile = %q", u.EnvironmentFile)
	}
	got, err := u.Command(map[string]string{"ADDR": "10.0.0.1", "PORT": "6443", "NAME": "a"})
	if want := []string{"/bin/x", "--listen", "10.0.0.1:6443", "--name", "a"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Command = %v, %v; want %v", got, err, want)
	}
	if _, err := u.Command(map[string]string{"ADDR": "10.0.0.1"}); err == nil {
		t.Error("a variable the environment lacks was accepted")
	}
	env := filepath.Join(dir, "x.env")
	os.WriteFile(env, []byte("# c\nA=1\nB=\"two\"\n"), 0o644)
	if e, err := ReadEnv(env); err != nil || !reflect.DeepEqual(e, map[string]string{"A": "1", "B": "two"}) {
		t.Errorf("ReadEnv = %v, %v", e, err)
	}
	os.WriteFile(unit, []byte("[Service]\nRestart=always\n"), 0o644)
	if _, err := Read(unit); err == nil {
		t.Error("a unit without ExecStart was accepted")
	}
}

// A whole-word $VAR is split at white space, as systemd does: zero words when unset or
// empty, several when the value has several.
func TestUnbracedVariableSplits(t *testing.T) {
	u := &Unit{ExecStart: []string{"/bin/x", "--a", "${A}", "$EXTRA"}}
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"A": "1"}, []string{"/bin/x", "--a", "1"}},
		{map[string]string{"A": "1", "EXTRA": ""}, []string{"/bin/x", "--a", "1"}},
		{map[string]string{"A": "1", "EXTRA": "--b 2  --c"}, []string{"/bin/x", "--a", "1", "--b", "2", "--c"}},
	} {
		if got, err := u.Command(c.env); err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Command(%v) = %v, %v; want %v", c.env, got, err, c.want)
		}
	}
}
