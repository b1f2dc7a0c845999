package ingress

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/ingress/table"
)

// The resources skiff-ingress reads (its RBAC role, system:skiff:ingress-controller, grants
// exactly these, plus ingresses/status and events).
var (
	IngressesResource      = client.Resource{Group: networking.GroupName, Version: "v1", Resource: "ingresses", Namespaced: true}
	IngressClassesResource = client.Resource{Group: networking.GroupName, Version: "v1", Resource: "ingressclasses"}
	ServicesResource       = client.Resource{Version: "v1", Resource: "services", Namespaced: true}
	EndpointSlicesResource = client.Resource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Namespaced: true}
	SecretsResource        = client.Resource{Version: "v1", Resource: "secrets", Namespaced: true}
	NodesResource          = client.Resource{Version: "v1", Resource: "nodes"}
)

const indexService = "service"

// caches are the informers; onChange runs after every event that can change the table.
type caches struct {
	ingresses *informer.Informer[networking.Ingress, *networking.Ingress]
	classes   *informer.Informer[networking.IngressClass, *networking.IngressClass]
	services  *informer.Informer[core.Service, *core.Service]
	slices    *informer.Informer[discovery.EndpointSlice, *discovery.EndpointSlice]
	secrets   *informer.Informer[core.Secret, *core.Secret]
	nodes     *informer.Informer[core.Node, *core.Node]
	ingClient *client.Typed[networking.Ingress, *networking.Ingress]
}

func newCaches(c *client.Client, onChange func()) *caches {
	x := &caches{
		ingClient: client.For[networking.Ingress](c, IngressesResource),
		classes:   informer.NewInformer(client.For[networking.IngressClass](c, IngressClassesResource), "", client.ListOptions{}, 0),
		services:  informer.NewInformer(client.For[core.Service](c, ServicesResource), "", client.ListOptions{}, 0),
		slices:    informer.NewInformer(client.For[discovery.EndpointSlice](c, EndpointSlicesResource), "", client.ListOptions{}, 0),
		// Only TLS Secrets: the others are none of an ingress controller's business, and
		// not keeping them bounds the memory a cluster's Secrets cost on every node.
		secrets: informer.NewInformer(client.For[core.Secret](c, SecretsResource), "",
			client.ListOptions{FieldSelector: "type=" + string(core.SecretTypeTLS)}, 0),
		nodes: informer.NewInformer(client.For[core.Node](c, NodesResource), "", client.ListOptions{}, 0),
	}
	x.ingresses = informer.NewInformer(x.ingClient, "", client.ListOptions{}, 0)
	_ = x.slices.AddIndexers(map[string]informer.IndexFunc[*discovery.EndpointSlice]{
		indexService: func(s *discovery.EndpointSlice) []string {
			if name := s.Labels[table.LabelServiceName]; name != "" {
				return []string{s.Namespace + "/" + name}
			}
			return nil
		},
	})
	addHandler(x.ingresses, onChange, func(o, n *networking.Ingress) bool { return o.ResourceVersion != n.ResourceVersion })
	addHandler(x.classes, onChange, func(o, n *networking.IngressClass) bool { return o.ResourceVersion != n.ResourceVersion })
	addHandler(x.services, onChange, func(o, n *core.Service) bool { return o.ResourceVersion != n.ResourceVersion })
	addHandler(x.slices, onChange, func(o, n *discovery.EndpointSlice) bool { return o.ResourceVersion != n.ResourceVersion })
	addHandler(x.secrets, onChange, func(o, n *core.Secret) bool { return o.ResourceVersion != n.ResourceVersion })
	// Nodes change with every heartbeat; only readiness and addresses matter (status).
	addHandler(x.nodes, onChange, func(o, n *core.Node) bool {
		return o.IsReady() != n.IsReady() || !slices.Equal(o.Status.Addresses, n.Status.Addresses)
	})
	return x
}

func addHandler[PT meta.Object](inf interface {
	AddEventHandler(informer.Handler[PT])
}, onChange func(), changed func(o, n PT) bool) {
	inf.AddEventHandler(informer.Handler[PT]{
		AddFunc: func(PT) { onChange() },
		UpdateFunc: func(o, n PT) {
			if changed(o, n) {
				onChange()
			}
		},
		DeleteFunc: func(PT) { onChange() },
	})
}

func (x *caches) run(ctx context.Context, wg *sync.WaitGroup) {
	for _, run := range []func(context.Context){x.ingresses.Run, x.classes.Run, x.services.Run, x.slices.Run, x.secrets.Run, x.nodes.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
}

func (x *caches) waitForSync(ctx context.Context) bool {
	return informer.WaitForCacheSync(ctx, x.ingresses.HasSynced, x.classes.HasSynced, x.services.HasSynced,
		x.slices.HasSynced, x.secrets.HasSynced, x.nodes.HasSynced)
}

// servedIngresses are the Ingresses of our classes: spec.ingressClassName (or the
// deprecated annotation) naming a class whose controller is ours, or no class at all while
// one of ours is the default.
func (x *caches) servedIngresses(controller string) []*networking.Ingress {
	ours := map[string]bool{}
	defaultOurs := false
	var defaults []*networking.IngressClass
	for _, c := range x.classes.Indexer().List() {
		if c.Annotations[networking.AnnotationIsDefaultIngressClass] == "true" {
			defaults = append(defaults, c)
		}
		if c.Spec.Controller == controller {
			ours[c.Name] = true
		}
	}
	// The newest default is the default (as DefaultIngressClass chooses).
	slices.SortFunc(defaults, func(a, b *networking.IngressClass) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(defaults) > 0 {
		defaultOurs = ours[defaults[0].Name]
	}
	var out []*networking.Ingress
	for _, ing := range x.ingresses.Indexer().List() {
		class := ""
		if ing.Spec.IngressClassName != nil {
			class = *ing.Spec.IngressClassName
		} else if a, ok := ing.Annotations[networking.AnnotationIngressClass]; ok {
			class = a
		}
		if (class == "" && defaultOurs) || ours[class] {
			out = append(out, ing)
		}
	}
	return out
}

func (x *caches) input(certs *table.CertCache, controller string) table.Input {
	return table.Input{
		Ingresses: x.servedIngresses(controller),
		Service: func(ns, name string) (*core.Service, bool) {
			return x.services.Indexer().GetByName(ns, name)
		},
		EndpointSlices: func(ns, svc string) []*discovery.EndpointSlice {
			s, _ := x.slices.Indexer().ByIndex(indexService, ns+"/"+svc)
			return s
		},
		Secret: func(ns, name string) (*core.Secret, bool) {
			return x.secrets.Indexer().GetByName(ns, name)
		},
		Certs: certs,
	}
}
