// Package plantest builds Services and EndpointSlices for the proxy's tests, and holds the
// cases the backends' golden tests share.
package plantest

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/proxy/plan"
)

// Node is the node the cases plan for.
const Node = "node-a"

// ClusterCIDR is the pod network of the cases.
const ClusterCIDR = "10.244.0.0/16"

func ptr[T any](v T) *T { return &v }

// Service returns a ClusterIP Service with the given ports ("name:port:targetPort/PROTO",
// see Port) and lets tweak change it.
func Service(ns, name, clusterIP string, ports []core.ServicePort, tweak func(*core.Service)) *core.Service {
	s := &core.Service{
		TypeMeta:   meta.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name},
		Spec: core.ServiceSpec{Type: core.ServiceTypeClusterIP, ClusterIP: clusterIP, Ports: ports,
			Selector: map[string]string{"app": name}},
	}
	if clusterIP != "" && clusterIP != core.ClusterIPNone {
		s.Spec.ClusterIPs = []string{clusterIP}
	}
	if tweak != nil {
		tweak(s)
	}
	return s
}

// Port is a service port.
func Port(name string, port, target int32, proto core.Protocol) core.ServicePort {
	return core.ServicePort{Name: name, Port: port, TargetPort: intstr.FromInt(int(target)), Protocol: proto}
}

// EP is an endpoint: address, node, and its conditions.
type EP struct {
	IP, Node                    string
	NotReady, Serving, Terminat bool
	Hostname                    string
}

// Slice returns an EndpointSlice of Service ns/svc with one port per (name, port, proto).
func Slice(ns, svc, suffix string, ports []discovery.EndpointPort, eps ...EP) *discovery.EndpointSlice {
	s := &discovery.EndpointSlice{
		TypeMeta:    meta.TypeMeta{Kind: "EndpointSlice", APIVersion: "discovery.k8s.io/v1"},
		ObjectMeta:  meta.ObjectMeta{Namespace: ns, Name: svc + "-" + suffix, Labels: map[string]string{plan.LabelServiceName: svc}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       ports,
	}
	for _, e := range eps {
		ready := !e.NotReady
		serving := ready || e.Serving
		ep := discovery.Endpoint{Addresses: []string{e.IP},
			Conditions: discovery.EndpointConditions{Ready: ptr(ready), Serving: ptr(serving), Terminating: ptr(e.Terminat)}}
		if e.Node != "" {
			ep.NodeName = ptr(e.Node)
		}
		if e.Hostname != "" {
			ep.Hostname = ptr(e.Hostname)
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

// EPort is an EndpointSlice port.
func EPort(name string, port int32, proto core.Protocol) discovery.EndpointPort {
	return discovery.EndpointPort{Name: ptr(name), Port: ptr(port), Protocol: ptr(proto)}
}

// Case is one golden test: the objects and the file name the rendering is compared with.
type Case struct {
	Name     string
	Services []*core.Service
	Slices   []*discovery.EndpointSlice
}

// Plan builds the case's plan for Node.
func (c Case) Plan() *plan.Plan {
	return plan.Build(plan.Input{NodeName: Node, ClusterCIDR: ClusterCIDR, Services: c.Services, Slices: c.Slices})
}

// Cases are the golden cases every backend renders.
func Cases() []Case {
	tcp, udp := core.ProtocolTCP, core.ProtocolUDP
	web := Port("http", 80, 8080, tcp)
	return []Case{
		{Name: "empty"},
		{
			Name:     "clusterip",
			Services: []*core.Service{Service("default", "web", "10.96.0.20", []core.ServicePort{web}, nil)},
			Slices: []*discovery.EndpointSlice{Slice("default", "web", "a", []discovery.EndpointPort{EPort("http", 8080, tcp)},
				EP{IP: "10.244.1.5", Node: Node}, EP{IP: "10.244.2.7", Node: "node-b"}, EP{IP: "10.244.2.8", Node: "node-b", NotReady: true})},
		},
		{
			Name: "no-endpoints",
			Services: []*core.Service{Service("default", "idle", "10.96.0.21", []core.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromInt(int(8080)), Protocol: tcp, NodePort: 30021}},
				func(s *core.Service) {
					s.Spec.Type = core.ServiceTypeNodePort
					s.Spec.ExternalIPs = []string{"192.0.2.50"}
				})},
		},
		{
			Name: "nodeport-local",
			Services: []*core.Service{Service("shop", "cart", "10.96.0.22", []core.ServicePort{
				{Name: "", Port: 8000, TargetPort: intstr.FromInt(int(8000)), Protocol: tcp, NodePort: 30022}},
				func(s *core.Service) {
					s.Spec.Type = core.ServiceTypeNodePort
					s.Spec.ExternalTrafficPolicy = core.ServiceExternalTrafficPolicyLocal
				})},
			Slices: []*discovery.EndpointSlice{Slice("shop", "cart", "a", []discovery.EndpointPort{EPort("", 8000, tcp)},
				EP{IP: "10.244.1.9", Node: Node}, EP{IP: "10.244.2.9", Node: "node-b"})},
		},
		{
			Name: "affinity-udp",
			Services: []*core.Service{Service("kube-system", "dns", "10.96.0.23", []core.ServicePort{Port("dns", 53, 5353, udp)},
				func(s *core.Service) {
					s.Spec.SessionAffinity = core.ServiceAffinityClientIP
					s.Spec.SessionAffinityConfig = &core.SessionAffinityConfig{ClientIP: &core.ClientIPConfig{TimeoutSeconds: ptr(int32(60))}}
				})},
			Slices: []*discovery.EndpointSlice{Slice("kube-system", "dns", "a", []discovery.EndpointPort{EPort("dns", 5353, udp)},
				EP{IP: "10.244.1.3", Node: Node}, EP{IP: "10.244.3.3", Node: "node-c"})},
		},
		{
			Name: "loadbalancer-externalips",
			Services: []*core.Service{Service("default", "front", "10.96.0.24", []core.ServicePort{
				{Name: "https", Port: 443, TargetPort: intstr.FromInt(int(8443)), Protocol: tcp, NodePort: 30024}},
				func(s *core.Service) {
					s.Spec.Type = core.ServiceTypeLoadBalancer
					s.Spec.ExternalIPs = []string{"192.0.2.10"}
					s.Status.LoadBalancer.Ingress = []core.LoadBalancerIngress{{IP: "192.0.2.11"}}
				})},
			Slices: []*discovery.EndpointSlice{Slice("default", "front", "a", []discovery.EndpointPort{EPort("https", 8443, tcp)},
				EP{IP: "10.244.2.4", Node: "node-b"})},
		},
		{
			Name: "internal-local",
			Services: []*core.Service{
				Service("default", "near", "10.96.0.25", []core.ServicePort{web}, func(s *core.Service) {
					s.Spec.InternalTrafficPolicy = ptr(core.ServiceInternalTrafficPolicyLocal)
				}),
				Service("default", "far", "10.96.0.26", []core.ServicePort{web}, func(s *core.Service) {
					s.Spec.InternalTrafficPolicy = ptr(core.ServiceInternalTrafficPolicyLocal)
				}),
			},
			Slices: []*discovery.EndpointSlice{
				Slice("default", "near", "a", []discovery.EndpointPort{EPort("http", 8080, tcp)}, EP{IP: "10.244.1.11", Node: Node}, EP{IP: "10.244.2.11", Node: "node-b"}),
				Slice("default", "far", "a", []discovery.EndpointPort{EPort("http", 8080, tcp)}, EP{IP: "10.244.2.12", Node: "node-b"}),
			},
		},
		{
			Name: "terminating-headless-externalname",
			Services: []*core.Service{
				Service("default", "rolling", "10.96.0.27", []core.ServicePort{web}, nil),
				Service("default", "db", core.ClusterIPNone, []core.ServicePort{Port("pg", 5432, 5432, tcp)}, nil),
				Service("default", "ext", "", nil, func(s *core.Service) {
					s.Spec.Type = core.ServiceTypeExternalName
					s.Spec.ExternalName = "example.com"
				}),
			},
			Slices: []*discovery.EndpointSlice{
				Slice("default", "rolling", "a", []discovery.EndpointPort{EPort("http", 8080, tcp)},
					EP{IP: "10.244.1.20", Node: Node, NotReady: true, Serving: true, Terminat: true},
					EP{IP: "10.244.1.21", Node: Node, NotReady: true, Serving: false, Terminat: true}),
				Slice("default", "db", "a", []discovery.EndpointPort{EPort("pg", 5432, tcp)}, EP{IP: "10.244.1.30", Node: Node}),
			},
		},
	}
}
