package table

import (
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/ingress/certgen"
)

// cluster is a fake set of caches: every Service named here exists with ports 80 "http"
// and 8443 "https", and one ready endpoint 10.0.0.N where N is its index.
type cluster struct {
	services []string // namespace/name
	secrets  map[string]*core.Secret
}

func (c cluster) input(ings ...*networking.Ingress) Input {
	return Input{
		Ingresses: ings,
		Service: func(ns, name string) (*core.Service, bool) {
			if !slices.Contains(c.services, ns+"/"+name) {
				return nil, false
			}
			return &core.Service{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name}, Spec: core.ServiceSpec{Ports: []core.ServicePort{
				{Name: "http", Port: 80, Protocol: core.ProtocolTCP}, {Name: "https", Port: 8443, Protocol: core.ProtocolTCP}}}}, true
		},
		EndpointSlices: func(ns, svc string) []*discovery.EndpointSlice {
			i := slices.Index(c.services, ns+"/"+svc)
			if i < 0 {
				return nil
			}
			ip := "10.0.0." + string(rune('1'+i))
			return []*discovery.EndpointSlice{{AddressType: discovery.AddressTypeIPv4,
				Ports:     []discovery.EndpointPort{{Name: ptr("http"), Port: ptr[int32](8080)}, {Name: ptr("https"), Port: ptr[int32](8443)}},
				Endpoints: []discovery.Endpoint{{Addresses: []string{ip}}, {Addresses: []string{"10.9.9.9"}, Conditions: discovery.EndpointConditions{Ready: ptr(false)}}}}}
		},
		Secret: func(ns, name string) (*core.Secret, bool) { s, ok := c.secrets[ns+"/"+name]; return s, ok },
	}
}

func ptr[T any](v T) *T { return &v }

type path struct {
	path, svc string
	pt        networking.PathType
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ingress(name string, age int, host string, paths ...path) *networking.Ingress {
	ing := &networking.Ingress{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name, CreationTimestamp: meta.Time{Time: t0.Add(time.Duration(age) * time.Minute)}}}
	var hp []networking.HTTPIngressPath
	for _, p := range paths {
		hp = append(hp, networking.HTTPIngressPath{Path: p.path, PathType: ptr(p.pt), Backend: svcBackend(p.svc, 80)})
	}
	ing.Spec.Rules = []networking.IngressRule{{Host: host, IngressRuleValue: networking.IngressRuleValue{HTTP: &networking.HTTPIngressRuleValue{Paths: hp}}}}
	return ing
}

func svcBackend(name string, port int32) networking.IngressBackend {
	return networking.IngressBackend{Service: &networking.IngressServiceBackend{Name: name, Port: networking.ServiceBackendPort{Number: port}}}
}

const (
	exact  = networking.PathTypeExact
	prefix = networking.PathTypePrefix
	impl   = networking.PathTypeImplementationSpecific
)

func TestMatch(t *testing.T) {
	c := cluster{services: []string{"default/root", "default/foo", "default/foo-slash", "default/foo-exact", "default/bar", "default/wild", "default/any", "default/fallback", "default/impl"}}
	withDefault := ingress("d", 9, "", path{"/catch", "any", prefix})
	withDefault.Spec.DefaultBackend = ptr(svcBackend("fallback", 80))
	tbl := Build(c.input(
		ingress("a", 0, "a.example.com",
			path{"/", "root", prefix}, path{"/foo", "foo", prefix}, path{"/foo/", "foo-slash", prefix},
			path{"/foo", "foo-exact", exact}, path{"/aaa/bbb", "bar", prefix}, path{"/impl", "impl", impl}),
		ingress("w", 1, "*.example.com", path{"/", "wild", prefix}),
		ingress("n", 2, "", path{"/any", "any", prefix}),
		withDefault,
	))
	if len(tbl.Problems()) > 0 {
		t.Fatalf("problems: %v", tbl.Problems())
	}
	for _, tc := range []struct {
		host, path, want string // want: service name, "" for 404
	}{
		// Kubernetes' documented examples.
		{"a.example.com", "/foo", "foo-exact"},    // Exact beats Prefix at equal length
		{"a.example.com", "/foo/", "foo-slash"},   // the longest matching path
		{"a.example.com", "/foo/x", "foo-slash"},  // "/foo/" matches element-wise too
		{"a.example.com", "/foobar", "root"},      // not an element-wise prefix of /foo
		{"a.example.com", "/aaa/bbb", "bar"},      //
		{"a.example.com", "/aaa/bbb/", "bar"},     // trailing slash ignored
		{"a.example.com", "/aaa/bbb/ccc", "bar"},  //
		{"a.example.com", "/aaa/bbbxyz", "root"},  // element-wise, not string prefix
		{"a.example.com", "/aaa/bb", "root"},      //
		{"a.example.com", "/impl/x", "impl"},      // ImplementationSpecific is Prefix
		{"A.Example.COM:8080", "/aaa/bbb", "bar"}, // case and port ignored
		{"a.example.com.", "/aaa/bbb", "bar"},     // trailing dot ignored
		{"b.example.com", "/anything", "wild"},    // wildcard: one label
		{"x.b.example.com", "/any", "any"},        // wildcard: not two labels (falls to host-less rules)
		{"example.com", "/any", "any"},            // wildcard: not the bare domain
		{"example.com", "/catch/1", "any"},        //
		{"other.org", "/nothing", "fallback"},     // no rule: the default backend
		{"b.example.com", "/any", "wild"},         // the wildcard host's "/" beats a host-less longer path
		{"c.example.com", "", "wild"},             // empty path is "/"
		{"10.250.0.11", "/any/thing", "any"},      // an IP Host matches host-less rules only
		{"10.250.0.11:80", "/", "fallback"},       //
	} {
		b := tbl.Match(tc.host, tc.path)
		got := ""
		if b != nil {
			got = b.Service
		}
		if got != tc.want {
			t.Errorf("%s%s: routed to %q, want %q", tc.host, tc.path, got, tc.want)
		}
	}
	// No default backend: 404 (nil).
	tbl = Build(c.input(ingress("a", 0, "a.example.com", path{"/foo", "foo", exact})))
	for _, tc := range [][2]string{{"a.example.com", "/foo/"}, {"a.example.com", "/"}, {"b.example.com", "/foo"}} {
		if b := tbl.Match(tc[0], tc[1]); b != nil {
			t.Errorf("%s%s: routed to %s, want 404", tc[0], tc[1], b)
		}
	}
	var empty *Table
	if empty.Match("a", "/") != nil || empty.Certificate("a") != nil {
		t.Error("nil table routes")
	}
}

func TestBackendsAndProblems(t *testing.T) {
	c := cluster{services: []string{"default/web"}}
	ing := ingress("a", 0, "a.example.com", path{"/", "web", prefix}, path{"/missing", "nosvc", prefix})
	byName := networking.IngressBackend{Service: &networking.IngressServiceBackend{Name: "web", Port: networking.ServiceBackendPort{Name: "https"}}}
	badPort := svcBackend("web", 9999)
	resource := networking.IngressBackend{Resource: &core.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}}
	ing.Spec.Rules[0].HTTP.Paths = append(ing.Spec.Rules[0].HTTP.Paths,
		networking.HTTPIngressPath{Path: "/byname", PathType: ptr(prefix), Backend: byName},
		networking.HTTPIngressPath{Path: "/badport", PathType: ptr(prefix), Backend: badPort},
		networking.HTTPIngressPath{Path: "/bucket", PathType: ptr(prefix), Backend: resource})
	tbl := Build(c.input(ing))

	if b := tbl.Match("a.example.com", "/"); !slices.Equal(b.Endpoints, []string{"10.0.0.1:8080"}) {
		t.Errorf("by number: endpoints %v (ready ones only, target port)", b.Endpoints)
	}
	if b := tbl.Match("a.example.com", "/byname"); !slices.Equal(b.Endpoints, []string{"10.0.0.1:8443"}) {
		t.Errorf("by name: endpoints %v", b.Endpoints)
	}
	for _, p := range []string{"/missing", "/badport", "/bucket"} {
		if b := tbl.Match("a.example.com", p); b == nil || b.Err == "" || len(b.Endpoints) != 0 {
			t.Errorf("%s: backend %+v, want an unusable one", p, b)
		}
	}
	var reasons []string
	for _, p := range tbl.Problems() {
		if p.Name != "a" {
			t.Errorf("problem on %s", p.Name)
		}
		reasons = append(reasons, p.Reason)
	}
	slices.Sort(reasons)
	if want := []string{ReasonServiceNotFound, ReasonServicePortNotFound, ReasonUnsupportedBackend}; !slices.Equal(reasons, want) {
		t.Errorf("problems %v, want %v", tbl.Problems(), want)
	}
}

func TestRoundRobin(t *testing.T) {
	b := &Backend{Endpoints: []string{"a", "b", "c"}}
	var got []string
	for range 6 {
		e, _ := b.Pick()
		got = append(got, e)
	}
	if strings.Join(got, "") != "abcabc" {
		t.Errorf("picks %v", got)
	}
	if _, ok := (&Backend{}).Pick(); ok {
		t.Error("picked from no endpoints")
	}
}

func TestConflicts(t *testing.T) {
	c := cluster{services: []string{"default/old", "default/new"}}
	old := ingress("old", 0, "a.example.com", path{"/api", "old", prefix}, path{"/x", "old", exact})
	old.Spec.DefaultBackend = ptr(svcBackend("old", 80))
	newer := ingress("new", 5, "a.example.com", path{"/api", "new", impl}, path{"/x", "new", prefix}, path{"/y", "new", prefix})
	newer.Spec.DefaultBackend = ptr(svcBackend("new", 80))
	// Built in either order, the older Ingress keeps what both claim.
	for _, order := range [][]*networking.Ingress{{old, newer}, {newer, old}} {
		tbl := Build(c.input(order...))
		for _, tc := range [][2]string{{"/api/v1", "old"}, {"/x", "old"}, {"/x/1", "new"}, {"/y", "new"}, {"/zzz", "old"}} {
			if b := tbl.Match("a.example.com", tc[0]); b == nil || b.Service != tc[1] {
				t.Errorf("%s: routed to %v, want %s", tc[0], b, tc[1])
			}
		}
		var conflicts []string
		for _, p := range tbl.Problems() {
			if p.Reason != ReasonConflict || p.Name != "new" {
				t.Errorf("unexpected problem %+v", p)
			}
			conflicts = append(conflicts, p.Message)
		}
		if len(conflicts) != 2 || !strings.Contains(strings.Join(conflicts, "|"), "Ingress default/old, which is older") {
			t.Errorf("conflicts %q: want the path /api/ and the default backend", conflicts)
		}
	}
}

func tlsSecret(t *testing.T, ns, name string, rv string, hosts ...string) *core.Secret {
	t.Helper()
	crt, key, err := certgen.SelfSigned(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return &core.Secret{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name, UID: "u-" + name, ResourceVersion: rv}, Type: core.SecretTypeTLS,
		Data: map[string][]byte{core.TLSCertKey: crt, core.TLSPrivateKeyKey: key}}
}

func leafName(t *testing.T, tbl *Table, sni string) string {
	t.Helper()
	c := tbl.Certificate(sni)
	if c == nil {
		return ""
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

func TestCertificateBySNI(t *testing.T) {
	c := cluster{services: []string{"default/web"}, secrets: map[string]*core.Secret{
		"default/a":       tlsSecret(t, "default", "a", "1", "a.example.com"),
		"default/wild":    tlsSecret(t, "default", "wild", "1", "*.example.com"),
		"default/rules":   tlsSecret(t, "default", "rules", "1", "rules.example.org"),
		"default/default": tlsSecret(t, "default", "default", "1", "default.local"),
		"default/other":   tlsSecret(t, "default", "other", "1", "other"),
		"default/opaque":  {ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "opaque"}, Type: core.SecretTypeOpaque},
		"default/broken": {ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "broken"}, Type: core.SecretTypeTLS,
			Data: map[string][]byte{core.TLSCertKey: []byte("not pem"), core.TLSPrivateKeyKey: []byte("x")}},
	}}
	ing := ingress("a", 0, "a.example.com", path{"/", "web", prefix})
	ing.Spec.TLS = []networking.IngressTLS{
		{Hosts: []string{"a.example.com"}, SecretName: "a"},
		{Hosts: []string{"*.example.com"}, SecretName: "wild"},
		{Hosts: []string{"m.example.com"}, SecretName: "missing"},
		{Hosts: []string{"o.example.com"}, SecretName: "opaque"},
		{Hosts: []string{"b.example.com"}, SecretName: "broken"},
		{SecretName: "default"},
	}
	rules := ingress("r", 1, "rules.example.org", path{"/", "web", prefix})
	rules.Spec.TLS = []networking.IngressTLS{{SecretName: "rules"}} // hosts default to the rules'
	later := ingress("z", 2, "", path{"/z", "web", prefix})
	later.Spec.TLS = []networking.IngressTLS{{Hosts: []string{"a.example.com"}, SecretName: "other"}}
	tbl := Build(c.input(ing, rules, later))
	for _, tc := range [][2]string{
		{"a.example.com", "a.example.com"},
		{"A.EXAMPLE.COM", "a.example.com"},
		{"x.example.com", "*.example.com"},
		{"m.example.com", "*.example.com"}, // its own secret is missing: the wildcard covers it
		{"y.x.example.com", ""},            // a wildcard covers one label
		{"rules.example.org", "rules.example.org"},
		{"unknown.org", ""},
		{"", ""},
	} {
		// An entry without hosts on an Ingress whose rules have hosts covers those hosts,
		// so "default" is no table default here.
		want := tc[1]
		if got := leafName(t, tbl, tc[0]); got != want {
			t.Errorf("SNI %q: certificate %q, want %q", tc[0], got, want)
		}
	}
	var reasons []string
	for _, p := range tbl.Problems() {
		reasons = append(reasons, p.Name+":"+p.Reason)
	}
	slices.Sort(reasons)
	if want := []string{"a:" + ReasonBadTLSSecret, "a:" + ReasonBadTLSSecret, "a:" + ReasonSecretNotFound, "z:" + ReasonConflict}; !slices.Equal(reasons, want) {
		t.Errorf("problems %v, want %v", tbl.Problems(), want)
	}

	// A TLS entry with no hosts on an Ingress without rule hosts gives the default certificate.
	d := ingress("d", 0, "", path{"/", "web", prefix})
	d.Spec.TLS = []networking.IngressTLS{{SecretName: "default"}}
	if got := leafName(t, Build(c.input(d)), "anything.org"); got != "default.local" {
		t.Errorf("default certificate %q", got)
	}
}

func TestCertCache(t *testing.T) {
	cache := &CertCache{}
	s := tlsSecret(t, "default", "a", "1", "one.example.com")
	c1, err := cache.get(s)
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := cache.get(s); c2 != c1 {
		t.Error("an unchanged secret was parsed again")
	}
	s2 := tlsSecret(t, "default", "a", "2", "two.example.com")
	if c3, _ := cache.get(s2); c3 == c1 {
		t.Error("a changed secret (new resourceVersion) kept its old certificate")
	}
	cache.Retain(func(ns, name string) bool { return false })
	if len(cache.m) != 0 {
		t.Errorf("retain kept %d entries", len(cache.m))
	}
}
