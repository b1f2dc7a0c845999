package ipvs

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/proxy/plan/plantest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var nodeIPs = []string{"192.168.1.10"}

// The rendering of every shared case, as the ipvsadm-restore input of a first sync.
func TestRenderGolden(t *testing.T) {
	for _, c := range plantest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			want := Render(c.Plan(), nodeIPs, "")
			text := Diff(Table{}, want)
			text = append(text, []byte("# vips: "+strings.Join(want.VIPs(nodeIPs), " ")+"\n")...)
			golden(t, c.Name, text)
		})
	}
}

// A resync against what the kernel reports changes only what differs.
func TestDiffAgainstSaved(t *testing.T) {
	saved := `-A -t 10.96.0.20:80 -s rr
-a -t 10.96.0.20:80 -r 10.244.1.5:8080 -m -w 1
-a -t 10.96.0.20:80 -r 10.244.9.9:8080 -m -w 1
-A -t 10.96.0.99:80 -s rr
-a -t 10.96.0.99:80 -r 10.244.1.1:80 -m -w 1
`
	var c plantest.Case
	for _, x := range plantest.Cases() {
		if x.Name == "clusterip" {
			c = x
		}
	}
	got := string(Diff(ParseSave([]byte(saved)), Render(c.Plan(), nodeIPs, "")))
	want := "-D -t 10.96.0.99:80\n-d -t 10.96.0.20:80 -r 10.244.9.9:8080\n-a -t 10.96.0.20:80 -r 10.244.2.7:8080 -m -w 1\n"
	if got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	if d := Diff(Render(c.Plan(), nodeIPs, ""), Render(c.Plan(), nodeIPs, "")); len(d) != 0 {
		t.Errorf("no change, yet: %s", d)
	}
}

// On a kernel without IPVS the mode is refused with a message that says so.
func TestCheckRefusesWithoutIPVS(t *testing.T) {
	old := ProcFile
	defer func() { ProcFile = old }()
	ProcFile = filepath.Join(t.TempDir(), "ip_vs")
	if err := Check(); !errors.Is(err, ErrNoIPVS) || !strings.Contains(err.Error(), "no IPVS") {
		t.Errorf("Check = %v", err)
	}
}
