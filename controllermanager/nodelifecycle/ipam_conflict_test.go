package nodelifecycle

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

// firstPatchFails answers the first PATCH of every node with a fault: for most nodes a 409
// Conflict (as when the node's agent wrote its status between the informer's read and the
// allocator's write), for the node named ambiguous a 500 after the write went through (as
// a timeout whose write landed).
type firstPatchFails struct {
	ambiguous string
	mu        sync.Mutex
	seen      map[string]bool
}

func (f *firstPatchFails) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, isNode := strings.CutPrefix(r.URL.Path, "/api/v1/nodes/")
		if r.Method != http.MethodPatch || !isNode || strings.Contains(name, "/") {
			h.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		first := !f.seen[name]
		f.seen[name] = true
		f.mu.Unlock()
		switch {
		case !first:
			h.ServeHTTP(w, r)
		case name == f.ambiguous:
			h.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"timeout","reason":"Timeout","code":500}`, http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Operation cannot be fulfilled on nodes %q: the object has been modified","reason":"Conflict","code":409}`, name)
		}
	})
}

// TestIPAMDenseDespiteFailedWrites: nodes created at once, whose first pod CIDR writes all
// fail, still get the first CIDRs of the range, one each, and no CIDR is left taken by nobody.
func TestIPAMDenseDespiteFailedWrites(t *testing.T) {
	const n = 8
	faults := &firstPatchFails{ambiguous: "node-3", seen: map[string]bool{}}
	e := testenv.New(t, faults.wrap)
	ipam, err := NewIPAM(e.CC, IPAMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.Start(t, ipam)
	nodes := client.For[core.Node](e.Client, controller.Nodes)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := nodes.Create(e.Ctx, &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"},
				ObjectMeta: meta.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}})
			if err != nil {
				t.Errorf("create node-%d: %v", i, err)
			}
		})
	}
	wg.Wait()

	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("10.244.%d.0/24", i))
	}
	testenv.Eventually(t, "every node with a pod CIDR", func() (bool, string) {
		list, err := nodes.List(e.Ctx, "", client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, nd := range list.Items {
			got = append(got, nd.Spec.PodCIDR)
		}
		slices.SortFunc(got, func(a, b string) int { return cmpCIDR(a, b) })
		return slices.Equal(got, want), fmt.Sprintf("pod CIDRs %v, want %v", got, want)
	})
	// Nothing is taken but what the nodes hold, and no reservation is left over.
	testenv.Eventually(t, "no CIDR held by nobody", func() (bool, string) {
		ipam.mu.Lock()
		pending := len(ipam.pending)
		ipam.mu.Unlock()
		used := ipam.alloc.inUse()
		return used == n && pending == 0, fmt.Sprintf("%d CIDRs in use, %d reserved; want %d and 0", used, pending, n)
	})

	// A deleted node's CIDR is free again.
	if err := nodes.Delete(e.Ctx, "", "node-0", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "node-0's CIDR released", func() (bool, string) {
		used := ipam.alloc.inUse()
		return used == n-1, fmt.Sprintf("%d CIDRs in use, want %d", used, n-1)
	})
}

// cmpCIDR orders 10.244.x.0/24 by x.
func cmpCIDR(a, b string) int {
	var x, y int
	fmt.Sscanf(a, "10.244.%d.0/24", &x)
	fmt.Sscanf(b, "10.244.%d.0/24", &y)
	return x - y
}

// inUse counts the subnets taken.
func (s *cidrSet) inUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.count {
		n += int(s.used.Bit(i))
	}
	return n
}
