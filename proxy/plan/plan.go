// Package plan turns Services and EndpointSlices into what one node's proxy must program:
// a list of service ports, each with its virtual addresses (cluster IP, node port, external
// and load-balancer IPs) and the endpoints traffic to them may go to, chosen as kube-proxy
// chooses them (ready endpoints, falling back to serving-terminating ones; traffic
// policies Local and Cluster). The backends (iptables, nftables, ipvs) render a Plan; the
// plan itself knows nothing of the kernel, so it is unit tested on its own.
package plan

import (
	"crypto/sha256"
	"encoding/base32"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
)

// LabelServiceName is the EndpointSlice label naming its Service.
const LabelServiceName = "kubernetes.io/service-name"

// Plan is the whole desired state of one node's service proxy.
type Plan struct {
	// ClusterCIDR is the pod network: traffic to a Service from outside it is masqueraded.
	ClusterCIDR string
	// Services is every service port to program, sorted by Name.
	Services []*ServicePort
}

// Endpoint is one backend address of a service port.
type Endpoint struct {
	IP   string
	Port int32
	// Local: the endpoint's pod runs on this node.
	Local bool
}

// String is "ip:port".
func (e Endpoint) String() string {
	return netip.AddrPortFrom(netip.MustParseAddr(e.IP), uint16(e.Port)).String()
}

// ServicePort is one port of one Service, the unit every backend programs.
type ServicePort struct {
	// Name is "namespace/service:port" (port is the port's name; "namespace/service" for
	// an unnamed port), the name kube-proxy uses in its comments.
	Name      string
	Namespace string
	Service   string
	PortName  string
	Protocol  core.Protocol // TCP, UDP or SCTP

	ClusterIP       string // "" for a Service without one (then only external addresses)
	Port            int32
	NodePort        int32 // 0: none
	ExternalIPs     []string
	LoadBalancerIPs []string

	// AffinitySeconds > 0 is ClientIP session affinity with that timeout.
	AffinitySeconds int32

	// InternalLocal is internalTrafficPolicy Local: traffic to the cluster IP goes to
	// local endpoints only.
	InternalLocal bool
	// ExternalLocal is externalTrafficPolicy Local for a Service with external addresses:
	// traffic from outside the node to them goes to local endpoints only, source kept.
	ExternalLocal bool

	// ClusterEndpoints are every usable endpoint (ready ones or, if there are none, the
	// serving-terminating ones), sorted.
	ClusterEndpoints []Endpoint
	// LocalEndpoints are the usable endpoints on this node, chosen the same way among the
	// local ones, sorted.
	LocalEndpoints []Endpoint

	hash string // memo of Hash
}

// HasExternal says whether the port has node ports, external or load-balancer IPs.
func (s *ServicePort) HasExternal() bool {
	return s.NodePort != 0 || len(s.ExternalIPs) > 0 || len(s.LoadBalancerIPs) > 0
}

// InternalEndpoints are the endpoints for traffic to the cluster IP.
func (s *ServicePort) InternalEndpoints() []Endpoint {
	if s.InternalLocal {
		return s.LocalEndpoints
	}
	return s.ClusterEndpoints
}

// ExternalEndpoints are the endpoints for traffic from outside the node to an external
// address (pods and the node itself still use ClusterEndpoints: see the backends).
func (s *ServicePort) ExternalEndpoints() []Endpoint {
	if s.ExternalLocal {
		return s.LocalEndpoints
	}
	return s.ClusterEndpoints
}

// UsesLocalChain says whether some traffic goes to the local endpoints only.
func (s *ServicePort) UsesLocalChain() bool { return s.InternalLocal || s.ExternalLocal }

// UsesClusterChain says whether some traffic goes to any endpoint: cluster IP traffic
// with policy Cluster, and externally-facing traffic (from pods and the node itself even
// under policy Local).
func (s *ServicePort) UsesClusterChain() bool {
	return (s.ClusterIP != "" && !s.InternalLocal) || s.HasExternal()
}

// ChainEndpoints are the endpoints some chain sends traffic to (each once, sorted as
// ClusterEndpoints then the other local ones).
func (s *ServicePort) ChainEndpoints() []Endpoint {
	var out []Endpoint
	seen := map[Endpoint]bool{}
	add := func(eps []Endpoint) {
		for _, e := range eps {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	if len(s.ClusterEndpoints) > 0 && s.UsesClusterChain() {
		add(s.ClusterEndpoints)
	}
	if s.UsesLocalChain() {
		add(s.LocalEndpoints)
	}
	return out
}

// Hash is a short stable name-safe digest of the port's identity, as kube-proxy names
// its chains (16 base32 characters of a SHA-256).
func (s *ServicePort) Hash() string {
	if s.hash == "" {
		s.hash = Hash(s.Name + "/" + strings.ToLower(string(s.Protocol)))
	}
	return s.hash
}

// EndpointHash names an endpoint of this port.
func (s *ServicePort) EndpointHash(e Endpoint) string {
	return Hash(s.Name + "/" + strings.ToLower(string(s.Protocol)) + "/" + e.String())
}

// Hash is the 16-character base32 digest of s.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// Input is what a plan is built from.
type Input struct {
	// NodeName is this node: endpoints whose nodeName it is are local.
	NodeName    string
	ClusterCIDR string
	Services    []*core.Service
	// Slices are every EndpointSlice; those without the service-name label are ignored.
	Slices []*discovery.EndpointSlice
	// Skip says whether a service port is served by the proxy itself (the cluster DNS
	// address) and must be left alone while it has no endpoints.
	Skip func(ip string, port int32, proto core.Protocol) bool
}

// Build computes the plan.
func Build(in Input) *Plan {
	bySvc := map[string][]*discovery.EndpointSlice{}
	for _, s := range in.Slices {
		name := s.Labels[LabelServiceName]
		if name == "" || (s.AddressType != discovery.AddressTypeIPv4 && s.AddressType != "") {
			continue
		}
		k := s.Namespace + "/" + name
		bySvc[k] = append(bySvc[k], s)
	}
	p := &Plan{ClusterCIDR: in.ClusterCIDR}
	for _, svc := range in.Services {
		p.Services = append(p.Services, servicePorts(in, svc, bySvc[svc.Namespace+"/"+svc.Name])...)
	}
	slices.SortFunc(p.Services, func(a, b *ServicePort) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(string(a.Protocol), string(b.Protocol))
	})
	return p
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

func servicePorts(in Input, svc *core.Service, eps []*discovery.EndpointSlice) []*ServicePort {
	if svc.Spec.Type == core.ServiceTypeExternalName {
		return nil
	}
	clusterIP := svc.Spec.ClusterIP
	if clusterIP == core.ClusterIPNone || !isIPv4(clusterIP) {
		clusterIP = ""
	}
	if clusterIP == "" && svc.Spec.ClusterIP == core.ClusterIPNone {
		return nil // headless: DNS only
	}
	var out []*ServicePort
	for _, sp := range svc.Spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = core.ProtocolTCP
		}
		name := svc.Namespace + "/" + svc.Name
		if sp.Name != "" {
			name += ":" + sp.Name
		}
		s := &ServicePort{
			Name:      name,
			Namespace: svc.Namespace, Service: svc.Name, PortName: sp.Name, Protocol: proto,
			ClusterIP: clusterIP, Port: sp.Port,
		}
		if svc.Spec.Type == core.ServiceTypeNodePort || svc.Spec.Type == core.ServiceTypeLoadBalancer {
			s.NodePort = sp.NodePort
		}
		for _, ip := range svc.Spec.ExternalIPs {
			if isIPv4(ip) && !slices.Contains(s.ExternalIPs, ip) {
				s.ExternalIPs = append(s.ExternalIPs, ip)
			}
		}
		if svc.Spec.Type == core.ServiceTypeLoadBalancer {
			for _, ing := range svc.Status.LoadBalancer.Ingress {
				// ipMode Proxy means the load balancer delivers to the node: nothing to catch.
				if isIPv4(ing.IP) && (ing.IPMode == nil || *ing.IPMode == core.LoadBalancerIPModeVIP) &&
					!slices.Contains(s.LoadBalancerIPs, ing.IP) {
					s.LoadBalancerIPs = append(s.LoadBalancerIPs, ing.IP)
				}
			}
		}
		slices.Sort(s.ExternalIPs)
		slices.Sort(s.LoadBalancerIPs)
		if svc.Spec.SessionAffinity == core.ServiceAffinityClientIP {
			s.AffinitySeconds = core.DefaultClientIPServiceAffinitySeconds
			if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil && *c.ClientIP.TimeoutSeconds > 0 {
				s.AffinitySeconds = *c.ClientIP.TimeoutSeconds
			}
		}
		s.InternalLocal = svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == core.ServiceInternalTrafficPolicyLocal
		s.ExternalLocal = s.HasExternal() && svc.Spec.ExternalTrafficPolicy == core.ServiceExternalTrafficPolicyLocal
		s.ClusterEndpoints, s.LocalEndpoints = endpointsFor(in.NodeName, sp, proto, eps)
		if s.ClusterIP == "" && !s.HasExternal() {
			continue
		}
		if len(s.ClusterEndpoints) == 0 && in.Skip != nil && s.ClusterIP != "" && in.Skip(s.ClusterIP, s.Port, proto) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// endpointsFor picks the usable endpoints of one service port, as kube-proxy's
// CategorizeEndpoints: ready ones; when there are none, serving-terminating ones (so that
// a rolling update does not drop connections); the local ones chosen the same way.
func endpointsFor(node string, sp core.ServicePort, proto core.Protocol, eps []*discovery.EndpointSlice) (cluster, local []Endpoint) {
	type cand struct {
		ep                        Endpoint
		ready, servingTerminating bool
	}
	var cands []cand
	seen := map[Endpoint]bool{}
	for _, sl := range eps {
		for _, port := range sl.Ports {
			name := ""
			if port.Name != nil {
				name = *port.Name
			}
			pp := core.ProtocolTCP
			if port.Protocol != nil {
				pp = *port.Protocol
			}
			if name != sp.Name || pp != proto || port.Port == nil || *port.Port <= 0 {
				continue
			}
			for _, e := range sl.Endpoints {
				if len(e.Addresses) == 0 || !isIPv4(e.Addresses[0]) {
					continue
				}
				ready := e.Conditions.Ready == nil || *e.Conditions.Ready
				serving := ready
				if e.Conditions.Serving != nil {
					serving = *e.Conditions.Serving
				}
				terminating := e.Conditions.Terminating != nil && *e.Conditions.Terminating
				ep := Endpoint{IP: e.Addresses[0], Port: *port.Port, Local: e.NodeName != nil && *e.NodeName == node && node != ""}
				if seen[ep] {
					continue
				}
				seen[ep] = true
				cands = append(cands, cand{ep: ep, ready: ready, servingTerminating: serving && terminating})
			}
		}
	}
	pick := func(onlyLocal bool) []Endpoint {
		var ready, fallback []Endpoint
		for _, c := range cands {
			if onlyLocal && !c.ep.Local {
				continue
			}
			if c.ready {
				ready = append(ready, c.ep)
			} else if c.servingTerminating {
				fallback = append(fallback, c.ep)
			}
		}
		out := ready
		if len(out) == 0 {
			out = fallback
		}
		slices.SortFunc(out, func(a, b Endpoint) int {
			if c := netip.MustParseAddr(a.IP).Compare(netip.MustParseAddr(b.IP)); c != 0 {
				return c
			}
			return int(a.Port) - int(b.Port)
		})
		return out
	}
	return pick(false), pick(true)
}

// Stats counts what a plan holds (for logs and metrics).
type Stats struct {
	Services, Endpoints, NoEndpoints int
}

// Stats counts the plan's service ports and endpoints.
func (p *Plan) Stats() Stats {
	var s Stats
	for _, sp := range p.Services {
		s.Services++
		s.Endpoints += len(sp.ClusterEndpoints)
		if len(sp.ClusterEndpoints) == 0 {
			s.NoEndpoints++
		}
	}
	return s
}

// Port is "proto/port" lower case, e.g. "tcp/80", for messages.
func Port(proto core.Protocol, port int32) string {
	return strings.ToLower(string(proto)) + "/" + strconv.Itoa(int(port))
}
