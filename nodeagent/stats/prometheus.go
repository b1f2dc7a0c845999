package stats

import (
	"bufio"
	"fmt"
	"github.com/skiff-sh/skiff/api/statsapi"
	"io"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// WriteResourceMetrics writes s as the kubelet's /metrics/resource does: Prometheus text,
// cumulative CPU in core-seconds and working sets in bytes for the node, each pod and each
// container, with the sample's time (ms) on every value.
func WriteResourceMetrics(w io.Writer, s *statsapi.Summary) error {
	bw := bufio.NewWriter(w)
	family := func(name, typ, help string) {
		fmt.Fprintf(bw, "# HELP %s [STABLE] %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	value := func(name, labels string, v float64, t meta.Time) {
		if labels != "" {
			labels = "{" + labels + "}"
		}
		fmt.Fprintf(bw, "%s%s %s %d\n", name, labels, strconv.FormatFloat(v, 'g', -1, 64), t.UnixMilli())
	}
	scrapeError := 0
	if s == nil {
		s, scrapeError = &statsapi.Summary{}, 1
	}
	type ctr struct {
		labels string
		c      *statsapi.ContainerStats
	}
	var cs []ctr
	for i := range s.Pods {
		p := &s.Pods[i]
		for j := range p.Containers {
			cs = append(cs, ctr{fmt.Sprintf(`container=%s,namespace=%s,pod=%s`, quote(p.Containers[j].Name), quote(p.PodRef.Namespace), quote(p.PodRef.Name)), &p.Containers[j]})
		}
	}
	family("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the container in core-seconds")
	for _, c := range cs {
		if cpu := c.c.CPU; cpu != nil && cpu.UsageCoreNanoSeconds != nil {
			value("container_cpu_usage_seconds_total", c.labels, float64(*cpu.UsageCoreNanoSeconds)/1e9, cpu.Time)
		}
	}
	family("container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes")
	for _, c := range cs {
		if m := c.c.Memory; m != nil && m.WorkingSetBytes != nil {
			value("container_memory_working_set_bytes", c.labels, float64(*m.WorkingSetBytes), m.Time)
		}
	}
	family("container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds")
	for _, c := range cs {
		fmt.Fprintf(bw, "container_start_time_seconds{%s} %d\n", c.labels, c.c.StartTime.Unix())
	}
	if n := s.Node; n.CPU != nil && n.CPU.UsageCoreNanoSeconds != nil {
		family("node_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the node in core-seconds")
		value("node_cpu_usage_seconds_total", "", float64(*n.CPU.UsageCoreNanoSeconds)/1e9, n.CPU.Time)
	}
	if n := s.Node; n.Memory != nil && n.Memory.WorkingSetBytes != nil {
		family("node_memory_working_set_bytes", "gauge", "Current working set of the node in bytes")
		value("node_memory_working_set_bytes", "", float64(*n.Memory.WorkingSetBytes), n.Memory.Time)
	}
	family("pod_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the pod in core-seconds")
	for i := range s.Pods {
		p := &s.Pods[i]
		if p.CPU != nil && p.CPU.UsageCoreNanoSeconds != nil {
			value("pod_cpu_usage_seconds_total", podLabels(p), float64(*p.CPU.UsageCoreNanoSeconds)/1e9, p.CPU.Time)
		}
	}
	family("pod_memory_working_set_bytes", "gauge", "Current working set of the pod in bytes")
	for i := range s.Pods {
		p := &s.Pods[i]
		if p.Memory != nil && p.Memory.WorkingSetBytes != nil {
			value("pod_memory_working_set_bytes", podLabels(p), float64(*p.Memory.WorkingSetBytes), p.Memory.Time)
		}
	}
	family("resource_scrape_error", "gauge", "1 if there was an error while getting container metrics, 0 otherwise")
	fmt.Fprintf(bw, "resource_scrape_error %d\n", scrapeError)
	return bw.Flush()
}

func podLabels(p *statsapi.PodStats) string {
	return fmt.Sprintf(`namespace=%s,pod=%s`, quote(p.PodRef.Namespace), quote(p.PodRef.Name))
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func quote(s string) string { return `"` + labelEscaper.Replace(s) + `"` }
