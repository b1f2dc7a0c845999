// Package table is skiff-ingress's routing table: built whole from the Ingresses of its
// classes and the Services, EndpointSlices and TLS Secrets they name, immutable once built,
// and swapped atomically by the controller, so a request (or an open WebSocket) always sees
// one consistent configuration and a change never disturbs a connection in progress.
//
// Matching, as the Ingress API defines it:
//
//   - Hosts: a precise host matches the request's Host header (port and case ignored)
//     exactly; "*.foo.com" matches exactly one more label ("bar.foo.com", not
//     "baz.bar.foo.com" nor "foo.com"); a rule without host matches every host. A request
//     is tried against the precise host's paths, then the wildcard's, then the host-less
//     rules' (a rule matches when both its host and a path match).
//   - Paths: Exact is case-sensitive string equality; Prefix matches element by element
//     ("/foo" matches "/foo", "/foo/" and "/foo/bar", not "/foobar"; a trailing slash is
//     ignored); ImplementationSpecific is treated as Prefix (an empty path as "/"). The
//     longest matching path wins, Exact before Prefix at equal length.
//   - No rule matches: the defaultBackend of the oldest Ingress that has one, else 404.
//
// Bad input never fails the build: a missing Service or port, a missing or malformed TLS
// Secret, or a rule that another (older) Ingress already claims becomes a Problem for the
// controller to report as an event on that Ingress, and every other route is kept.
// Between Ingresses, the older one (creationTimestamp, then namespace/name) wins a conflict.
package table

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/networking"
)

// LabelServiceName is the EndpointSlice label naming its Service.
const LabelServiceName = "kubernetes.io/service-name"

// Problem is something wrong with an Ingress, to be reported on it.
type Problem struct {
	Namespace, Name string // the Ingress
	Reason          string // CamelCase, as an event reason
	Message         string
}

// Problem reasons.
const (
	ReasonServiceNotFound     = "ServiceNotFound"
	ReasonServicePortNotFound = "ServicePortNotFound"
	ReasonUnsupportedBackend  = "UnsupportedBackend"
	ReasonSecretNotFound      = "SecretNotFound"
	ReasonBadTLSSecret        = "BadTLSSecret"
	ReasonConflict            = "Conflict"
)

// Input is what a table is built from. The lookups read the controller's caches.
type Input struct {
	// Ingresses are the ones to serve (of this controller's classes), in any order.
	Ingresses []*networking.Ingress
	Service   func(namespace, name string) (*core.Service, bool)
	// EndpointSlices of a Service.
	EndpointSlices func(namespace, service string) []*discovery.EndpointSlice
	// Secret finds a kubernetes.io/tls Secret.
	Secret func(namespace, name string) (*core.Secret, bool)
	// Certs, if set, keeps parsed key pairs across builds (parsing is the costly part).
	Certs *CertCache
}

// Table is an immutable routing table. Its zero value routes nothing.
type Table struct {
	exact     map[string]*routes // by host
	wildcard  map[string]*routes // by the host after "*."
	anyHost   *routes
	fallback  *Backend
	certs     map[string]*tls.Certificate // by host, wildcards as "*.foo.com"
	defCert   *tls.Certificate
	problems  []Problem
	backends  int
	ingresses int
}

type routes struct{ paths []*Route }

// Route is one path of one rule.
type Route struct {
	Host     string // "" for any host
	Path     string
	PathType networking.PathType
	Backend  *Backend
	Ingress  string // namespace/name it came from

	exact bool
	elems []string // Prefix: the path's elements
}

// Backend is a Service port and its ready endpoints at build time.
type Backend struct {
	Namespace, Service string
	Port               string // the Service port as the Ingress names it (number or name)
	// Endpoints are "ip:port" of ready endpoints (or "name:port" for an ExternalName
	// Service). Empty with Err set: the backend cannot be used (503).
	Endpoints []string
	Err       string

	next atomic.Uint64
}

// Pick returns the next endpoint, round-robin; false when there is none.
func (b *Backend) Pick() (string, bool) {
	if b == nil || len(b.Endpoints) == 0 {
		return "", false
	}
	n := b.next.Add(1) - 1
	return b.Endpoints[n%uint64(len(b.Endpoints))], true
}

func (b *Backend) String() string { return b.Namespace + "/" + b.Service + ":" + b.Port }

// Problems found while building.
func (t *Table) Problems() []Problem { return t.problems }

// Stats: Ingresses served and distinct backends.
func (t *Table) Stats() (ingresses, backends int) { return t.ingresses, t.backends }

// Match finds the route of a request; nil means 404. The Backend may still be unusable
// (no endpoints, missing Service): the caller answers 503 then.
func (t *Table) Match(host, path string) *Backend {
	if r := t.MatchRoute(host, path); r != nil {
		return r.Backend
	}
	return t.Fallback()
}

// MatchRoute is the rule route a request matches (nil if none: Match then falls back to the
// default backend).
func (t *Table) MatchRoute(host, path string) *Route {
	if t == nil {
		return nil
	}
	host = NormalizeHost(host)
	if path == "" {
		path = "/"
	}
	reqElems := splitPath(path)
	if r := t.exact[host].match(path, reqElems); r != nil {
		return r
	}
	if _, rest, ok := strings.Cut(host, "."); ok && rest != "" {
		if r := t.wildcard[rest].match(path, reqElems); r != nil {
			return r
		}
	}
	return t.anyHost.match(path, reqElems)
}

// Fallback is the default backend (nil: 404).
func (t *Table) Fallback() *Backend {
	if t == nil {
		return nil
	}
	return t.fallback
}

// NormalizeHost drops a port and a trailing dot and lowercases.
func NormalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

func (rs *routes) match(path string, reqElems []string) *Route {
	if rs == nil {
		return nil
	}
	// paths are sorted by precedence: the first match is the best one.
	for _, r := range rs.paths {
		if r.exact {
			if path == r.Path {
				return r
			}
			continue
		}
		if len(r.elems) <= len(reqElems) && slices.Equal(r.elems, reqElems[:len(r.elems)]) {
			return r
		}
	}
	return nil
}

// splitPath gives a path's elements, without the empty ones a leading or trailing slash
// makes ("/foo/" and "/foo" are both ["foo"]; "/" is none).
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// Build makes a table. It never fails: problems are reported in the table.
func Build(in Input) *Table {
	t := &Table{exact: map[string]*routes{}, wildcard: map[string]*routes{}, anyHost: &routes{}, certs: map[string]*tls.Certificate{}}
	ings := slices.Clone(in.Ingresses)
	slices.SortFunc(ings, olderFirst)
	t.ingresses = len(ings)
	b := &builder{in: in, t: t, backends: map[string]*Backend{}, claimed: map[string]string{}, certOwner: map[string]string{}}
	for _, ing := range ings {
		b.ingress(ing)
	}
	for _, rs := range b.allRoutes() {
		slices.SortStableFunc(rs.paths, precedence)
	}
	t.backends = len(b.backends)
	return t
}

// olderFirst orders Ingresses by age, then namespace/name: the older wins conflicts.
func olderFirst(a, b *networking.Ingress) int {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return cmp.Compare(key(a), key(b))
}

// precedence: longer paths first, a trailing slash not counting; Exact before Prefix at
// equal length; then "/foo/" before "/foo" (both match "/foo/x", and Kubernetes gives the
// longer one priority).
func precedence(a, b *Route) int {
	if c := cmp.Compare(len(strings.TrimSuffix(b.Path, "/")), len(strings.TrimSuffix(a.Path, "/"))); c != 0 {
		return c
	}
	switch {
	case a.exact && !b.exact:
		return -1
	case b.exact && !a.exact:
		return 1
	}
	return cmp.Compare(len(b.Path), len(a.Path))
}

func key(ing *networking.Ingress) string { return ing.Namespace + "/" + ing.Name }

type builder struct {
	in        Input
	t         *Table
	backends  map[string]*Backend // by namespace/service:port
	claimed   map[string]string   // host \x00 pathType \x00 path -> Ingress key
	certOwner map[string]string   // host -> namespace/secret
	fallback  string              // Ingress whose default backend is the fallback
}

func (b *builder) allRoutes() []*routes {
	out := []*routes{b.t.anyHost}
	for _, rs := range b.t.exact {
		out = append(out, rs)
	}
	for _, rs := range b.t.wildcard {
		out = append(out, rs)
	}
	return out
}

func (b *builder) problem(ing *networking.Ingress, reason, format string, args ...any) {
	b.t.problems = append(b.t.problems, Problem{Namespace: ing.Namespace, Name: ing.Name, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (b *builder) ingress(ing *networking.Ingress) {
	if db := ing.Spec.DefaultBackend; db != nil {
		be := b.backend(ing, db)
		if b.t.fallback == nil {
			b.t.fallback, b.fallback = be, key(ing)
		} else {
			b.problem(ing, ReasonConflict, "defaultBackend %s is not used: Ingress %s, which is older, sets the default backend", be, b.fallback)
		}
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue // a host with no paths: its requests fall through to the default backend
		}
		for _, p := range rule.HTTP.Paths {
			b.path(ing, rule.Host, p)
		}
	}
	b.tls(ing)
}

func (b *builder) path(ing *networking.Ingress, host string, p networking.HTTPIngressPath) {
	pt := networking.PathTypePrefix
	if p.PathType != nil {
		pt = *p.PathType
	}
	path := p.Path
	if path == "" {
		path = "/"
	}
	r := &Route{Host: host, Path: path, PathType: pt, Ingress: key(ing), exact: pt == networking.PathTypeExact}
	if !r.exact {
		r.elems = splitPath(path)
	}
	// ImplementationSpecific is Prefix here, so it claims the same paths as Prefix.
	claimType := "prefix"
	if r.exact {
		claimType = "exact"
	}
	ck := host + "\x00" + claimType + "\x00" + path
	if owner, taken := b.claimed[ck]; taken {
		if owner != key(ing) {
			b.problem(ing, ReasonConflict, "path %s %s of host %q is not used: Ingress %s, which is older, routes it", pt, path, hostOrAny(host), owner)
		}
		return
	}
	b.claimed[ck] = key(ing)
	r.Backend = b.backend(ing, &p.Backend)
	rs := b.t.anyHost
	switch {
	case strings.HasPrefix(host, "*."):
		h := strings.ToLower(host[2:])
		if rs = b.t.wildcard[h]; rs == nil {
			rs = &routes{}
			b.t.wildcard[h] = rs
		}
	case host != "":
		h := strings.ToLower(host)
		if rs = b.t.exact[h]; rs == nil {
			rs = &routes{}
			b.t.exact[h] = rs
		}
	}
	rs.paths = append(rs.paths, r)
}

func hostOrAny(h string) string {
	if h == "" {
		return "*"
	}
	return h
}

// backend resolves a Service backend to its ready endpoints; what cannot be resolved is a
// problem and an unusable Backend.
func (b *builder) backend(ing *networking.Ingress, ib *networking.IngressBackend) *Backend {
	if ib.Service == nil {
		be := &Backend{Namespace: ing.Namespace, Service: "<resource>", Port: "-", Err: "resource backends are not supported"}
		if ib.Resource != nil {
			be.Service = ib.Resource.Kind + "/" + ib.Resource.Name
		}
		b.problem(ing, ReasonUnsupportedBackend, "backend %s: skiff-ingress routes to Services only", be.Service)
		return be
	}
	port := ib.Service.Port.Name
	if port == "" {
		port = strconv.Itoa(int(ib.Service.Port.Number))
	}
	k := ing.Namespace + "/" + ib.Service.Name + ":" + port
	if be, ok := b.backends[k]; ok {
		if be.Err != "" {
			b.problem(ing, be.reason(), "%s", be.Err)
		}
		return be
	}
	be := &Backend{Namespace: ing.Namespace, Service: ib.Service.Name, Port: port}
	b.backends[k] = be
	svc, ok := b.in.Service(ing.Namespace, ib.Service.Name)
	if !ok {
		be.Err = fmt.Sprintf("service %q not found", ing.Namespace+"/"+ib.Service.Name)
		b.problem(ing, ReasonServiceNotFound, "%s", be.Err)
		return be
	}
	var sp *core.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.Protocol != "" && p.Protocol != core.ProtocolTCP {
			continue
		}
		if (ib.Service.Port.Name != "" && p.Name == ib.Service.Port.Name) ||
			(ib.Service.Port.Name == "" && p.Port == ib.Service.Port.Number) {
			sp = p
			break
		}
	}
	if sp == nil {
		be.Err = fmt.Sprintf("service %q has no TCP port %s", ing.Namespace+"/"+ib.Service.Name, port)
		b.problem(ing, ReasonServicePortNotFound, "%s", be.Err)
		return be
	}
	if svc.Spec.Type == core.ServiceTypeExternalName {
		be.Endpoints = []string{net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(sp.Port)))}
		return be
	}
	be.Endpoints = readyEndpoints(b.in.EndpointSlices(ing.Namespace, svc.Name), sp.Name)
	return be
}

func (be *Backend) reason() string {
	switch {
	case strings.HasPrefix(be.Err, "resource"):
		return ReasonUnsupportedBackend
	case strings.Contains(be.Err, "has no TCP port"):
		return ReasonServicePortNotFound
	}
	return ReasonServiceNotFound
}

// readyEndpoints are the "ip:port" of the ready endpoints of the slices' port named
// portName (EndpointSlice ports carry the Service port's name), sorted.
func readyEndpoints(slices_ []*discovery.EndpointSlice, portName string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range slices_ {
		if s.AddressType != discovery.AddressTypeIPv4 && s.AddressType != discovery.AddressTypeIPv6 {
			continue
		}
		var port int32
		for _, p := range s.Ports {
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			if name == portName && p.Port != nil && (p.Protocol == nil || *p.Protocol == core.ProtocolTCP) {
				port = *p.Port
				break
			}
		}
		if port == 0 {
			continue
		}
		for _, e := range s.Endpoints {
			// ready unset means ready (EndpointSlice API).
			if len(e.Addresses) == 0 || (e.Conditions.Ready != nil && !*e.Conditions.Ready) {
				continue
			}
			a := net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(port)))
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}
