package nftables

import (
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

func TestRenderGolden(t *testing.T) {
	for _, c := range plantest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			r := Render(c.Plan(), State{})
			golden(t, c.Name, r.Text)
			n := strings.Count(string(r.Text), "\nadd rule ")
			for _, l := range strings.Split(string(r.Text), "\n") {
				if strings.HasPrefix(l, "add element ") {
					n += strings.Count(l, ",") + 1
				}
			}
			if n != r.Rules {
				t.Errorf("Rules = %d, the text has %d", r.Rules, n)
			}
		})
	}
}

// A Service that went away: its chains and affinity sets are deleted in the same
// transaction; the affinity sets of Services still there are declared, never flushed.
func TestRenderDeletesStale(t *testing.T) {
	var aff plantest.Case
	for _, c := range plantest.Cases() {
		if c.Name == "affinity-udp" {
			aff = c
		}
	}
	before := Render(aff.Plan(), State{})
	again := Render(aff.Plan(), State{Exists: true, Chains: before.Chains, Sets: before.Sets})
	if strings.Contains(string(again.Text), "delete ") || strings.Contains(string(again.Text), "flush set ip skiff affinity") {
		t.Errorf("an unchanged plan deletes or flushes something:\n%s", again.Text)
	}
	if _, changed := again.Partial(before); changed {
		t.Error("an unchanged plan is a change")
	}
	after := Render(plantest.Case{}.Plan(), State{Exists: true, Chains: before.Chains, Sets: before.Sets})
	golden(t, "stale", after.Text)
	for s := range before.Sets {
		if !strings.Contains(string(after.Text), "delete set ip skiff "+s+"\n") {
			t.Errorf("stale set %s not deleted", s)
		}
	}
}

// A change of one endpoint touches only its service's chain and the hairpin set; a
// deleted Service's chain and map elements go.
func TestPartial(t *testing.T) {
	cases := map[string]plantest.Case{}
	for _, c := range plantest.Cases() {
		cases[c.Name] = c
	}
	both := plantest.Case{
		Services: append(cases["clusterip"].Services, cases["nodeport-local"].Services...),
		Slices:   append(cases["clusterip"].Slices, cases["nodeport-local"].Slices...),
	}
	before := Render(both.Plan(), State{})
	both.Slices[0].Endpoints[1].Addresses = []string{"10.244.2.99"}
	both.Services = both.Services[:1] // shop/cart deleted
	after := Render(both.Plan(), State{})
	text, changed := after.Partial(before)
	if !changed {
		t.Fatal("no change seen")
	}
	golden(t, "partial", text)
}
