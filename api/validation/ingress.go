package validation

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Ingress and IngressClass, as Kubernetes' pkg/apis/networking/validation checks them.

const maxLenIngressClassController = 250

var (
	supportedPathTypes = []networking.PathType{networking.PathTypeExact, networking.PathTypeImplementationSpecific, networking.PathTypePrefix}
	// Paths an Exact or Prefix rule may not contain: they would never match a cleaned
	// request path, or would smuggle a separator past the element-wise match.
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}

	supportedParameterScopes = []string{networking.IngressClassParametersReferenceScopeCluster, networking.IngressClassParametersReferenceScopeNamespace}

	wildcardDNS1123SubdomainFmt    = "\\*\\." + dns1123SubdomainFmt
	wildcardDNS1123SubdomainRegexp = regexp.MustCompile("^" + wildcardDNS1123SubdomainFmt + "$")
	httpPathFmt                    = `[A-Za-z0-9/\-._~%!$&'()*+,;=:]+`
	httpPathRegexp                 = regexp.MustCompile("^" + httpPathFmt + "$")
)

// IsWildcardDNS1123Subdomain checks a wildcard host: "*." and a DNS subdomain.
func IsWildcardDNS1123Subdomain(value string) []string {
	var errs []string
	if len(value) > DNS1123SubdomainMaxLength {
		errs = append(errs, MaxLenError(DNS1123SubdomainMaxLength))
	}
	if !wildcardDNS1123SubdomainRegexp.MatchString(value) {
		errs = append(errs, RegexError("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character", wildcardDNS1123SubdomainFmt, "*.example.com"))
	}
	return errs
}

// IsDomainPrefixedPath checks a domain-prefixed path such as "acme.io/foo".
func IsDomainPrefixedPath(path *field.Path, dpPath string) field.ErrorList {
	if dpPath == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	segments := strings.SplitN(dpPath, "/", 2)
	if len(segments) != 2 || segments[0] == "" || segments[1] == "" {
		return field.ErrorList{field.Invalid(path, dpPath, "must be a domain-prefixed path (such as \"acme.io/foo\")")}
	}
	var errs field.ErrorList
	for _, msg := range IsDNS1123Subdomain(segments[0]) {
		errs = append(errs, field.Invalid(path, segments[0], msg))
	}
	if !httpPathRegexp.MatchString(segments[1]) {
		errs = append(errs, field.Invalid(path, segments[1], RegexError("Invalid path", httpPathFmt)))
	}
	return errs
}

func validateIngress(ing *networking.Ingress) field.ErrorList {
	errs := ValidateObjectMeta(&ing.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateIngressSpec(&ing.Spec, field.NewPath("spec"))...)
	// On create only: the deprecated annotation and the field must agree.
	if v, ok := ing.Annotations[networking.AnnotationIngressClass]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(networking.AnnotationIngressClass), v, "must match `ingressClassName` when both are specified"))
	}
	return errs
}

func validateIngressUpdate(ing, old *networking.Ingress) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&ing.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, ValidateObjectMeta(&ing.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))...)
	errs = append(errs, validateIngressSpec(&ing.Spec, field.NewPath("spec"))...)
	errs = append(errs, validateIngressLoadBalancerStatus(&ing.Status.LoadBalancer, field.NewPath("status", "loadBalancer"))...)
	return errs
}

func validateIngressSpec(spec *networking.IngressSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(path, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(spec.DefaultBackend, path.Child("defaultBackend"))...)
	}
	for i, rule := range spec.Rules {
		rp := path.Child("rules").Index(i)
		if rule.Host != "" {
			if parseIPSloppy(rule.Host) != nil {
				errs = append(errs, field.Invalid(rp.Child("host"), rule.Host, "must be a DNS name, not an IP address"))
			}
			check := IsDNS1123Subdomain
			if strings.Contains(rule.Host, "*") {
				check = IsWildcardDNS1123Subdomain
			}
			for _, msg := range check(rule.Host) {
				errs = append(errs, field.Invalid(rp.Child("host"), rule.Host, msg))
			}
		}
		if rule.HTTP != nil {
			hp := rp.Child("http")
			if len(rule.HTTP.Paths) == 0 {
				errs = append(errs, field.Required(hp.Child("paths"), ""))
			}
			for j := range rule.HTTP.Paths {
				errs = append(errs, validateHTTPIngressPath(&rule.HTTP.Paths[j], hp.Child("paths").Index(j))...)
			}
		}
	}
	for i, tls := range spec.TLS {
		tp := path.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			check := IsDNS1123Subdomain
			if strings.Contains(host, "*") {
				check = IsWildcardDNS1123Subdomain
			}
			for _, msg := range check(host) {
				errs = append(errs, field.Invalid(tp.Child("hosts").Index(j), host, msg))
			}
		}
		if tls.SecretName != "" {
			for _, msg := range NameIsDNSSubdomain(tls.SecretName, false) {
				errs = append(errs, field.Invalid(tp.Child("secretName"), tls.SecretName, msg))
			}
		}
	}
	if spec.IngressClassName != nil {
		for _, msg := range NameIsDNSSubdomain(*spec.IngressClassName, false) {
			errs = append(errs, field.Invalid(path.Child("ingressClassName"), *spec.IngressClassName, msg))
		}
	}
	return errs
}

func validateHTTPIngressPath(p *networking.HTTPIngressPath, path *field.Path) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(path.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	switch *p.PathType {
	case networking.PathTypeExact, networking.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), p.Path, "must be an absolute path"))
		}
		for _, seq := range invalidPathSequences {
			if strings.Contains(p.Path, seq) {
				errs = append(errs, field.Invalid(path.Child("path"), p.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suf := range invalidPathSuffixes {
			if strings.HasSuffix(p.Path, suf) {
				errs = append(errs, field.Invalid(path.Child("path"), p.Path, fmt.Sprintf("cannot end with '%s'", suf)))
			}
		}
	case networking.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), p.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("pathType"), *p.PathType, supportedPathTypes))
	}
	return append(errs, validateIngressBackend(&p.Backend, path.Child("backend"))...)
}

func validateIngressBackend(b *networking.IngressBackend, path *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(path, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedLocalObjectReference(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, path.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(path, "", "resource or service backend is required")}
	}
	var errs field.ErrorList
	svc := b.Service
	if svc.Name == "" {
		errs = append(errs, field.Required(path.Child("service", "name"), ""))
	} else {
		for _, msg := range NameIsDNS1035Label(svc.Name, false) {
			errs = append(errs, field.Invalid(path.Child("service", "name"), svc.Name, msg))
		}
	}
	switch {
	case svc.Port.Name != "" && svc.Port.Number != 0:
		errs = append(errs, field.Invalid(path, "", "cannot set both port name & port number"))
	case svc.Port.Name != "":
		for _, msg := range IsValidPortName(svc.Port.Name) {
			errs = append(errs, field.Invalid(path.Child("service", "port", "name"), svc.Port.Name, msg))
		}
	case svc.Port.Number != 0:
		for _, msg := range IsValidPortNum(int(svc.Port.Number)) {
			errs = append(errs, field.Invalid(path.Child("service", "port", "number"), svc.Port.Number, msg))
		}
	default:
		errs = append(errs, field.Required(path, "port name or number is required"))
	}
	return errs
}

func validateTypedLocalObjectReference(apiGroup *string, kind, name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if apiGroup != nil {
		for _, msg := range IsDNS1123Subdomain(*apiGroup) {
			errs = append(errs, field.Invalid(path.Child("apiGroup"), *apiGroup, msg))
		}
	}
	if kind == "" {
		errs = append(errs, field.Required(path.Child("kind"), "kind is required"))
	} else {
		for _, msg := range nameIsPathSegment(kind, false) {
			errs = append(errs, field.Invalid(path.Child("kind"), kind, msg))
		}
	}
	if name == "" {
		errs = append(errs, field.Required(path.Child("name"), "name is required"))
	} else {
		for _, msg := range nameIsPathSegment(name, false) {
			errs = append(errs, field.Invalid(path.Child("name"), name, msg))
		}
	}
	return errs
}

func validateIngressLoadBalancerStatus(st *networking.IngressLoadBalancerStatus, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, in := range st.Ingress {
		ip := path.Child("ingress").Index(i)
		if in.IP != "" {
			errs = append(errs, IsValidIP(ip.Child("ip"), in.IP)...)
		}
		if in.Hostname != "" {
			for _, msg := range IsDNS1123Subdomain(in.Hostname) {
				errs = append(errs, field.Invalid(ip.Child("hostname"), in.Hostname, msg))
			}
			if parseIPSloppy(in.Hostname) != nil {
				errs = append(errs, field.Invalid(ip.Child("hostname"), in.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

func validateIngressClass(c *networking.IngressClass) field.ErrorList {
	errs := ValidateObjectMeta(&c.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	sp := field.NewPath("spec")
	if len(c.Spec.Controller) > maxLenIngressClassController {
		errs = append(errs, field.TooLong(sp.Child("controller"), "", maxLenIngressClassController))
	}
	errs = append(errs, IsDomainPrefixedPath(sp.Child("controller"), c.Spec.Controller)...)
	if p := c.Spec.Parameters; p != nil {
		pp := sp.Child("parameters")
		errs = append(errs, validateTypedLocalObjectReference(p.APIGroup, p.Kind, p.Name, pp)...)
		switch {
		case p.Scope == nil:
			errs = append(errs, field.Required(pp.Child("scope"), ""))
		case *p.Scope == networking.IngressClassParametersReferenceScopeNamespace:
			if p.Namespace == nil {
				errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
			} else {
				for _, msg := range NameIsDNSLabel(*p.Namespace, false) {
					errs = append(errs, field.Invalid(pp.Child("namespace"), *p.Namespace, msg))
				}
			}
		case *p.Scope == networking.IngressClassParametersReferenceScopeCluster:
			if p.Namespace != nil {
				errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
			}
		default:
			errs = append(errs, field.NotSupported(pp.Child("scope"), *p.Scope, supportedParameterScopes))
		}
	}
	return errs
}

func validateIngressClassUpdate(c, old *networking.IngressClass) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, ValidateImmutableField(c.Spec.Controller, old.Spec.Controller, field.NewPath("spec", "controller"))...)
	return append(errs, validateIngressClass(c)...)
}
