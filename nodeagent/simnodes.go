package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/nodeagent/runtime/sim"
)

// SimNodeNames are the names RunSimNodes gives n nodes: prefix alone for one node,
// prefix-0 ... prefix-(n-1) otherwise.
func SimNodeNames(prefix string, n int) []string {
	if n == 1 {
		return []string{prefix}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return names
}

// RunSimNodes runs one simulated node per name in this process until ctx ends. They
// share one pod watch and one service watch; each has its own sim runtime, Lease and
// status. base is the configuration every node starts from (NodeName, Runtime, Sim and
// Sources are set per node; with base.Addr each node serves its stats on a port of its own
// on Addr's host).
func RunSimNodes(ctx context.Context, base Config, names []string, simOpts sim.Options) error {
	if base.Client == nil {
		return errors.New("nodeagent: Client is required")
	}
	sources := NewSharedSources(base.Client)
	if base.SyncSlots == nil {
		// A thousand nodes' workers share the process's API connections: bound what they
		// put in flight together, rather than queue thousands of requests at the server.
		base.SyncSlots = make(chan struct{}, 128)
	}
	if base.Resync == 0 {
		// Simulated pods have no volumes to refresh and their containers report every
		// change: the periodic resync is only a safety net, as the kubelet's is (1 min).
		base.Resync = time.Minute
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		cfg := base
		cfg.NodeName, cfg.Sim, cfg.Sources = name, true, sources
		if base.Addr != "" {
			// One port per node (the API server reaches a node by its address and port).
			host, _, _ := net.SplitHostPort(base.Addr)
			cfg.Addr = net.JoinHostPort(host, "0")
		}
		cfg.Runtime = sim.New(simOpts)
		cfg.Labels = map[string]string{}
		for k, v := range base.Labels {
			cfg.Labels[k] = v
		}
		cfg.Labels["type"] = "sim"
		a, err := New(cfg)
		if err != nil {
			return err
		}
		wg.Go(func() {
			if err := a.Run(ctx); err != nil && ctx.Err() == nil {
				errs[i] = fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
