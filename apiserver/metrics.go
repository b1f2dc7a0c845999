package apiserver

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// metrics are the API server's Prometheus metrics, on a registry of its own (no global state,
// so several servers can run in one test process).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	watchers *prometheus.GaugeVec
	etcd     *prometheus.HistogramVec
	// authnFailures counts requests refused with 401; authzDenied those refused with 403.
	authnFailures prometheus.Counter
	authzDenied   prometheus.Counter
	// crConversion times calls to custom resources' conversion webhooks, as Kubernetes'
	// apiserver_crd_conversion_webhook_duration_seconds does.
	crConversion *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total", Help: "API requests by verb, resource and HTTP code.",
		}, []string{"verb", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_request_duration_seconds", Help: "API request latency (watches excluded).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"verb", "resource"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers", Help: "Open watches by resource.",
		}, []string{"resource"}),
		etcd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "etcd_request_duration_seconds", Help: "Latency of storage operations against etcd.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"operation"}),
		authnFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "apiserver_authentication_failures_total", Help: "Requests refused with 401 (invalid credentials).",
		}),
		authzDenied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "apiserver_authorization_denied_total", Help: "Requests refused with 403 by authorization.",
		}),
		crConversion: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_crd_conversion_webhook_duration_seconds", Help: "Latency of custom resource conversion webhook calls.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30},
		}, []string{"crd_name", "from_version", "to_version", "succeeded"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.watchers, m.etcd, m.authnFailures, m.authzDenied, m.crConversion,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

type ctxKey int

const requestInfoKey ctxKey = 0

// requestInfoHolder lets the router report back which resource and verb a request resolved to.
type requestInfoHolder struct{ r *request }

func setRequestInfo(req *http.Request, r *request) {
	if h, ok := req.Context().Value(requestInfoKey).(*requestInfoHolder); ok {
		h.r = r
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument counts requests and times them, and logs failures.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		h := &requestInfoHolder{}
		req = req.WithContext(context.WithValue(req.Context(), requestInfoKey, h))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, req)
		if h.r == nil {
			return
		}
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(h.r.verb, h.r.kind.Resource, h.r.subresource, strconv.Itoa(code)).Inc()
		if h.r.verb != "watch" {
			s.metrics.latency.WithLabelValues(h.r.verb, h.r.kind.Resource).Observe(time.Since(start).Seconds())
		}
		if code >= 500 {
			s.log.Error("request failed", "verb", h.r.verb, "resource", h.r.kind.Resource, "name", h.r.name, "code", code)
		}
	})
}

// instrumentedStore times every storage call.
type instrumentedStore struct {
	storage.Interface
	m *metrics
}

func instrumentStore(s storage.Interface, m *metrics) storage.Interface {
	return &instrumentedStore{Interface: s, m: m}
}

func (s *instrumentedStore) observe(op string, start time.Time) {
	s.m.etcd.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (s *instrumentedStore) Create(ctx context.Context, key string, obj meta.Object) error {
	defer s.observe("create", time.Now())
	return s.Interface.Create(ctx, key, obj)
}

func (s *instrumentedStore) Get(ctx context.Context, key string, out meta.Object) error {
	defer s.observe("get", time.Now())
	return s.Interface.Get(ctx, key, out)
}

func (s *instrumentedStore) GuaranteedUpdate(ctx context.Context, key string, nf storage.NewFunc, fn storage.UpdateFunc, opts ...storage.UpdateOption) (meta.Object, error) {
	defer s.observe("update", time.Now())
	return s.Interface.GuaranteedUpdate(ctx, key, nf, fn, opts...)
}

func (s *instrumentedStore) Delete(ctx context.Context, key string, nf storage.NewFunc, pre func(meta.Object) error) (meta.Object, error) {
	defer s.observe("delete", time.Now())
	return s.Interface.Delete(ctx, key, nf, pre)
}

func (s *instrumentedStore) List(ctx context.Context, prefix string, nf storage.NewFunc, opts storage.ListOptions) (*storage.ListResult, error) {
	defer s.observe("list", time.Now())
	return s.Interface.List(ctx, prefix, nf, opts)
}

// cacheCollector exports the watch caches' counters at scrape time.
type cacheCollector struct {
	s                                       *Server
	received, dispatched, slow, relists, rv *prometheus.Desc
}

func newCacheCollector(s *Server) *cacheCollector {
	l := []string{"resource"}
	return &cacheCollector{s: s,
		received:   prometheus.NewDesc("apiserver_watch_cache_events_received_total", "Changes the watch cache read from etcd.", l, nil),
		dispatched: prometheus.NewDesc("apiserver_watch_cache_events_dispatched_total", "Events queued to watchers (one per watcher per event).", l, nil),
		slow:       prometheus.NewDesc("apiserver_watch_cache_terminated_watchers_total", "Watchers closed because they could not keep up.", l, nil),
		relists:    prometheus.NewDesc("apiserver_watch_cache_relists_total", "Lists of etcd by the watch cache (the first one included).", l, nil),
		rv:         prometheus.NewDesc("apiserver_watch_cache_resource_version", "The revision the watch cache has seen.", l, nil),
	}
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.received
	ch <- c.dispatched
	ch <- c.slow
	ch <- c.relists
	ch <- c.rv
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.eachCache(func(resource string, cache *watchcache.Cache) {
		st := cache.Stats()
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(st.EventsReceived), resource)
		ch <- prometheus.MustNewConstMetric(c.dispatched, prometheus.CounterValue, float64(st.EventsDispatched), resource)
		ch <- prometheus.MustNewConstMetric(c.slow, prometheus.CounterValue, float64(st.WatchersTerminatedSlow), resource)
		ch <- prometheus.MustNewConstMetric(c.relists, prometheus.CounterValue, float64(st.Relists), resource)
		ch <- prometheus.MustNewConstMetric(c.rv, prometheus.GaugeValue, float64(st.ResourceVersion), resource)
	})
}
