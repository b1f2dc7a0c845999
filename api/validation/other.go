package validation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/api/validation/field"
)

func validatePodTemplate(pt *core.PodTemplate) field.ErrorList {
	errs := ValidateObjectMeta(&pt.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, ValidatePodTemplateSpec(&pt.Template, field.NewPath("template"))...)
}

func validateLease(l *coordination.Lease) field.ErrorList {
	errs := ValidateObjectMeta(&l.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	specPath := field.NewPath("spec")
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseTransitions"), *t, IsNegativeErrorMsg))
	}
	if s := l.Spec.Strategy; s != nil && *s != coordination.OldestEmulationVersion {
		errs = append(errs, field.NotSupported(specPath.Child("strategy"), *s, []coordination.CoordinatedLeaseStrategy{coordination.OldestEmulationVersion}))
	}
	return errs
}

// Limits that keep an EndpointSlice small enough to fan out to every proxy cheaply.
const (
	maxEndpointsPerSlice = 1000
	maxAddressesPerEP    = 100
	maxPortsPerSlice     = 20000
	maxTopologyLabels    = 16
)

var supportedAddressTypes = []discovery.AddressType{discovery.AddressTypeFQDN, discovery.AddressTypeIPv4, discovery.AddressTypeIPv6}

func validateEndpointSlice(es *discovery.EndpointSlice) field.ErrorList {
	errs := ValidateObjectMeta(&es.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	if es.AddressType == "" {
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	} else if !slices.Contains(supportedAddressTypes, es.AddressType) {
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), es.AddressType, supportedAddressTypes))
	}
	errs = append(errs, validateSliceEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))...)
	return append(errs, validateSlicePorts(es.Ports, field.NewPath("ports"))...)
}

func validateSliceEndpoints(endpoints []discovery.Endpoint, addrType discovery.AddressType, path *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpointsPerSlice {
		return field.ErrorList{field.TooMany(path, len(endpoints), maxEndpointsPerSlice)}
	}
	var errs field.ErrorList
	for i, ep := range endpoints {
		idxPath := path.Index(i)
		addrPath := idxPath.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxAddressesPerEP {
			errs = append(errs, field.TooMany(addrPath, len(ep.Addresses), maxAddressesPerEP))
		}
		// The address type says how every address in the slice is to be read.
		for j, a := range ep.Addresses {
			switch addrType {
			case discovery.AddressTypeIPv4:
				errs = append(errs, IsValidIPv4Address(addrPath.Index(j), a)...)
			case discovery.AddressTypeIPv6:
				errs = append(errs, IsValidIPv6Address(addrPath.Index(j), a)...)
			case discovery.AddressTypeFQDN:
				errs = append(errs, validateFQDN(a, addrPath.Index(j))...)
			}
		}
		if ep.NodeName != nil {
			errs = append(errs, validateNameField(*ep.NodeName, NameIsDNSSubdomain, idxPath.Child("nodeName"))...)
		}
		if ep.Hostname != nil {
			errs = append(errs, validateDNS1123Label(*ep.Hostname, idxPath.Child("hostname"))...)
		}
		topoPath := idxPath.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(topoPath, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, ValidateLabels(ep.DeprecatedTopology, topoPath)...)
	}
	return errs
}

// validateFQDN checks a fully qualified domain name of at least two labels.
func validateFQDN(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	name = strings.TrimSuffix(name, ".")
	if msgs := IsDNS1123Subdomain(name); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(path, name, strings.Join(msgs, ","))}
	}
	if len(strings.Split(name, ".")) < 2 {
		return field.ErrorList{field.Invalid(path, name, "should be a domain with at least two segments separated by dots")}
	}
	for _, label := range strings.Split(name, ".") {
		if msgs := IsDNS1123Label(label); len(msgs) > 0 {
			return field.ErrorList{field.Invalid(path, label, strings.Join(msgs, ","))}
		}
	}
	return nil
}

func validateSlicePorts(ports []discovery.EndpointPort, path *field.Path) field.ErrorList {
	if len(ports) > maxPortsPerSlice {
		return field.ErrorList{field.TooMany(path, len(ports), maxPortsPerSlice)}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		idxPath := path.Index(i)
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			errs = append(errs, validateDNS1123Label(name, idxPath.Child("name"))...)
		}
		if names[name] {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), name))
		}
		names[name] = true
		if p.Protocol == nil {
			errs = append(errs, field.Required(idxPath.Child("protocol"), ""))
		} else if !slices.Contains(supportedPortProtocols, *p.Protocol) {
			errs = append(errs, field.NotSupported(idxPath.Child("protocol"), *p.Protocol, supportedPortProtocols))
		}
		if p.Port != nil {
			for _, msg := range IsInRange(int(*p.Port), 0, 65535) {
				errs = append(errs, field.Invalid(idxPath.Child("port"), *p.Port, msg))
			}
		}
		if p.AppProtocol != nil {
			errs = append(errs, validateQualifiedName(*p.AppProtocol, idxPath.Child("appProtocol"))...)
		}
	}
	return errs
}

func validateEndpointSliceUpdate(es, old *discovery.EndpointSlice) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&es.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateEndpointSlice(es)...)
	// Consumers index slices by address type; changing it would mix families.
	return append(errs, ValidateImmutableField(es.AddressType, old.AddressType, field.NewPath("addressType"))...)
}

// Priority values above HighestUserDefinablePriority are reserved for the two built-in
// system classes, so that no workload can outrank the cluster's own components.
const (
	HighestUserDefinablePriority = 1000000000
	systemPriorityClassPrefix    = "system-"
)

var systemPriorityClasses = map[string]int32{
	"system-node-critical":    2000001000,
	"system-cluster-critical": 2000000000,
}

func validatePriorityClass(pc *scheduling.PriorityClass) field.ErrorList {
	errs := ValidateObjectMeta(&pc.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	if strings.HasPrefix(pc.Name, systemPriorityClassPrefix) {
		if err := checkSystemPriorityClass(pc); err != "" {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				"priority class names with '"+systemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err))
		}
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
	}
	if p := pc.PreemptionPolicy; p != nil && !slices.Contains(supportedPreemption, *p) {
		errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), *p, supportedPreemption))
	}
	return errs
}

func checkSystemPriorityClass(pc *scheduling.PriorityClass) string {
	value, ok := systemPriorityClasses[pc.Name]
	switch {
	case !ok:
		return fmt.Sprintf("name %v is not a known system priority class", pc.Name)
	case pc.Value != value:
		return fmt.Sprintf("value of %v PriorityClass must be %v", pc.Name, value)
	case pc.GlobalDefault:
		return fmt.Sprintf("globalDefault of %v must be set to %v", pc.Name, false)
	}
	return ""
}

// validatePriorityClassUpdate: pods carry their priority as a number copied at creation,
// so changing a class's value would silently split it into two meanings.
func validatePriorityClassUpdate(pc, old *scheduling.PriorityClass) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&pc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validatePriorityClass(pc)...)
	if pc.Value != old.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(errs, ValidateImmutableField(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}
