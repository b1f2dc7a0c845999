package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the proxy's Prometheus metrics, named as kube-proxy names them where it has
// the same thing, on a registry of the proxy's own (several proxies can run in one test).
type metrics struct {
	reg          *prometheus.Registry
	syncDuration prometheus.Histogram
	lastSync     prometheus.Gauge
	lastQueued   prometheus.Gauge
	syncErrors   prometheus.Counter
	syncs        *prometheus.CounterVec
	rules        prometheus.Gauge
	services     prometheus.Gauge
	endpoints    prometheus.Gauge
	noEndpoints  prometheus.Gauge
}

func newMetrics(mode string) *metrics {
	labels := prometheus.Labels{"mode": mode}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kubeproxy_sync_proxy_rules_duration_seconds", ConstLabels: labels,
			Help:    "Time to compute and apply the whole ruleset (one iptables-restore or nft -f).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds", ConstLabels: labels,
			Help: "Unix time of the last successful sync.",
		}),
		lastQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds", ConstLabels: labels,
			Help: "Unix time of the last change to Services or EndpointSlices that asked for a sync.",
		}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubeproxy_sync_proxy_rules_errors_total", ConstLabels: labels,
			Help: "Syncs that failed (the previous rules stayed in force; the sync is retried).",
		}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubeproxy_sync_proxy_rules_total", ConstLabels: labels,
			Help: "Syncs by kind (full: kernel state re-read and everything re-applied; partial) and result.",
		}, []string{"kind", "result"}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubeproxy_sync_proxy_rules_count", ConstLabels: labels,
			Help: "Rules (and, for nftables, map elements) in the last applied ruleset.",
		}),
		services: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubeproxy_service_ports", ConstLabels: labels, Help: "Service ports programmed.",
		}),
		endpoints: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubeproxy_service_endpoints", ConstLabels: labels, Help: "Endpoints programmed (summed over service ports).",
		}),
		noEndpoints: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubeproxy_service_ports_without_endpoints", ConstLabels: labels, Help: "Service ports that reject connections: no usable endpoint.",
		}),
	}
	m.reg.MustRegister(m.syncDuration, m.lastSync, m.lastQueued, m.syncErrors, m.syncs, m.rules,
		m.services, m.endpoints, m.noEndpoints,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, k := range []string{"full", "partial"} {
		for _, r := range []string{"success", "error"} {
			m.syncs.WithLabelValues(k, r)
		}
	}
	return m
}
