package webhook

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// endpointResolver reaches a Service through its ready endpoints, as kube-apiserver does with
// --enable-aggregator-routing: the API server need not run beside a proxy that programs
// cluster IPs (under `skiff up` it runs on the host, which reaches pod IPs through the nodes'
// routes). The certificate is still verified for NAME.NAMESPACE.svc.
// labelServiceName ties an EndpointSlice to its Service.
const labelServiceName = "kubernetes.io/service-name"

type endpointResolver struct{ objs admission.Objects }

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
			if p.Port != nil && deref(p.Name, "") == sp.Name {
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
