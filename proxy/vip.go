package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// DefaultVIPInterface holds the cluster DNS address on the node. It is a bridge with no
// ports (this kernel has no `dummy` module): an address on any up interface is local to
// the whole node, so pods reach it through their default route to the CNI bridge, and the
// host reaches it directly.
const DefaultVIPInterface = "skiff-dns0"

// ensureVIP puts ip/32 on interface name (made if missing) unless ip is already local or
// needs no interface (loopback, unspecified). It reports whether it added the address.
func ensureVIP(name string, ip netip.Addr) (bool, error) {
	if !ip.IsValid() || ip.IsLoopback() || ip.IsUnspecified() || isLocal(ip) {
		return false, nil
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return false, fmt.Errorf("interface %s: %w", name, err)
		}
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
			return false, fmt.Errorf("create interface %s: %w", name, err)
		}
		if link, err = netlink.LinkByName(name); err != nil {
			return false, fmt.Errorf("interface %s: %w", name, err)
		}
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(ip.BitLen(), ip.BitLen())}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return false, fmt.Errorf("add %s to %s: %w", ip, name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return false, fmt.Errorf("set %s up: %w", name, err)
	}
	return true, nil
}

// removeVIPInterface deletes the interface (and so its addresses), if present.
func removeVIPInterface(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	return netlink.LinkDel(link)
}

func isLocal(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip {
				return true
			}
		}
	}
	return false
}
