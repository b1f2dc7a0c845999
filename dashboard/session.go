package dashboard

import (
	"context"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
)

var (
	nodesR       = client.Resource{Version: "v1", Resource: "nodes"}
	podsR        = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	eventsR      = client.Resource{Version: "v1", Resource: "events", Namespaced: true}
	servicesR    = client.Resource{Version: "v1", Resource: "services", Namespaced: true}
	deployR      = client.Resource{Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true}
	replicaSetsR = client.Resource{Group: "apps", Version: "v1", Resource: "replicasets", Namespaced: true}
	slicesR      = client.Resource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Namespaced: true}
)

// involvedIndex indexes events by the namespace/name of the object they are about.
const involvedIndex = "involved"

// session is one set of watches on the cluster: the informers' caches are what the pages
// show. A lost cluster ends the session (its caches stay, shown as stale) and a new one
// starts from a fresh list when the cluster is back.
type session struct {
	cancel      context.CancelFunc
	synced      chan struct{} // closed when every cache has its first list
	nodes       *informer.Informer[core.Node, *core.Node]
	pods        *informer.Informer[core.Pod, *core.Pod]
	events      *informer.Informer[core.Event, *core.Event]
	services    *informer.Informer[core.Service, *core.Service]
	deployments *informer.Informer[apps.Deployment, *apps.Deployment]
	replicaSets *informer.Informer[apps.ReplicaSet, *apps.ReplicaSet]
	slices      *informer.Informer[discovery.EndpointSlice, *discovery.EndpointSlice]
	gone        *deletedPods
}

// startSession lists and watches everything the pages show; changed is called on every
// change (from the informers' goroutines). Deleted pods go to gone, which outlives sessions.
func startSession(ctx context.Context, c *client.Client, changed func(), gone *deletedPods) *session {
	ctx, cancel := context.WithCancel(ctx)
	f := informer.NewFactory(c, "", 0)
	s := &session{
		cancel:      cancel,
		synced:      make(chan struct{}),
		nodes:       informer.For[core.Node](f, nodesR),
		pods:        informer.For[core.Pod](f, podsR),
		events:      informer.For[core.Event](f, eventsR),
		services:    informer.For[core.Service](f, servicesR),
		deployments: informer.For[apps.Deployment](f, deployR),
		replicaSets: informer.For[apps.ReplicaSet](f, replicaSetsR),
		slices:      informer.For[discovery.EndpointSlice](f, slicesR),
		gone:        gone,
	}
	_ = s.events.AddIndexers(map[string]informer.IndexFunc[*core.Event]{
		involvedIndex: func(e *core.Event) []string {
			return []string{e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name}
		},
	})
	// Before notify: a page woken by a pod's deletion finds it among the deleted ones.
	s.pods.AddEventHandler(informer.Handler[*core.Pod]{DeleteFunc: func(p *core.Pod) { s.gone.add(p, time.Now()) }})
	notify(s.nodes, changed)
	notify(s.pods, changed)
	notify(s.events, changed)
	notify(s.services, changed)
	notify(s.deployments, changed)
	notify(s.replicaSets, changed)
	notify(s.slices, changed)
	f.Start(ctx)
	go func() {
		if f.WaitForCacheSync(ctx) {
			close(s.synced)
		}
	}()
	return s
}

func notify[T any, PT interface {
	*T
	meta.Object
}](inf *informer.Informer[T, PT], changed func()) {
	inf.AddEventHandler(informer.Handler[PT]{
		AddFunc:    func(PT) { changed() },
		UpdateFunc: func(old, cur PT) { changed() },
		DeleteFunc: func(PT) { changed() },
	})
}

// snapshot is the caches' current content (shared objects: read only).
func (s *session) snapshot() Snapshot {
	return Snapshot{
		Nodes:          s.nodes.Indexer().List(),
		Pods:           s.pods.Indexer().List(),
		Services:       s.services.Indexer().List(),
		Deployments:    s.deployments.Indexer().List(),
		ReplicaSets:    s.replicaSets.Indexer().List(),
		EndpointSlices: s.slices.Indexer().List(),
	}
}

// journey is the journey of one pod, or false when the cluster has no such pod and none was
// deleted while the dashboard watched. A deleted pod's journey ends with its removal, so
// the page open on it shows the end.
func (s *session) journey(namespace, name string) (Journey, bool) {
	events, _ := s.events.Indexer().ByIndex(involvedIndex, namespace+"/"+name)
	if pod, ok := s.pods.Indexer().GetByName(namespace, name); ok {
		return BuildJourney(pod, events), true
	}
	if pod, at, ok := s.gone.get(namespace, name); ok {
		j := BuildJourney(pod, events)
		j.markDeleted(at)
		return j, true
	}
	return Journey{}, false
}
