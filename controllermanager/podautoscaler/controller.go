// Package podautoscaler is Kubernetes' horizontal pod autoscaler controller for resource
// metrics: every SyncPeriod it reads each HorizontalPodAutoscaler's target through its scale
// subresource (any kind that has one: Deployment, ReplicaSet, StatefulSet, a custom
// resource's), the usage of the target's pods from metrics.k8s.io, proposes a replica count
// per metric (Calculator), takes the highest, stabilizes and rate-limits it as the behavior
// says (memory), writes the scale, and reports status, conditions (AbleToScale,
// ScalingActive, ScalingLimited) and events with Kubernetes' reasons and words.
//
// Pods, Object and External metrics need a custom or external metrics API, which skiff does
// not serve: such a metric is reported as failing, as in a cluster without those APIs.
package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/metrics"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers.
const Name = "horizontalpodautoscaling"

// HorizontalPodAutoscalers is the resource the controller reads and writes.
var HorizontalPodAutoscalers = client.Resource{Group: autoscaling.GroupName, Version: "v2", Resource: "horizontalpodautoscalers", Namespaced: true}

// Options are kube-controller-manager's --horizontal-pod-autoscaler-* settings.
type Options struct {
	SyncPeriod              time.Duration // default 15s
	DownscaleStabilization  time.Duration // default 5m
	Tolerance               float64       // default 0.1
	CPUInitializationPeriod time.Duration // default 5m
	InitialReadinessDelay   time.Duration // default 30s
}

// Controller scales the targets of HorizontalPodAutoscalers.
type Controller struct {
	cc     *controller.Context
	o      Options
	hpas   *informer.Informer[autoscaling.HorizontalPodAutoscaler, *autoscaling.HorizontalPodAutoscaler]
	pods   *informer.Informer[core.Pod, *core.Pod]
	client *client.Typed[autoscaling.HorizontalPodAutoscaler, *autoscaling.HorizontalPodAutoscaler]
	queue  *controller.Queue
	events controller.EventRecorder
	log    *slog.Logger
	calc   *Calculator
	memory *memory
	now    func() time.Time

	mu        sync.Mutex
	mapper    controller.RESTMapper
	scheduled map[string]time.Time // the next periodic sync of each autoscaler
}

// New makes the controller.
func New(cc *controller.Context, o Options) *Controller {
	if o.SyncPeriod <= 0 {
		o.SyncPeriod = 15 * time.Second
	}
	if o.DownscaleStabilization <= 0 {
		o.DownscaleStabilization = 5 * time.Minute
	}
	c := &Controller{
		cc: cc, o: o,
		hpas:   informer.For[autoscaling.HorizontalPodAutoscaler](cc.Informers, HorizontalPodAutoscalers),
		pods:   controller.PodInformer(cc),
		client: client.For[autoscaling.HorizontalPodAutoscaler](cc.Client, HorizontalPodAutoscalers),
		queue:  controller.NewQueue(cc, Name),
		events: cc.Recorder("horizontal-pod-autoscaler"),
		log:    cc.Logger(Name),
		now:    time.Now,

		scheduled: map[string]time.Time{},
	}
	c.calc = &Calculator{Tolerance: o.Tolerance, CPUInitializationPeriod: o.CPUInitializationPeriod,
		DelayOfInitialReadinessStatus: o.InitialReadinessDelay, Now: func() time.Time { return c.now() }}
	c.memory = newMemory(func() time.Time { return c.now() }, o.DownscaleStabilization)
	c.hpas.AddEventHandler(informer.Handler[*autoscaling.HorizontalPodAutoscaler]{
		AddFunc: func(h *autoscaling.HorizontalPodAutoscaler) { c.queue.Enqueue(h) },
		UpdateFunc: func(old, h *autoscaling.HorizontalPodAutoscaler) {
			if old.Generation != h.Generation { // a spec change is acted on at once; status writes are ours
				c.queue.Enqueue(h)
			}
		},
		DeleteFunc: func(h *autoscaling.HorizontalPodAutoscaler) { c.memory.forget(informer.Key(h)) },
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.hpas.HasSynced, c.pods.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.cc.WorkerCount(), c.sync)
}

// sync reconciles one autoscaler and schedules its next periodic sync.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	hpa, ok := c.hpas.Indexer().GetByName(ns, name)
	if !ok {
		c.memory.forget(key)
		return nil
	}
	err := c.reconcile(ctx, hpa, key)
	if err != nil {
		c.log.Info("autoscaler not reconciled", "hpa", key, "err", err)
	}
	c.schedule(key)
	return nil // the periodic sync is the retry, as Kubernetes' fixed-interval rate limiter
}

func (c *Controller) schedule(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if next, ok := c.scheduled[key]; ok && next.After(now) {
		return
	}
	c.scheduled[key] = now.Add(c.o.SyncPeriod)
	c.queue.AddAfter(key, c.o.SyncPeriod)
}

// reconcile is reconcileAutoscaler.
func (c *Controller) reconcile(ctx context.Context, shared *autoscaling.HorizontalPodAutoscaler, key string) error {
	hpa := controller.DeepCopy(shared)
	original := controller.DeepCopy(&hpa.Status)
	ref := hpa.Spec.ScaleTargetRef
	reference := fmt.Sprintf("%s/%s/%s", ref.Kind, hpa.Namespace, ref.Name)

	res, scale, err := c.getScale(ctx, hpa.Namespace, ref)
	if err != nil {
		c.events.Event(hpa, core.EventTypeWarning, "FailedGetScale", err.Error())
		setCondition(hpa, autoscaling.AbleToScale, core.ConditionFalse, "FailedGetScale", "the HPA controller was unable to get the target's current scale: %v", err)
		c.updateStatusIfNeeded(ctx, original, hpa)
		return fmt.Errorf("failed to query scale subresource for %s: %w", reference, err)
	}
	setCondition(hpa, autoscaling.AbleToScale, core.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale")
	current := scale.Spec.Replicas
	c.memory.recordInitial(key, current)

	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	var (
		statuses []autoscaling.MetricStatus
		desired  int32
		reason   string
		rescale  = true
		retErr   error
	)
	switch {
	case current == 0 && minReplicas != 0:
		rescale = false
		setCondition(hpa, autoscaling.ScalingActive, core.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
	case current > hpa.Spec.MaxReplicas:
		reason, desired = "Current number of replicas above Spec.MaxReplicas", hpa.Spec.MaxReplicas
	case current < minReplicas:
		reason, desired = "Current number of replicas below Spec.MinReplicas", minReplicas
	default:
		proposal, metricName, sts, err := c.replicasForMetrics(ctx, hpa, scale)
		statuses = sts
		if err != nil && proposal == -1 {
			c.setStatus(hpa, current, hpa.Status.DesiredReplicas, statuses, false)
			c.updateStatusIfNeeded(ctx, original, hpa)
			c.events.Event(hpa, core.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error())
			return fmt.Errorf("failed to compute desired number of replicas based on listed metrics for %s: %w", reference, err)
		}
		retErr = err
		desired = proposal
		if desired > current {
			reason = metricName + " above target"
		}
		if desired < current {
			reason = "All metrics below target"
		}
		if hpa.Spec.Behavior == nil {
			desired = c.normalize(hpa, key, current, desired, minReplicas)
		} else {
			desired = c.normalizeWithBehavior(hpa, key, current, desired, minReplicas)
		}
		rescale = desired != current
	}

	if rescale {
		scale.Spec.Replicas = desired
		if err := c.cc.Client.Do(ctx, http.MethodPut, res.Path(hpa.Namespace, ref.Name, "scale"), scale, nil); err != nil {
			c.events.Eventf(hpa, core.EventTypeWarning, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, reason, err)
			setCondition(hpa, autoscaling.AbleToScale, core.ConditionFalse, "FailedUpdateScale", "the HPA controller was unable to update the target scale: %v", err)
			c.setStatus(hpa, current, hpa.Status.DesiredReplicas, statuses, false)
			c.updateStatusIfNeeded(ctx, original, hpa)
			return fmt.Errorf("failed to rescale %s: %w", reference, err)
		}
		setCondition(hpa, autoscaling.AbleToScale, core.ConditionTrue, "SucceededRescale", "the HPA controller was able to update the target scale to %d", desired)
		c.events.Eventf(hpa, core.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
		c.memory.storeScaleEvent(key, hpa.Spec.Behavior, current, desired)
		c.log.Info("rescaled", "hpa", key, "from", current, "to", desired, "reason", reason)
	} else {
		desired = current
	}
	c.setStatus(hpa, current, desired, statuses, rescale)
	if err := c.updateStatusIfNeeded(ctx, original, hpa); err != nil {
		return err
	}
	return retErr
}

// getScale finds the target's resource (discovery, for any kind with a scale subresource)
// and reads its scale.
func (c *Controller) getScale(ctx context.Context, ns string, ref autoscaling.CrossVersionObjectReference) (client.Resource, *autoscaling.Scale, error) {
	res, err := c.resourceFor(ctx, ref.APIVersion, ref.Kind)
	if err != nil {
		return res, nil, err
	}
	scale := &autoscaling.Scale{}
	if err := c.cc.Client.Do(ctx, http.MethodGet, res.Path(ns, ref.Name, "scale"), nil, scale); err != nil {
		return res, nil, err
	}
	return res, scale, nil
}

func (c *Controller) resourceFor(ctx context.Context, apiVersion, kind string) (client.Resource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.mapper.For(apiVersion, kind); ok {
		return r.Resource, nil
	}
	res, err := controller.Discover(ctx, c.cc.Client)
	if err != nil {
		return client.Resource{}, err
	}
	c.mapper = controller.NewRESTMapper(res)
	if r, ok := c.mapper.For(apiVersion, kind); ok {
		return r.Resource, nil
	}
	return client.Resource{}, fmt.Errorf("no matches for kind %q in group version %q", kind, apiVersion)
}

// replicasForMetrics is computeReplicasForMetrics: the highest proposal over the metrics;
// -1 with an error when every metric failed, or some did and the rest would scale down.
func (c *Controller) replicasForMetrics(ctx context.Context, hpa *autoscaling.HorizontalPodAutoscaler, scale *autoscaling.Scale) (int32, string, []autoscaling.MetricStatus, error) {
	sel, err := c.selector(hpa, scale.Status.Selector)
	if err != nil {
		return -1, "", nil, err
	}
	var pods []*core.Pod
	for _, p := range c.pods.Indexer().List() {
		if p.Namespace == hpa.Namespace && sel.Matches(labels.Set(p.Labels)) {
			pods = append(pods, p)
		}
	}
	statuses := make([]autoscaling.MetricStatus, len(hpa.Spec.Metrics))
	var (
		replicas     int32
		metricName   string
		invalid      int
		firstErr     error
		firstCond    autoscaling.HorizontalPodAutoscalerCondition
		usage        *metrics.PodMetricsList
		usageErr     error
		usageFetched bool
		specReplicas = scale.Spec.Replicas
	)
	fetch := func() (*metrics.PodMetricsList, error) {
		if !usageFetched {
			usage, usageErr = c.podMetrics(ctx, hpa.Namespace, sel)
			usageFetched = true
		}
		return usage, usageErr
	}
	for i, spec := range hpa.Spec.Metrics {
		proposal, name, cond, err := c.replicasForMetric(hpa, spec, specReplicas, pods, fetch, &statuses[i])
		if err != nil {
			if invalid == 0 {
				firstErr, firstCond = err, cond
			}
			invalid++
			continue
		}
		if replicas == 0 || proposal > replicas {
			replicas, metricName = proposal, name
		}
	}
	if firstErr != nil {
		firstErr = fmt.Errorf("invalid metrics (%v invalid out of %v), first error is: %v", invalid, len(hpa.Spec.Metrics), firstErr)
	}
	if invalid >= len(hpa.Spec.Metrics) || (invalid > 0 && replicas < specReplicas) {
		setCondition(hpa, firstCond.Type, firstCond.Status, firstCond.Reason, "%s", firstCond.Message)
		return -1, "", statuses, firstErr
	}
	setCondition(hpa, autoscaling.ScalingActive, core.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from %s", metricName)
	return replicas, metricName, statuses, firstErr
}

func (c *Controller) selector(hpa *autoscaling.HorizontalPodAutoscaler, s string) (labels.Selector, error) {
	if s == "" {
		c.events.Event(hpa, core.EventTypeWarning, "SelectorRequired", "selector is required")
		setCondition(hpa, autoscaling.ScalingActive, core.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector")
		return nil, errors.New("selector is required")
	}
	sel, err := labels.Parse(s)
	if err != nil {
		msg := fmt.Sprintf("couldn't convert selector into a corresponding internal selector object: %v", err)
		c.events.Event(hpa, core.EventTypeWarning, "InvalidSelector", msg)
		setCondition(hpa, autoscaling.ScalingActive, core.ConditionFalse, "InvalidSelector", "%s", msg)
		return nil, errors.New(msg)
	}
	return sel, nil
}

// replicasForMetric is computeReplicasForMetric for one metric.
func (c *Controller) replicasForMetric(hpa *autoscaling.HorizontalPodAutoscaler, spec autoscaling.MetricSpec, current int32, pods []*core.Pod,
	fetch func() (*metrics.PodMetricsList, error), status *autoscaling.MetricStatus) (int32, string, autoscaling.HorizontalPodAutoscalerCondition, error) {
	var (
		name      core.ResourceName
		target    autoscaling.MetricTarget
		container string
	)
	switch spec.Type {
	case autoscaling.ResourceMetricSourceType:
		name, target = spec.Resource.Name, spec.Resource.Target
	case autoscaling.ContainerResourceMetricSourceType:
		name, target, container = spec.ContainerResource.Name, spec.ContainerResource.Target, spec.ContainerResource.Container
	default:
		reason := map[autoscaling.MetricSourceType]string{autoscaling.PodsMetricSourceType: "FailedGetPodsMetric",
			autoscaling.ObjectMetricSourceType: "FailedGetObjectMetric", autoscaling.ExternalMetricSourceType: "FailedGetExternalMetric"}[spec.Type]
		if reason == "" {
			reason = "InvalidMetricSourceType"
		}
		err := fmt.Errorf("unable to get %s metric: the server could not find the requested resource (no custom or external metrics API is served)", spec.Type)
		return 0, "", c.unableCondition(hpa, reason, err), err
	}
	value, proposal, metricName, err := c.resourceProposal(current, name, target, container, spec.Type, pods, fetch)
	if err != nil {
		if spec.Type == autoscaling.ContainerResourceMetricSourceType {
			err = fmt.Errorf("failed to get %s container metric value: %w", container, err)
			return 0, "", c.unableCondition(hpa, "FailedGetContainerResourceMetric", err), err
		}
		err = fmt.Errorf("failed to get %s resource metric value: %w", name, err)
		return 0, "", c.unableCondition(hpa, "FailedGetResourceMetric", err), err
	}
	if spec.Type == autoscaling.ContainerResourceMetricSourceType {
		*status = autoscaling.MetricStatus{Type: spec.Type, ContainerResource: &autoscaling.ContainerResourceMetricStatus{Name: name, Container: container, Current: *value}}
	} else {
		*status = autoscaling.MetricStatus{Type: spec.Type, Resource: &autoscaling.ResourceMetricStatus{Name: name, Current: *value}}
	}
	return proposal, metricName, autoscaling.HorizontalPodAutoscalerCondition{}, nil
}

// resourceProposal is computeStatusForResourceMetricGeneric.
func (c *Controller) resourceProposal(current int32, name core.ResourceName, target autoscaling.MetricTarget, container string, typ autoscaling.MetricSourceType,
	pods []*core.Pod, fetch func() (*metrics.PodMetricsList, error)) (*autoscaling.MetricValueStatus, int32, string, error) {
	list, err := fetch()
	if err != nil {
		return nil, 0, "", fmt.Errorf("unable to get metrics for resource %s: %w", name, err)
	}
	usage := resourceUsage(list, name, container)
	if len(usage) == 0 {
		return nil, 0, "", fmt.Errorf("unable to get metrics for resource %s: no metrics returned from resource metrics API", name)
	}
	if target.AverageValue != nil {
		proposal, raw, err := c.calc.RawResourceReplicas(current, target.AverageValue.MilliValue(), name, pods, usage)
		if err != nil {
			return nil, 0, "", fmt.Errorf("failed to get %s usage: %w", name, err)
		}
		return &autoscaling.MetricValueStatus{AverageValue: resource.NewMilliQuantity(raw, resource.DecimalSI)}, proposal, string(name) + " resource", nil
	}
	if target.AverageUtilization == nil {
		return nil, 0, "", errors.New("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
	}
	proposal, util, raw, err := c.calc.ResourceReplicas(current, *target.AverageUtilization, name, pods, usage, container)
	if err != nil {
		return nil, 0, "", fmt.Errorf("failed to get %s utilization: %w", name, err)
	}
	metricName := fmt.Sprintf("%s resource utilization (percentage of request)", name)
	if typ == autoscaling.ContainerResourceMetricSourceType {
		metricName = fmt.Sprintf("%s container resource utilization (percentage of request)", name)
	}
	return &autoscaling.MetricValueStatus{AverageUtilization: &util, AverageValue: resource.NewMilliQuantity(raw, resource.DecimalSI)}, proposal, metricName, nil
}

// podMetrics reads the usage of the selected pods from metrics.k8s.io.
func (c *Controller) podMetrics(ctx context.Context, ns string, sel labels.Selector) (*metrics.PodMetricsList, error) {
	path := "/apis/" + metrics.GroupName + "/" + metrics.Version + "/namespaces/" + url.PathEscape(ns) + "/pods?labelSelector=" + url.QueryEscape(sel.String())
	list := &metrics.PodMetricsList{}
	if err := c.cc.Client.Do(ctx, http.MethodGet, path, nil, list); err != nil {
		return nil, err
	}
	return list, nil
}

// resourceUsage is the resource metrics client's GetResourceMetric: each pod's usage of name
// (summed over its containers, or one container's; pods without it are left out).
func resourceUsage(list *metrics.PodMetricsList, name core.ResourceName, container string) PodMetrics {
	out := PodMetrics{}
	for _, m := range list.Items {
		var sum int64
		found := false
		for _, ct := range m.Containers {
			if container != "" && ct.Name != container {
				continue
			}
			q, ok := ct.Usage[name]
			if !ok {
				found = false
				break
			}
			sum += q.MilliValue()
			found = true
		}
		if found {
			out[m.Name] = PodMetric{Value: sum, Timestamp: m.Timestamp.Time, Window: m.Window.Duration}
		}
	}
	return out
}

func (c *Controller) unableCondition(hpa *autoscaling.HorizontalPodAutoscaler, reason string, err error) autoscaling.HorizontalPodAutoscalerCondition {
	c.events.Event(hpa, core.EventTypeWarning, reason, err.Error())
	return autoscaling.HorizontalPodAutoscalerCondition{Type: autoscaling.ScalingActive, Status: core.ConditionFalse, Reason: reason,
		Message: fmt.Sprintf("the HPA was unable to compute the replica count: %v", err)}
}

// normalize is normalizeDesiredReplicas (no behavior).
func (c *Controller) normalize(hpa *autoscaling.HorizontalPodAutoscaler, key string, current, desired, minReplicas int32) int32 {
	stabilized := c.memory.stabilize(key, desired)
	if stabilized != desired {
		setCondition(hpa, autoscaling.AbleToScale, core.ConditionTrue, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation")
	} else {
		setCondition(hpa, autoscaling.AbleToScale, core.ConditionTrue, "ReadyForNewScale", "recommended size matches current size")
	}
	out, reason, msg := limitByRules(current, stabilized, minReplicas, hpa.Spec.MaxReplicas)
	limited := core.ConditionFalse
	if out != stabilized {
		limited = core.ConditionTrue
	}
	setCondition(hpa, autoscaling.ScalingLimited, limited, reason, "%s", msg)
	return out
}

// normalizeWithBehavior is normalizeDesiredReplicasWithBehaviors.
func (c *Controller) normalizeWithBehavior(hpa *autoscaling.HorizontalPodAutoscaler, key string, current, desired, minReplicas int32) int32 {
	b := hpa.Spec.Behavior
	up, down := b.ScaleUp, b.ScaleDown
	if up == nil {
		up = defaultScaleUp()
	}
	if down == nil {
		down = defaultScaleDown()
	}
	if down.StabilizationWindowSeconds == nil {
		d := *down
		w := int32(c.o.DownscaleStabilization.Seconds())
		d.StabilizationWindowSeconds = &w
		down = &d
	}
	stabilized, reason, msg := c.memory.stabilizeWithBehavior(key, current, desired, up, down)
	if stabilized != desired {
		setCondition(hpa, autoscaling.AbleToScale, core.ConditionTrue, reason, "%s", msg)
	} else {
		setCondition(hpa, autoscaling.AbleToScale, core.ConditionTrue, "ReadyForNewScale", "recommended size matches current size")
	}
	out, reason, msg := c.memory.limitByRate(key, current, stabilized, minReplicas, hpa.Spec.MaxReplicas, up, down)
	limited := core.ConditionFalse
	if out != stabilized {
		limited = core.ConditionTrue
	}
	setCondition(hpa, autoscaling.ScalingLimited, limited, reason, "%s", msg)
	return out
}

func (c *Controller) setStatus(hpa *autoscaling.HorizontalPodAutoscaler, current, desired int32, statuses []autoscaling.MetricStatus, rescale bool) {
	hpa.Status = autoscaling.HorizontalPodAutoscalerStatus{CurrentReplicas: current, DesiredReplicas: desired,
		LastScaleTime: hpa.Status.LastScaleTime, CurrentMetrics: statuses, Conditions: hpa.Status.Conditions,
		ObservedGeneration: &hpa.Generation}
	if rescale {
		now := meta.NewTime(c.now())
		hpa.Status.LastScaleTime = &now
	}
}

func (c *Controller) updateStatusIfNeeded(ctx context.Context, old *autoscaling.HorizontalPodAutoscalerStatus, hpa *autoscaling.HorizontalPodAutoscaler) error {
	if controller.SemanticEqual(old, &hpa.Status) {
		return nil
	}
	if _, err := c.client.UpdateStatus(ctx, hpa); err != nil {
		c.events.Event(hpa, core.EventTypeWarning, "FailedUpdateStatus", err.Error())
		return fmt.Errorf("failed to update status for %s: %w", hpa.Name, err)
	}
	return nil
}

// setCondition is Kubernetes' setCondition: the transition time moves only with the status.
func setCondition(hpa *autoscaling.HorizontalPodAutoscaler, typ autoscaling.HorizontalPodAutoscalerConditionType, status core.ConditionStatus, reason, format string, args ...any) {
	var cond *autoscaling.HorizontalPodAutoscalerCondition
	for i := range hpa.Status.Conditions {
		if hpa.Status.Conditions[i].Type == typ {
			cond = &hpa.Status.Conditions[i]
		}
	}
	if cond == nil {
		hpa.Status.Conditions = append(hpa.Status.Conditions, autoscaling.HorizontalPodAutoscalerCondition{Type: typ})
		cond = &hpa.Status.Conditions[len(hpa.Status.Conditions)-1]
	}
	if cond.Status != status {
		cond.LastTransitionTime = meta.Now()
	}
	cond.Status, cond.Reason, cond.Message = status, reason, fmt.Sprintf(format, args...)
}
