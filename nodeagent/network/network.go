// Package network gives pod sandboxes their network through CNI (libcni with the
// reference plugins: bridge + host-local IPAM over the node's pod CIDR, portmap for
// hostPorts; the loopback plugin's one job, lo up, is done here), and programs routes to
// the other nodes' pod CIDRs with netlink, host-gateway style: pod-to-pod traffic between
// nodes is plain routed IP.
package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/skiff-sh/skiff/api/core"
)

// DefaultPluginDirs are where Debian's containernetworking-plugins and the usual
// installs put the plugins.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// CNI attaches sandboxes to the node's pod network.
type CNI struct {
	// PluginDirs hold the CNI plugins (default DefaultPluginDirs).
	PluginDirs []string
	// DataDir holds host-local's leases and libcni's cache.
	DataDir string
	// Bridge is the bridge's name (default "skiff0").
	Bridge string
	// MTU of the pods' interfaces (0: the plugin's default).
	MTU int

	mu   sync.Mutex
	cidr string
	conf *libcni.NetworkConfigList // bridge + portmap: for pods with hostPorts
	// bare is the same network without portmap, for the pods without hostPorts (most): one
	// plugin process less per sandbox. Same name, so libcni's cached results carry over.
	bare *libcni.NetworkConfigList
	cni  *libcni.CNIConfig
}

// ErrNoPodCIDR is what Ready reports until the node has a pod CIDR.
var ErrNoPodCIDR = errors.New("no pod CIDR assigned to the node yet")

// SetPodCIDR (re)builds the network configuration for the node's range.
func (c *CNI) SetPodCIDR(cidr string) error {
	_, ipnet, err := net.ParseCIDR(cidr)
	if err != nil {
		return fmt.Errorf("pod CIDR: %w", err)
	}
	if len(c.PluginDirs) == 0 {
		c.PluginDirs = DefaultPluginDirs
	}
	if c.Bridge == "" {
		c.Bridge = "skiff0"
	}
	for _, p := range []string{"bridge", "host-local", "portmap"} {
		if !pluginExists(c.PluginDirs, p) {
			return fmt.Errorf("CNI plugin %q not found in %s (install containernetworking-plugins)", p, strings.Join(c.PluginDirs, ", "))
		}
	}
	bridge := map[string]any{
		"type": "bridge", "bridge": c.Bridge, "isGateway": true, "ipMasq": false, "hairpinMode": true,
		"ipam": map[string]any{
			"type": "host-local", "dataDir": filepath.Join(c.DataDir, "ipam"),
			"ranges": [][]map[string]string{{{"subnet": ipnet.String()}}},
			"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
		},
	}
	if c.MTU > 0 {
		bridge["mtu"] = c.MTU
	}
	confList := func(plugins ...any) (*libcni.NetworkConfigList, error) {
		list, err := json.Marshal(map[string]any{"cniVersion": "1.0.0", "name": "skiff", "plugins": plugins})
		if err != nil {
			return nil, err
		}
		return libcni.ConfListFromBytes(list)
	}
	conf, err := confList(bridge, map[string]any{"type": "portmap", "snat": true, "capabilities": map[string]bool{"portMappings": true}})
	if err != nil {
		return err
	}
	bare, err := confList(bridge)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cidr, c.conf, c.bare = ipnet.String(), conf, bare
	c.cni = libcni.NewCNIConfigWithCacheDir(c.PluginDirs, filepath.Join(c.DataDir, "cache"), nil)
	// Pods reach other nodes through this one.
	_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	return nil
}

func pluginExists(dirs []string, name string) bool {
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return true
		}
	}
	return false
}

// Ready is nil once sandboxes can be attached.
func (c *CNI) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conf == nil {
		return ErrNoPodCIDR
	}
	return nil
}

// Attachment identifies one sandbox's attachment.
type Attachment struct {
	ID        string // the sandbox ID
	NetNS     string // path of its network namespace
	Namespace string
	Name      string
	UID       string
	Ports     []core.ContainerPort
}

func (c *CNI) runtimeConf(a Attachment) *libcni.RuntimeConf {
	rc := &libcni.RuntimeConf{
		ContainerID: a.ID, NetNS: a.NetNS, IfName: "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", a.Namespace}, {"K8S_POD_NAME", a.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", a.ID}, {"K8S_POD_UID", a.UID},
		},
	}
	var mappings []map[string]any
	for _, p := range a.Ports {
		if p.HostPort == 0 {
			continue
		}
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		m := map[string]any{"hostPort": p.HostPort, "containerPort": p.ContainerPort, "protocol": proto}
		if p.HostIP != "" {
			m["hostIP"] = p.HostIP
		}
		mappings = append(mappings, m)
	}
	if len(mappings) > 0 {
		rc.CapabilityArgs = map[string]any{"portMappings": mappings}
	}
	return rc
}

// network is the configuration for an attachment: portmap only when it maps host ports.
func (c *CNI) network(a Attachment) (*libcni.NetworkConfigList, *libcni.CNIConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range a.Ports {
		if p.HostPort != 0 {
			return c.conf, c.cni
		}
	}
	return c.bare, c.cni
}

// Add attaches a sandbox and returns its IP.
func (c *CNI) Add(ctx context.Context, a Attachment) (string, error) {
	conf, cni := c.network(a)
	if conf == nil {
		return "", ErrNoPodCIDR
	}
	rc := c.runtimeConf(a)
	// What the loopback plugin does, without running it: lo up in the sandbox.
	if err := loopbackUp(a.NetNS); err != nil {
		return "", fmt.Errorf("CNI loopback: %w", err)
	}
	res, err := cni.AddNetworkList(ctx, conf, rc)
	if err != nil {
		return "", fmt.Errorf("CNI add: %w", err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return "", err
	}
	for _, ip := range r.IPs {
		if ip.Address.IP.To4() != nil {
			return ip.Address.IP.String(), nil
		}
	}
	return "", errors.New("CNI add: no IPv4 address in the result")
}

// Del detaches a sandbox; its namespace may be gone already (the IP is still released).
func (c *CNI) Del(ctx context.Context, a Attachment) error {
	conf, cni := c.network(a)
	if conf == nil {
		return nil
	}
	if a.NetNS != "" {
		if _, err := os.Stat(a.NetNS); err != nil {
			a.NetNS = ""
		}
	}
	if err := cni.DelNetworkList(ctx, conf, c.runtimeConf(a)); err != nil {
		return fmt.Errorf("CNI del: %w", err)
	}
	return nil
}

// loopbackUp brings up lo in the network namespace at path.
func loopbackUp(path string) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	return h.LinkSetUp(lo)
}

// Routes keeps a route to every other node's pod CIDR via that node's InternalIP.
type Routes struct {
	Self string // this node's name
	Log  *slog.Logger

	mu   sync.Mutex
	have map[string]string // pod CIDR → gateway we installed
}

// Want computes the routes this node needs: other nodes' pod CIDR → InternalIP.
func Want(self string, nodes []*core.Node) map[string]string {
	want := map[string]string{}
	for _, n := range nodes {
		if n.Name == self || n.Spec.PodCIDR == "" {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == core.NodeInternalIP && net.ParseIP(a.Address) != nil {
				want[n.Spec.PodCIDR] = a.Address
				break
			}
		}
	}
	return want
}

// Sync installs the routes of Want and removes those it installed that are no longer wanted.
func (r *Routes) Sync(_ context.Context, nodes []*core.Node) {
	want := Want(r.Self, nodes)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.have == nil {
		r.have = map[string]string{}
	}
	for cidr, gw := range want {
		if r.have[cidr] == gw {
			continue
		}
		_, dst, err := net.ParseCIDR(cidr)
		if err != nil {
			continue
		}
		if err := netlink.RouteReplace(&netlink.Route{Dst: dst, Gw: net.ParseIP(gw)}); err != nil {
			r.log().Warn("route to pod CIDR", "cidr", cidr, "via", gw, "err", err)
			continue
		}
		r.have[cidr] = gw
		r.log().Info("route to pod CIDR", "cidr", cidr, "via", gw)
	}
	for cidr, gw := range r.have {
		if _, ok := want[cidr]; ok {
			continue
		}
		_, dst, _ := net.ParseCIDR(cidr)
		_ = netlink.RouteDel(&netlink.Route{Dst: dst, Gw: net.ParseIP(gw)})
		delete(r.have, cidr)
	}
}

func (r *Routes) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}
