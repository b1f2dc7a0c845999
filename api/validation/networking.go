package validation

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// networking.k8s.io: NetworkPolicy, ServiceCIDR and IPAddress, with Kubernetes' rules,
// field paths and messages (pkg/apis/networking/validation).

func validateNetworkPolicy(np *networking.NetworkPolicy) field.ErrorList {
	errs := ValidateObjectMeta(&np.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateNetworkPolicySpec(&np.Spec, nil, field.NewPath("spec"))...)
}

// validateNetworkPolicyUpdate: a CIDR the stored policy already held is accepted again
// unchecked, as Kubernetes does, so that tightening validation never makes an old policy
// impossible to edit.
func validateNetworkPolicyUpdate(np, old *networking.NetworkPolicy) field.ErrorList {
	var existing []string
	peers := func(ps []networking.NetworkPolicyPeer) {
		for _, p := range ps {
			if p.IPBlock != nil {
				existing = append(existing, p.IPBlock.CIDR)
				existing = append(existing, p.IPBlock.Except...)
			}
		}
	}
	for _, r := range old.Spec.Ingress {
		peers(r.From)
	}
	for _, r := range old.Spec.Egress {
		peers(r.To)
	}
	errs := ValidateObjectMetaUpdate(&np.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateNetworkPolicySpec(&np.Spec, existing, field.NewPath("spec"))...)
}

func validateNetworkPolicySpec(spec *networking.NetworkPolicySpec, oldCIDRs []string, path *field.Path) field.ErrorList {
	errs := ValidateLabelSelector(&spec.PodSelector, path.Child("podSelector"))
	for i, r := range spec.Ingress {
		rp := path.Child("ingress").Index(i)
		for j := range r.Ports {
			errs = append(errs, validateNetworkPolicyPort(&r.Ports[j], rp.Child("ports").Index(j))...)
		}
		for j := range r.From {
			errs = append(errs, validateNetworkPolicyPeer(&r.From[j], oldCIDRs, rp.Child("from").Index(j))...)
		}
	}
	for i, r := range spec.Egress {
		rp := path.Child("egress").Index(i)
		for j := range r.Ports {
			errs = append(errs, validateNetworkPolicyPort(&r.Ports[j], rp.Child("ports").Index(j))...)
		}
		for j := range r.To {
			errs = append(errs, validateNetworkPolicyPeer(&r.To[j], oldCIDRs, rp.Child("to").Index(j))...)
		}
	}
	allowed := []string{string(networking.PolicyTypeIngress), string(networking.PolicyTypeEgress)}
	if len(spec.PolicyTypes) > len(allowed) {
		return append(errs, field.Invalid(path.Child("policyTypes"), spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if !slices.Contains(allowed, string(t)) {
			errs = append(errs, field.NotSupported(path.Child("policyTypes").Index(i), t, allowed))
		}
	}
	return errs
}

func validateNetworkPolicyPort(p *networking.NetworkPolicyPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Protocol != nil && *p.Protocol != core.ProtocolTCP && *p.Protocol != core.ProtocolUDP && *p.Protocol != core.ProtocolSCTP {
		errs = append(errs, field.NotSupported(path.Child("protocol"), *p.Protocol, []core.Protocol{core.ProtocolTCP, core.ProtocolUDP, core.ProtocolSCTP}))
	}
	switch {
	case p.Port == nil:
		if p.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, "may not be specified when `port` is not specified"))
		}
	case p.Port.Type == intstr.Int:
		for _, msg := range IsValidPortNum(int(p.Port.IntVal)) {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port.IntVal, msg))
		}
		if p.EndPort != nil {
			if *p.EndPort < p.Port.IntVal {
				// Kubernetes reports the port's value here, not endPort's.
				errs = append(errs, field.Invalid(path.Child("endPort"), p.Port.IntVal, "must be greater than or equal to `port`"))
			}
			for _, msg := range IsValidPortNum(int(*p.EndPort)) {
				errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, msg))
			}
		}
	default:
		if p.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range IsValidPortName(p.Port.StrVal) {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port.StrVal, msg))
		}
	}
	return errs
}

func validateNetworkPolicyPeer(p *networking.NetworkPolicyPeer, oldCIDRs []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if p.PodSelector != nil {
		n++
		errs = append(errs, ValidateLabelSelector(p.PodSelector, path.Child("podSelector"))...)
	}
	if p.NamespaceSelector != nil {
		n++
		errs = append(errs, ValidateLabelSelector(p.NamespaceSelector, path.Child("namespaceSelector"))...)
	}
	if p.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(p.IPBlock, oldCIDRs, path.Child("ipBlock"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(path, "must specify a peer"))
	} else if n > 1 && p.IPBlock != nil {
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateIPBlock(b *networking.IPBlock, oldCIDRs []string, path *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(path.Child("cidr"), "")}
	}
	legacyCIDR := func(p *field.Path, v string) field.ErrorList {
		if slices.Contains(oldCIDRs, v) {
			return nil
		}
		return IsValidCIDR(p, v)
	}
	errs := legacyCIDR(path.Child("cidr"), b.CIDR)
	cidr, err := parseCIDRSloppy(b.CIDR)
	if err != nil {
		return errs
	}
	for i, e := range b.Except {
		ep := path.Child("except").Index(i)
		errs = append(errs, legacyCIDR(ep, e)...)
		except, err := parseCIDRSloppy(e)
		if err != nil {
			continue
		}
		cidrBits, _ := cidr.Mask.Size()
		exceptBits, _ := except.Mask.Size()
		if !cidr.Contains(except.IP) || cidrBits >= exceptBits {
			errs = append(errs, field.Invalid(ep, e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

// isValidStrictCIDR is Kubernetes' strict CIDR check (new fields such as
// ServiceCIDR.spec.cidrs): valid, and in canonical form.
func isValidStrictCIDR(path *field.Path, value string) field.ErrorList {
	if _, err := parseCIDRSloppy(value); err != nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")}
	}
	p, err := netip.ParsePrefix(value)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(path, value, "must not have leading 0s in IP or prefix length")}
	case p.Addr().Is4In6():
		return field.ErrorList{field.Invalid(path, value, "must not have an IPv4-mapped IPv6 address")}
	case p.Addr() != p.Masked().Addr():
		return field.ErrorList{field.Invalid(path, value, "must not have bits set beyond the prefix length")}
	case value != p.String():
		return field.ErrorList{field.Invalid(path, value, fmt.Sprintf("must be in canonical form (%q)", p.String()))}
	}
	return nil
}

// nameIsIP is the IPAddress name rule: the strict form of an IP address.
func nameIsIP(name string, _ bool) []string {
	if parseIPSloppy(name) == nil {
		return []string{"must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"}
	}
	a, err := netip.ParseAddr(name)
	switch {
	case err != nil:
		return []string{"must not have leading 0s"}
	case a.Is4In6():
		return []string{"must not be an IPv4-mapped IPv6 address"}
	case name != a.String():
		return []string{fmt.Sprintf("must be in canonical form (%q)", a.String())}
	}
	return nil
}

func validateIPAddress(ip *networking.IPAddress) field.ErrorList {
	errs := ValidateObjectMeta(&ip.ObjectMeta, false, nameIsIP, field.NewPath("metadata"))
	return append(errs, validateParentReference(ip.Spec.ParentRef, field.NewPath("spec"))...)
}

func validateParentReference(p *networking.ParentReference, path *field.Path) field.ErrorList {
	if p == nil {
		return field.ErrorList{field.Required(path.Child("parentRef"), "")}
	}
	path = path.Child("parentRef")
	var errs field.ErrorList
	// The core group (Services) is "", so group cannot be required.
	if p.Group != "" {
		for _, msg := range IsDNS1123Subdomain(p.Group) {
			errs = append(errs, field.Invalid(path.Child("group"), p.Group, msg))
		}
	}
	segment := func(name, v string, required bool) {
		if v == "" {
			if required {
				errs = append(errs, field.Required(path.Child(name), ""))
			}
			return
		}
		for _, msg := range nameIsPathSegment(v, false) {
			errs = append(errs, field.Invalid(path.Child(name), v, msg))
		}
	}
	segment("resource", p.Resource, true)
	segment("name", p.Name, true)
	segment("namespace", p.Namespace, false)
	return errs
}

func validateIPAddressUpdate(ip, old *networking.IPAddress) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&ip.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, ValidateImmutableField(ip.Spec.ParentRef, old.Spec.ParentRef, field.NewPath("spec", "parentRef"))...)
}

func validateServiceCIDR(sc *networking.ServiceCIDR) field.ErrorList {
	errs := ValidateObjectMeta(&sc.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateServiceCIDRSpec(&sc.Spec, field.NewPath("spec", "cidrs"))...)
}

func validateServiceCIDRSpec(spec *networking.ServiceCIDRSpec, path *field.Path) field.ErrorList {
	switch {
	case len(spec.CIDRs) == 0:
		return field.ErrorList{field.Required(path, "at least one CIDR required")}
	case len(spec.CIDRs) > 2:
		return field.ErrorList{field.Invalid(path, spec, "may only hold up to 2 values")}
	}
	var errs field.ErrorList
	for i, c := range spec.CIDRs {
		errs = append(errs, isValidStrictCIDR(path.Index(i), c)...)
	}
	if len(spec.CIDRs) == 2 {
		a, errA := netip.ParsePrefix(spec.CIDRs[0])
		b, errB := netip.ParsePrefix(spec.CIDRs[1])
		if errA == nil && errB == nil && a.Addr().Is4() == b.Addr().Is4() {
			errs = append(errs, field.Invalid(path, spec.CIDRs, "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"))
		}
	}
	return errs
}

// validateServiceCIDRUpdate: the ranges are immutable, except that a single-stack range
// may gain its other family.
func validateServiceCIDRUpdate(sc, old *networking.ServiceCIDR) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	path := field.NewPath("spec", "cidrs")
	switch {
	case len(old.Spec.CIDRs) == len(sc.Spec.CIDRs):
		for i, c := range old.Spec.CIDRs {
			if c != sc.Spec.CIDRs[i] {
				errs = append(errs, field.Invalid(path.Index(i), sc.Spec.CIDRs[i], FieldImmutableErrorMsg))
			}
		}
	case len(old.Spec.CIDRs) == 1 && len(sc.Spec.CIDRs) == 2:
		if sc.Spec.CIDRs[0] != old.Spec.CIDRs[0] {
			errs = append(errs, field.Invalid(path.Index(0), sc.Spec.CIDRs[0], FieldImmutableErrorMsg))
		}
		errs = append(errs, validateServiceCIDRSpec(&sc.Spec, path)...)
	default:
		errs = append(errs, field.Invalid(path, sc.Spec.CIDRs, FieldImmutableErrorMsg))
	}
	return errs
}
