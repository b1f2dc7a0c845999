package endpointslice

import (
	"context"
	"log/slog"
	"net/netip"
	"sort"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// MirroringName is the mirroring controller's name in --controllers and in metrics.
const MirroringName = "endpointslicemirroring"

// MirroringController mirrors the Endpoints of Services without a selector (written by
// users or other tools) into EndpointSlices, owned by the Endpoints object.
type MirroringController struct {
	services  *informer.Informer[core.Service, *core.Service]
	endpoints *informer.Informer[core.Endpoints, *core.Endpoints]
	slices    *informer.Informer[discovery.EndpointSlice, *discovery.EndpointSlice]
	client    *client.Typed[discovery.EndpointSlice, *discovery.EndpointSlice]
	queue     *controller.Queue
	tracker   *controller.WriteTracker
	workers   int
	log       *slog.Logger
}

// NewMirroring makes the mirroring controller.
func NewMirroring(cc *controller.Context) *MirroringController {
	c := &MirroringController{
		services:  controller.ServiceInformer(cc),
		endpoints: controller.EndpointsInformer(cc),
		slices:    controller.EndpointSliceInformer(cc),
		client:    client.For[discovery.EndpointSlice](cc.Client, controller.EndpointSlices),
		queue:     controller.NewQueue(cc, MirroringName),
		tracker:   controller.NewWriteTracker(),
		workers:   cc.WorkerCount(),
		log:       cc.Logger(MirroringName),
	}
	indexSlicesByService(c.slices)
	c.services.AddEventHandler(informer.Handler[*core.Service]{
		AddFunc:    func(s *core.Service) { c.queue.Enqueue(s) },
		UpdateFunc: func(_, s *core.Service) { c.queue.Enqueue(s) },
		DeleteFunc: func(s *core.Service) { c.queue.Enqueue(s) },
	})
	c.endpoints.AddEventHandler(informer.Handler[*core.Endpoints]{
		AddFunc:    func(e *core.Endpoints) { c.queue.Enqueue(e) },
		UpdateFunc: func(_, e *core.Endpoints) { c.queue.Enqueue(e) },
		DeleteFunc: func(e *core.Endpoints) { c.tracker.Forget(informer.Key(e)); c.queue.Enqueue(e) },
	})
	enqueueSlice := func(s *discovery.EndpointSlice) {
		if s.Labels[LabelManagedBy] == ManagedByMirroring && s.Labels[LabelServiceName] != "" {
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

// Run works until ctx ends.
func (c *MirroringController) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.services.HasSynced, c.endpoints.HasSynced, c.slices.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *MirroringController) sync(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	if !c.tracker.CaughtUp(key, func(slice string) (string, bool) {
		s, ok := c.slices.Indexer().GetByName(ns, slice)
		if !ok {
			return "", false
		}
		return s.ResourceVersion, true
	}) {
		return nil
	}
	all, _ := c.slices.Indexer().ByIndex(byServiceIndex, key)
	var existing []*discovery.EndpointSlice
	for _, s := range all {
		if s.Labels[LabelManagedBy] == ManagedByMirroring {
			existing = append(existing, s)
		}
	}
	svc, haveSvc := c.services.Indexer().Get(key)
	ep, haveEp := c.endpoints.Indexer().Get(key)
	if !haveSvc || !haveEp || len(svc.Spec.Selector) > 0 || ep.Labels[LabelSkipMirror] == "true" {
		// Nothing to mirror (any more).
		return (&plan{deletes: existing}).apply(ctx, c.client, c.tracker, key)
	}
	lbls := map[string]string{}
	for k, v := range ep.Labels {
		if k != LabelServiceName && k != LabelManagedBy {
			lbls[k] = v
		}
	}
	o := &owner{namespace: ns, serviceName: name, managedBy: ManagedByMirroring, labels: lbls,
		ref: meta.NewControllerRef(ep, "v1", "Endpoints")}
	return makePlan(o, existing, mirrorGroups(ep)).apply(ctx, c.client, c.tracker, key)
}

// mirrorGroups turns Endpoints subsets into slice groups: ready addresses are ready and
// serving, not-ready ones neither.
func mirrorGroups(ep *core.Endpoints) []group {
	byKey := map[string]*group{}
	var order []string
	add := func(at discovery.AddressType, ports []discovery.EndpointPort, e discovery.Endpoint) {
		g := &group{addressType: at, ports: ports}
		k := g.key()
		if byKey[k] == nil {
			byKey[k] = g
			order = append(order, k)
		}
		byKey[k].endpoints = append(byKey[k].endpoints, e)
	}
	for _, ss := range ep.Subsets {
		var ports []discovery.EndpointPort
		for _, p := range ss.Ports {
			ports = append(ports, discovery.EndpointPort{Name: controller.Ptr(p.Name), Protocol: controller.Ptr(p.Protocol),
				Port: controller.Ptr(p.Port), AppProtocol: p.AppProtocol})
		}
		sort.Slice(ports, func(i, j int) bool { return *ports[i].Name < *ports[j].Name })
		for _, list := range []struct {
			addrs []core.EndpointAddress
			ready bool
		}{{ss.Addresses, true}, {ss.NotReadyAddresses, false}} {
			for _, a := range list.addrs {
				ip, err := netip.ParseAddr(a.IP)
				if err != nil {
					continue
				}
				at := discovery.AddressTypeIPv4
				if ip.Is6() && !ip.Is4In6() {
					at = discovery.AddressTypeIPv6
				}
				ready := list.ready
				e := discovery.Endpoint{
					Addresses:  []string{a.IP},
					Conditions: discovery.EndpointConditions{Ready: &ready, Serving: &ready, Terminating: controller.Ptr(false)},
					NodeName:   a.NodeName,
					TargetRef:  a.TargetRef,
				}
				if a.Hostname != "" {
					e.Hostname = controller.Ptr(a.Hostname)
				}
				add(at, ports, e)
			}
		}
	}
	out := make([]group, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}
