// Package endpointslice keeps the endpoints of Services, as Kubernetes' endpointslice,
// endpoints and endpointslice-mirroring controllers do:
//
//   - Controller: for every Service with a selector, EndpointSlices (at most 100 endpoints
//     each) of the matching pods that have an IP, with ready/serving/terminating conditions,
//     targetPorts resolved by name per pod, publishNotReadyAddresses honoured and headless
//     Services labelled. Services without a selector are left to the user.
//   - EndpointsController: the same as a v1 Endpoints object, for clients that still read
//     those.
//   - MirroringController: the Endpoints a user writes for a Service without a selector,
//     mirrored into EndpointSlices, so that the proxy (which reads slices only) serves them.
package endpointslice

import (
	"context"
	"log/slog"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "endpointslice"

// Controller keeps the EndpointSlices of Services with selectors.
type Controller struct {
	services *informer.Informer[core.Service, *core.Service]
	pods     *informer.Informer[core.Pod, *core.Pod]
	slices   *informer.Informer[discovery.EndpointSlice, *discovery.EndpointSlice]
	nodes    *informer.Informer[core.Node, *core.Node]
	client   *client.Typed[discovery.EndpointSlice, *discovery.EndpointSlice]
	queue    *controller.Queue
	tracker  *controller.WriteTracker
	workers  int
	log      *slog.Logger
}

// byServiceIndex indexes slices by "namespace/service-name".
const byServiceIndex = "service"

func indexSlicesByService(inf *informer.Informer[discovery.EndpointSlice, *discovery.EndpointSlice]) {
	_ = inf.AddIndexers(map[string]informer.IndexFunc[*discovery.EndpointSlice]{
		byServiceIndex: func(s *discovery.EndpointSlice) []string {
			if name := s.Labels[LabelServiceName]; name != "" {
				return []string{s.Namespace + "/" + name}
			}
			return nil
		},
	})
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		services: controller.ServiceInformer(cc),
		pods:     controller.PodInformer(cc),
		slices:   controller.EndpointSliceInformer(cc),
		nodes:    controller.NodeInformer(cc),
		client:   client.For[discovery.EndpointSlice](cc.Client, controller.EndpointSlices),
		queue:    controller.NewQueue(cc, Name),
		tracker:  controller.NewWriteTracker(),
		workers:  cc.WorkerCount(),
		log:      cc.Logger(Name),
	}
	indexSlicesByService(c.slices)
	c.services.AddEventHandler(informer.Handler[*core.Service]{
		AddFunc:    func(s *core.Service) { c.queue.Enqueue(s) },
		UpdateFunc: func(_, s *core.Service) { c.queue.Enqueue(s) },
		DeleteFunc: func(s *core.Service) {
			c.tracker.Forget(informer.Key(s))
			c.queue.Enqueue(s)
		},
	})
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(p *core.Pod) { c.enqueueServicesOf(p, nil) },
		UpdateFunc: func(old, p *core.Pod) {
			if old.ResourceVersion != p.ResourceVersion {
				c.enqueueServicesOf(p, old)
			}
		},
		DeleteFunc: func(p *core.Pod) { c.enqueueServicesOf(p, nil) },
	})
	// Someone else changing or deleting a managed slice gets it put back.
	enqueueSlice := func(s *discovery.EndpointSlice) {
		if s.Labels[LabelManagedBy] == ManagedByController && s.Labels[LabelServiceName] != "" {
			c.queue.Add(s.Namespace + "/" + s.Labels[LabelServiceName])
		}
	}
	c.slices.AddEventHandler(informer.Handler[*discovery.EndpointSlice]{
		AddFunc:    enqueueSlice,
		UpdateFunc: func(_, s *discovery.EndpointSlice) { enqueueSlice(s) },
		DeleteFunc: enqueueSlice,
	})
	return c
}

// enqueueServicesOf queues the Services that select pod now or selected it before.
func (c *Controller) enqueueServicesOf(p, old *core.Pod) {
	for _, svc := range c.services.Indexer().ListNamespace(p.Namespace) {
		if !selectsPods(svc) {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		if sel.Matches(labels.Set(p.Labels)) || (old != nil && sel.Matches(labels.Set(old.Labels))) {
			c.queue.Enqueue(svc)
		}
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.services.HasSynced, c.pods.HasSynced, c.slices.HasSynced, c.nodes.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) managedSlices(key string) []*discovery.EndpointSlice {
	all, _ := c.slices.Indexer().ByIndex(byServiceIndex, key)
	var out []*discovery.EndpointSlice
	for _, s := range all {
		if s.Labels[LabelManagedBy] == ManagedByController {
			out = append(out, s)
		}
	}
	return out
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, _ := informer.SplitKey(key)
	svc, ok := c.services.Indexer().Get(key)
	if !ok {
		return nil // its slices are owned by it: the garbage collector removes them
	}
	if !c.tracker.CaughtUp(key, func(name string) (string, bool) {
		s, ok := c.slices.Indexer().GetByName(ns, name)
		if !ok {
			return "", false
		}
		return s.ResourceVersion, true
	}) {
		return nil // the slice event that catches the cache up queues the Service again
	}
	existing := c.managedSlices(key)
	if svc.Spec.Type == core.ServiceTypeExternalName {
		// An ExternalName Service has no endpoints: drop any left from an earlier type.
		return (&plan{deletes: existing}).apply(ctx, c.client, c.tracker, key)
	}
	if len(svc.Spec.Selector) == 0 {
		return nil
	}
	o := &owner{
		namespace: svc.Namespace, serviceName: svc.Name, managedBy: ManagedByController,
		labels: serviceLabels(svc), ref: meta.NewControllerRef(svc, "v1", "Service"), placeholder: true,
	}
	groups := c.desired(svc)
	return makePlan(o, existing, groups).apply(ctx, c.client, c.tracker, key)
}

// desired groups the endpoints of the pods svc selects by address type and ports.
func (c *Controller) desired(svc *core.Service) []group {
	byKey := map[string]*group{}
	var order []string
	types := addressTypes(svc)
	for _, at := range types {
		// An empty group per family, so a Service without endpoints still gets its placeholder
		// of the right address type.
		g := &group{addressType: at}
		byKey[g.key()] = g
		order = append(order, g.key())
	}
	for _, p := range selectedPods(svc, c.pods.Indexer().ListNamespace(svc.Namespace)) {
		if !shouldPodBeInEndpoints(p, true) {
			continue
		}
		ports := endpointPorts(svc, p)
		for _, at := range types {
			ip := ipOfFamily(p, at)
			if ip == "" {
				continue
			}
			g := &group{addressType: at, ports: ports}
			k := g.key()
			if byKey[k] == nil {
				byKey[k] = g
				order = append(order, k)
			}
			byKey[k].endpoints = append(byKey[k].endpoints, c.endpoint(svc, p, ip))
		}
	}
	out := make([]group, 0, len(order))
	for _, k := range order {
		g := byKey[k]
		if len(g.endpoints) == 0 && len(g.ports) == 0 && len(order) > len(types) {
			continue // the empty per-family group is only needed when nothing else is
		}
		out = append(out, *g)
	}
	return out
}

func (c *Controller) endpoint(svc *core.Service, p *core.Pod, ip string) discovery.Endpoint {
	e := discovery.Endpoint{
		Addresses:  []string{ip},
		Conditions: endpointConditions(svc, p),
		TargetRef:  podRef(p),
	}
	if h := hostnameFor(svc, p); h != "" {
		e.Hostname = &h
	}
	if p.Spec.NodeName != "" {
		e.NodeName = controller.Ptr(p.Spec.NodeName)
		if n, ok := c.nodes.Indexer().Get(p.Spec.NodeName); ok {
			if z, ok := n.Labels[core.LabelTopologyZone]; ok {
				e.Zone = &z
			}
		}
	}
	return e
}
