package server

import (
	"encoding/json"
	"net/http"

	"github.com/skiff-sh/skiff/nodeagent/stats"
)

// GET /stats/summary: the latest usage sample as the kubelet's Summary API (JSON);
// GET /metrics/resource: the same as Prometheus text. Before the first sample the summary
// is 503 (the kubelet's answer while its stats provider is not ready) and the metrics say
// resource_scrape_error 1.

func (s *Server) statsSummary(w http.ResponseWriter, _ *http.Request) {
	sum := s.summary()
	if sum == nil {
		http.Error(w, "node stats are not available yet", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}

func (s *Server) resourceMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = stats.WriteResourceMetrics(w, s.summary())
}
