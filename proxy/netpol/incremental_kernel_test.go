package netpol

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/internal/kerneltest"
)

// normalized is the policy table as the kernel lists it (nft -j), in a form two equal
// tables share whatever order their parts were made in: handles dropped, set and map
// elements sorted, parts sorted, each chain's rules kept in their order.
func normalized(t *testing.T, run execer.Func) []string {
	t.Helper()
	out, err := run(context.Background(), nil, "nft", "-j", "list", "table", "ip", Table)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Nftables []map[string]map[string]any `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("nft -j: %v\n%s", err, out)
	}
	rules := map[string][]string{}
	var parts []string
	for _, item := range doc.Nftables {
		for kind, o := range item {
			if kind == "metainfo" {
				continue
			}
			delete(o, "handle")
			if els, ok := o["elem"].([]any); ok {
				var s []string
				for _, e := range els {
					b, _ := json.Marshal(e)
					s = append(s, string(b))
				}
				slices.Sort(s)
				o["elem"] = s
			}
			b, _ := json.Marshal(o)
			if kind == "rule" {
				rules[o["chain"].(string)] = append(rules[o["chain"].(string)], string(b))
				continue
			}
			parts = append(parts, kind+" "+string(b))
		}
	}
	for chain, rs := range rules {
		parts = append(parts, "rules of "+chain+": "+strings.Join(rs, "\n  "))
	}
	slices.Sort(parts)
	return parts
}

// A sequence of changes applied one by one with the partial scripts leaves the kernel
// with exactly the table a whole rewrite of each plan gives.
func TestKernelIncrementalMatchesWhole(t *testing.T) {
	kerneltest.Need(t, "nft")
	ns := fmt.Sprintf("snpi%d-%d", os.Getpid(), nsCounter.Add(1))
	if err := sh("ip", "netns", "add", ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sh("ip", "netns", "del", ns) })
	run := execer.InNetns(ns)
	ctx := context.Background()
	in := cluster()
	allowClients := policy("default", "web", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
		s.Ingress = []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{{PodSelector: sel("role", "client")}},
			Ports: []networking.NetworkPolicyPort{named("http"), tcp(9000)}}}
	})
	denyAll := policy("default", "deny", nil, nil)
	egress := policy("team-b", "out", map[string]string{"role": "client"}, func(s *networking.NetworkPolicySpec) {
		s.Egress = []networking.NetworkPolicyEgressRule{{To: []networking.NetworkPolicyPeer{{IPBlock: &networking.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}}}}
		s.PolicyTypes = []networking.PolicyType{"Egress"}
	})
	steps := []struct {
		name   string
		change func()
	}{
		{"one policy", func() { in.Policies = []*networking.NetworkPolicy{allowClients} }},
		{"a peer joins", func() { in.Pods[1].Labels = map[string]string{"role": "client"} }},
		{"a local pod becomes a target", func() { in.Pods[1].Labels = map[string]string{"app": "web"} }},
		{"a default deny and an egress policy", func() { in.Policies = append(in.Policies, denyAll, egress) }},
		{"a target leaves every policy but the deny", func() { in.Pods[0].Labels = map[string]string{"app": "other"} }},
		{"a named port moves", func() { in.Pods[3].Spec.Containers[0].Ports[0].ContainerPort = 9191 }},
		{"the deny goes", func() { in.Policies = []*networking.NetworkPolicy{allowClients, egress} }},
		{"a target comes back", func() { in.Pods[0].Labels = map[string]string{"app": "web"} }},
		{"the egress policy goes", func() { in.Policies = []*networking.NetworkPolicy{allowClients} }},
	}
	var last []byte
	recorded := func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
		last = stdin
		return run(ctx, stdin, name, args...)
	}
	inc, whole := New(recorded), New(run)
	for i, st := range steps {
		st.change()
		p := Build(in)
		if _, err := inc.Sync(ctx, p, false); err != nil {
			t.Fatalf("%s: partial sync: %v", st.name, err)
		}
		if i > 0 && strings.Contains(string(last), "delete table") {
			t.Errorf("%s: the table was replaced, want a partial script:\n%s", st.name, last)
		}
		got := normalized(t, run)
		if _, err := whole.Sync(ctx, p, true); err != nil {
			t.Fatalf("%s: whole sync: %v", st.name, err)
		}
		if want := normalized(t, run); !slices.Equal(got, want) {
			t.Errorf("%s: the partial syncs left\n%s\n\nwhere the whole table is\n%s", st.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
