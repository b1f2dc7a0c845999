package launcher

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/internal/etcdcluster"
)

// An HA control plane on one machine (`skiff up --apiservers N --etcd-members M`): what
// would be N control-plane machines, each running an API server, a controller manager and
// a scheduler, become N sets of processes; API server i listens on Port+i of the same
// addresses. They share an etcd cluster of M members (Debian's etcd, each member its own
// process and data directory). The controller managers and schedulers elect a leader
// among themselves through Leases; every component is given every API server (--server
// with a list, its own machine's first) and fails over between them (client/failover.go);
// the API servers keep the kubernetes Service's endpoints listing each live one
// (apiserver/endpointreconciler.go).

// controlPlane knows the addresses of the API servers of a cluster being started.
type controlPlane struct {
	n     int
	port  int
	hosts []string // the hosts of --listen, each served by every API server on its own port
	node  string   // the host nodes reach the API servers at
}

func newControlPlane(o Options, listen, nodeServer string) *controlPlane {
	cp := &controlPlane{n: o.APIServers, port: o.Port}
	for _, a := range strings.Split(listen, ",") {
		if h, _, err := net.SplitHostPort(a); err == nil {
			cp.hosts = append(cp.hosts, h)
		}
	}
	if u, err := url.Parse(nodeServer); err == nil {
		cp.node = u.Hostname()
	}
	return cp
}

// listen is API server i's --listen: every host, on its own port.
func (cp *controlPlane) listen(i int) string {
	var out []string
	for _, h := range cp.hosts {
		out = append(out, net.JoinHostPort(h, strconv.Itoa(cp.port+i)))
	}
	return strings.Join(out, ",")
}

// apiServerName is the name of API server i's process and log: the first keeps the name it
// has in a one-server cluster.
func (cp *controlPlane) apiServerName(i int) string { return instanceName("skiff-apiserver", i) }

func instanceName(bin string, i int) string {
	if i == 0 {
		return bin
	}
	return fmt.Sprintf("%s-%d", bin, i+1)
}

// hostURL is API server i as processes on this machine reach it.
func (cp *controlPlane) hostURL(i int) string {
	return "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(cp.port+i))
}

// nodeURL is API server i as the nodes reach it.
func (cp *controlPlane) nodeURL(i int) string {
	return "https://" + net.JoinHostPort(cp.node, strconv.Itoa(cp.port+i))
}

// instance is one copy of a control-plane program: the one that runs beside API server index.
type instance struct {
	name, bin string
	index     int
}

// instances are the copies of bins to start: one of each per API server.
func (cp *controlPlane) instances(bins []string) []instance {
	var out []instance
	for i := 0; i < cp.n; i++ {
		for _, b := range bins {
			out = append(out, instance{name: instanceName(b, i), bin: b, index: i})
		}
	}
	return out
}

// serverArgs is the --server flag that gives a component every API server, starting with
// server i (its own machine's in an HA control plane; nodes spread over the servers) and
// then the others in turn; nothing with one API server (the kubeconfig's address).
func (cp *controlPlane) serverArgs(i int, fromNode bool) []string {
	if cp.n < 2 {
		return nil
	}
	var urls []string
	for k := 0; k < cp.n; k++ {
		j := (i + k) % cp.n
		if fromNode {
			urls = append(urls, cp.nodeURL(j))
		} else {
			urls = append(urls, cp.hostURL(j))
		}
	}
	return []string{"--server", strings.Join(urls, ",")}
}

// startEtcd starts the etcd cluster of o.EtcdMembers members (created in DATA/etcd-cluster
// on the first start, the same members rejoining on later ones) and waits until every member
// has a leader. It returns the API servers' storage flags. A member that cannot reach its
// peers stops the start-up with a message saying so; the caller then stops every process
// it started.
func startEtcd(ctx context.Context, o Options, start func(component) (*process, error)) ([]string, error) {
	if _, err := etcdcluster.Binary(); err != nil {
		return nil, fmt.Errorf("--etcd-members: %w", err)
	}
	spec, err := etcdcluster.LoadOrCreate(filepath.Join(o.DataDir, "etcd-cluster"), o.EtcdMembers, "127.0.0.1")
	if err != nil {
		return nil, err
	}
	procs := make([]*process, len(spec.Members))
	for i, m := range spec.Members {
		if procs[i], err = start(component{name: "etcd-" + m.Name, bin: "etcd", args: spec.Args(i, false)}); err != nil {
			return nil, err
		}
	}
	for i := range spec.Members {
		if err := spec.WaitHealthy(ctx, i, time.Minute, procs[i].exited); err != nil {
			return nil, fmt.Errorf("etcd cluster: %w (log: %s; last lines:\n%s)", err, procs[i].logPath, tail(procs[i].logPath, 5))
		}
	}
	return []string{"--etcd-servers", strings.Join(spec.ClientURLs(), ",")}, nil
}
