package iptables

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

// A first sync: no skiff chains yet, every jump missing.
func firstSync() State { return State{MissingJumps: Jumps} }

func TestRenderGolden(t *testing.T) {
	for _, c := range plantest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			st := State{}
			if c.Name == "empty" {
				st = firstSync()
			}
			r := Render(c.Plan(), st)
			golden(t, c.Name, r.Text)
			if n := strings.Count(string(r.Text), "\n-A "); n != r.Rules {
				t.Errorf("Rules = %d, the text has %d", r.Rules, n)
			}
		})
	}
}

// A resync after a Service went away: its chains are flushed and deleted in the same
// restore, and nothing else of the previous run is touched.
func TestRenderDeletesStaleChains(t *testing.T) {
	cases := plantest.Cases()
	var clusterip plantest.Case
	for _, c := range cases {
		if c.Name == "clusterip" {
			clusterip = c
		}
	}
	before := Render(clusterip.Plan(), firstSync())
	after := Render(plantest.Case{}.Plan(), State{Chains: before.Chains})
	golden(t, "stale", after.Text)
	for c := range before.Chains["nat"] {
		if strings.HasPrefix(c, "SKIFF-SVC-") || strings.HasPrefix(c, "SKIFF-SEP-") {
			if !strings.Contains(string(after.Text), "-X "+c+"\n") {
				t.Errorf("stale chain %s not deleted", c)
			}
		}
	}
}

// A change of one endpoint rewrites only the chains it touches: the service's chain, the
// new endpoint's chain; the old endpoint's chain is deleted; nothing else is declared
// (declaring a chain flushes it).
func TestPartialRewritesOnlyChangedChains(t *testing.T) {
	var c plantest.Case
	for _, x := range plantest.Cases() {
		if x.Name == "clusterip" {
			c = x
		}
	}
	before := Render(c.Plan(), State{})
	if _, changed := Render(c.Plan(), State{}).Partial(before); changed {
		t.Error("an unchanged plan is a change")
	}
	c.Slices[0].Endpoints[1].Addresses = []string{"10.244.2.99"}
	after := Render(c.Plan(), State{})
	text, changed := after.Partial(before)
	if !changed {
		t.Fatal("no change seen")
	}
	golden(t, "partial", text)
	if strings.Contains(string(text), ":SKIFF-SERVICES ") {
		t.Error("SKIFF-SERVICES rewritten though its rules are the same")
	}
}

// Each table's COMMIT is a transaction of its own: a Service gaining its first endpoint
// gets its DNAT (nat) before its REJECT goes (filter); one losing its last gets the REJECT
// before the DNAT goes. Either way round, a SYN sent between the commits would match
// neither and be lost.
func TestPartialCommitOrder(t *testing.T) {
	var c plantest.Case
	for _, x := range plantest.Cases() {
		if x.Name == "clusterip" {
			c = x
		}
	}
	withEndpoints := Render(c.Plan(), State{})
	eps := c.Slices
	c.Slices = nil
	without := Render(c.Plan(), State{})
	c.Slices = eps
	first := func(text []byte) string {
		s := string(text)
		if strings.Index(s, "*nat\n") < strings.Index(s, "*filter\n") {
			return "nat"
		}
		return "filter"
	}
	for _, tc := range []struct {
		name     string
		from, to *Rendered
		want     string
	}{
		{"first endpoints: DNAT before the REJECT goes", without, withEndpoints, "nat"},
		{"last endpoints gone: REJECT before the DNAT goes", withEndpoints, without, "filter"},
	} {
		text, changed := tc.to.Partial(tc.from)
		if !changed || !strings.Contains(string(text), "REJECT") && tc.want == "filter" {
			t.Fatalf("%s: no change or no REJECT written:\n%s", tc.name, text)
		}
		if got := first(text); got != tc.want {
			t.Errorf("%s: %s committed first, want %s:\n%s", tc.name, got, tc.want, text)
		}
	}
}

func TestProbabilitiesSpreadEvenly(t *testing.T) {
	// Rule i of n matches with 1/(n-i): each endpoint gets 1/n overall.
	n := 3
	left := 1.0
	for i := 0; i < n; i++ {
		var p float64 = 1
		if i < n-1 {
			p = 1 / float64(n-i)
		}
		share := left * p
		left -= share
		if share < 1/float64(n)-1e-9 || share > 1/float64(n)+1e-9 {
			t.Errorf("endpoint %d gets %f, want %f", i, share, 1/float64(n))
		}
	}
	if got := probability(3); got != "0.3333333333" {
		t.Errorf("probability(3) = %s", got)
	}
}

func TestParseSaveFindsJumpsAndChains(t *testing.T) {
	save := `*nat
:PREROUTING ACCEPT [0:0]
:SKIFF-SERVICES - [0:0]
:SKIFF-SVC-OLD - [0:0]
-A PREROUTING -m comment --comment "skiff service portals" -j SKIFF-SERVICES
-A SKIFF-SERVICES -j SKIFF-SVC-OLD
COMMIT
*filter
:FORWARD ACCEPT [0:0]
-A FORWARD -m comment --comment "skiff forwarding rules" -j SKIFF-FORWARD
COMMIT
`
	s := parseSave([]byte(save))
	if !s.chains["nat"]["SKIFF-SVC-OLD"] {
		t.Error("chain SKIFF-SVC-OLD not found")
	}
	var missing []string
	for _, j := range Jumps {
		if !s.hasJump(j) {
			missing = append(missing, j.Table+"/"+j.Chain+"→"+target(j.Rule))
		}
	}
	want := "filter/INPUT→SKIFF-EXTERNAL-SERVICES filter/FORWARD→SKIFF-SERVICES filter/FORWARD→SKIFF-EXTERNAL-SERVICES filter/OUTPUT→SKIFF-SERVICES nat/OUTPUT→SKIFF-SERVICES nat/POSTROUTING→SKIFF-POSTROUTING"
	if got := strings.Join(missing, " "); got != want {
		t.Errorf("missing jumps:\n got %s\nwant %s", got, want)
	}
}
