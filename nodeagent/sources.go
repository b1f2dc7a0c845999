package nodeagent

import (
	"context"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/node"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
)

// Resources the agent reads and writes.
var (
	podsResource     = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	nodesResource    = client.Resource{Version: "v1", Resource: "nodes"}
	servicesResource = client.Resource{Version: "v1", Resource: "services", Namespaced: true}
	configMaps       = client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}
	secrets          = client.Resource{Version: "v1", Resource: "secrets", Namespaced: true}
	pvcs             = client.Resource{Version: "v1", Resource: "persistentvolumeclaims", Namespaced: true}
	pvs              = client.Resource{Version: "v1", Resource: "persistentvolumes"}
	leasesResource   = client.Resource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Namespaced: true}
	runtimeClasses   = client.Resource{Group: node.GroupName, Version: node.Version, Resource: "runtimeclasses"}
)

// PodHandler receives the pods bound to one node.
type PodHandler interface {
	Upsert(pod *core.Pod)
	Delete(pod *core.Pod)
}

// Sources are the watches an agent needs. One agent makes its own; many simulated nodes
// in one process share one (NewSharedSources), so that a thousand nodes cost one pod
// watch, not a thousand.
type Sources struct {
	pods     *informer.Informer[core.Pod, *core.Pod]
	services *informer.Informer[core.Service, *core.Service]
	// nodes watches the agents' own Node objects, so that a change of spec (the pod CIDR the
	// IPAM controller sets) is seen at once rather than at the next status report.
	nodes *informer.Informer[core.Node, *core.Node]

	mu           sync.RWMutex
	handlers     map[string]PodHandler       // by node name
	nodeHandlers map[string]func(*core.Node) // by node name
	started      sync.Once
}

// NewSources watches the pods bound to node (node "" : to any node), the node itself (or
// every node) and all services.
func NewSources(c *client.Client, node string) *Sources {
	sel, nodeSel := "spec.nodeName!=", ""
	if node != "" {
		sel, nodeSel = "spec.nodeName="+node, "metadata.name="+node
	}
	s := &Sources{
		pods: informer.NewInformer[core.Pod, *core.Pod](client.For[core.Pod](c, podsResource), "",
			client.ListOptions{FieldSelector: sel}, 0),
		services: informer.NewInformer[core.Service, *core.Service](client.For[core.Service](c, servicesResource), "",
			client.ListOptions{}, 0),
		nodes: informer.NewInformer[core.Node, *core.Node](client.For[core.Node](c, nodesResource), "",
			client.ListOptions{FieldSelector: nodeSel}, 0),
		handlers:     map[string]PodHandler{},
		nodeHandlers: map[string]func(*core.Node){},
	}
	s.nodes.AddEventHandler(informer.Handler[*core.Node]{
		AddFunc:    s.nodeChanged,
		UpdateFunc: func(_, n *core.Node) { s.nodeChanged(n) },
	})
	s.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(p *core.Pod) { s.handler(p).Upsert(p) },
		UpdateFunc: func(old, p *core.Pod) {
			if old.UID != p.UID {
				s.handler(old).Delete(old) // deleted and recreated while the watch was down
			}
			s.handler(p).Upsert(p)
		},
		DeleteFunc: func(p *core.Pod) { s.handler(p).Delete(p) },
	})
	return s
}

// NewSharedSources is NewSources for every node of the process.
func NewSharedSources(c *client.Client) *Sources { return NewSources(c, "") }

type nopHandler struct{}

func (nopHandler) Upsert(*core.Pod) {}
func (nopHandler) Delete(*core.Pod) {}

func (s *Sources) handler(p *core.Pod) PodHandler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if h, ok := s.handlers[p.Spec.NodeName]; ok {
		return h
	}
	return nopHandler{}
}

// Subscribe delivers node's pods to h, starting with those already known.
func (s *Sources) Subscribe(node string, h PodHandler) {
	s.mu.Lock()
	s.handlers[node] = h
	s.mu.Unlock()
	for _, p := range s.pods.Indexer().List() {
		if p.Spec.NodeName == node {
			h.Upsert(p)
		}
	}
}

// Unsubscribe stops delivering node's pods and Node.
func (s *Sources) Unsubscribe(node string) {
	s.mu.Lock()
	delete(s.handlers, node)
	delete(s.nodeHandlers, node)
	s.mu.Unlock()
}

// SubscribeNode calls fn with the Node object named node whenever it is added or changes,
// starting with the one already known.
func (s *Sources) SubscribeNode(node string, fn func(*core.Node)) {
	s.mu.Lock()
	s.nodeHandlers[node] = fn
	s.mu.Unlock()
	if n, ok := s.nodes.Indexer().GetByName("", node); ok {
		fn(n)
	}
}

func (s *Sources) nodeChanged(n *core.Node) {
	s.mu.RLock()
	fn := s.nodeHandlers[n.Name]
	s.mu.RUnlock()
	if fn != nil {
		fn(n)
	}
}

// Start runs the watches until ctx ends (once; later calls do nothing).
func (s *Sources) Start(ctx context.Context) {
	s.started.Do(func() {
		go s.pods.Run(ctx)
		go s.services.Run(ctx)
		go s.nodes.Run(ctx)
	})
}

// PodsSynced reports whether the first list of pods has been delivered.
func (s *Sources) PodsSynced() bool { return s.pods.HasSynced() }

// Services lists every service.
func (s *Sources) Services() []*core.Service { return s.services.Indexer().List() }

// objects reads config maps and secrets straight from the API: pods refer to few of them,
// and a read at container start (and at each volume refresh) is what Kubernetes' "Get"
// strategy does too.
type objects struct {
	cms  *client.Typed[core.ConfigMap, *core.ConfigMap]
	secs *client.Typed[core.Secret, *core.Secret]
	pvcs *client.Typed[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	pvs  *client.Typed[core.PersistentVolume, *core.PersistentVolume]
	rcs  *client.Typed[node.RuntimeClass, *node.RuntimeClass]
}

func newObjects(c *client.Client) *objects {
	return &objects{
		cms: client.For[core.ConfigMap](c, configMaps), secs: client.For[core.Secret](c, secrets),
		pvcs: client.For[core.PersistentVolumeClaim](c, pvcs), pvs: client.For[core.PersistentVolume](c, pvs),
		rcs: client.For[node.RuntimeClass](c, runtimeClasses),
	}
}

func (o *objects) PersistentVolumeClaim(ctx context.Context, ns, name string) (*core.PersistentVolumeClaim, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return o.pvcs.Get(ctx, ns, name)
}

func (o *objects) PersistentVolume(ctx context.Context, name string) (*core.PersistentVolume, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return o.pvs.Get(ctx, "", name)
}

func (o *objects) ConfigMap(ctx context.Context, ns, name string) (*core.ConfigMap, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return o.cms.Get(ctx, ns, name)
}

func (o *objects) Secret(ctx context.Context, ns, name string) (*core.Secret, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return o.secs.Get(ctx, ns, name)
}

// RuntimeHandler reads a RuntimeClass at sandbox creation, when the kubelet would ask its
// RuntimeClass informer: classes are few and sandboxes rare enough for a read each.
func (o *objects) RuntimeHandler(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rc, err := o.rcs.Get(ctx, "", name)
	if err != nil {
		return "", err
	}
	return rc.Handler, nil
}

func (o *objects) UpdatePersistentVolume(ctx context.Context, pv *core.PersistentVolume) (*core.PersistentVolume, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return o.pvs.Update(ctx, pv)
}
