package nodelifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/netip"
	"sync"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// IPAMName is the node IPAM controller's name in --controllers and in metrics.
const IPAMName = "nodeipam"

// IPAMOptions configure the pod CIDR allocator.
type IPAMOptions struct {
	// ClusterCIDR is the range pod CIDRs are cut from (default 10.244.0.0/16).
	ClusterCIDR string
	// NodeMaskSize is the prefix length of each node's pod CIDR (default 24).
	NodeMaskSize int
}

// IPAM gives every node a pod CIDR (spec.podCIDR and spec.podCIDRs) cut from the cluster
// CIDR, as Kubernetes' range allocator does: CIDRs already on nodes are respected, a
// deleted node's CIDR is released, and allocation is first-free in order.
//
// A CIDR chosen for a node stays reserved for that node until the informer shows the node
// with a pod CIDR (or the node is gone): a write that failed (a 409 because the node's agent
// wrote its status first, a timeout whose write may have landed) is retried with the same
// CIDR, so retries neither leak CIDRs nor leave gaps, and a stale cache that still shows the
// node without one cannot get it a second.
type IPAM struct {
	nodes   *informer.Informer[core.Node, *core.Node]
	client  *client.Typed[core.Node, *core.Node]
	queue   *controller.Queue
	events  controller.EventRecorder
	log     *slog.Logger
	alloc   *cidrSet
	cluster netip.Prefix

	mu sync.Mutex
	// pending is the CIDR reserved for each node (by name) that is not yet seen with one.
	pending map[string]netip.Prefix
}

// NewIPAM makes the allocator.
func NewIPAM(cc *controller.Context, o IPAMOptions) (*IPAM, error) {
	if o.ClusterCIDR == "" {
		o.ClusterCIDR = "10.244.0.0/16"
	}
	if o.NodeMaskSize == 0 {
		o.NodeMaskSize = 24
	}
	cluster, err := netip.ParsePrefix(o.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("cluster CIDR: %w", err)
	}
	set, err := newCIDRSet(cluster, o.NodeMaskSize)
	if err != nil {
		return nil, err
	}
	c := &IPAM{
		nodes:   controller.NodeInformer(cc),
		client:  client.For[core.Node](cc.Client, controller.Nodes),
		queue:   controller.NewQueue(cc, IPAMName),
		events:  cc.Recorder("cidrAllocator"),
		log:     cc.Logger(IPAMName),
		alloc:   set,
		cluster: cluster.Masked(),
		pending: map[string]netip.Prefix{},
	}
	c.nodes.AddEventHandler(informer.Handler[*core.Node]{
		AddFunc: func(n *core.Node) { c.occupy(n); c.queue.Enqueue(n) },
		UpdateFunc: func(old, n *core.Node) {
			c.occupy(n)
			if n.Spec.PodCIDR == "" {
				c.queue.Enqueue(n)
			}
		},
		DeleteFunc: func(n *core.Node) { c.release(n) },
	})
	return c, nil
}

// occupy marks the node's CIDRs as taken (a CIDR outside the cluster range is the node's
// own business). Once the node has a CIDR, what was reserved for it is settled: it is the
// node's CIDR now, or, if someone else set a different one, free again.
func (c *IPAM) occupy(n *core.Node) {
	cidrs := podCIDRs(n)
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			c.alloc.occupy(p)
		}
	}
	if len(cidrs) > 0 {
		c.settle(n.Name, cidrs)
	}
}

func (c *IPAM) release(n *core.Node) {
	cidrs := podCIDRs(n)
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			c.alloc.release(p)
		}
	}
	c.settle(n.Name, cidrs)
}

// settle drops the node's reservation, releasing it unless it is one of the node's cidrs.
func (c *IPAM) settle(node string, cidrs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pending[node]
	if !ok {
		return
	}
	delete(c.pending, node)
	for _, s := range cidrs {
		if q, err := netip.ParsePrefix(s); err == nil && q.Masked() == p {
			return
		}
	}
	c.alloc.release(p)
}

// reserve returns the CIDR reserved for node, allocating one if there is none.
func (c *IPAM) reserve(node string) (netip.Prefix, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pending[node]; ok {
		return p, nil
	}
	p, err := c.alloc.allocate()
	if err != nil {
		return netip.Prefix{}, err
	}
	c.pending[node] = p
	return p, nil
}

func podCIDRs(n *core.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

// Run works until ctx ends. One worker: allocations are serialized by design.
func (c *IPAM) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.nodes.HasSynced) {
		return
	}
	c.queue.Run(ctx, 1, c.sync)
}

func (c *IPAM) sync(ctx context.Context, key string) error {
	n, ok := c.nodes.Indexer().Get(key)
	if !ok || n.Spec.PodCIDR != "" || n.DeletionTimestamp != nil {
		return nil
	}
	cidr, err := c.reserve(n.Name)
	if err != nil {
		c.events.Eventf(n, core.EventTypeWarning, "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable", n.Name)
		return err
	}
	// The resourceVersion precondition makes sure the node has no pod CIDR yet: on a
	// conflict the node is synced again from a fresher cache, with the same reservation.
	body, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": n.ResourceVersion},
		"spec":     map[string]any{"podCIDR": cidr.String(), "podCIDRs": []string{cidr.String()}},
	})
	if _, err := c.client.Patch(ctx, "", n.Name, client.MergePatchType, body); err != nil {
		if client.IsNotFound(err) {
			c.settle(n.Name, nil) // the node is gone: so is its reservation
			return nil
		}
		return fmt.Errorf("set pod CIDR of node %s: %w", n.Name, err)
	}
	c.log.Info("allocated pod CIDR", "node", n.Name, "cidr", cidr)
	c.events.Eventf(n, core.EventTypeNormal, "CIDRAssignmentSucceeded", "Node %s: pod CIDR %s allocated", n.Name, cidr)
	return nil
}

// cidrSet is a bitmap of the node-sized subnets of a cluster range.
type cidrSet struct {
	mu      sync.Mutex
	cluster netip.Prefix
	bits    int // node mask size
	used    big.Int
	count   int
	next    int // where the next search starts, for first-free-after-last allocation
}

func newCIDRSet(cluster netip.Prefix, bits int) (*cidrSet, error) {
	cluster = cluster.Masked()
	if !cluster.Addr().Is4() {
		return nil, errors.New("only IPv4 cluster CIDRs are supported")
	}
	if bits < cluster.Bits() || bits > 32 || bits-cluster.Bits() > 20 {
		return nil, fmt.Errorf("node mask size %d does not fit cluster CIDR %s", bits, cluster)
	}
	return &cidrSet{cluster: cluster, bits: bits, count: 1 << (bits - cluster.Bits())}, nil
}

func (s *cidrSet) index(p netip.Prefix) (int, bool) {
	p = p.Masked()
	if p.Bits() != s.bits || !s.cluster.Contains(p.Addr()) {
		return 0, false
	}
	base := s.cluster.Addr().As4()
	a := p.Addr().As4()
	off := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) -
		(uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3]))
	return int(off >> (32 - s.bits)), true
}

func (s *cidrSet) prefix(i int) netip.Prefix {
	base := s.cluster.Addr().As4()
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	v += uint32(i) << (32 - s.bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), s.bits)
}

func (s *cidrSet) occupy(p netip.Prefix) {
	if i, ok := s.index(p); ok {
		s.mu.Lock()
		s.used.SetBit(&s.used, i, 1)
		s.mu.Unlock()
	}
}

func (s *cidrSet) release(p netip.Prefix) {
	if i, ok := s.index(p); ok {
		s.mu.Lock()
		s.used.SetBit(&s.used, i, 0)
		s.mu.Unlock()
	}
}

// allocate takes the first free subnet after the last one allocated (wrapping around), so
// a CIDR just released is not handed out again at once.
func (s *cidrSet) allocate() (netip.Prefix, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.count {
		i := (s.next + k) % s.count
		if s.used.Bit(i) == 0 {
			s.used.SetBit(&s.used, i, 1)
			s.next = (i + 1) % s.count
			return s.prefix(i), nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no pod CIDR left in %s", s.cluster)
}
