package flowcontrol

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are Kubernetes' apiserver_flowcontrol_* series (a subset), registered on the
// API server's registry. A nil *Metrics records nothing.
type Metrics struct {
	executing  *prometheus.GaugeVec
	inQueue    *prometheus.GaugeVec
	limit      *prometheus.GaugeVec
	rejects    *prometheus.CounterVec
	dispatches *prometheus.CounterVec
	wait       *prometheus.HistogramVec
	seats      *prometheus.HistogramVec
}

// NewMetrics registers the series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		executing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_flowcontrol_current_executing_seats", Help: "Seats occupied by executing requests, by priority level.",
		}, []string{"priority_level"}),
		inQueue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_flowcontrol_current_inqueue_requests", Help: "Requests waiting in queues, by priority level.",
		}, []string{"priority_level"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_flowcontrol_nominal_limit_seats", Help: "Nominal number of execution seats of each priority level.",
		}, []string{"priority_level"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_flowcontrol_rejected_requests_total", Help: "Requests rejected, by priority level, flow schema and reason (queue-full, concurrency-limit, time-out, cancelled).",
		}, []string{"priority_level", "flow_schema", "reason"}),
		dispatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_flowcontrol_dispatched_requests_total", Help: "Requests given a seat, by priority level and flow schema.",
		}, []string{"priority_level", "flow_schema"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_flowcontrol_request_wait_duration_seconds", Help: "Time requests waited for a seat, by priority level.",
			Buckets: []float64{0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30},
		}, []string{"priority_level", "flow_schema"}),
		seats: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_flowcontrol_work_estimated_seats", Help: "Seats estimated for requests, by priority level and flow schema.",
			Buckets: []float64{1, 2, 4, 10},
		}, []string{"priority_level", "flow_schema"}),
	}
	reg.MustRegister(m.executing, m.inQueue, m.limit, m.rejects, m.dispatches, m.wait, m.seats)
	return m
}

func (m *Metrics) nominalLimit(level string, seats int) {
	if m != nil {
		m.limit.WithLabelValues(level).Set(float64(seats))
	}
}

func (m *Metrics) estimated(c Classification, seats int) {
	if m != nil {
		m.seats.WithLabelValues(c.PriorityLevel, c.FlowSchema).Observe(float64(seats))
	}
}

func (m *Metrics) waiting(level string, delta float64) {
	if m != nil {
		m.inQueue.WithLabelValues(level).Add(delta)
	}
}

func (m *Metrics) rejected(c Classification, reason string) {
	if m != nil {
		m.rejects.WithLabelValues(c.PriorityLevel, c.FlowSchema, reason).Inc()
	}
}

func (m *Metrics) dispatched(c Classification, waited time.Duration, seats int) {
	if m != nil {
		m.dispatches.WithLabelValues(c.PriorityLevel, c.FlowSchema).Inc()
		m.wait.WithLabelValues(c.PriorityLevel, c.FlowSchema).Observe(waited.Seconds())
		m.executing.WithLabelValues(c.PriorityLevel).Add(float64(seats))
	}
}

func (m *Metrics) finished(level string, seats int) {
	if m != nil {
		m.executing.WithLabelValues(level).Sub(float64(seats))
	}
}
