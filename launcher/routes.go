package launcher

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// The host reaches pods and Service IPs of a cluster with containerd nodes through routes
// on that cluster's bridge. Routes are global to the host: a second such cluster with the
// same ranges would take the first one's routes over (and remove them when it stops). So a
// cluster never replaces a route on another device; it refuses to start instead.

// podNetwork is the controller manager's default cluster CIDR (nodes' pod CIDRs are /24s of it).
const podNetwork = "10.244.0.0/16"

// hostRoute is one line of `ip -o -4 route show`.
type hostRoute struct {
	dst *net.IPNet
	dev string
}

func hostRoutes() ([]hostRoute, error) {
	out, err := exec.Command("ip", "-o", "-4", "route", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip route show: %w", err)
	}
	return parseRoutes(string(out)), nil
}

// parseRoutes reads `ip -o -4 route show` output; default routes and unparsable lines are
// skipped (they overlap everything and are no cluster's).
func parseRoutes(out string) []hostRoute {
	var routes []hostRoute
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "default" {
			continue
		}
		dst := f[0]
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		_, n, err := net.ParseCIDR(dst)
		if err != nil {
			continue
		}
		r := hostRoute{dst: n}
		for i := 1; i+1 < len(f); i++ {
			if f[i] == "dev" {
				r.dev = f[i+1]
			}
		}
		routes = append(routes, r)
	}
	return routes
}

func overlaps(a, b *net.IPNet) bool { return a.Contains(b.IP) || b.Contains(a.IP) }

// foreignRoute finds a route overlapping cidr on a device other than ours.
func foreignRoute(routes []hostRoute, cidr, ourDev string) (hostRoute, bool) {
	_, want, err := net.ParseCIDR(cidr)
	if err != nil {
		return hostRoute{}, false
	}
	for _, r := range routes {
		if r.dev != ourDev && overlaps(r.dst, want) {
			return r, true
		}
	}
	return hostRoute{}, false
}

// checkRoutesFree refuses to start when the host already routes the Service or pod range
// elsewhere (another skiff cluster, or a network of the machine's own).
func (n *nodeNetwork) checkRoutesFree() error {
	routes, err := hostRoutes()
	if err != nil {
		return err
	}
	for _, cidr := range []string{serviceCIDR, podNetwork} {
		if r, ok := foreignRoute(routes, cidr, n.bridge); ok {
			who := "a network of this machine"
			if strings.HasPrefix(r.dev, "skiff") {
				who = "another skiff cluster (API port " + strings.TrimPrefix(r.dev, "skiff") + ")"
			}
			return fmt.Errorf("the host already routes %s to device %s (%s), which overlaps this cluster's %s: "+
				"clusters with containerd nodes on one machine cannot share those routes; stop that cluster first "+
				"(skiff down --data-dir ITS-DIR), or use --runtime sim for a second cluster", r.dst, r.dev, who, cidr)
		}
	}
	return nil
}
