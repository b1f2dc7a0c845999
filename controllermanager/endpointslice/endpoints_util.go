package endpointslice

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Labels and values of the endpoints API.
const (
	LabelServiceName    = "kubernetes.io/service-name"
	LabelManagedBy      = "endpointslice.kubernetes.io/managed-by"
	LabelSkipMirror     = "endpointslice.kubernetes.io/skip-mirror"
	ManagedByController = "endpointslice-controller.k8s.io"
	ManagedByMirroring  = "endpointslicemirroring-controller.k8s.io"
	// MaxEndpointsPerSlice is Kubernetes' default --max-endpoints-per-slice.
	MaxEndpointsPerSlice = 100
	// maxEndpointsAddresses is the capacity of one Endpoints object; beyond it the object is
	// truncated and annotated as over capacity.
	maxEndpointsAddresses = 1000
)

// shouldPodBeInEndpoints: the pod has an IP and can still serve (a pod that finished for
// good cannot); a terminating pod only when includeTerminating (Kubernetes'
// ShouldPodBeInEndpoints).
func shouldPodBeInEndpoints(p *core.Pod, includeTerminating bool) bool {
	switch p.Spec.RestartPolicy {
	case core.RestartPolicyNever:
		if p.Status.Phase == core.PodFailed || p.Status.Phase == core.PodSucceeded {
			return false
		}
	case core.RestartPolicyOnFailure:
		if p.Status.Phase == core.PodSucceeded {
			return false
		}
	}
	if len(podIPs(p)) == 0 {
		return false
	}
	if !includeTerminating && p.DeletionTimestamp != nil {
		return false
	}
	return true
}

func podIPs(p *core.Pod) []string {
	var out []string
	for _, ip := range p.Status.PodIPs {
		out = append(out, ip.IP)
	}
	if len(out) == 0 && p.Status.PodIP != "" {
		out = append(out, p.Status.PodIP)
	}
	return out
}

// ipOfFamily is the pod's IP of one address family ("" if it has none).
func ipOfFamily(p *core.Pod, family discovery.AddressType) string {
	for _, ip := range podIPs(p) {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			continue
		}
		if (family == discovery.AddressTypeIPv6) == a.Is6() && !a.Is4In6() {
			return ip
		}
	}
	return ""
}

// findPort resolves a Service port's targetPort against a pod: a number is used as is, a
// name is looked up among the containers' ports of the same protocol (and sidecar init
// containers'), as Kubernetes' FindPort does.
func findPort(p *core.Pod, sp *core.ServicePort) (int32, error) {
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, nil
		}
		return tp.IntVal, nil
	}
	containers := append([]core.Container(nil), p.Spec.Containers...)
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == core.ContainerRestartPolicyAlways {
			containers = append(containers, c)
		}
	}
	for _, c := range containers {
		for _, port := range c.Ports {
			if port.Name == tp.StrVal && port.Protocol == sp.Protocol {
				return port.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("no container port named %q for protocol %s in pod %s", tp.StrVal, sp.Protocol, p.Name)
}

// endpointPorts resolves every port of svc for pod; ports that do not resolve are left out
// (the pod still serves the others).
func endpointPorts(svc *core.Service, p *core.Pod) []discovery.EndpointPort {
	var out []discovery.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, err := findPort(p, sp)
		if err != nil {
			continue
		}
		out = append(out, discovery.EndpointPort{
			Name: controller.Ptr(sp.Name), Protocol: controller.Ptr(sp.Protocol), Port: controller.Ptr(n), AppProtocol: sp.AppProtocol,
		})
	}
	return out
}

// portsKey identifies a set of ports (slices group endpoints with identical ports).
func portsKey(ports []discovery.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s/%s/%d/%s", controller.Deref(p.Name, ""), controller.Deref(p.Protocol, ""), controller.Deref(p.Port, 0), controller.Deref(p.AppProtocol, ""))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// endpointConditions are ready, serving and terminating as Kubernetes sets them: serving
// follows readiness, ready is serving but never while terminating, and
// publishNotReadyAddresses makes both always true.
func endpointConditions(svc *core.Service, p *core.Pod) discovery.EndpointConditions {
	serving := svc.Spec.PublishNotReadyAddresses || p.IsReady()
	terminating := p.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	return discovery.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating}
}

// hostnameFor is the DNS hostname a pod gets in a Service's records: its spec.hostname when
// its subdomain is the Service's name.
func hostnameFor(svc *core.Service, p *core.Pod) string {
	if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name && p.Namespace == svc.Namespace {
		return p.Spec.Hostname
	}
	return ""
}

func podRef(p *core.Pod) *core.ObjectReference {
	return &core.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}

// addressTypes are the families a Service's slices are kept for.
func addressTypes(svc *core.Service) []discovery.AddressType {
	var out []discovery.AddressType
	for _, f := range svc.Spec.IPFamilies {
		out = append(out, discovery.AddressType(f))
	}
	if len(out) == 0 {
		out = []discovery.AddressType{discovery.AddressTypeIPv4}
	}
	return out
}

// selectsPods: the Service's endpoints come from its selector (not from the user).
func selectsPods(svc *core.Service) bool {
	return len(svc.Spec.Selector) > 0 && svc.Spec.Type != core.ServiceTypeExternalName
}

// selectedPods are the pods of svc's namespace its selector matches.
func selectedPods(svc *core.Service, pods []*core.Pod) []*core.Pod {
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var out []*core.Pod
	for _, p := range pods {
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// serviceLabels are the labels a Service's endpoint objects carry: the Service's own,
// without those that would confuse the proxy, plus headless.
func serviceLabels(svc *core.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		if k == LabelServiceName || k == LabelManagedBy || k == core.IsHeadlessService {
			continue
		}
		out[k] = v
	}
	if svc.Spec.ClusterIP == core.ClusterIPNone {
		out[core.IsHeadlessService] = ""
	}
	return out
}
