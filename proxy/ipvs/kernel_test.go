package ipvs

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/proxy/internal/kerneltest"
)

// TestKernel programs IPVS in a network namespace of its own (the shared kernel-test
// topology: node, pod and client namespaces; the host's IPVS table is never touched) with
// the backend — ipvsadm-restore, which speaks IPVS's generic netlink — then reads the
// kernel's virtual and real servers back over netlink itself and sends traffic through
// them. It needs a kernel with IPVS; this one says why it skips where there is none.
//
// IPVS mode does not cover what the iptables and nftables suites also check (hairpin
// masquerade, externalTrafficPolicy Local's source, refusal by TCP reset), so it runs its
// own cases rather than kerneltest.Run.
func TestKernel(t *testing.T) {
	if err := Check(); err != nil {
		t.Skip(err)
	}
	kerneltest.Need(t, "ipvsadm", "ipvsadm-restore", "iptables", "iptables-restore")
	tp := kerneltest.New(t)
	ctx := context.Background()
	run := tp.Exec()
	b := New(run)
	p := kerneltest.BuildPlan(true)
	if _, err := b.Sync(ctx, p, true); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	t.Cleanup(func() { _ = b.Cleanup(context.Background()) })
	nodeIPs, err := b.NodeIPs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(nodeIPs, kerneltest.NodeClientIP) || !slices.Contains(nodeIPs, kerneltest.NodePodIP) {
		t.Fatalf("node addresses %v, want both of the node namespace's", nodeIPs)
	}

	// The kernel's table, over netlink, in the node namespace.
	table := func(t *testing.T) Table {
		t.Helper()
		var got Table
		if err := kerneltest.Do(tp.Node, func() (err error) { got, err = kernelTable(); return }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	same := func(t *testing.T, got, want Table) {
		t.Helper()
		for _, k := range slices.Sorted(maps.Keys(want)) {
			w := slices.Sorted(slices.Values(want[k]))
			g, ok := got[k]
			if !ok {
				t.Errorf("virtual server %q missing from the kernel", k)
				continue
			}
			if !slices.Equal(g, w) {
				t.Errorf("%s: the kernel has real servers %q, want %q", k, g, w)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("the kernel has virtual server %q, not in the plan", k)
			}
		}
	}

	t.Run("the kernel's table is the plan's, read over netlink", func(t *testing.T) {
		want := Render(p, nodeIPs, "")
		same(t, table(t), want)
		// Spot checks that do not go through Render: web on its cluster IP and on both
		// node addresses' node port, masquerading to both backends; sticky persistent.
		for _, k := range []string{"-A -t 10.96.0.50:80 -s rr", "-A -t " + kerneltest.NodeClientIP + ":30080 -s rr", "-A -t " + kerneltest.NodePodIP + ":30080 -s rr"} {
			if got := table(t)[k]; len(got) != 2 || !strings.Contains(got[0], " -m -w 1") {
				t.Errorf("%s: real servers %q, want the two backends, masquerading, weight 1", k, got)
			}
		}
		if _, ok := table(t)["-A -t 10.96.0.51:80 -s rr -p "+strconv.Itoa(int(kerneltest.Find(p, "sticky").AffinitySeconds))]; !ok {
			t.Errorf("sticky is not persistent for its affinity timeout: %v", slices.Sorted(maps.Keys(table(t))))
		}
	})

	t.Run("ipvsadm -Sn reads back as the same table", func(t *testing.T) {
		out, err := run(ctx, nil, "ipvsadm", "-Sn")
		if err != nil {
			t.Fatal(err)
		}
		saved := ParseSave(out)
		for k, v := range saved {
			saved[k] = slices.Sorted(slices.Values(v))
		}
		same(t, saved, table(t))
		if d := Diff(ParseSave(out), Render(p, nodeIPs, "")); len(d) != 0 {
			t.Errorf("a resync right after the sync would change:\n%s", d)
		}
	})

	t.Run("cluster IP spreads over both backends", func(t *testing.T) {
		seen := map[string]int{}
		for range 40 {
			be, _, err := kerneltest.Request(tp.Node, "10.96.0.50:80")
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
		_, from, err := kerneltest.Request(tp.Client, "10.96.0.50:80")
		if err != nil {
			t.Fatal(err)
		}
		if from != kerneltest.NodePodIP {
			t.Errorf("backend saw %s, want the node's %s", from, kerneltest.NodePodIP)
		}
	})

	t.Run("node port from outside", func(t *testing.T) {
		be, from, err := kerneltest.Request(tp.Client, kerneltest.NodeClientIP+":30080")
		if err != nil {
			t.Fatal(err)
		}
		if (be != kerneltest.BackendA && be != kerneltest.BackendB) || from != kerneltest.NodePodIP {
			t.Errorf("node port: backend %s saw %s", be, from)
		}
	})

	t.Run("ClientIP affinity sticks", func(t *testing.T) {
		seen := map[string]int{}
		for range 20 {
			be, _, err := kerneltest.Request(tp.Node, "10.96.0.51:80")
			if err != nil {
				t.Fatal(err)
			}
			seen[be]++
		}
		if len(seen) != 1 {
			t.Errorf("affinity: 20 connections reached %v, want one backend", seen)
		}
	})

	t.Run("no endpoints: refused", func(t *testing.T) {
		// A virtual server without real servers: IPVS answers with ICMP port unreachable.
		start := time.Now()
		_, err := kerneltest.Dial(tp.Node, "10.96.0.52:80", 3*time.Second)
		if !kerneltest.Refused(err) {
			t.Errorf("10.96.0.52:80: %v after %s, want connection refused", err, time.Since(start))
		}
	})

	t.Run("a restart keeps established connections and drops deleted Services", func(t *testing.T) {
		c, err := kerneltest.Dial(tp.Node, "10.96.0.50:80", 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		first, _, err := c.Ask()
		if err != nil {
			t.Fatal(err)
		}
		// A new proxy starts while web has been deleted: its first sync diffs against the
		// kernel's table (ipvsadm -Sn) and removes web alone.
		b2 := New(run)
		p2 := kerneltest.BuildPlan(false)
		if _, err := b2.Sync(ctx, p2, true); err != nil {
			t.Fatal(err)
		}
		same(t, table(t), Render(p2, nodeIPs, ""))
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
		if got := table(t); len(got) != 0 {
			t.Errorf("virtual servers left after cleanup: %v", got)
		}
		if out, err := run(ctx, nil, "ip", "-o", "link", "show"); err != nil || strings.Contains(string(out), Interface) {
			t.Errorf("%s left after cleanup (%v):\n%s", Interface, err, out)
		}
	})
}
