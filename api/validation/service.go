package validation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// The default NodePort range. A port outside it could never be allocated, so it is refused
// up front with the message the Kubernetes allocator gives.
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

var (
	supportedServiceTypes     = []core.ServiceType{core.ServiceTypeClusterIP, core.ServiceTypeExternalName, core.ServiceTypeLoadBalancer, core.ServiceTypeNodePort}
	supportedSessionAffinity  = []core.ServiceAffinity{core.ServiceAffinityClientIP, core.ServiceAffinityNone}
	supportedExternalPolicies = []core.ServiceExternalTrafficPolicy{core.ServiceExternalTrafficPolicyCluster, core.ServiceExternalTrafficPolicyLocal}
	supportedInternalPolicies = []core.ServiceInternalTrafficPolicy{core.ServiceInternalTrafficPolicyCluster, core.ServiceInternalTrafficPolicyLocal}
	supportedIPFamilies       = []core.IPFamily{core.IPv4Protocol, core.IPv6Protocol}
	supportedIPFamilyPolicies = []core.IPFamilyPolicy{core.IPFamilyPolicyPreferDualStack, core.IPFamilyPolicyRequireDualStack, core.IPFamilyPolicySingleStack}
)

// maxClientIPAffinitySeconds is the longest ClientIP session affinity timeout (one day).
const maxClientIPAffinitySeconds = 86400

// clusterIPs returns the service's cluster IPs. Kubernetes keeps clusterIP and clusterIPs[0]
// in sync before validating; skiff tolerates a client that set only clusterIP.
func clusterIPs(svc *core.Service) []string {
	if len(svc.Spec.ClusterIPs) == 0 && svc.Spec.ClusterIP != "" {
		return []string{svc.Spec.ClusterIP}
	}
	return svc.Spec.ClusterIPs
}

// isHeadless: a service with clusterIP None gets DNS records for its pods but no virtual IP.
func isHeadless(svc *core.Service) bool {
	ips := clusterIPs(svc)
	return len(ips) == 1 && ips[0] == core.ClusterIPNone
}

func validateService(svc *core.Service) field.ErrorList {
	errs := ValidateObjectMeta(&svc.ObjectMeta, true, NameIsDNS1035Label, field.NewPath("metadata"))
	spec := &svc.Spec
	specPath := field.NewPath("spec")
	headless := isHeadless(svc)

	if len(spec.Ports) == 0 && !headless && spec.Type != core.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	switch spec.Type {
	case core.ServiceTypeLoadBalancer, core.ServiceTypeNodePort:
		if headless {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), core.ClusterIPNone, fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
	case core.ServiceTypeExternalName:
		// An ExternalName service is only a CNAME: it has no IPs of its own.
		if len(clusterIPs(svc)) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			errs = append(errs, validateDNS1123Subdomain(cname, specPath.Child("externalName"))...)
		} else {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		}
	}

	names := map[string]bool{}
	for i := range spec.Ports {
		errs = append(errs, validateServicePort(&spec.Ports[i], len(spec.Ports) > 1, names, specPath.Child("ports").Index(i))...)
	}
	errs = append(errs, ValidateLabels(spec.Selector, specPath.Child("selector"))...)

	if a := spec.SessionAffinity; a != "" && !slices.Contains(supportedSessionAffinity, a) {
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), a, supportedSessionAffinity))
	}
	if spec.SessionAffinity == core.ServiceAffinityClientIP {
		errs = append(errs, validateClientIPAffinity(spec.SessionAffinityConfig, specPath.Child("sessionAffinityConfig"))...)
	} else if spec.SessionAffinityConfig != nil {
		errs = append(errs, field.Forbidden(specPath.Child("sessionAffinityConfig"), "must not be set when session affinity is None"))
	}

	errs = append(errs, validateClusterIPs(svc, specPath)...)
	for i, ip := range spec.ExternalIPs {
		errs = append(errs, IsValidIP(specPath.Child("externalIPs").Index(i), ip)...)
	}
	if t := spec.Type; t != "" && !slices.Contains(supportedServiceTypes, t) {
		errs = append(errs, field.NotSupported(specPath.Child("type"), t, supportedServiceTypes))
	}

	nodePorts, ports := map[string]bool{}, map[string]bool{}
	for i, p := range spec.Ports {
		portPath := specPath.Child("ports").Index(i)
		proto := p.Protocol
		if proto == "" {
			proto = core.ProtocolTCP
		}
		if p.NodePort != 0 {
			if spec.Type == core.ServiceTypeClusterIP || spec.Type == "" {
				errs = append(errs, field.Forbidden(portPath.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			} else if p.NodePort < NodePortMin || p.NodePort > NodePortMax {
				errs = append(errs, field.Invalid(portPath.Child("nodePort"), p.NodePort,
					fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", NodePortMin, NodePortMax)))
			}
			key := fmt.Sprintf("%s/%d", proto, p.NodePort)
			if nodePorts[key] {
				errs = append(errs, field.Duplicate(portPath.Child("nodePort"), p.NodePort))
			}
			nodePorts[key] = true
		}
		key := fmt.Sprintf("%s/%d", proto, p.Port)
		if ports[key] {
			errs = append(errs, field.Duplicate(portPath, core.ServicePort{Port: p.Port, Protocol: proto}))
		}
		ports[key] = true
	}

	if len(spec.LoadBalancerSourceRanges) > 0 {
		rangesPath := specPath.Child("LoadBalancerSourceRanges")
		if spec.Type != core.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(rangesPath, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, r := range spec.LoadBalancerSourceRanges {
			errs = append(errs, IsValidCIDR(rangesPath.Index(i), strings.TrimSpace(r))...)
		}
	}
	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != core.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.LoadBalancerClass != nil {
		if spec.Type != core.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(specPath.Child("loadBalancerClass"), "may only be used when `type` is 'LoadBalancer'"))
		} else {
			errs = append(errs, validateQualifiedName(*spec.LoadBalancerClass, specPath.Child("loadBalancerClass"))...)
		}
	}
	errs = append(errs, validateTrafficPolicies(spec, specPath)...)
	return errs
}

func validateServicePort(p *core.ServicePort, requireName bool, names map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	// With several ports, names are how endpoints and SRV records tell them apart.
	if requireName && p.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else if p.Name != "" {
		errs = append(errs, validateDNS1123Label(p.Name, path.Child("name"))...)
		if names[p.Name] {
			errs = append(errs, field.Duplicate(path.Child("name"), p.Name))
		}
		names[p.Name] = true
	}
	for _, msg := range IsValidPortNum(int(p.Port)) {
		errs = append(errs, field.Invalid(path.Child("port"), p.Port, msg))
	}
	if p.Protocol != "" && !slices.Contains(supportedPortProtocols, p.Protocol) {
		errs = append(errs, field.NotSupported(path.Child("protocol"), p.Protocol, supportedPortProtocols))
	}
	// An unset targetPort means "same as port" (defaulting fills it in).
	if !(p.TargetPort.Type == 0 && p.TargetPort.IntVal == 0) {
		errs = append(errs, validatePortNumOrName(p.TargetPort, path.Child("targetPort"))...)
	}
	if p.AppProtocol != nil {
		errs = append(errs, validateQualifiedName(*p.AppProtocol, path.Child("appProtocol"))...)
	}
	return errs
}

func validateClientIPAffinity(cfg *core.SessionAffinityConfig, path *field.Path) field.ErrorList {
	// Defaulting sets the ClientIP timeout; a missing config means the default applies.
	if cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
		return nil
	}
	if t := *cfg.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPAffinitySeconds {
		return field.ErrorList{field.Invalid(path.Child("clientIP", "timeoutSeconds"), t, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds))}
	}
	return nil
}

// validateClusterIPs checks the IP fields of a non-ExternalName service.
func validateClusterIPs(svc *core.Service, specPath *field.Path) field.ErrorList {
	spec := &svc.Spec
	if spec.Type == core.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	ipsPath := specPath.Child("clusterIPs")
	if spec.ClusterIP != "" && len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] != spec.ClusterIP {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
	}
	for i, fam := range spec.IPFamilies {
		if !slices.Contains(supportedIPFamilies, fam) {
			errs = append(errs, field.NotSupported(specPath.Child("ipFamilies").Index(i), fam, supportedIPFamilies))
		}
		if slices.Contains(spec.IPFamilies[:i], fam) {
			errs = append(errs, field.Duplicate(specPath.Child("ipFamilies").Index(i), fam))
		}
	}
	if p := spec.IPFamilyPolicy; p != nil && !slices.Contains(supportedIPFamilyPolicies, *p) {
		errs = append(errs, field.NotSupported(specPath.Child("ipFamilyPolicy"), *p, supportedIPFamilyPolicies))
	}
	ips := clusterIPs(svc)
	for i, ip := range ips {
		if i == 0 && ip == core.ClusterIPNone {
			if len(ips) > 1 {
				errs = append(errs, field.Invalid(ipsPath, ips, "'None' must be the first and only value"))
			}
			continue
		}
		errs = append(errs, IsValidIP(ipsPath.Index(i), ip)...)
	}
	if len(ips) > 2 {
		errs = append(errs, field.Invalid(ipsPath, ips, "may only hold up to 2 values"))
	}
	return errs
}

func validateTrafficPolicies(spec *core.ServiceSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	external := spec.Type == core.ServiceTypeNodePort || spec.Type == core.ServiceTypeLoadBalancer || len(spec.ExternalIPs) > 0
	if p := spec.ExternalTrafficPolicy; p != "" {
		if !external {
			errs = append(errs, field.Invalid(specPath.Child("externalTrafficPolicy"), p, "may only be set for externally-accessible services"))
		} else if !slices.Contains(supportedExternalPolicies, p) {
			errs = append(errs, field.NotSupported(specPath.Child("externalTrafficPolicy"), p, supportedExternalPolicies))
		}
	}
	needsHealthCheck := spec.Type == core.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == core.ServiceExternalTrafficPolicyLocal
	if hc := spec.HealthCheckNodePort; hc != 0 {
		if !needsHealthCheck {
			errs = append(errs, field.Invalid(specPath.Child("healthCheckNodePort"), hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		} else {
			for _, msg := range IsValidPortNum(int(hc)) {
				errs = append(errs, field.Invalid(specPath.Child("healthCheckNodePort"), hc, msg))
			}
		}
	}
	if p := spec.InternalTrafficPolicy; p != nil && !slices.Contains(supportedInternalPolicies, *p) {
		errs = append(errs, field.NotSupported(specPath.Child("internalTrafficPolicy"), *p, supportedInternalPolicies))
	}
	if d := spec.TrafficDistribution; d != nil {
		valid := []string{core.ServiceTrafficDistributionPreferClose, core.ServiceTrafficDistributionPreferSameNode, core.ServiceTrafficDistributionPreferSameZone}
		if !slices.Contains(valid, *d) {
			errs = append(errs, field.NotSupported(specPath.Child("trafficDistribution"), *d, valid))
		}
	}
	return errs
}

// validateServiceUpdate: a cluster IP is a promise to every client that cached it, so it
// may not change while the service keeps one. Switching to or from ExternalName (which has
// no IP) is the way to give one up.
func validateServiceUpdate(svc, old *core.Service) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if svc.Spec.Type != core.ServiceTypeExternalName && old.Spec.Type != core.ServiceTypeExternalName && !(isHeadless(svc) && isHeadless(old)) {
		newIPs, oldIPs := clusterIPs(svc), clusterIPs(old)
		ipsPath := field.NewPath("spec", "clusterIPs")
		switch {
		case len(oldIPs) == len(newIPs):
			for i := range oldIPs {
				if oldIPs[i] != newIPs[i] {
					errs = append(errs, field.Invalid(ipsPath.Index(i), newIPs, "may not change once set"))
				}
			}
		case len(oldIPs) > len(newIPs):
			if len(newIPs) == 0 {
				errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "primary clusterIP can not be unset"))
			} else if newIPs[0] != oldIPs[0] {
				errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
			}
		case len(oldIPs) > 0 && newIPs[0] != oldIPs[0]:
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
		}
	}
	if old.Spec.Type == core.ServiceTypeLoadBalancer && svc.Spec.Type == core.ServiceTypeLoadBalancer &&
		!equalPtr(old.Spec.LoadBalancerClass, svc.Spec.LoadBalancerClass) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "loadBalancerClass"), svc.Spec.LoadBalancerClass, "may not change once set"))
	}
	return append(errs, validateService(svc)...)
}
