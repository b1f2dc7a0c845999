package ingress

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/ingress/table"
)

// sync rebuilds the table from the caches, swaps it in, reports new problems and brings the
// served Ingresses' status up to date.
func (c *Controller) sync(ctx context.Context) {
	start := time.Now()
	in := c.caches.input(&c.certs, c.cfg.Controller)
	t := table.Build(in)
	c.current.Store(t)
	c.certs.Retain(func(ns, name string) bool { _, ok := c.caches.secrets.Indexer().GetByName(ns, name); return ok })
	c.lastSync.Store(time.Now().UnixNano())
	c.syncCount.Add(1)
	ings, backends := t.Stats()
	c.log.Debug("routing table swapped", "ingresses", ings, "backends", backends, "problems", len(t.Problems()), "took", time.Since(start).Round(time.Microsecond))
	c.report(in.Ingresses, t.Problems())
	if c.cfg.WriteStatus {
		c.writeStatus(ctx, in.Ingresses)
	}
}

// report records a Warning event for each problem not reported before (a rebuild for an
// unrelated change does not repeat them); a problem that went away and comes back is
// reported again.
func (c *Controller) report(ings []*networking.Ingress, problems []table.Problem) {
	byKey := map[string]*networking.Ingress{}
	for _, ing := range ings {
		byKey[ing.Namespace+"/"+ing.Name] = ing
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := map[table.Problem]bool{}
	for _, p := range problems {
		now[p] = true
		if c.reported[p] {
			continue
		}
		if ing := byKey[p.Namespace+"/"+p.Name]; ing != nil {
			c.log.Warn("ingress problem", "ingress", p.Namespace+"/"+p.Name, "reason", p.Reason, "message", p.Message)
			c.rec.Event(ing, core.EventTypeWarning, p.Reason, p.Message)
		}
	}
	c.reported = now
}

// statusAddresses are the addresses skiff-ingress answers on: each Ready node's
// InternalIP (ExternalIP where it has none), sorted.
func (c *Controller) statusAddresses() []networking.IngressLoadBalancerIngress {
	addrs := slices.Clone(c.cfg.StatusAddresses)
	if addrs == nil {
		for _, n := range c.caches.nodes.Indexer().List() {
			if !n.IsReady() {
				continue
			}
			a := n.Address(core.NodeInternalIP)
			if a == "" {
				a = n.Address(core.NodeExternalIP)
			}
			if a != "" && !slices.Contains(addrs, a) {
				addrs = append(addrs, a)
			}
		}
	}
	slices.SortFunc(addrs, func(a, b string) int {
		pa, ea := netip.ParseAddr(a)
		pb, eb := netip.ParseAddr(b)
		if ea != nil || eb != nil {
			return cmp.Compare(a, b)
		}
		return pa.Compare(pb)
	})
	out := make([]networking.IngressLoadBalancerIngress, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, networking.IngressLoadBalancerIngress{IP: a})
	}
	return out
}

// writeStatus sets status.loadBalancer.ingress where it differs. A conflict (another node's
// controller wrote first) is left: its write brings an event and the next sync compares
// again.
func (c *Controller) writeStatus(ctx context.Context, ings []*networking.Ingress) {
	want := c.statusAddresses()
	for _, ing := range ings {
		if equalStatus(ing.Status.LoadBalancer.Ingress, want) {
			continue
		}
		cp := *ing
		cp.Status.LoadBalancer.Ingress = want
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c.caches.ingClient.UpdateStatus(wctx, &cp)
		cancel()
		switch {
		case err == nil:
			c.log.Info("ingress status updated", "ingress", ing.Namespace+"/"+ing.Name, "addresses", len(want))
		case client.IsConflict(err) || client.IsNotFound(err) || ctx.Err() != nil:
		default:
			c.log.Warn("ingress status not updated", "ingress", ing.Namespace+"/"+ing.Name, "err", err)
		}
	}
}

func equalStatus(a, b []networking.IngressLoadBalancerIngress) bool {
	return slices.EqualFunc(a, b, func(x, y networking.IngressLoadBalancerIngress) bool {
		return x.IP == y.IP && x.Hostname == y.Hostname && len(x.Ports) == 0 && len(y.Ports) == 0
	})
}
