package apiserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// NetworkPolicies are stored with Kubernetes' defaults and bad ones are refused with field
// errors (422, Kubernetes' paths and messages).
func TestNetworkPolicyAPI(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	base := "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
	m := a.must(201, "POST", base, `{"metadata":{"name":"db"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},
		"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"api"}}}],"ports":[{"port":5432}]}],
		"egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}]}]}}`)
	if got := fmt.Sprint(get(m, "spec", "policyTypes")); got != "[Ingress Egress]" {
		t.Errorf("policyTypes defaulted to %s, want [Ingress Egress]", got)
	}
	if p := get(m, "spec", "ingress").([]any)[0].(map[string]any)["ports"].([]any)[0].(map[string]any); p["protocol"] != "TCP" {
		t.Errorf("port protocol defaulted to %v, want TCP", p["protocol"])
	}
	for _, tc := range []struct{ name, spec, want string }{
		{"bad cidr", `{"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/40"}}]}]}`,
			`spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/40": must be a valid CIDR value`},
		{"except outside", `{"podSelector":{},"egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["11.0.0.0/16"]}}]}]}`,
			"spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`"},
		{"bad selector", `{"podSelector":{"matchExpressions":[{"key":"app","operator":"In"}]}}`,
			"spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"},
		{"endPort below port", `{"podSelector":{},"ingress":[{"ports":[{"port":8080,"endPort":80}]}]}`,
			"spec.ingress[0].ports[0].endPort: Invalid value: 8080: must be greater than or equal to `port`"},
		{"endPort with a named port", `{"podSelector":{},"ingress":[{"ports":[{"port":"http","endPort":80}]}]}`,
			"spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is non-numeric"},
	} {
		code, st := a.do("POST", base, "", []byte(`{"metadata":{"name":"bad"},"spec":`+tc.spec+`}`))
		if code != 422 || !strings.Contains(fmt.Sprint(st["message"]), tc.want) {
			t.Errorf("%s: %d %v, want 422 with %q", tc.name, code, st["message"], tc.want)
		}
	}
	tbl := a.tableOf(base)
	if !strings.Contains(tbl, "db") || !strings.Contains(tbl, "app=db") {
		t.Errorf("table: %s", tbl)
	}
}

// tableOf GETs path as kubectl does (a Table) and returns its rows' cells as text.
func (a *api) tableOf(path string) string {
	a.t.Helper()
	code, raw := a.rawAccept("GET", path, "application/json;as=Table;v=v1;g=meta.k8s.io")
	if code != 200 {
		a.t.Fatalf("GET %s as Table: %d %s", path, code, raw)
	}
	return raw
}

// The Service IP allocator's range is the default ServiceCIDR, its allocations are
// IPAddresses owned by their Services, another ServiceCIDR extends the range, and an
// IPAddress a user creates reserves its address.
func TestServiceCIDRAndIPAddresses(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const net = "/apis/networking.k8s.io/v1"
	sc := a.must(200, "GET", net+"/servicecidrs/kubernetes", "")
	if got := fmt.Sprint(get(sc, "spec", "cidrs")); got != "[10.96.0.0/12]" {
		t.Errorf("default ServiceCIDR cidrs = %s", got)
	}
	if c := get(sc, "status", "conditions").([]any)[0].(map[string]any); c["type"] != "Ready" || c["status"] != "True" {
		t.Errorf("default ServiceCIDR condition: %v", c)
	}
	ref := func(ip string) string {
		m := a.must(200, "GET", net+"/ipaddresses/"+ip, "")
		return fmt.Sprint(get(m, "spec", "parentRef", "resource"), "/", get(m, "spec", "parentRef", "namespace"), "/",
			get(m, "spec", "parentRef", "name"), " ", get(m, "metadata", "labels", "ipaddress.kubernetes.io/managed-by"))
	}
	if got := ref("10.96.0.1"); got != "services/default/kubernetes ipallocator.k8s.io" {
		t.Errorf("10.96.0.1: %s", got)
	}

	svcs := "/api/v1/namespaces/default/services"
	svc := func(name, ip string) string {
		return fmt.Sprintf(`{"metadata":{"name":%q},"spec":{"clusterIP":%q,"ports":[{"port":80}]}}`, name, ip)
	}
	m := a.must(201, "POST", svcs, svc("web", ""))
	ip := fmt.Sprint(get(m, "spec", "clusterIP"))
	if got := ref(ip); got != "services/default/web ipallocator.k8s.io" {
		t.Errorf("%s: %s", ip, got)
	}
	if tbl := a.tableOf(net + "/ipaddresses"); !strings.Contains(tbl, `"services/default/web"`) {
		t.Errorf("ipaddresses table: %s", tbl)
	}
	a.must(200, "DELETE", svcs+"/web", "")
	if code, _ := a.do("GET", net+"/ipaddresses/"+ip, "", nil); code != 404 {
		t.Errorf("IPAddress %s after its Service went: %d, want 404", ip, code)
	}

	// Outside every range until a ServiceCIDR adds one.
	code, st := a.do("POST", svcs, "", []byte(svc("extra", "10.200.0.5")))
	if code != 422 || !strings.Contains(fmt.Sprint(st["message"]), "provided IP is not in the valid range") {
		t.Errorf("IP outside the ranges: %d %v", code, st["message"])
	}
	a.must(201, "POST", net+"/servicecidrs", `{"metadata":{"name":"extra"},"spec":{"cidrs":["10.200.0.0/24"]}}`)
	a.must(201, "POST", svcs, svc("extra", "10.200.0.5"))
	if got := ref("10.200.0.5"); got != "services/default/extra ipallocator.k8s.io" {
		t.Errorf("10.200.0.5: %s", got)
	}

	// A user's IPAddress reserves its address.
	a.must(201, "POST", net+"/ipaddresses", `{"metadata":{"name":"10.96.0.77"},"spec":{"parentRef":{"group":"example.com","resource":"gateways","namespace":"default","name":"gw"}}}`)
	code, st = a.do("POST", svcs, "", []byte(svc("taken", "10.96.0.77")))
	if code != 422 || !strings.Contains(fmt.Sprint(st["message"]), "provided IP is already allocated") {
		t.Errorf("reserved IP: %d %v", code, st["message"])
	}
	code, st = a.do("POST", net+"/ipaddresses", "", []byte(`{"metadata":{"name":"10.96.0.078"},"spec":{"parentRef":{"resource":"services","name":"x"}}}`))
	if code != 422 || !strings.Contains(fmt.Sprint(st["message"]), "metadata.name") {
		t.Errorf("IPAddress with a bad name: %d %v", code, st["message"])
	}
}
