package endpointslice

import (
	"context"
	"maps"
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// group is a set of endpoints that share an address type and ports: they can share slices.
type group struct {
	addressType discovery.AddressType
	ports       []discovery.EndpointPort
	endpoints   []discovery.Endpoint
}

func (g *group) key() string { return string(g.addressType) + "|" + portsKey(g.ports) }

// owner describes the slices of one Service: their labels, owner and naming.
type owner struct {
	namespace   string
	serviceName string
	managedBy   string
	labels      map[string]string // besides service-name and managed-by
	ref         meta.OwnerReference
	// placeholder: keep one empty slice when there are no endpoints (the endpointslice
	// controller does, so that a Service's slices never vanish; mirroring does not).
	placeholder bool
}

func (o *owner) sliceLabels() map[string]string {
	l := maps.Clone(o.labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelServiceName] = o.serviceName
	l[LabelManagedBy] = o.managedBy
	return l
}

func endpointKey(e *discovery.Endpoint) string { return strings.Join(e.Addresses, ",") }

func sortEndpoints(eps []discovery.Endpoint) {
	sort.Slice(eps, func(i, j int) bool { return endpointKey(&eps[i]) < endpointKey(&eps[j]) })
}

// plan is the writes that bring a Service's existing slices to the desired groups, moving
// as few endpoints as it can: an endpoint stays in the slice it is in, new endpoints fill
// slices with room before new slices are made (at most MaxEndpointsPerSlice each), and
// emptied slices go. A Service with no endpoints at all keeps one empty placeholder slice,
// as in Kubernetes.
type plan struct {
	creates, updates, deletes []*discovery.EndpointSlice
}

func makePlan(o *owner, existing []*discovery.EndpointSlice, groups []group) *plan {
	p := &plan{}
	total := 0
	for i := range groups {
		total += len(groups[i].endpoints)
	}
	byGroup := map[string][]*discovery.EndpointSlice{}
	for _, s := range existing {
		k := string(s.AddressType) + "|" + portsKey(s.Ports)
		byGroup[k] = append(byGroup[k], s)
	}
	if total == 0 && !o.placeholder {
		p.deletes = existing
		return p
	}
	if total == 0 {
		// The placeholder: keep an empty slice if one exists, delete the rest.
		var keep *discovery.EndpointSlice
		for _, s := range existing {
			if keep == nil && len(s.Endpoints) == 0 && len(s.Ports) == 0 {
				keep = s
				continue
			}
			p.deletes = append(p.deletes, s)
		}
		at := discovery.AddressTypeIPv4
		if len(groups) > 0 {
			at = groups[0].addressType
		}
		want := newSlice(o, at, nil, nil)
		if keep == nil {
			p.creates = append(p.creates, want)
		} else if !sameMeta(keep, want) {
			p.updates = append(p.updates, withContent(keep, want, nil))
		}
		return p
	}
	for i := range groups {
		g := &groups[i]
		slices := byGroup[g.key()]
		delete(byGroup, g.key())
		sort.Slice(slices, func(i, j int) bool { return slices[i].Name < slices[j].Name })
		desired := map[string]discovery.Endpoint{}
		for _, e := range g.endpoints {
			desired[endpointKey(&e)] = e
		}
		// Endpoints stay where they are.
		contents := make([][]discovery.Endpoint, len(slices))
		for si, s := range slices {
			for _, e := range s.Endpoints {
				k := endpointKey(&e)
				if d, ok := desired[k]; ok {
					contents[si] = append(contents[si], d)
					delete(desired, k)
				}
			}
		}
		// New ones fill the room left, then new slices.
		rest := make([]discovery.Endpoint, 0, len(desired))
		for _, e := range desired {
			rest = append(rest, e)
		}
		sortEndpoints(rest)
		for si := range slices {
			room := MaxEndpointsPerSlice - len(contents[si])
			if room <= 0 || len(rest) == 0 {
				continue
			}
			n := min(room, len(rest))
			contents[si] = append(contents[si], rest[:n]...)
			rest = rest[n:]
		}
		for si, s := range slices {
			eps := contents[si]
			if len(eps) == 0 {
				p.deletes = append(p.deletes, s)
				continue
			}
			sortEndpoints(eps)
			want := newSlice(o, g.addressType, g.ports, eps)
			if !sameMeta(s, want) || !controller.SemanticEqual(s.Endpoints, eps) || !controller.SemanticEqual(s.Ports, g.ports) {
				p.updates = append(p.updates, withContent(s, want, eps))
			}
		}
		for len(rest) > 0 {
			n := min(MaxEndpointsPerSlice, len(rest))
			p.creates = append(p.creates, newSlice(o, g.addressType, g.ports, rest[:n]))
			rest = rest[n:]
		}
	}
	for _, left := range byGroup {
		p.deletes = append(p.deletes, left...)
	}
	return p
}

func newSlice(o *owner, at discovery.AddressType, ports []discovery.EndpointPort, eps []discovery.Endpoint) *discovery.EndpointSlice {
	if eps == nil {
		eps = []discovery.Endpoint{}
	}
	return &discovery.EndpointSlice{
		TypeMeta: meta.TypeMeta{Kind: "EndpointSlice", APIVersion: "discovery.k8s.io/v1"},
		ObjectMeta: meta.ObjectMeta{
			Namespace: o.namespace, GenerateName: controller.GeneratePrefix(o.serviceName),
			Labels: o.sliceLabels(), OwnerReferences: []meta.OwnerReference{o.ref},
		},
		AddressType: at,
		Endpoints:   eps,
		Ports:       ports,
	}
}

// sameMeta: the slice already has the labels and owner it should.
func sameMeta(cur, want *discovery.EndpointSlice) bool {
	return controller.SemanticEqual(cur.Labels, want.Labels) && controller.SemanticEqual(cur.OwnerReferences, want.OwnerReferences)
}

// withContent is a copy of cur (its name and version) with want's labels, owner, ports and
// the endpoints eps.
func withContent(cur, want *discovery.EndpointSlice, eps []discovery.Endpoint) *discovery.EndpointSlice {
	n := controller.DeepCopy(cur)
	n.Labels = want.Labels
	n.OwnerReferences = want.OwnerReferences
	n.Ports = want.Ports
	n.Endpoints = eps
	if n.Endpoints == nil {
		n.Endpoints = []discovery.Endpoint{}
	}
	return n
}

// apply makes the plan's writes, recording each with the tracker under ownerKey.
func (p *plan) apply(ctx context.Context, slices *client.Typed[discovery.EndpointSlice, *discovery.EndpointSlice], tracker *controller.WriteTracker, ownerKey string) error {
	for _, s := range p.deletes {
		uid := s.UID
		err := slices.Delete(ctx, s.Namespace, s.Name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &uid}})
		if err != nil && !client.IsNotFound(err) {
			return err
		}
		tracker.Deleted(ownerKey, s.Name)
	}
	for _, s := range p.updates {
		out, err := slices.Update(ctx, s)
		if err != nil {
			return err
		}
		tracker.Wrote(ownerKey, out.Name, out.ResourceVersion)
	}
	for _, s := range p.creates {
		out, err := slices.Create(ctx, s)
		if err != nil {
			return err
		}
		tracker.Wrote(ownerKey, out.Name, out.ResourceVersion)
	}
	return nil
}
