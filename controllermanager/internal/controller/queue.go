package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/client/workqueue"
)

// Metrics are the controllers' Prometheus metrics: queue depth, reconcile latency and errors,
// labelled by controller. One Metrics serves every controller of a process.
type Metrics struct {
	latency *prometheus.HistogramVec
	errors  *prometheus.CounterVec
	retries *prometheus.CounterVec
	depth   *prometheus.Desc

	mu     sync.Mutex
	queues map[string]func() int
}

// NewMetrics registers the controller metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "controller_reconcile_duration_seconds",
			Help:    "How long one reconcile of one key took, by controller.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"controller"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controller_reconcile_errors_total",
			Help: "Reconciles that failed (and were requeued with backoff), by controller.",
		}, []string{"controller"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workqueue_retries_total",
			Help: "Keys requeued with backoff, by queue.",
		}, []string{"name"}),
		depth:  prometheus.NewDesc("workqueue_depth", "Keys waiting in a controller's queue.", []string{"name"}, nil),
		queues: map[string]func() int{},
	}
	if reg != nil {
		reg.MustRegister(m.latency, m.errors, m.retries, m)
	}
	return m
}

// Describe and Collect make Metrics a collector of the queue depths (read at scrape time).
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.depth }

func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, depth := range m.queues {
		ch <- prometheus.MustNewConstMetric(m.depth, prometheus.GaugeValue, float64(depth()), name)
	}
}

func (m *Metrics) addQueue(name string, depth func() int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queues[name] = depth
}

// conflictRetry is when a key whose reconcile hit a write conflict is looked at again, if no
// watch event has queued it before.
const conflictRetry = time.Second

// Queue is a controller's workqueue of object keys and the worker loop that drains it, as
// in kubernetes/sample-controller: a key is reconciled by one worker at a time, forgotten on
// success and requeued with per-key exponential backoff on error.
type Queue struct {
	name string
	q    *workqueue.Queue[string]
	m    *Metrics
	log  *slog.Logger
}

// NewQueue makes the queue of one controller.
func NewQueue(cc *Context, name string) *Queue {
	q := &Queue{name: name, q: workqueue.New[string](), m: cc.Metrics, log: cc.Logger(name)}
	cc.Metrics.addQueue(name, q.q.Len)
	return q
}

// Add queues key.
func (q *Queue) Add(key string) { q.q.Add(key) }

// AddAfter queues key once d has passed.
func (q *Queue) AddAfter(key string, d time.Duration) { q.q.AddAfter(key, d) }

// AddRateLimited queues key after its backoff.
func (q *Queue) AddRateLimited(key string) { q.q.AddRateLimited(key) }

// Enqueue queues the key of obj.
func (q *Queue) Enqueue(obj meta.Object) { q.q.Add(informer.Key(obj)) }

// Len is the number of keys waiting.
func (q *Queue) Len() int { return q.q.Len() }

// Run runs workers that reconcile keys with sync until ctx ends; it returns once they have
// stopped. reconcile returns an error to have the key retried with backoff.
func (q *Queue) Run(ctx context.Context, workers int, reconcile func(ctx context.Context, key string) error) {
	go func() {
		<-ctx.Done()
		q.q.ShutDown()
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q.next(ctx, reconcile) {
			}
		}()
	}
	wg.Wait()
}

func (q *Queue) next(ctx context.Context, reconcile func(ctx context.Context, key string) error) bool {
	key, shutdown := q.q.Get()
	if shutdown {
		return false
	}
	defer q.q.Done(key)
	start := time.Now()
	err := reconcile(ctx, key)
	if q.m != nil {
		q.m.latency.WithLabelValues(q.name).Observe(time.Since(start).Seconds())
	}
	if err == nil {
		q.q.Forget(key)
		return true
	}
	if ctx.Err() != nil {
		return true // shutting down: the error is the cancellation
	}
	if q.m != nil {
		q.m.errors.WithLabelValues(q.name).Inc()
		q.m.retries.WithLabelValues(q.name).Inc()
	}
	if client.IsConflict(err) {
		// A conflict is the normal outcome of racing a newer write, whose watch event queues
		// the key again as soon as the cache has it; the delay is only a safety net. Sent
		// through the rate limiter instead, a burst of conflicts (every ReplicaSet of a large
		// rollout) would queue behind its shared budget of 10 retries a second.
		q.log.Debug("reconcile conflict, retrying", "key", key, "err", err)
		q.q.Forget(key)
		q.q.AddAfter(key, conflictRetry)
		return true
	}
	q.log.Info("reconcile failed, retrying", "key", key, "err", err, "retries", q.q.NumRequeues(key))
	q.q.AddRateLimited(key)
	return true
}

// WaitForSync waits for the informers' first lists; false if ctx ended first.
func WaitForSync(ctx context.Context, log *slog.Logger, synced ...func() bool) bool {
	if !informer.WaitForCacheSync(ctx, synced...) {
		return false
	}
	log.Info("caches synced, starting workers")
	return true
}
