package skifftest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/record"
	"github.com/skiff-sh/skiff/controllermanager"
	"github.com/skiff-sh/skiff/nodeagent"
	"github.com/skiff-sh/skiff/nodeagent/runtime/sim"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/scheduler"
)

// startComponents runs the controller manager, the scheduler and the simulated nodes in
// this process, each with the identity `skiff up` gives it, and waits until they are
// useful: the default ServiceAccount exists and every node is Ready.
func (c *Cluster) startComponents(ctx context.Context, o Options) error {
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	c.stop = append(c.stop, func() { cancel(); wg.Wait() })
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f(runCtx)
			if runCtx.Err() == nil { // it stopped on its own: the cluster is broken
				if err == nil {
					err = errors.New("returned")
				}
				c.fail(fmt.Errorf("%s: %w", name, err))
			}
		}()
	}
	if !o.NoControllers {
		cfg, err := c.controllerManagerConfig()
		if err != nil {
			return err
		}
		run("controller manager", func(ctx context.Context) error { return controllermanager.Run(ctx, cfg) })
	}
	if !o.NoScheduler {
		cl, err := c.componentClient(pki.Scheduler, "skiff-scheduler")
		if err != nil {
			return err
		}
		run("scheduler", func(ctx context.Context) error {
			return scheduler.Run(ctx, scheduler.Config{Client: cl, Logger: c.log})
		})
	}
	if o.Nodes > 0 {
		base, err := c.simNodeConfig(o)
		if err != nil {
			return err
		}
		c.Nodes = nodeagent.SimNodeNames("sim", o.Nodes)
		names := c.Nodes
		run("simulated nodes", func(ctx context.Context) error {
			return nodeagent.RunSimNodes(ctx, base, names, sim.Options{})
		})
	}
	admin, err := client.New(c.ClientConfig())
	if err != nil {
		return err
	}
	if !o.NoControllers {
		// Pods are refused (ServiceAccount admission) until their namespace's default
		// account exists, and the controller manager creates it a moment after it starts.
		sas := client.For[core.ServiceAccount](admin, client.Resource{Version: "v1", Resource: "serviceaccounts", Namespaced: true})
		if err := c.wait(ctx, "the default ServiceAccount", func() (bool, string) {
			_, err := sas.Get(ctx, "default", "default")
			return err == nil, fmt.Sprint(err)
		}); err != nil {
			return err
		}
	}
	return c.waitNodesReady(ctx, admin, len(c.Nodes))
}

// componentClient is an unthrottled client with identity r (components pace themselves).
func (c *Cluster) componentClient(r pki.CertRequest, userAgent string) (*client.Client, error) {
	cert, key, err := c.PKI.CA.Issue(r)
	if err != nil {
		return nil, err
	}
	cfg := &client.Config{Host: c.URL, UserAgent: userAgent,
		TLS: client.TLSConfig{CAData: c.CAData, CertData: cert, KeyData: key}}
	return client.New(cfg)
}

// controllerManagerConfig is skiff up's controller manager: every controller, the cluster
// CA for CertificateSigningRequests and kube-root-ca.crt, the ServiceAccount signing key
// for token Secrets; no leader election and no metrics port (nothing to compete with, and
// no port to collide with parallel tests).
func (c *Cluster) controllerManagerConfig() (controllermanager.Config, error) {
	cl, err := c.componentClient(pki.ControllerManager, "skiff-controller-manager")
	if err != nil {
		return controllermanager.Config{}, err
	}
	cfg := controllermanager.Config{Client: cl, Controllers: []string{"*"}, MetricsAddr: "-", Logger: c.log}
	o := &cfg.Options
	o.RootCA.RootCA = c.CAData
	o.CSRSigning.CertFile, o.CSRSigning.KeyFile = c.PKI.File(pki.CACert), c.PKI.File(pki.CAKey)
	o.CSRSigning.Duration = 365 * 24 * time.Hour
	if o.ServiceAccountToken.SigningKey, err = serviceaccount.LoadSigningKey(c.PKI.File(pki.SAKey)); err != nil {
		return cfg, err
	}
	o.ServiceAccountToken.RootCA = c.CAData
	// The rest as skiff-controller-manager's flag defaults.
	o.NodeLifecycle.MonitorPeriod, o.NodeLifecycle.GracePeriod, o.NodeLifecycle.StartupGracePeriod = 5*time.Second, 40*time.Second, 60*time.Second
	o.NodeLifecycle.EvictionRate, o.NodeLifecycle.SecondaryEvictionRate = 0.1, 0.01
	o.IPAM.ClusterCIDR, o.IPAM.NodeMaskSize = "10.244.0.0/16", 24
	o.PodGC.TerminatedPodThreshold = 12500
	return cfg, nil
}

// simNodeConfig is what every simulated node starts from. One client carries every node,
// so no single node identity fits it: it is an administrator, as skiff up's simulator is.
func (c *Cluster) simNodeConfig(o Options) (nodeagent.Config, error) {
	cl, err := c.componentClient(pki.CertRequest{CommonName: "skiff:sim-nodes", Organization: []string{"system:masters"}, Usage: pki.ClientAuth}, "skiff-nodeagent/sim")
	if err != nil {
		return nodeagent.Config{}, err
	}
	cpu, mem := o.NodeCPU, o.NodeMemory
	if cpu == "" {
		cpu = "32"
	}
	if mem == "" {
		mem = "256Gi"
	}
	capacity := core.ResourceList{}
	for name, v := range map[core.ResourceName]string{core.ResourceCPU: cpu, core.ResourceMemory: mem, core.ResourceEphemeralStorage: "1Ti"} {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nodeagent.Config{}, fmt.Errorf("node %s %q: %w", name, v, err)
		}
		capacity[name] = q
	}
	base := nodeagent.Config{Client: cl, Capacity: capacity, NodeIP: "127.0.0.1", Log: c.log, Port: 10250,
		DNS: nodeagent.DNSConfig{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local"}}
	if o.Nodes > 1 {
		base.Workers = 2 // as skiff-nodeagent --sim-nodes gives each of many nodes
	}
	if o.Nodes <= 100 {
		// A thousand nodes' pod events would drown the API (skiff up turns them off too).
		base.Recorder = record.NewRecorder(cl, "kubelet", "")
	}
	return base, nil
}

// waitNodesReady waits until n nodes are registered and Ready.
func (c *Cluster) waitNodesReady(ctx context.Context, admin *client.Client, n int) error {
	if n == 0 {
		return nil
	}
	nodes := client.For[core.Node](admin, client.Resource{Version: "v1", Resource: "nodes"})
	return c.wait(ctx, fmt.Sprintf("%d Ready nodes", n), func() (bool, string) {
		list, err := nodes.List(ctx, "", client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var notReady []string
		ready := 0
		for _, node := range list.Items {
			if node.IsReady() {
				ready++
			} else if len(notReady) < 5 {
				notReady = append(notReady, node.Name)
			}
		}
		return ready >= n, fmt.Sprintf("%d of %d registered nodes Ready (not yet: %s)", ready, len(list.Items), strings.Join(notReady, ", "))
	})
}

// wait polls cond until it holds, a component fails, or ctx ends (then the error says what
// was last seen).
func (c *Cluster) wait(ctx context.Context, what string, cond func() (bool, string)) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, seen := cond()
		if ok {
			return nil
		}
		select {
		case err := <-c.errs:
			return fmt.Errorf("waiting for %s: %w", what, err)
		case <-ctx.Done():
			return fmt.Errorf("%s not there within the start timeout (last seen: %s)", what, seen)
		case <-tick.C:
		}
	}
}
