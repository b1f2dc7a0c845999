package netpol

import (
	"context"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/networking"
)

type recorder struct{ scripts []string }

func (r *recorder) exec(_ context.Context, stdin []byte, _ string, _ ...string) ([]byte, error) {
	r.scripts = append(r.scripts, string(stdin))
	return nil, nil
}

// After the first sync only changes are written: a pod joining a peer selector adds one
// element; a pod becoming isolated adds its chain and map element; one no longer isolated
// loses them, in an order nft accepts. Nothing changed runs nothing; full always replaces;
// a table that goes or comes back is written whole.
func TestBackendSyncs(t *testing.T) {
	rec := &recorder{}
	b := New(rec.exec)
	ctx := context.Background()
	allow := policy("default", "web", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
		s.Ingress = []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{{PodSelector: sel("role", "client")}}}}
	})
	in := cluster()
	in.Policies = []*networking.NetworkPolicy{allow}
	sync := func(full bool) (bool, string) {
		t.Helper()
		n := len(rec.scripts)
		ran, err := b.Sync(ctx, Build(in), full)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.scripts) == n {
			return ran, ""
		}
		return ran, rec.scripts[len(rec.scripts)-1]
	}
	if ran, s := sync(false); !ran || !strings.Contains(s, "delete table ip skiff-netpol") {
		t.Fatalf("first sync: %v %q, want the whole table", ran, s)
	}
	if ran, _ := sync(false); ran {
		t.Errorf("nothing changed, nft ran")
	}
	in.Pods[1].Labels = map[string]string{"role": "client"} // db joins the clients
	ran, s := sync(false)
	if want := "add element ip skiff-netpol peer-"; !ran || !strings.HasPrefix(s, want) || strings.Count(s, "\n") != 3 || !strings.Contains(s, "{\n\t10.244.1.3\n}\n") {
		t.Errorf("peer joining: %v %q, want one element added to the one set", ran, s)
	}
	in.Pods[1].Labels = map[string]string{"app": "web"} // db becomes a target: a new pod chain
	ran, s = sync(false)
	for _, want := range []string{
		"add chain ip skiff-netpol pod-in-10-244-1-3\n",
		"add rule ip skiff-netpol pod-in-10-244-1-3 jump in-",
		"add rule ip skiff-netpol pod-in-10-244-1-3 counter drop comment \"default/db isolated for ingress\"\n",
		"add element ip skiff-netpol ingress-pods {\n\t10.244.1.3 : jump pod-in-10-244-1-3\n}\n",
		"delete element ip skiff-netpol peer-", // and it left the clients
	} {
		if !ran || !strings.Contains(s, want) || strings.Contains(s, "table") {
			t.Errorf("new target: %v, %q not in the script (or the table replaced):\n%s", ran, want, s)
		}
	}
	// The chain exists before the map element jumping to it is added.
	if strings.Index(s, "add chain") > strings.Index(s, "add element ip skiff-netpol ingress-pods") {
		t.Errorf("map element before its chain:\n%s", s)
	}
	in.Pods[1].Labels = nil // no longer a target: element, then chain, go
	ran, s = sync(false)
	del, flush, drop := strings.Index(s, "delete element ip skiff-netpol ingress-pods {\n\t10.244.1.3\n}\n"),
		strings.Index(s, "flush chain ip skiff-netpol pod-in-10-244-1-3\n"), strings.Index(s, "delete chain ip skiff-netpol pod-in-10-244-1-3\n")
	if !ran || del < 0 || flush < del || drop < flush || strings.Contains(s, "table") {
		t.Errorf("target gone: %v, want the map element deleted, then the chain flushed and deleted:\n%s", ran, s)
	}
	if ran, s := sync(true); !ran || !strings.Contains(s, "delete table") {
		t.Errorf("full sync: %v %q, want the whole table", ran, s)
	}
	in.Policies = nil
	if ran, s := sync(false); !ran || s != "add table ip skiff-netpol\ndelete table ip skiff-netpol\n" {
		t.Errorf("no policies left: %v %q, want the table deleted", ran, s)
	}
	if ran, _ := sync(false); ran {
		t.Errorf("still no policies, nft ran")
	}
	in.Policies = []*networking.NetworkPolicy{allow}
	if ran, s := sync(false); !ran || !strings.Contains(s, "delete table") || !strings.Contains(s, "table ip skiff-netpol {") {
		t.Errorf("policies back: %v %q, want the whole table", ran, s)
	}
}
