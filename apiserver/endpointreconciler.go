package apiserver

import (
	"context"
	"net"
	"slices"
	"sort"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/storage"
)

// The lease endpoint reconciler (kube-apiserver's --endpoint-reconciler-type=lease): every API
// server keeps a key /registry/masterleases/HOST:PORT alive under an etcd lease, and rewrites
// the default/kubernetes Endpoints to list exactly the servers whose keys exist. A server
// killed without warning drops out when its lease expires; one that stops cleanly removes
// itself at once. Several servers reconcile the same object to the same answer, so they
// never fight.

const (
	// EndpointReconcilerLease and EndpointReconcilerNone are the --endpoint-reconciler-type
	// values: "none" leaves default/kubernetes as bootstrap wrote it (one server).
	EndpointReconcilerLease = "lease"
	EndpointReconcilerNone  = "none"

	masterLeasesPrefix = "/registry/masterleases/"
	// Kubernetes' values: a lease of 15 s renewed every 10 s.
	defaultMasterLeaseTTL      = 15 * time.Second
	defaultMasterLeaseInterval = 10 * time.Second
)

// endpointAddress is where this server says it can be reached: --advertise-address (else the
// first --listen host) and the first --listen port.
func (c *Config) endpointAddress() (string, int32) {
	host, port := hostPort(c.Listen)
	if c.AdvertiseAddress != "" {
		host = c.AdvertiseAddress
	}
	return host, port
}

// runEndpointReconciler renews this server's master lease and reconciles the kubernetes
// Endpoints until ctx ends, then removes the lease (a clean stop) and reconciles once more.
func (s *Server) runEndpointReconciler(ctx context.Context, cli *clientv3.Client) {
	leases := storage.NewLeasedKeys(cli, masterLeasesPrefix)
	host, port := s.cfg.endpointAddress()
	self := net.JoinHostPort(host, strconv.Itoa(int(port)))
	ttl, interval := s.cfg.MasterLeaseTTL, s.cfg.MasterLeaseInterval
	if ttl <= 0 {
		ttl = defaultMasterLeaseTTL
	}
	if interval <= 0 {
		interval = defaultMasterLeaseInterval
	}
	changes := leases.Changes(ctx)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := leases.Renew(ctx, self, self, ttl); err != nil && ctx.Err() == nil {
			s.log.Warn("cannot renew this API server's master lease", "address", self, "err", err)
		}
		s.reconcileKubernetesEndpoints(ctx, leases)
		select {
		case <-ctx.Done():
			// The server is stopping: leave the list at once (a short context of our own:
			// ctx is already done).
			sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := leases.Remove(sctx, self); err != nil {
				s.log.Warn("cannot remove this API server's master lease", "err", err)
				return
			}
			s.reconcileKubernetesEndpoints(sctx, leases)
			return
		case <-tick.C:
		case <-changes:
		}
	}
}

// reconcileKubernetesEndpoints writes default/kubernetes from the live master leases, if
// they differ from what it holds.
func (s *Server) reconcileKubernetesEndpoints(ctx context.Context, leases *storage.LeasedKeys) {
	addrs, err := leases.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("cannot list the API servers' master leases", "err", err)
		}
		return
	}
	if err := s.setKubernetesEndpoints(ctx, masterSubsets(addrs), false); err != nil && ctx.Err() == nil {
		s.log.Warn("cannot reconcile the kubernetes endpoints", "err", err)
	}
}

// masterSubsets turns HOST:PORT addresses into Endpoints subsets: one subset per port (all
// servers share a port in a usual cluster; several servers on one machine differ by port),
// addresses sorted, so every server computes the same object.
func masterSubsets(addrs []string) []core.EndpointSubset {
	byPort := map[int32][]core.EndpointAddress{}
	for _, a := range addrs {
		host, p, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			continue
		}
		port := int32(n)
		if !slices.ContainsFunc(byPort[port], func(e core.EndpointAddress) bool { return e.IP == host }) {
			byPort[port] = append(byPort[port], core.EndpointAddress{IP: host})
		}
	}
	ports := make([]int32, 0, len(byPort))
	for p := range byPort {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	var out []core.EndpointSubset
	for _, p := range ports {
		as := byPort[p]
		sort.Slice(as, func(i, j int) bool { return as[i].IP < as[j].IP })
		out = append(out, core.EndpointSubset{Addresses: as,
			Ports: []core.EndpointPort{{Name: "https", Port: p, Protocol: core.ProtocolTCP}}})
	}
	return out
}
