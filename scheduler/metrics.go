package scheduler

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the scheduler's Prometheus metrics, named as kube-scheduler names them, on a
// registry of its own (no global state: several schedulers can run in one test process).
type metrics struct {
	reg              *prometheus.Registry
	attempts         *prometheus.CounterVec
	attemptDuration  *prometheus.HistogramVec
	e2e              *prometheus.HistogramVec
	preemptions      prometheus.Counter
	preemptionVictim prometheus.Histogram
	leader           prometheus.Gauge
}

func newMetrics(s *Scheduler) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scheduler_schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result: scheduled, unschedulable or error.",
		}, []string{"result", "profile"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_scheduling_attempt_duration_seconds",
			Help:    "Scheduling attempt latency (filter, score, preemption; binding excluded).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"result", "profile"}),
		e2e: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_pod_scheduling_sli_duration_seconds",
			Help:    "E2e latency of a pod: from entering the scheduling queue to its binding, over all attempts.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 20),
		}, []string{"attempts"}),
		preemptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scheduler_preemption_attempts_total", Help: "Total preemption attempts in the cluster so far.",
		}),
		preemptionVictim: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "scheduler_preemption_victims", Help: "Number of selected preemption victims.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 7),
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "leader_election_master_status", Help: "1 while this scheduler holds the leader lease.",
			ConstLabels: prometheus.Labels{"name": s.leaseName()},
		}),
	}
	pending := prometheus.NewDesc("scheduler_pending_pods", "Number of pending pods, by the queue type: active, backoff, unschedulable or gated.", []string{"queue"}, nil)
	cacheSize := prometheus.NewDesc("scheduler_cache_size", "Number of nodes, pods and assumed (bound but not yet confirmed) pods in the scheduler cache.", []string{"type"}, nil)
	dropped := prometheus.NewDesc("scheduler_events_dropped_total", "Events not recorded because the event queue was full.", nil, nil)
	m.reg.MustRegister(m.attempts, m.attemptDuration, m.e2e, m.preemptions, m.preemptionVictim, m.leader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectorFunc{descs: []*prometheus.Desc{pending, cacheSize, dropped}, collect: func(ch chan<- prometheus.Metric) {
			a, b, u, g := s.queue.Lengths()
			for q, n := range map[string]int{"active": a, "backoff": b, "unschedulable": u, "gated": g} {
				ch <- prometheus.MustNewConstMetric(pending, prometheus.GaugeValue, float64(n), q)
			}
			nodes, pods, assumed := s.cache.Counts()
			for t, n := range map[string]int{"nodes": nodes, "pods": pods, "assumed_pods": assumed} {
				ch <- prometheus.MustNewConstMetric(cacheSize, prometheus.GaugeValue, float64(n), t)
			}
			ch <- prometheus.MustNewConstMetric(dropped, prometheus.CounterValue, float64(s.eventsDropped()))
		}})
	for _, r := range []string{resultScheduled, resultUnschedulable, resultError} {
		for name := range s.profiles {
			m.attempts.WithLabelValues(r, name)
		}
	}
	return m
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// collectorFunc is a collector computed at scrape time.
type collectorFunc struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)
