package kerneltest

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/plan"
	"github.com/skiff-sh/skiff/proxy/plan/plantest"
)

// Backend is a backend under test.
type Backend interface {
	Sync(ctx context.Context, p *plan.Plan, full bool) (int, error)
	Cleanup(ctx context.Context) error
}

// Suite describes one backend to the shared kernel tests.
type Suite struct {
	// New returns a fresh backend (a restarted proxy) running its programs through run.
	New func(run execer.Func) Backend
	// Dump returns the node namespace's ruleset as text.
	Dump func(ctx context.Context, run execer.Func) (string, error)
	// Marker is a string the dump holds while sp is programmed with endpoints.
	Marker func(sp *plan.ServicePort) string
}

// services of the suite, all TCP port 80 → 8080.
func objects(withWeb bool) ([]*core.Service, []*discovery.EndpointSlice) {
	tcp := core.ProtocolTCP
	port := func(nodePort int32) []core.ServicePort {
		return []core.ServicePort{{Name: "http", Port: 80, Protocol: tcp, NodePort: nodePort}}
	}
	nodePort := func(s *core.Service) { s.Spec.Type = core.ServiceTypeNodePort }
	ep := []discovery.EndpointPort{plantest.EPort("http", BackendPort, tcp)}
	var svcs []*core.Service
	var sl []*discovery.EndpointSlice
	if withWeb {
		svcs = append(svcs, plantest.Service("default", "web", "10.96.0.50", port(30080), nodePort))
		sl = append(sl, plantest.Slice("default", "web", "a", ep, EP(BackendA, "node-b"), EP(BackendB, "node-b")))
	}
	svcs = append(svcs,
		plantest.Service("default", "sticky", "10.96.0.51", port(0), func(s *core.Service) { s.Spec.SessionAffinity = core.ServiceAffinityClientIP }),
		plantest.Service("default", "empty", "10.96.0.52", port(30052), nodePort),
		plantest.Service("default", "local", "10.96.0.53", port(30053), func(s *core.Service) {
			nodePort(s)
			s.Spec.ExternalTrafficPolicy = core.ServiceExternalTrafficPolicyLocal
		}),
		plantest.Service("default", "self", "10.96.0.54", port(0), nil),
	)
	sl = append(sl,
		plantest.Slice("default", "sticky", "a", ep, EP(BackendA, "node-b"), EP(BackendB, "node-b")),
		plantest.Slice("default", "local", "a", ep, EP(BackendA, "node-b"), EP(BackendB, plantest.Node)),
		plantest.Slice("default", "self", "a", ep, EP(BackendA, plantest.Node)),
	)
	return svcs, sl
}

// EP is a ready endpoint on node.
func EP(ip, node string) plantest.EP { return plantest.EP{IP: ip, Node: node} }

// BuildPlan is the suite's plan: Services web (10.96.0.50, node port 30080, both
// backends), sticky (.51, ClientIP affinity), empty (.52, node port 30052, no endpoints),
// local (.53, node port 30053, externalTrafficPolicy Local), self (.54, BackendA only);
// withWeb false leaves web out (it was deleted).
func BuildPlan(withWeb bool) *plan.Plan {
	svcs, sl := objects(withWeb)
	return plan.Build(plan.Input{NodeName: plantest.Node, ClusterCIDR: plantest.ClusterCIDR, Services: svcs, Slices: sl})
}

// Find is the port of Service name in p.
func Find(p *plan.Plan, name string) *plan.ServicePort {
	for _, sp := range p.Services {
		if sp.Service == name {
			return sp
		}
	}
	return nil
}

func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// Refused says whether a dial's error is a refusal (ECONNREFUSED).
func Refused(err error) bool { return refused(err) }

// DialFrom connects from namespace ns using local address src.
func DialFrom(ns, src, addr string) (*Conn, error) {
	var c net.Conn
	err := Do(ns, func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err = d.Dial("tcp", addr)
		return
	})
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, r: bufio.NewReader(c)}, nil
}

// Run runs the shared kernel tests against s in a fresh topology.
func Run(t *testing.T, s Suite) {
	tp := New(t)
	ctx := context.Background()
	run := tp.Exec()
	b := s.New(run)
	p := BuildPlan(true)
	if _, err := b.Sync(ctx, p, true); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	t.Cleanup(func() { _ = b.Cleanup(context.Background()) })

	t.Run("rules are in the kernel", func(t *testing.T) {
		dump, err := s.Dump(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"web", "sticky", "local", "self"} {
			if m := s.Marker(Find(p, name)); !strings.Contains(dump, m) {
				t.Errorf("%s: %q not in the ruleset:\n%s", name, m, dump)
			}
		}
	})

	t.Run("cluster IP spreads over both backends", func(t *testing.T) {
		seen := map[string]int{}
		for range 40 {
			be, _, err := Request(tp.Node, "10.96.0.50:80")
			if err != nil {
				t.Fatal(err)
			}
			seen[be]++
		}
		if len(seen) != 2 {
			t.Errorf("40 connections reached %v, want both backends", seen)
		}
	})

	t.Run("from outside the pod network the source is masqueraded", func(t *testing.T) {
		_, from, err := Request(tp.Client, "10.96.0.50:80")
		if err != nil {
			t.Fatal(err)
		}
		if from != NodePodIP {
			t.Errorf("backend saw %s, want the node's %s", from, NodePodIP)
		}
	})

	t.Run("node port from outside", func(t *testing.T) {
		be, from, err := Request(tp.Client, NodeClientIP+":30080")
		if err != nil {
			t.Fatal(err)
		}
		if (be != BackendA && be != BackendB) || from != NodePodIP {
			t.Errorf("node port: backend %s saw %s", be, from)
		}
	})

	t.Run("externalTrafficPolicy Local keeps the source and the local endpoint", func(t *testing.T) {
		for range 10 {
			be, from, err := Request(tp.Client, NodeClientIP+":30053")
			if err != nil {
				t.Fatal(err)
			}
			if be != BackendB || from != ClientIP {
				t.Fatalf("backend %s saw %s, want %s (the local endpoint) seeing %s", be, from, BackendB, ClientIP)
			}
		}
	})

	t.Run("ClientIP affinity sticks", func(t *testing.T) {
		seen := map[string]int{}
		for range 20 {
			be, _, err := Request(tp.Node, "10.96.0.51:80")
			if err != nil {
				t.Fatal(err)
			}
			seen[be]++
		}
		if len(seen) != 1 {
			t.Errorf("affinity: 20 connections reached %v, want one backend", seen)
		}
	})

	t.Run("hairpin: a pod reaching itself through its Service", func(t *testing.T) {
		c, err := DialFrom(tp.Pod, BackendA, "10.96.0.54:80")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		be, from, err := c.Ask()
		if err != nil {
			t.Fatal(err)
		}
		if be != BackendA || from != NodePodIP {
			t.Errorf("hairpin: backend %s saw %s, want %s seeing %s (masqueraded)", be, from, BackendA, NodePodIP)
		}
	})

	t.Run("no endpoints: refused at once", func(t *testing.T) {
		for _, c := range []struct{ ns, addr string }{
			{tp.Node, "10.96.0.52:80"}, {tp.Client, "10.96.0.52:80"}, {tp.Client, NodeClientIP + ":30052"},
		} {
			start := time.Now()
			_, err := Dial(c.ns, c.addr, 3*time.Second)
			if !refused(err) {
				t.Errorf("%s from %s: %v, want connection refused", c.addr, c.ns, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s from %s: refused after %s", c.addr, c.ns, d)
			}
		}
	})

	t.Run("no endpoints: refused every time from outside, redirects on", func(t *testing.T) {
		tp.RefusedTenInARow(t, "10.96.0.52:80")
	})

	t.Run("a restart keeps established connections and drops deleted Services", func(t *testing.T) {
		c, err := Dial(tp.Node, "10.96.0.50:80", 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		first, _, err := c.Ask()
		if err != nil {
			t.Fatal(err)
		}
		// A new proxy starts while web has been deleted.
		b2 := s.New(run)
		p2 := BuildPlan(false)
		if _, err := b2.Sync(ctx, p2, true); err != nil {
			t.Fatal(err)
		}
		dump, err := s.Dump(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if m := s.Marker(Find(p, "web")); strings.Contains(dump, m) {
			t.Errorf("the deleted Service's rules (%s) are still there", m)
		}
		if m := s.Marker(Find(p2, "sticky")); !strings.Contains(dump, m) {
			t.Errorf("a kept Service's rules (%s) are gone", m)
		}
		again, _, err := c.Ask()
		if err != nil || again != first {
			t.Errorf("established connection after the restart: %s, %v (before: %s)", again, err, first)
		}
		b = b2
	})

	t.Run("cleanup removes everything", func(t *testing.T) {
		if err := b.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
		dump, err := s.Dump(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(dump), "skiff") {
			t.Errorf("left after cleanup:\n%s", dump)
		}
	})
}
