// Package loadbalancer stands in for a cloud load balancer: every Service of type
// LoadBalancer (of the default class) gets the InternalIPs of the cluster's Ready nodes in
// status.loadBalancer.ingress, so nothing waits forever in <pending>. The proxy on each
// node accepts the Service's traffic on those addresses, as a cloud load balancer in front
// of the nodes would deliver it.
package loadbalancer

import (
	"context"
	"log/slog"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "loadbalancer"

// Controller keeps the ingress of LoadBalancer Services.
type Controller struct {
	services *informer.Informer[core.Service, *core.Service]
	nodes    *informer.Informer[core.Node, *core.Node]
	client   *client.Typed[core.Service, *core.Service]
	queue    *controller.Queue
	recorder controller.EventRecorder
	workers  int
	log      *slog.Logger
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		services: controller.ServiceInformer(cc),
		nodes:    controller.NodeInformer(cc),
		client:   client.For[core.Service](cc.Client, controller.Services),
		queue:    controller.NewQueue(cc, Name),
		recorder: cc.Recorder("service-lb-controller"),
		workers:  cc.WorkerCount(),
		log:      cc.Logger(Name),
	}
	c.services.AddEventHandler(informer.Handler[*core.Service]{
		AddFunc:    func(s *core.Service) { c.queue.Enqueue(s) },
		UpdateFunc: func(_, s *core.Service) { c.queue.Enqueue(s) },
	})
	all := func() {
		for _, s := range c.services.Indexer().List() {
			if s.Spec.Type == core.ServiceTypeLoadBalancer {
				c.queue.Enqueue(s)
			}
		}
	}
	c.nodes.AddEventHandler(informer.Handler[*core.Node]{
		AddFunc: func(*core.Node) { all() },
		UpdateFunc: func(old, n *core.Node) {
			if slices.Equal(ingressIPs([]*core.Node{old}), ingressIPs([]*core.Node{n})) {
				return
			}
			all()
		},
		DeleteFunc: func(*core.Node) { all() },
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.services.HasSynced, c.nodes.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

// ingressIPs are the InternalIPs of the Ready nodes that do not opt out of load balancers,
// sorted.
func ingressIPs(nodes []*core.Node) []string {
	var out []string
	for _, n := range nodes {
		if _, excluded := n.Labels[core.LabelNodeExcludeBalancers]; excluded || !n.IsReady() {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == core.NodeInternalIP && !slices.Contains(out, a.Address) {
				out = append(out, a.Address)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (c *Controller) sync(ctx context.Context, key string) error {
	svc, ok := c.services.Indexer().Get(key)
	if !ok {
		return nil
	}
	var want []core.LoadBalancerIngress
	switch {
	case svc.Spec.Type != core.ServiceTypeLoadBalancer:
		// Not (or no longer) a load balancer: nothing of ours may stay.
	case svc.Spec.LoadBalancerClass != nil:
		return nil // another implementation's
	default:
		for _, ip := range ingressIPs(c.nodes.Indexer().List()) {
			want = append(want, core.LoadBalancerIngress{IP: ip, IPMode: controller.Ptr(core.LoadBalancerIPModeVIP)})
		}
	}
	if controller.SemanticEqual(svc.Status.LoadBalancer.Ingress, want) {
		return nil
	}
	n := controller.DeepCopy(svc)
	n.Status.LoadBalancer.Ingress = want
	if _, err := c.client.UpdateStatus(ctx, n); err != nil {
		if client.IsNotFound(err) {
			return nil
		}
		return err
	}
	if len(want) > 0 {
		c.recorder.Eventf(svc, core.EventTypeNormal, "EnsuredLoadBalancer", "Ensured load balancer")
	}
	return nil
}
