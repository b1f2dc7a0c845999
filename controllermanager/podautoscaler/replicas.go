package podautoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/skiff-sh/skiff/api/core"
)

// PodMetric is one pod's usage of a resource, in milli-units (millicores, milli-bytes: the
// unit Kubernetes' metrics client uses for every resource), with the window it was
// measured over.
type PodMetric struct {
	Value     int64
	Timestamp time.Time
	Window    time.Duration
}

// PodMetrics are usages by pod name.
type PodMetrics map[string]PodMetric

// Calculator is Kubernetes' ReplicaCalculator for resource metrics: from the pods of the
// target and their usage it proposes a replica count, counting pods that are not ready yet,
// not reporting, or on their way out the way Kubernetes does (so a scale-up is never larger
// and a scale-down never deeper than the pods that report justify).
type Calculator struct {
	// Tolerance: ratios within 1 ± Tolerance change nothing (default 0.1).
	Tolerance float64
	// CPUInitializationPeriod (default 5m) and DelayOfInitialReadinessStatus (default 30s)
	// decide when a starting pod's CPU counts (see groupPods).
	CPUInitializationPeriod       time.Duration
	DelayOfInitialReadinessStatus time.Duration
	Now                           func() time.Time
}

func (c *Calculator) tolerance() float64 {
	if c.Tolerance > 0 {
		return c.Tolerance
	}
	return 0.1
}

func (c *Calculator) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Calculator) within(ratio float64) bool {
	t := c.tolerance()
	return 1-t <= ratio && ratio <= 1+t
}

// errNoPods and the others are Kubernetes' words.
var (
	errNoPods    = errors.New("no pods returned by selector while calculating replica count")
	errNoMetrics = errors.New("did not receive metrics for targeted pods (pods might be unready)")
)

// ResourceReplicas is GetResourceReplicas: the replicas for a target utilization (percent of
// the pods' requests of resource; container "" for the whole pod), the current utilization
// and the average raw usage (milli-units).
func (c *Calculator) ResourceReplicas(currentReplicas, targetUtilization int32, resource core.ResourceName, pods []*core.Pod, metrics PodMetrics, container string) (replicas, utilization int32, rawUtilization int64, err error) {
	if len(pods) == 0 {
		return 0, 0, 0, errNoPods
	}
	metrics = clone(metrics)
	ready, unready, missing, ignored := c.groupPods(pods, metrics, resource)
	removeMetrics(metrics, ignored)
	removeMetrics(metrics, unready)
	if len(metrics) == 0 {
		return 0, 0, 0, errNoMetrics
	}
	requests, err := podRequests(pods, container, resource)
	if err != nil {
		return 0, 0, 0, err
	}
	ratio, utilization, rawUtilization, err := utilizationRatio(metrics, requests, targetUtilization)
	if err != nil {
		return 0, 0, 0, err
	}
	scaleUpWithUnready := len(unready) > 0 && ratio > 1.0
	if !scaleUpWithUnready && len(missing) == 0 {
		if c.within(ratio) {
			return currentReplicas, utilization, rawUtilization, nil
		}
		return int32(math.Ceil(ratio * float64(ready))), utilization, rawUtilization, nil
	}
	// Pods without metrics count as using their request (or the target, if higher) when
	// scaling down and nothing when scaling up; unready pods as nothing when scaling up.
	if len(missing) > 0 {
		for name := range missing {
			if ratio < 1.0 {
				metrics[name] = PodMetric{Value: requests[name] * int64(max(100, targetUtilization)) / 100}
			} else if ratio > 1.0 {
				metrics[name] = PodMetric{Value: 0}
			}
		}
	}
	if scaleUpWithUnready {
		for name := range unready {
			metrics[name] = PodMetric{Value: 0}
		}
	}
	newRatio, _, _, err := utilizationRatio(metrics, requests, targetUtilization)
	if err != nil {
		return 0, utilization, rawUtilization, err
	}
	return c.settle(currentReplicas, ratio, newRatio, len(metrics)), utilization, rawUtilization, nil
}

// RawResourceReplicas is GetRawResourceReplicas: the replicas for a target average usage
// per pod (milli-units), and the current average.
func (c *Calculator) RawResourceReplicas(currentReplicas int32, targetUsage int64, resource core.ResourceName, pods []*core.Pod, metrics PodMetrics) (replicas int32, usage int64, err error) {
	if len(pods) == 0 {
		return 0, 0, errNoPods
	}
	metrics = clone(metrics)
	ready, unready, missing, ignored := c.groupPods(pods, metrics, resource)
	removeMetrics(metrics, ignored)
	removeMetrics(metrics, unready)
	if len(metrics) == 0 {
		return 0, 0, errNoMetrics
	}
	ratio, usage := usageRatio(metrics, targetUsage)
	scaleUpWithUnready := len(unready) > 0 && ratio > 1.0
	if !scaleUpWithUnready && len(missing) == 0 {
		if c.within(ratio) {
			return currentReplicas, usage, nil
		}
		return int32(math.Ceil(ratio * float64(ready))), usage, nil
	}
	if len(missing) > 0 {
		for name := range missing {
			if ratio < 1.0 {
				metrics[name] = PodMetric{Value: targetUsage}
			} else if ratio > 1.0 {
				metrics[name] = PodMetric{Value: 0}
			}
		}
	}
	if scaleUpWithUnready {
		for name := range unready {
			metrics[name] = PodMetric{Value: 0}
		}
	}
	newRatio, _ := usageRatio(metrics, targetUsage)
	return c.settle(currentReplicas, ratio, newRatio, len(metrics)), usage, nil
}

// settle is the end of both calculations: no change within tolerance or when counting the
// missing and unready pods reverses the direction, and never a move against it.
func (c *Calculator) settle(current int32, ratio, newRatio float64, n int) int32 {
	if c.within(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0) {
		return current
	}
	replicas := int32(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1.0 && replicas > current) || (newRatio > 1.0 && replicas < current) {
		return current
	}
	return replicas
}

type nameSet map[string]struct{}

// groupPods is Kubernetes' groupPods: terminating and failed pods are ignored, pending ones
// are unready, pods without a metric are missing; for CPU, a pod still in its initialization
// period counts as unready while it is not Ready or its metric predates readiness, and
// after it only if it never became Ready within DelayOfInitialReadinessStatus.
func (c *Calculator) groupPods(pods []*core.Pod, metrics PodMetrics, resource core.ResourceName) (ready int, unready, missing, ignored nameSet) {
	unready, missing, ignored = nameSet{}, nameSet{}, nameSet{}
	initPeriod, delay := c.CPUInitializationPeriod, c.DelayOfInitialReadinessStatus
	if initPeriod == 0 {
		initPeriod = 5 * time.Minute
	}
	if delay == 0 {
		delay = 30 * time.Second
	}
	now := c.now()
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == core.PodFailed {
			ignored[pod.Name] = struct{}{}
			continue
		}
		if pod.Status.Phase == core.PodPending {
			unready[pod.Name] = struct{}{}
			continue
		}
		metric, found := metrics[pod.Name]
		if !found {
			missing[pod.Name] = struct{}{}
			continue
		}
		if resource == core.ResourceCPU {
			cond := readyCondition(pod)
			var notReady bool
			switch {
			case cond == nil || pod.Status.StartTime == nil:
				notReady = true
			case pod.Status.StartTime.Add(initPeriod).After(now):
				notReady = cond.Status == core.ConditionFalse || metric.Timestamp.Before(cond.LastTransitionTime.Add(metric.Window))
			default:
				notReady = cond.Status == core.ConditionFalse && pod.Status.StartTime.Add(delay).After(cond.LastTransitionTime.Time)
			}
			if notReady {
				unready[pod.Name] = struct{}{}
				continue
			}
		}
		ready++
	}
	return ready, unready, missing, ignored
}

func readyCondition(p *core.Pod) *core.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == core.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// podRequests sums each pod's requests of resource (milli-units), over its containers and
// sidecars, or over one container; a container without a request is an error.
func podRequests(pods []*core.Pod, container string, resource core.ResourceName) (map[string]int64, error) {
	out := make(map[string]int64, len(pods))
	for _, pod := range pods {
		containers := append([]core.Container{}, pod.Spec.Containers...)
		for _, c := range pod.Spec.InitContainers {
			if c.RestartPolicy != nil && *c.RestartPolicy == core.ContainerRestartPolicyAlways {
				containers = append(containers, c)
			}
		}
		var sum int64
		for _, c := range containers {
			if container != "" && container != c.Name {
				continue
			}
			q, ok := c.Resources.Requests[resource]
			if !ok {
				return nil, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, c.Name, pod.Name)
			}
			sum += q.MilliValue()
		}
		out[pod.Name] = sum
	}
	return out, nil
}

// utilizationRatio is GetResourceUtilizationRatio.
func utilizationRatio(metrics PodMetrics, requests map[string]int64, target int32) (ratio float64, utilization int32, raw int64, err error) {
	var total, reqTotal int64
	n := 0
	for name, m := range metrics {
		req, ok := requests[name]
		if !ok {
			continue
		}
		total += m.Value
		reqTotal += req
		n++
	}
	if reqTotal == 0 {
		return 0, 0, 0, errors.New("no metrics returned matched known pods")
	}
	utilization = int32(total * 100 / reqTotal)
	return float64(utilization) / float64(target), utilization, total / int64(n), nil
}

// usageRatio is GetMetricUsageRatio.
func usageRatio(metrics PodMetrics, target int64) (float64, int64) {
	var total int64
	for _, m := range metrics {
		total += m.Value
	}
	usage := total / int64(len(metrics))
	return float64(usage) / float64(target), usage
}

func clone(m PodMetrics) PodMetrics {
	out := make(PodMetrics, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func removeMetrics(m PodMetrics, names nameSet) {
	for n := range names {
		delete(m, n)
	}
}
