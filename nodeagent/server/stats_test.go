package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/statsapi"
)

func TestStatsEndpoints(t *testing.T) {
	v := uint64(250_000_000)
	sum := &statsapi.Summary{Node: statsapi.NodeStats{NodeName: "n1"}, Pods: []statsapi.PodStats{{
		PodRef:     statsapi.PodReference{Name: "web", Namespace: "default", UID: "u1"},
		Containers: []statsapi.ContainerStats{{Name: "app", CPU: &statsapi.CPUStats{UsageNanoCores: &v, UsageCoreNanoSeconds: &v}}},
	}}}
	s := &Server{Stats: func() *statsapi.Summary { return sum }}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stats/summary")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("summary: %d %v", resp.StatusCode, err)
	}
	pod := got["pods"].([]any)[0].(map[string]any)
	if pod["podRef"].(map[string]any)["name"] != "web" || pod["containers"].([]any)[0].(map[string]any)["cpu"].(map[string]any)["usageNanoCores"] != float64(v) {
		t.Errorf("summary JSON: %v", got)
	}

	resp, err = http.Get(srv.URL + "/metrics/resource")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 0.25`) {
		t.Errorf("resource metrics:\n%s", b)
	}
}
