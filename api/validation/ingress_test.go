package validation

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/networking"
)

func validIngress() *networking.Ingress {
	prefix := networking.PathTypePrefix
	svc := func(name string, port int32) networking.IngressBackend {
		return networking.IngressBackend{Service: &networking.IngressServiceBackend{Name: name, Port: networking.ServiceBackendPort{Number: port}}}
	}
	return &networking.Ingress{ObjectMeta: objectMeta("web", "default"), Spec: networking.IngressSpec{
		IngressClassName: ptr("skiff"),
		TLS:              []networking.IngressTLS{{Hosts: []string{"a.example.com", "*.b.example.com"}, SecretName: "tls"}},
		Rules: []networking.IngressRule{{Host: "a.example.com", IngressRuleValue: networking.IngressRuleValue{HTTP: &networking.HTTPIngressRuleValue{
			Paths: []networking.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: svc("web", 80)}},
		}}}},
	}}
}

func TestValidateIngress(t *testing.T) {
	pathType := func(pt networking.PathType) *networking.PathType { return &pt }
	path0 := func(i *networking.Ingress) *networking.HTTPIngressPath { return &i.Spec.Rules[0].HTTP.Paths[0] }
	runCreateCases(t, validIngress, true, []objectCase[networking.Ingress]{
		{name: "valid"},
		{name: "default backend only", mutate: func(i *networking.Ingress) {
			i.Spec.DefaultBackend, i.Spec.Rules = &path0(i).Backend, nil
		}},
		{name: "wildcard host", mutate: func(i *networking.Ingress) { i.Spec.Rules[0].Host = "*.example.com" }},
		{name: "implementation specific without a path", mutate: func(i *networking.Ingress) {
			path0(i).Path, path0(i).PathType = "", pathType(networking.PathTypeImplementationSpecific)
		}},
		{name: "port by name", mutate: func(i *networking.Ingress) {
			path0(i).Backend.Service.Port = networking.ServiceBackendPort{Name: "http"}
		}},
		{name: "resource backend", mutate: func(i *networking.Ingress) {
			path0(i).Backend = networking.IngressBackend{Resource: &core.TypedLocalObjectReference{APIGroup: ptr("storage.example.com"), Kind: "Bucket", Name: "static"}}
		}},
		{name: "neither rules nor default backend", mutate: func(i *networking.Ingress) { i.Spec.Rules = nil }, want: []string{"spec" + invalid}},
		{name: "host is an IP", mutate: func(i *networking.Ingress) { i.Spec.Rules[0].Host = "10.0.0.1" }, want: []string{"spec.rules[0].host" + invalid}},
		{name: "host with a port", mutate: func(i *networking.Ingress) { i.Spec.Rules[0].Host = "a.example.com:80" }, want: []string{"spec.rules[0].host" + invalid}},
		{name: "wildcard alone", mutate: func(i *networking.Ingress) { i.Spec.Rules[0].Host = "*" }, want: []string{"spec.rules[0].host" + invalid}},
		{name: "wildcard inside", mutate: func(i *networking.Ingress) { i.Spec.Rules[0].Host = "a.*.example.com" }, want: []string{"spec.rules[0].host" + invalid}},
		{name: "no paths", mutate: func(i *networking.Ingress) { i.Spec.Rules[0].HTTP.Paths = nil }, want: []string{"spec.rules[0].http.paths" + required}},
		{name: "path type required", mutate: func(i *networking.Ingress) { path0(i).PathType = nil }, want: []string{"spec.rules[0].http.paths[0].pathType" + required}},
		{name: "path type", mutate: func(i *networking.Ingress) { path0(i).PathType = pathType("Regex") }, want: []string{"spec.rules[0].http.paths[0].pathType" + notSupported}},
		{name: "relative path", mutate: func(i *networking.Ingress) { path0(i).Path = "api" }, want: []string{"spec.rules[0].http.paths[0].path" + invalid}},
		{name: "double slash", mutate: func(i *networking.Ingress) { path0(i).Path = "/a//b" }, want: []string{"spec.rules[0].http.paths[0].path" + invalid}},
		{name: "dot-dot suffix", mutate: func(i *networking.Ingress) { path0(i).Path = "/a/.." }, want: []string{"spec.rules[0].http.paths[0].path" + invalid}},
		{name: "implementation specific relative", mutate: func(i *networking.Ingress) {
			path0(i).Path, path0(i).PathType = "api", pathType(networking.PathTypeImplementationSpecific)
		}, want: []string{"spec.rules[0].http.paths[0].path" + invalid}},
		{name: "no backend", mutate: func(i *networking.Ingress) { path0(i).Backend = networking.IngressBackend{} }, want: []string{"spec.rules[0].http.paths[0].backend" + invalid}},
		{name: "both backends", mutate: func(i *networking.Ingress) {
			path0(i).Backend.Resource = &core.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}
		}, want: []string{"spec.rules[0].http.paths[0].backend" + invalid}},
		{name: "service name", mutate: func(i *networking.Ingress) { path0(i).Backend.Service.Name = "1web" }, want: []string{"spec.rules[0].http.paths[0].backend.service.name" + invalid}},
		{name: "service name required", mutate: func(i *networking.Ingress) { path0(i).Backend.Service.Name = "" }, want: []string{"spec.rules[0].http.paths[0].backend.service.name" + required}},
		{name: "port required", mutate: func(i *networking.Ingress) { path0(i).Backend.Service.Port = networking.ServiceBackendPort{} }, want: []string{"spec.rules[0].http.paths[0].backend" + required}},
		{name: "port name and number", mutate: func(i *networking.Ingress) { path0(i).Backend.Service.Port.Name = "http" }, want: []string{"spec.rules[0].http.paths[0].backend" + invalid}},
		{name: "port number", mutate: func(i *networking.Ingress) { path0(i).Backend.Service.Port.Number = 70000 }, want: []string{"spec.rules[0].http.paths[0].backend.service.port.number" + invalid}},
		{name: "port name", mutate: func(i *networking.Ingress) {
			path0(i).Backend.Service.Port = networking.ServiceBackendPort{Name: "http_1"}
		}, want: []string{"spec.rules[0].http.paths[0].backend.service.port.name" + invalid}},
		{name: "default backend checked", mutate: func(i *networking.Ingress) { i.Spec.DefaultBackend = &networking.IngressBackend{} }, want: []string{"spec.defaultBackend" + invalid}},
		{name: "tls host", mutate: func(i *networking.Ingress) { i.Spec.TLS[0].Hosts[1] = "*.*.example.com" }, want: []string{"spec.tls[0].hosts[1]" + invalid}},
		{name: "tls secret name", mutate: func(i *networking.Ingress) { i.Spec.TLS[0].SecretName = "Bad_Name" }, want: []string{"spec.tls[0].secretName" + invalid}},
		{name: "class name", mutate: func(i *networking.Ingress) { i.Spec.IngressClassName = ptr("Skiff!") }, want: []string{"spec.ingressClassName" + invalid}},
		{name: "annotation and class disagree", mutate: func(i *networking.Ingress) {
			i.Annotations = map[string]string{networking.AnnotationIngressClass: "nginx"}
		}, want: []string{"annotations.kubernetes.io/ingress.class" + invalid}},
		{name: "namespace required", mutate: func(i *networking.Ingress) { i.Namespace = "" }, want: []string{"metadata.namespace" + required}},
	})
	runUpdateCases(t, validIngress, true, []updateCase[networking.Ingress]{
		{name: "new path", mutate: func(i *networking.Ingress) { path0(i).Path = "/v2" }},
		// The annotation check is a create-time rule in Kubernetes too.
		{name: "annotation disagrees on update", mutate: func(i *networking.Ingress) {
			i.Annotations = map[string]string{networking.AnnotationIngressClass: "nginx"}
		}},
		{name: "status addresses", mutate: func(i *networking.Ingress) {
			i.Status.LoadBalancer.Ingress = []networking.IngressLoadBalancerIngress{{IP: "10.250.0.11"}, {Hostname: "lb.example.com"}}
		}},
		{name: "status ip", mutate: func(i *networking.Ingress) {
			i.Status.LoadBalancer.Ingress = []networking.IngressLoadBalancerIngress{{IP: "10.250.0"}}
		}, want: []string{"status.loadBalancer.ingress[0].ip" + invalid}},
		{name: "status hostname is an IP", mutate: func(i *networking.Ingress) {
			i.Status.LoadBalancer.Ingress = []networking.IngressLoadBalancerIngress{{Hostname: "10.0.0.1"}}
		}, want: []string{"status.loadBalancer.ingress[0].hostname" + invalid}},
		{name: "rename", mutate: func(i *networking.Ingress) { i.Name = "other" }, want: []string{"metadata.name" + invalid}},
	})
}

func TestValidateIngressMessages(t *testing.T) {
	i := validIngress()
	i.Spec.Rules[0].Host = "*"
	errs := Validate(i, true)
	if !hasMessage(errs, "a wildcard DNS-1123 subdomain must start with '*.'") {
		t.Errorf("wildcard message missing: %v", errs)
	}
	i = validIngress()
	i.Spec.Rules = nil
	if errs := Validate(i, true); !hasMessage(errs, "either `defaultBackend` or `rules` must be specified") {
		t.Errorf("rules message missing: %v", errs)
	}
}

func validIngressClass() *networking.IngressClass {
	return &networking.IngressClass{ObjectMeta: objectMeta("skiff", ""), Spec: networking.IngressClassSpec{Controller: "skiff.dev/ingress"}}
}

func TestValidateIngressClass(t *testing.T) {
	params := func(scope, ns *string) *networking.IngressClassParametersReference {
		return &networking.IngressClassParametersReference{APIGroup: ptr("k8s.example.com"), Kind: "IngressParameters", Name: "p", Scope: scope, Namespace: ns}
	}
	runCreateCases(t, validIngressClass, false, []objectCase[networking.IngressClass]{
		{name: "valid"},
		{name: "cluster parameters", mutate: func(c *networking.IngressClass) { c.Spec.Parameters = params(ptr("Cluster"), nil) }},
		{name: "namespaced parameters", mutate: func(c *networking.IngressClass) { c.Spec.Parameters = params(ptr("Namespace"), ptr("team")) }},
		{name: "controller required", mutate: func(c *networking.IngressClass) { c.Spec.Controller = "" }, want: []string{"spec.controller" + required}},
		{name: "controller not domain-prefixed", mutate: func(c *networking.IngressClass) { c.Spec.Controller = "skiff" }, want: []string{"spec.controller" + invalid}},
		{name: "controller too long", mutate: func(c *networking.IngressClass) { c.Spec.Controller = "skiff.dev/" + strings.Repeat("a", 250) }, want: []string{"spec.controller" + tooLong}},
		{name: "scope required", mutate: func(c *networking.IngressClass) { c.Spec.Parameters = params(nil, nil) }, want: []string{"spec.parameters.scope" + required}},
		{name: "scope", mutate: func(c *networking.IngressClass) { c.Spec.Parameters = params(ptr("Global"), nil) }, want: []string{"spec.parameters.scope" + notSupported}},
		{name: "namespace required", mutate: func(c *networking.IngressClass) { c.Spec.Parameters = params(ptr("Namespace"), nil) }, want: []string{"spec.parameters.namespace" + required}},
		{name: "namespace forbidden", mutate: func(c *networking.IngressClass) { c.Spec.Parameters = params(ptr("Cluster"), ptr("team")) }, want: []string{"spec.parameters.namespace" + forbidden}},
		{name: "kind required", mutate: func(c *networking.IngressClass) {
			c.Spec.Parameters = params(ptr("Cluster"), nil)
			c.Spec.Parameters.Kind = ""
		}, want: []string{"spec.parameters.kind" + required}},
	})
	runUpdateCases(t, validIngressClass, false, []updateCase[networking.IngressClass]{
		{name: "annotate", mutate: func(c *networking.IngressClass) {
			c.Annotations = map[string]string{networking.AnnotationIsDefaultIngressClass: "true"}
		}},
		{name: "controller is immutable", mutate: func(c *networking.IngressClass) { c.Spec.Controller = "example.com/other" }, want: []string{"spec.controller" + invalid}},
	})
}
