package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The kernel's IPVS table read over generic netlink (family "IPVS", include/uapi/linux/
// ip_vs.h), independently of ipvsadm, so the kernel test checks what the backend
// programmed against the kernel itself. The socket is made in the calling thread's network
// namespace: call these inside kerneltest.Do.

// Commands and attributes of include/uapi/linux/ip_vs.h.
const (
	ipvsGenlName    = "IPVS"
	ipvsGenlVersion = 0x1

	ipvsCmdGetService = 4
	ipvsCmdGetDest    = 8

	ipvsCmdAttrService = 1
	ipvsCmdAttrDest    = 2

	ipvsSvcAttrAF        = 1
	ipvsSvcAttrProtocol  = 2
	ipvsSvcAttrAddr      = 3
	ipvsSvcAttrPort      = 4
	ipvsSvcAttrFwmark    = 5
	ipvsSvcAttrSchedName = 6
	ipvsSvcAttrFlags     = 7
	ipvsSvcAttrTimeout   = 8

	ipvsDestAttrAddr      = 1
	ipvsDestAttrPort      = 2
	ipvsDestAttrFwdMethod = 3
	ipvsDestAttrWeight    = 4

	ipvsSvcFlagPersistent = 0x0001
	ipvsConnFwdMask       = 0x0007
	ipvsConnFwdMasq       = 0x0000
)

// kernelService is one virtual server as the kernel reports it.
type kernelService struct {
	Protocol   uint16
	Addr       netip.Addr
	Port       uint16
	Scheduler  string
	Persistent bool
	Timeout    uint32
}

// kernelDest is one real server.
type kernelDest struct {
	Addr   netip.Addr
	Port   uint16
	Masq   bool
	Weight uint32
}

func ipvsFamily() (uint16, error) {
	f, err := netlink.GenlFamilyGet(ipvsGenlName)
	if err != nil {
		return 0, fmt.Errorf("generic netlink family %s: %w", ipvsGenlName, err)
	}
	return f.ID, nil
}

// genlAttrs are the attributes of a generic netlink answer (after its genlmsghdr).
func genlAttrs(msg []byte) (map[uint16][]byte, error) {
	if len(msg) < nl.SizeofGenlmsg {
		return nil, fmt.Errorf("short generic netlink message (%d bytes)", len(msg))
	}
	return attrMap(msg[nl.SizeofGenlmsg:])
}

// attrMap parses netlink attributes, dropping the NLA_F_NESTED/NET_BYTEORDER bits of the type.
func attrMap(b []byte) (map[uint16][]byte, error) {
	attrs, err := nl.ParseRouteAttr(b)
	if err != nil {
		return nil, err
	}
	out := map[uint16][]byte{}
	for _, a := range attrs {
		out[a.Attr.Type&nl.NLA_TYPE_MASK] = a.Value
	}
	return out, nil
}

func addrOf(af uint16, b []byte) (netip.Addr, error) {
	switch {
	case af == syscall.AF_INET && len(b) >= 4:
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case af == syscall.AF_INET6 && len(b) >= 16:
		return netip.AddrFrom16([16]byte(b[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("address of family %d: %d bytes", af, len(b))
}

// kernelServices dumps the virtual servers (IPVS_CMD_GET_SERVICE with NLM_F_DUMP).
func kernelServices() ([]kernelService, error) {
	fam, err := ipvsFamily()
	if err != nil {
		return nil, err
	}
	req := nl.NewNetlinkRequest(int(fam), unix.NLM_F_DUMP)
	req.AddData(&nl.Genlmsg{Command: ipvsCmdGetService, Version: ipvsGenlVersion})
	msgs, err := req.Execute(unix.NETLINK_GENERIC, fam)
	if err != nil {
		return nil, fmt.Errorf("IPVS_CMD_GET_SERVICE: %w", err)
	}
	var out []kernelService
	for _, m := range msgs {
		top, err := genlAttrs(m)
		if err != nil {
			return nil, err
		}
		a, err := attrMap(top[ipvsCmdAttrService])
		if err != nil {
			return nil, err
		}
		if _, fw := a[ipvsSvcAttrFwmark]; fw {
			continue // skiff makes none
		}
		af := binary.NativeEndian.Uint16(a[ipvsSvcAttrAF])
		addr, err := addrOf(af, a[ipvsSvcAttrAddr])
		if err != nil {
			return nil, err
		}
		s := kernelService{
			Protocol:  binary.NativeEndian.Uint16(a[ipvsSvcAttrProtocol]),
			Addr:      addr,
			Port:      binary.BigEndian.Uint16(a[ipvsSvcAttrPort]),
			Scheduler: nl.BytesToString(a[ipvsSvcAttrSchedName]),
		}
		if f := a[ipvsSvcAttrFlags]; len(f) >= 4 { // struct ip_vs_flags { __u32 flags, mask; }
			s.Persistent = binary.NativeEndian.Uint32(f)&ipvsSvcFlagPersistent != 0
		}
		if t := a[ipvsSvcAttrTimeout]; len(t) >= 4 {
			s.Timeout = binary.NativeEndian.Uint32(t)
		}
		out = append(out, s)
	}
	return out, nil
}

// kernelDests dumps the real servers of s (IPVS_CMD_GET_DEST, the service named by its
// protocol, address and port).
func kernelDests(s kernelService) ([]kernelDest, error) {
	fam, err := ipvsFamily()
	if err != nil {
		return nil, err
	}
	af := uint16(syscall.AF_INET)
	addr := make([]byte, 16) // union nf_inet_addr
	if s.Addr.Is6() {
		af = syscall.AF_INET6
		b := s.Addr.As16()
		copy(addr, b[:])
	} else {
		b := s.Addr.As4()
		copy(addr, b[:])
	}
	req := nl.NewNetlinkRequest(int(fam), unix.NLM_F_DUMP)
	req.AddData(&nl.Genlmsg{Command: ipvsCmdGetDest, Version: ipvsGenlVersion})
	svc := nl.NewRtAttr(ipvsCmdAttrService|unix.NLA_F_NESTED, nil)
	svc.AddRtAttr(ipvsSvcAttrAF, nl.Uint16Attr(af))
	svc.AddRtAttr(ipvsSvcAttrProtocol, nl.Uint16Attr(s.Protocol))
	svc.AddRtAttr(ipvsSvcAttrAddr, addr)
	svc.AddRtAttr(ipvsSvcAttrPort, nl.BEUint16Attr(s.Port))
	req.AddData(svc)
	msgs, err := req.Execute(unix.NETLINK_GENERIC, fam)
	if err != nil {
		return nil, fmt.Errorf("IPVS_CMD_GET_DEST %s:%d: %w", s.Addr, s.Port, err)
	}
	var out []kernelDest
	for _, m := range msgs {
		top, err := genlAttrs(m)
		if err != nil {
			return nil, err
		}
		a, err := attrMap(top[ipvsCmdAttrDest])
		if err != nil {
			return nil, err
		}
		// IPVS_DEST_ATTR_ADDR_FAMILY only exists on newer kernels; the service's family
		// is the destination's otherwise.
		addr, err := addrOf(af, a[ipvsDestAttrAddr])
		if err != nil {
			return nil, err
		}
		out = append(out, kernelDest{
			Addr:   addr,
			Port:   binary.BigEndian.Uint16(a[ipvsDestAttrPort]),
			Masq:   binary.NativeEndian.Uint32(a[ipvsDestAttrFwdMethod])&ipvsConnFwdMask == ipvsConnFwdMasq,
			Weight: binary.NativeEndian.Uint32(a[ipvsDestAttrWeight]),
		})
	}
	return out, nil
}

// kernelTable is the kernel's IPVS table in the form Render gives (ipvsadm -Sn's lines),
// read over netlink.
func kernelTable() (Table, error) {
	svcs, err := kernelServices()
	if err != nil {
		return nil, err
	}
	t := Table{}
	for _, s := range svcs {
		flag := map[uint16]string{syscall.IPPROTO_TCP: "-t", syscall.IPPROTO_UDP: "-u", unix.IPPROTO_SCTP: "--sctp-service"}[s.Protocol]
		if flag == "" {
			return nil, fmt.Errorf("virtual server %s:%d of protocol %d", s.Addr, s.Port, s.Protocol)
		}
		addr := netip.AddrPortFrom(s.Addr, s.Port).String()
		line := "-A " + flag + " " + addr + " -s " + s.Scheduler
		if s.Persistent {
			line += " -p " + strconv.Itoa(int(s.Timeout))
		}
		dests, err := kernelDests(s)
		if err != nil {
			return nil, err
		}
		var reals []string
		for _, d := range dests {
			method := "-m"
			if !d.Masq {
				method = "(not masquerading)"
			}
			reals = append(reals, fmt.Sprintf("-a %s %s -r %s %s -w %d", flag, addr, netip.AddrPortFrom(d.Addr, d.Port), method, d.Weight))
		}
		sort.Strings(reals)
		t[line] = reals
	}
	return t, nil
}
