package proxy

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/proxy/netpol"
)

// The resources NetworkPolicy enforcement reads.
var (
	PodsResource            = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	NamespacesResource      = client.Resource{Version: "v1", Resource: "namespaces"}
	NetworkPoliciesResource = client.Resource{Group: networking.GroupName, Version: "v1", Resource: "networkpolicies", Namespaced: true}
)

// policyEnforcer enforces NetworkPolicies on this node. It is a sibling of the service
// proxy inside skiff-proxy rather than a part of it: both program the node's packet filter
// from watched objects and share the process, the metrics and the bounded-frequency
// syncer, but they read different objects, write different tables (netpol.Table vs the
// Service chains) and sync on their own, so a policy change never rewrites Service rules,
// a pod's status change never replans Services, and a failing sync of one leaves the other
// running.
type policyEnforcer struct {
	log      *slog.Logger
	nodeName string
	backend  *netpol.Backend
	extra    func() []netpol.Endpoint
	syncer   *syncer
	pods     *informer.Informer[core.Pod, *core.Pod]
	nss      *informer.Informer[core.Namespace, *core.Namespace]
	policies *informer.Informer[networking.NetworkPolicy, *networking.NetworkPolicy]
	m        *policyMetrics
}

type policyMetrics struct {
	duration prometheus.Histogram
	syncs    *prometheus.CounterVec
	isolated *prometheus.GaugeVec
	policies prometheus.Gauge
}

func newPolicyMetrics(reg *prometheus.Registry) *policyMetrics {
	m := &policyMetrics{
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "skiff_proxy_network_policy_sync_duration_seconds",
			Help:    "Time to plan the node's NetworkPolicy rules and apply them (one nft transaction).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_proxy_network_policy_syncs_total",
			Help: "NetworkPolicy syncs by result (applied, unchanged: nothing to run, error: the previous rules stay).",
		}, []string{"result"}),
		isolated: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "skiff_proxy_network_policy_isolated_pods",
			Help: "Pods of this node isolated by some NetworkPolicy, by direction.",
		}, []string{"direction"}),
		policies: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skiff_proxy_network_policy_chains",
			Help: "Policy chains programmed on this node (a policy per direction that isolates a local pod).",
		}),
	}
	reg.MustRegister(m.duration, m.syncs, m.isolated, m.policies)
	return m
}

// newPolicyEnforcer watches pods, namespaces and policies; a change requests a sync, at
// most one per minInterval, and everything is re-applied every period.
func newPolicyEnforcer(c *client.Client, nodeName string, backend *netpol.Backend, minInterval, period time.Duration,
	extra func() []netpol.Endpoint, reg *prometheus.Registry, log *slog.Logger) *policyEnforcer {
	e := &policyEnforcer{
		log: log, nodeName: nodeName, backend: backend, extra: extra, m: newPolicyMetrics(reg),
		pods:     informer.NewInformer(client.For[core.Pod](c, PodsResource), "", client.ListOptions{}, 0),
		nss:      informer.NewInformer(client.For[core.Namespace](c, NamespacesResource), "", client.ListOptions{}, 0),
		policies: informer.NewInformer(client.For[networking.NetworkPolicy](c, NetworkPoliciesResource), "", client.ListOptions{}, 0),
	}
	e.syncer = newSyncer(minInterval, period, e.sync)
	request := func() { e.syncer.Request() }
	e.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(*core.Pod) { request() },
		// Most pod updates are status churn that changes nothing a policy sees; planning
		// is cheap and an unchanged ruleset is not applied, but skip the obvious ones.
		UpdateFunc: func(o, n *core.Pod) {
			if podPolicyView(o) != podPolicyView(n) {
				request()
			}
		},
		DeleteFunc: func(*core.Pod) { request() },
	})
	e.nss.AddEventHandler(informer.Handler[*core.Namespace]{
		AddFunc: func(*core.Namespace) { request() }, UpdateFunc: func(o, n *core.Namespace) { request() },
		DeleteFunc: func(*core.Namespace) { request() },
	})
	e.policies.AddEventHandler(informer.Handler[*networking.NetworkPolicy]{
		AddFunc: func(*networking.NetworkPolicy) { request() }, UpdateFunc: func(o, n *networking.NetworkPolicy) { request() },
		DeleteFunc: func(*networking.NetworkPolicy) { request() },
	})
	return e
}

// podPolicyView is what of a pod a plan depends on, as one comparable value.
type podView struct {
	ip, ips, node, phase, labels, ports string
	hostNetwork                         bool
}

func podPolicyView(p *core.Pod) podView {
	v := podView{ip: p.Status.PodIP, node: p.Spec.NodeName, phase: string(p.Status.Phase), hostNetwork: p.Spec.HostNetwork}
	for _, ip := range p.Status.PodIPs {
		v.ips += ip.IP + ","
	}
	v.labels = labels.Set(p.Labels).String()
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			v.ports += cp.Name + "/" + string(cp.Protocol) + "/" + strconv.Itoa(int(cp.ContainerPort)) + ","
		}
	}
	return v
}

// run runs the informers and, once they hold a first list, the syncs, until ctx ends.
func (e *policyEnforcer) run(ctx context.Context) {
	go e.pods.Run(ctx)
	go e.nss.Run(ctx)
	go e.policies.Run(ctx)
	for !(e.pods.HasSynced() && e.nss.HasSynced() && e.policies.HasSynced()) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.syncer.run(ctx)
}

func (e *policyEnforcer) sync(ctx context.Context, full bool) error {
	start := time.Now()
	pl := netpol.Build(netpol.Input{
		NodeName: e.nodeName, Policies: e.policies.Indexer().List(),
		Pods: e.pods.Indexer().List(), Namespaces: e.nss.Indexer().List(), Extra: e.extra(),
	})
	ran, err := e.backend.Sync(ctx, pl, full)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		e.m.syncs.WithLabelValues("error").Inc()
		e.log.Error("NetworkPolicy sync failed; the previous rules stay in force, retrying", "err", err)
		return err
	}
	d := time.Since(start)
	st := pl.Stats()
	e.m.isolated.WithLabelValues("ingress").Set(float64(st.IsolatedIngress))
	e.m.isolated.WithLabelValues("egress").Set(float64(st.IsolatedEgress))
	e.m.policies.Set(float64(st.Policies))
	if !ran {
		e.m.syncs.WithLabelValues("unchanged").Inc()
		return nil
	}
	e.m.syncs.WithLabelValues("applied").Inc()
	e.m.duration.Observe(d.Seconds())
	e.log.Debug("NetworkPolicy rules applied", "chains", st.Policies, "isolatedIngress", st.IsolatedIngress,
		"isolatedEgress", st.IsolatedEgress, "rules", st.Rules, "setElements", st.SetElements, "took", d.Round(time.Microsecond))
	return nil
}
