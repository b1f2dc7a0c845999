package endpointslice

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// EndpointsName is the Endpoints controller's name in --controllers and in metrics.
const EndpointsName = "endpoint"

// EndpointsController keeps a v1 Endpoints object for every Service with a selector.
type EndpointsController struct {
	services  *informer.Informer[core.Service, *core.Service]
	pods      *informer.Informer[core.Pod, *core.Pod]
	endpoints *informer.Informer[core.Endpoints, *core.Endpoints]
	client    *client.Typed[core.Endpoints, *core.Endpoints]
	queue     *controller.Queue
	tracker   *controller.WriteTracker
	workers   int
	log       *slog.Logger
}

// NewEndpoints makes the Endpoints controller.
func NewEndpoints(cc *controller.Context) *EndpointsController {
	c := &EndpointsController{
		services:  controller.ServiceInformer(cc),
		pods:      controller.PodInformer(cc),
		endpoints: controller.EndpointsInformer(cc),
		client:    client.For[core.Endpoints](cc.Client, controller.Endpoints),
		queue:     controller.NewQueue(cc, EndpointsName),
		tracker:   controller.NewWriteTracker(),
		workers:   cc.WorkerCount(),
		log:       cc.Logger(EndpointsName),
	}
	c.services.AddEventHandler(informer.Handler[*core.Service]{
		AddFunc:    func(s *core.Service) { c.queue.Enqueue(s) },
		UpdateFunc: func(_, s *core.Service) { c.queue.Enqueue(s) },
		DeleteFunc: func(s *core.Service) { c.queue.Enqueue(s) },
	})
	enqueue := func(p, old *core.Pod) {
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
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(p *core.Pod) { enqueue(p, nil) },
		UpdateFunc: func(old, p *core.Pod) {
			if old.ResourceVersion != p.ResourceVersion {
				enqueue(p, old)
			}
		},
		DeleteFunc: func(p *core.Pod) { enqueue(p, nil) },
	})
	// Every Endpoints event queues its Service: a sync that found the cache behind its own
	// last write returned without work, and the event that catches the cache up is what
	// brings it back (before, only deletes did, so a pod change met in that window waited for
	// the next event: the conformance EndpointSlice spec saw 1 of 2 subsets for 2 minutes).
	// Only for a Service this controller keeps Endpoints of: Endpoints someone made without
	// a Service are theirs (a sync of a missing Service deletes its Endpoints).
	ours := func(ep *core.Endpoints) {
		if svc, ok := c.services.Indexer().Get(informer.Key(ep)); ok && selectsPods(svc) {
			c.queue.Enqueue(ep)
		}
	}
	c.endpoints.AddEventHandler(informer.Handler[*core.Endpoints]{
		AddFunc:    ours,
		UpdateFunc: func(_, ep *core.Endpoints) { ours(ep) },
		DeleteFunc: func(ep *core.Endpoints) { c.queue.Enqueue(ep) },
	})
	return c
}

// Run works until ctx ends.
func (c *EndpointsController) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.services.HasSynced, c.pods.HasSynced, c.endpoints.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *EndpointsController) sync(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	svc, ok := c.services.Indexer().Get(key)
	if !ok {
		// Endpoints have no owner reference: the Service's go with it here.
		c.tracker.Forget(key)
		err := c.client.Delete(ctx, ns, name, nil)
		if client.IsNotFound(err) {
			return nil
		}
		return err
	}
	if !selectsPods(svc) {
		return nil // the user's to keep
	}
	if !c.tracker.CaughtUp(key, func(string) (string, bool) {
		ep, ok := c.endpoints.Indexer().Get(key)
		if !ok {
			return "", false
		}
		return ep.ResourceVersion, true
	}) {
		return nil // the Endpoints event that catches the cache up queues the Service again
	}
	subsets, truncated := c.subsets(svc)
	cur, exists := c.endpoints.Indexer().Get(key)
	want := &core.Endpoints{
		TypeMeta:   meta.TypeMeta{Kind: "Endpoints", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name, Labels: serviceLabels(svc)},
		Subsets:    subsets,
	}
	want.Labels[LabelSkipMirror] = "true" // ours: the mirroring controller leaves it alone
	if exists {
		n := controller.DeepCopy(cur)
		n.Labels, n.Subsets = want.Labels, want.Subsets
		if truncated {
			n.Annotations = setKey(n.Annotations, core.EndpointsOverCapacity, "truncated")
		} else {
			delete(n.Annotations, core.EndpointsOverCapacity)
		}
		if controller.SemanticEqual(n, cur) {
			return nil
		}
		out, err := c.client.Update(ctx, n)
		if err != nil {
			return err
		}
		c.tracker.Wrote(key, key, out.ResourceVersion)
		return nil
	}
	if truncated {
		want.Annotations = map[string]string{core.EndpointsOverCapacity: "truncated"}
	}
	out, err := c.client.Create(ctx, want)
	if err != nil {
		return err
	}
	c.tracker.Wrote(key, key, out.ResourceVersion)
	return nil
}

func setKey(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// subsets are the Service's endpoints as Endpoints subsets, grouped by port set and sorted
// (Kubernetes' RepackSubsets), truncated at the object's capacity.
func (c *EndpointsController) subsets(svc *core.Service) ([]core.EndpointSubset, bool) {
	type bucket struct {
		ports    []core.EndpointPort
		ready    []core.EndpointAddress
		notReady []core.EndpointAddress
	}
	buckets := map[string]*bucket{}
	family := addressTypes(svc)[0]
	headless := svc.Spec.ClusterIP == core.ClusterIPNone
	for _, p := range selectedPods(svc, c.pods.Indexer().ListNamespace(svc.Namespace)) {
		if !shouldPodBeInEndpoints(p, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		ip := ipOfFamily(p, family)
		if ip == "" {
			continue
		}
		addr := core.EndpointAddress{IP: ip, Hostname: hostnameFor(svc, p), TargetRef: podRef(p)}
		if p.Spec.NodeName != "" {
			addr.NodeName = controller.Ptr(p.Spec.NodeName)
		}
		var ports []core.EndpointPort
		for _, ep := range endpointPorts(svc, p) {
			ports = append(ports, core.EndpointPort{Name: *ep.Name, Port: *ep.Port, Protocol: *ep.Protocol, AppProtocol: ep.AppProtocol})
		}
		if len(ports) == 0 && !(len(svc.Spec.Ports) == 0 && headless) {
			continue // no port of the Service resolves on this pod
		}
		sort.Slice(ports, func(i, j int) bool {
			return ports[i].Name < ports[j].Name || ports[i].Name == ports[j].Name && ports[i].Port < ports[j].Port
		})
		k := fmtPorts(ports)
		b := buckets[k]
		if b == nil {
			b = &bucket{ports: ports}
			buckets[k] = b
		}
		if svc.Spec.PublishNotReadyAddresses || p.IsReady() {
			b.ready = append(b.ready, addr)
		} else {
			b.notReady = append(b.notReady, addr)
		}
	}
	keys := make([]string, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []core.EndpointSubset
	total, truncated := 0, false
	for _, k := range keys {
		b := buckets[k]
		sortAddrs(b.ready)
		sortAddrs(b.notReady)
		room := maxEndpointsAddresses - total
		if len(b.ready)+len(b.notReady) > room {
			truncated = true
			if len(b.ready) > room {
				b.ready = b.ready[:room]
			}
			b.notReady = b.notReady[:min(len(b.notReady), room-len(b.ready))]
		}
		total += len(b.ready) + len(b.notReady)
		if len(b.ready)+len(b.notReady) == 0 {
			continue
		}
		out = append(out, core.EndpointSubset{Addresses: b.ready, NotReadyAddresses: b.notReady, Ports: b.ports})
	}
	return out, truncated
}

func sortAddrs(a []core.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool { return a[i].IP < a[j].IP })
}

func fmtPorts(ports []core.EndpointPort) string {
	s := ""
	for _, p := range ports {
		s += fmt.Sprintf("%s/%s/%d,", p.Name, p.Protocol, p.Port)
	}
	return s
}
