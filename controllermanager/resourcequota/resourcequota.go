// Package resourcequota is Kubernetes' resource quota controller: it keeps every
// ResourceQuota's status.hard equal to its spec.hard and its status.used equal to what the
// namespace's stored objects count for. The API server's ResourceQuota admission plugin
// charges a quota before an object is stored; this controller is what gives usage back when
// objects go away (deleted objects of every kind a quota counts; pods that finish), and it
// recalculates every quota periodically.
//
// Usage is recalculated from live lists (consistent reads), not from informer caches: a
// cache that lags a create would undercount, and an undercount lets a later create exceed
// the quota. The write is a compare-and-swap on the quota read before the lists, so a charge
// made meanwhile by admission makes it conflict and start over.
package resourcequota

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/quota"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "resourcequota"

// ResourceQuotas is the resource the controller reads and writes.
var ResourceQuotas = client.Resource{Version: "v1", Resource: "resourcequotas", Namespaced: true}

// Options tune the controller.
type Options struct {
	// ResyncPeriod is how often every quota is recalculated (--resource-quota-sync-period,
	// default 5m).
	ResyncPeriod time.Duration
}

// Controller keeps quota status exact.
type Controller struct {
	opts     Options
	cc       *controller.Context
	quotas   *informer.Informer[core.ResourceQuota, *core.ResourceQuota]
	pods     *informer.Informer[core.Pod, *core.Pod]
	services *informer.Informer[core.Service, *core.Service]
	pvcs     *informer.Informer[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	client   *client.Typed[core.ResourceQuota, *core.ResourceQuota]
	queue    *controller.Queue
	log      *slog.Logger
	now      func() time.Time

	mu         sync.Mutex
	versions   map[string]string // API group -> preferred version, from discovery
	discovered time.Time

	// monitors watch the other kinds a quota counts (configmaps, secrets, count/...), started
	// when a quota first names them, so that a delete gives its count back at once, as
	// Kubernetes' quota monitors replenish; pods, services and claims have informers above.
	monitorsMu sync.Mutex
	monitors   map[groupResource]*informer.Informer[meta.PartialObjectMetadata, *meta.PartialObjectMetadata]
	runCtx     context.Context
}

// New makes the controller.
func New(cc *controller.Context, o Options) *Controller {
	if o.ResyncPeriod == 0 {
		o.ResyncPeriod = 5 * time.Minute
	}
	c := &Controller{
		opts:     o,
		cc:       cc,
		quotas:   informer.For[core.ResourceQuota](cc.Informers, ResourceQuotas),
		pods:     controller.PodInformer(cc),
		services: controller.ServiceInformer(cc),
		pvcs:     controller.PVCInformer(cc),
		client:   client.For[core.ResourceQuota](cc.Client, ResourceQuotas),
		queue:    controller.NewQueue(cc, Name),
		log:      cc.Logger(Name),
		now:      time.Now,
		versions: map[string]string{},
		monitors: map[groupResource]*informer.Informer[meta.PartialObjectMetadata, *meta.PartialObjectMetadata]{},
	}
	c.quotas.AddEventHandler(informer.Handler[*core.ResourceQuota]{
		AddFunc: func(q *core.ResourceQuota) { c.queue.Enqueue(q) },
		UpdateFunc: func(old, q *core.ResourceQuota) {
			// Our own status writes come back here; only a spec change or a status that
			// no longer matches the spec needs work.
			if !quota.Equals(old.Spec.Hard, q.Spec.Hard) || !quota.Equals(q.Spec.Hard, q.Status.Hard) ||
				!controller.SemanticEqual(old.Spec.Scopes, q.Spec.Scopes) || !controller.SemanticEqual(old.Spec.ScopeSelector, q.Spec.ScopeSelector) {
				c.queue.Enqueue(q)
			}
		},
		// Quotas count quotas (the "resourcequotas" resource): the others recount.
		DeleteFunc: func(q *core.ResourceQuota) { c.enqueueNamespace(q.Namespace) },
	})
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		UpdateFunc: func(old, p *core.Pod) {
			// A pod that finishes, or whose deletion starts, releases compute quota.
			if quota.Counted(old, c.now()) && (p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed || p.DeletionTimestamp != nil) {
				c.enqueueNamespace(p.Namespace)
			}
		},
		DeleteFunc: func(p *core.Pod) { c.enqueueNamespace(p.Namespace) },
	})
	c.services.AddEventHandler(informer.Handler[*core.Service]{
		UpdateFunc: func(old, s *core.Service) {
			if old.Spec.Type != s.Spec.Type || len(old.Spec.Ports) != len(s.Spec.Ports) {
				c.enqueueNamespace(s.Namespace)
			}
		},
		DeleteFunc: func(s *core.Service) { c.enqueueNamespace(s.Namespace) },
	})
	c.pvcs.AddEventHandler(informer.Handler[*core.PersistentVolumeClaim]{
		DeleteFunc: func(p *core.PersistentVolumeClaim) { c.enqueueNamespace(p.Namespace) },
	})
	return c
}

func (c *Controller) enqueueNamespace(ns string) {
	for _, q := range c.quotas.Indexer().List() {
		if q.Namespace == ns {
			c.queue.Enqueue(q)
		}
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.quotas.HasSynced, c.pods.HasSynced, c.services.HasSynced, c.pvcs.HasSynced) {
		return
	}
	c.monitorsMu.Lock()
	c.runCtx = ctx
	c.monitorsMu.Unlock()
	go func() {
		t := time.NewTicker(c.opts.ResyncPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, q := range c.quotas.Indexer().List() {
					c.queue.Enqueue(q)
				}
			}
		}
	}()
	c.queue.Run(ctx, c.cc.WorkerCount(), c.sync)
}

// sync recalculates one quota.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	if _, ok := c.quotas.Indexer().GetByName(ns, name); !ok {
		return nil
	}
	// The quota first, then the objects: a charge admission makes after this read moves the
	// quota's resourceVersion and our write conflicts.
	q, err := c.client.Get(ctx, ns, name)
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	used, err := c.usage(ctx, q)
	if err != nil {
		return err
	}
	// Keep what status.used says of resources no longer in hard? Kubernetes keeps only the
	// resources of hard.
	if quota.Equals(q.Status.Hard, q.Spec.Hard) && quota.Equals(q.Status.Used, used) {
		return nil
	}
	n := controller.DeepCopy(q)
	n.Status = core.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: used}
	_, err = c.client.UpdateStatus(ctx, n)
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("updating quota %s/%s: %w", ns, name, err)
	}
	return nil
}

// usage is what the namespace's objects count for against q, for every resource of
// spec.hard: each kind q's resources name is listed once.
func (c *Controller) usage(ctx context.Context, q *core.ResourceQuota) (core.ResourceList, error) {
	hard := quota.ResourceNames(q.Spec.Hard)
	used := core.ResourceList{}
	covered := map[core.ResourceName]bool{}
	for _, gr := range kindsFor(hard) {
		e := quota.For(gr.group, gr.resource)
		if len(e.MatchingResources(hard)) == 0 {
			continue
		}
		objs, err := c.list(ctx, gr, q.Namespace)
		if err != nil {
			return nil, err
		}
		// The quota as the evaluators read it: status.hard is spec.hard from now on.
		sq := *q
		sq.Status.Hard = q.Spec.Hard
		u := quota.CalculateUsage(&sq, e, objs, c.now())
		for k, v := range u {
			if !covered[k] {
				covered[k] = true
				used[k] = v
			}
		}
	}
	for _, h := range hard {
		if _, ok := used[h]; !ok {
			used[h] = resource.Quantity{} // a resource nothing here counts: 0
		}
	}
	return used, nil
}

type groupResource struct{ group, resource string }

// kindsFor names the kinds whose objects the resources of hard count.
func kindsFor(hard []core.ResourceName) []groupResource {
	seen := map[groupResource]bool{}
	var out []groupResource
	add := func(g groupResource) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for _, h := range hard {
		s := string(h)
		switch {
		case strings.HasPrefix(s, "count/"):
			r, g, _ := strings.Cut(strings.TrimPrefix(s, "count/"), ".")
			add(groupResource{g, r})
		case h == core.ResourceServices || strings.HasPrefix(s, "services."):
			add(groupResource{"", "services"})
		case h == core.ResourcePersistentVolumeClaims || h == core.ResourceRequestsStorage || strings.Contains(s, ".storageclass.storage.k8s.io/"):
			add(groupResource{"", "persistentvolumeclaims"})
		case h == core.ResourceConfigMaps, h == core.ResourceSecrets, h == core.ResourceQuotas, h == core.ResourceReplicationControllers:
			add(groupResource{"", s})
		default:
			add(groupResource{"", "pods"}) // pods, cpu, memory, requests.*, limits.*, hugepages, extended
		}
	}
	return out
}

// list reads a kind's objects in ns from the API server (a consistent read). Pods, services
// and claims are decoded whole (their usage depends on their spec); other kinds only count.
func (c *Controller) list(ctx context.Context, gr groupResource, ns string) ([]meta.Object, error) {
	switch {
	case gr.group == "" && gr.resource == "pods":
		return listAll(ctx, client.For[core.Pod](c.cc.Client, controller.Pods), ns)
	case gr.group == "" && gr.resource == "services":
		return listAll(ctx, client.For[core.Service](c.cc.Client, controller.Services), ns)
	case gr.group == "" && gr.resource == "persistentvolumeclaims":
		return listAll(ctx, client.For[core.PersistentVolumeClaim](c.cc.Client, controller.PersistentVolumeClaims), ns)
	}
	version, err := c.version(ctx, gr.group)
	if err != nil {
		return nil, err
	}
	if version == "" {
		return nil, nil // a kind the server does not serve counts nothing
	}
	r := client.Resource{Group: gr.group, Version: version, Resource: gr.resource, Namespaced: true}
	if err := c.monitor(ctx, gr, r); err != nil {
		return nil, err
	}
	return listAll(ctx, client.For[meta.PartialObjectMetadata](c.cc.Client, r), ns)
}

// monitor makes sure deletes of gr's objects enqueue their namespace's quotas, starting a
// metadata informer the first time and waiting for its first list, so that no delete after
// the count that follows is missed.
func (c *Controller) monitor(ctx context.Context, gr groupResource, r client.Resource) error {
	c.monitorsMu.Lock()
	inf, ok := c.monitors[gr]
	if !ok && c.runCtx != nil {
		inf = informer.NewInformer(client.For[meta.PartialObjectMetadata](c.cc.Client, r), "", client.ListOptions{}, 0)
		inf.AddEventHandler(informer.Handler[*meta.PartialObjectMetadata]{
			DeleteFunc: func(o *meta.PartialObjectMetadata) { c.enqueueNamespace(o.Namespace) },
		})
		c.monitors[gr] = inf
		go inf.Run(c.runCtx)
	}
	c.monitorsMu.Unlock()
	if inf == nil {
		return nil // not running (a test calling sync directly): the periodic recount only
	}
	if !informer.WaitForCacheSync(ctx, inf.HasSynced) {
		return fmt.Errorf("watching %s: %w", gr.resource, ctx.Err())
	}
	return nil
}

func listAll[T any, PT interface {
	*T
	meta.Object
}](ctx context.Context, t *client.Typed[T, PT], ns string) ([]meta.Object, error) {
	l, err := t.List(ctx, ns, client.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", t.Resource().Resource, err)
	}
	out := make([]meta.Object, len(l.Items))
	for i := range l.Items {
		out[i] = PT(&l.Items[i])
	}
	return out, nil
}

// version is the preferred version of an API group, from discovery (cached for a minute).
func (c *Controller) version(ctx context.Context, group string) (string, error) {
	if group == "" {
		return "v1", nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.versions[group]; ok && c.now().Sub(c.discovered) < time.Minute {
		return v, nil
	}
	res, err := controller.Discover(ctx, c.cc.Client)
	if err != nil {
		return "", err
	}
	c.versions = map[string]string{}
	for _, r := range res {
		c.versions[r.Group] = r.Version
	}
	c.discovered = c.now()
	return c.versions[group], nil
}
