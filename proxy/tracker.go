package proxy

import (
	"context"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/proxy/plan"
)

// The resources the proxy reads.
var (
	ServicesResource       = client.Resource{Version: "v1", Resource: "services", Namespaced: true}
	EndpointSlicesResource = client.Resource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Namespaced: true}
)

const (
	indexClusterIP = "clusterIP"
	indexService   = "service"
	indexAddress   = "address"
)

// Tracker keeps the Services and EndpointSlices of the cluster in informer caches, indexed
// for the rule planner and for DNS, and calls OnChange after every change.
type Tracker struct {
	services *informer.Informer[core.Service, *core.Service]
	slices   *informer.Informer[discovery.EndpointSlice, *discovery.EndpointSlice]
}

// NewTracker makes the informers; onChange (may be nil) is called on every event, from
// the informers' goroutines: keep it short.
func NewTracker(c *client.Client, onChange func()) *Tracker {
	t := &Tracker{
		services: informer.NewInformer(client.For[core.Service](c, ServicesResource), "", client.ListOptions{}, 0),
		slices:   informer.NewInformer(client.For[discovery.EndpointSlice](c, EndpointSlicesResource), "", client.ListOptions{}, 0),
	}
	_ = t.services.AddIndexers(map[string]informer.IndexFunc[*core.Service]{
		indexClusterIP: func(s *core.Service) []string {
			var out []string
			for _, ip := range append([]string{s.Spec.ClusterIP}, s.Spec.ClusterIPs...) {
				if ip != "" && ip != core.ClusterIPNone && !slices.Contains(out, ip) {
					out = append(out, ip)
				}
			}
			return out
		},
	})
	_ = t.slices.AddIndexers(map[string]informer.IndexFunc[*discovery.EndpointSlice]{
		indexService: func(s *discovery.EndpointSlice) []string {
			if name := s.Labels[plan.LabelServiceName]; name != "" {
				return []string{s.Namespace + "/" + name}
			}
			return nil
		},
		indexAddress: func(s *discovery.EndpointSlice) []string {
			var out []string
			for _, e := range s.Endpoints {
				if len(e.Addresses) > 0 {
					out = append(out, e.Addresses[0])
				}
			}
			return out
		},
	})
	if onChange != nil {
		t.services.AddEventHandler(informer.Handler[*core.Service]{
			AddFunc:    func(*core.Service) { onChange() },
			UpdateFunc: func(o, n *core.Service) { onChange() },
			DeleteFunc: func(*core.Service) { onChange() },
		})
		t.slices.AddEventHandler(informer.Handler[*discovery.EndpointSlice]{
			AddFunc:    func(*discovery.EndpointSlice) { onChange() },
			UpdateFunc: func(o, n *discovery.EndpointSlice) { onChange() },
			DeleteFunc: func(*discovery.EndpointSlice) { onChange() },
		})
	}
	return t
}

// Run runs the informers until ctx ends.
func (t *Tracker) Run(ctx context.Context) {
	go t.services.Run(ctx)
	t.slices.Run(ctx)
}

// HasSynced says whether both caches hold a first full list.
func (t *Tracker) HasSynced() bool { return t.services.HasSynced() && t.slices.HasSynced() }

// Services are every cached Service (shared: do not mutate).
func (t *Tracker) Services() []*core.Service { return t.services.Indexer().List() }

// AllEndpointSlices are every cached EndpointSlice (shared: do not mutate).
func (t *Tracker) AllEndpointSlices() []*discovery.EndpointSlice { return t.slices.Indexer().List() }

// Service is the Service namespace/name.
func (t *Tracker) Service(namespace, name string) (*core.Service, bool) {
	return t.services.Indexer().GetByName(namespace, name)
}

// ServiceByClusterIP is the Service holding a cluster IP.
func (t *Tracker) ServiceByClusterIP(ip string) (*core.Service, bool) {
	l, _ := t.services.Indexer().ByIndex(indexClusterIP, ip)
	if len(l) == 0 {
		return nil, false
	}
	return l[0], true
}

// EndpointSlices are the slices of Service namespace/service.
func (t *Tracker) EndpointSlices(namespace, service string) []*discovery.EndpointSlice {
	l, _ := t.slices.Indexer().ByIndex(indexService, namespace+"/"+service)
	return l
}

// EndpointSlicesByAddress are the slices holding an endpoint with address ip.
func (t *Tracker) EndpointSlicesByAddress(ip string) []*discovery.EndpointSlice {
	l, _ := t.slices.Indexer().ByIndex(indexAddress, ip)
	return l
}
