package webhookclient

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
)

// Objects reads Services and EndpointSlices from the API server's caches (the admission
// plugins' admission.Objects is one).
type Objects interface {
	Get(ctx context.Context, group, resource, namespace, name string) (meta.Object, error)
	List(group, resource, namespace string) []meta.Object
}

// labelServiceName ties an EndpointSlice to its Service.
const labelServiceName = "kubernetes.io/service-name"

// EndpointResolver reaches a Service through its ready endpoints, as kube-apiserver does with
// --enable-aggregator-routing: the API server need not run beside a proxy that programs
// cluster IPs (under `skiff up` it runs on the host, which reaches pod IPs through the nodes'
// routes). The certificate is still verified for NAME.NAMESPACE.svc.
func EndpointResolver(objs Objects) ServiceResolver { return endpointResolver{objs} }

type endpointResolver struct{ objs Objects }

func (r endpointResolver) ResolveEndpoint(ctx context.Context, namespace, name string, port int32) (string, error) {
	o, err := r.objs.Get(ctx, "", "services", namespace, name)
	if err != nil {
		return "", fmt.Errorf("service %s/%s: %w", namespace, name, err)
	}
	svc, ok := o.(*core.Service)
	if !ok {
		return "", fmt.Errorf("service %s/%s: unexpected %T", namespace, name, o)
	}
	var sp *core.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return "", fmt.Errorf("service %s/%s has no port %d", namespace, name, port)
	}
	if svc.Spec.Type == core.ServiceTypeExternalName {
		return net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(port))), nil
	}
	for _, so := range r.objs.List(discovery.GroupName, "endpointslices", namespace) {
		s, ok := so.(*discovery.EndpointSlice)
		if !ok || s.Labels[labelServiceName] != name {
			continue
		}
		var target int32
		for _, p := range s.Ports {
			if p.Port != nil && (p.Name == nil && sp.Name == "" || p.Name != nil && *p.Name == sp.Name) {
				target = *p.Port
			}
		}
		if target == 0 {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			if len(e.Addresses) > 0 {
				return net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(target))), nil
			}
		}
	}
	return "", fmt.Errorf("service %s/%s has no ready endpoint for port %d", namespace, name, port)
}
