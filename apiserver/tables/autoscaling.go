package tables

import (
	"fmt"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// horizontalPodAutoscalerPrinter is Kubernetes' HPA table: TARGETS like "cpu: 250%/50%".
var horizontalPodAutoscalerPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Reference", "string", "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count."),
	column("Targets", "string", "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used)."),
	column("MinPods", "string", "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down."),
	column("MaxPods", "string", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up."),
	column("Replicas", "string", "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."),
	ageColumn,
}, func(h *autoscaling.HorizontalPodAutoscaler, now time.Time) meta.TableRow {
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *h.Spec.MinReplicas)
	}
	ref := h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name
	return meta.TableRow{Cells: []any{h.Name, ref, FormatHPAMetrics(h.Spec.Metrics, h.Status.CurrentMetrics), minPods,
		int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas), age(h.CreationTimestamp, now)}}
})

// FormatHPAMetrics is kubectl's TARGETS cell: current/target per metric, two at most.
func FormatHPAMetrics(specs []autoscaling.MetricSpec, statuses []autoscaling.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	var list []string
	for i, spec := range specs {
		var st *autoscaling.MetricStatus
		if i < len(statuses) {
			st = &statuses[i]
		}
		current := "<unknown>"
		switch spec.Type {
		case autoscaling.ExternalMetricSourceType:
			if spec.External.Target.AverageValue != nil {
				if st != nil && st.External != nil && st.External.Current.AverageValue != nil {
					current = st.External.Current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", current, spec.External.Target.AverageValue.String()))
			} else {
				if st != nil && st.External != nil && st.External.Current.Value != nil {
					current = st.External.Current.Value.String()
				}
				list = append(list, fmt.Sprintf("%s/%s", current, quantityString(spec.External.Target.Value)))
			}
		case autoscaling.PodsMetricSourceType:
			if st != nil && st.Pods != nil && st.Pods.Current.AverageValue != nil {
				current = st.Pods.Current.AverageValue.String()
			}
			list = append(list, fmt.Sprintf("%s/%s", current, quantityString(spec.Pods.Target.AverageValue)))
		case autoscaling.ObjectMetricSourceType:
			if spec.Object.Target.AverageValue != nil {
				if st != nil && st.Object != nil && st.Object.Current.AverageValue != nil {
					current = st.Object.Current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", current, spec.Object.Target.AverageValue.String()))
			} else {
				if st != nil && st.Object != nil && st.Object.Current.Value != nil {
					current = st.Object.Current.Value.String()
				}
				list = append(list, fmt.Sprintf("%s/%s", current, quantityString(spec.Object.Target.Value)))
			}
		case autoscaling.ResourceMetricSourceType, autoscaling.ContainerResourceMetricSourceType:
			name, target := resourceSpec(spec)
			var cur *autoscaling.MetricValueStatus
			if st != nil && st.Resource != nil {
				cur = &st.Resource.Current
			} else if st != nil && st.ContainerResource != nil {
				cur = &st.ContainerResource.Current
			}
			if target.AverageValue != nil {
				if cur != nil && cur.AverageValue != nil {
					current = cur.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s: %s/%s", name, current, target.AverageValue.String()))
			} else {
				if cur != nil && cur.AverageUtilization != nil {
					current = fmt.Sprintf("%d%%", *cur.AverageUtilization)
				}
				want := "<auto>"
				if target.AverageUtilization != nil {
					want = fmt.Sprintf("%d%%", *target.AverageUtilization)
				}
				list = append(list, fmt.Sprintf("%s: %s/%s", name, current, want))
			}
		default:
			list = append(list, "<unknown type>")
		}
	}
	if len(list) > 2 {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:2], ", "), len(list)-2)
	}
	return strings.Join(list, ", ")
}

func resourceSpec(spec autoscaling.MetricSpec) (string, autoscaling.MetricTarget) {
	if spec.Resource != nil {
		return string(spec.Resource.Name), spec.Resource.Target
	}
	return string(spec.ContainerResource.Name), spec.ContainerResource.Target
}

func quantityString(q *resource.Quantity) string {
	if q == nil {
		return "<nil>"
	}
	return q.String()
}
