package apiserver

// The proxy subresources, as Kubernetes serves them:
//
//	/api/v1/namespaces/NS/pods/[SCHEME:]NAME[:PORT]/proxy[/PATH]
//	/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy[/PATH]
//	/api/v1/nodes/[SCHEME:]NAME[:PORT]/proxy[/PATH]
//
// The API server itself dials the pod's IP, one ready endpoint of the Service's port, or the
// node (its node agent by default, with the kubelet client certificate), and passes the
// request on with its method, query and body, the caller's credentials removed. HTML answers
// have their absolute links rewritten to go through the same proxy path, and an empty path
// on GET/HEAD is redirected to "proxy/", as Kubernetes does. Under `skiff up` the API server
// runs on the host, which routes pod and Service addresses through the nodes (launcher).

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// subProxy is the proxy subresource of pods, services and nodes.
const subProxy = "proxy"

// splitSchemeNamePort splits a proxy id "NAME", "NAME:PORT" or "SCHEME:NAME:PORT"
// (apimachinery's SplitSchemeNamePort): the scheme is "", http or https.
func splitSchemeNamePort(id string) (scheme, name, port string, ok bool) {
	parts := strings.Split(id, ":")
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, port = parts[0], parts[1]
	case 3:
		scheme, name, port = parts[0], parts[1], parts[2]
	default:
		return "", "", "", false
	}
	if name == "" || (scheme != "" && scheme != "http" && scheme != "https") {
		return "", "", "", false
	}
	return scheme, name, port, true
}

// proxySubpath is what follows ".../NAME/proxy" in the request path ("" or "/..."), or
// the path query parameter when the URL has none.
func proxySubpath(req *http.Request, r *request) string {
	n := 6 // api v1 namespaces NS RESOURCE NAME
	if r.kind.Group != "" {
		n++ // apis GROUP VERSION
	}
	if !r.kind.Namespaced {
		n -= 2
	}
	segs := strings.SplitN(strings.TrimPrefix(req.URL.Path, "/"), "/", n+2)
	if len(segs) <= n+1 {
		return req.URL.Query().Get("path")
	}
	return "/" + segs[n+1]
}

// serveProxy answers pods/proxy, services/proxy and nodes/proxy.
func (s *Server) serveProxy(w http.ResponseWriter, req *http.Request, r *request) {
	scheme, name, port, ok := splitSchemeNamePort(r.name)
	if !ok {
		writeError(w, errBadRequest(fmt.Sprintf("invalid %s request %q", strings.TrimSuffix(r.kind.Resource, "s"), r.name)))
		return
	}
	subpath := proxySubpath(req, r)
	if !s.admitConnect(w, req, r, subpath) { // connect.go
		return
	}
	var (
		loc  *url.URL
		tr   http.RoundTripper
		aerr *apiError
	)
	switch r.kind.Resource {
	case "pods":
		loc, aerr = s.podLocation(req.Context(), r, scheme, name, port)
	case "services":
		loc, aerr = s.serviceLocation(req.Context(), r, scheme, name, port)
	case "nodes":
		loc, tr, aerr = s.nodeLocation(req.Context(), scheme, name, port)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if tr == nil {
		tr = s.proxyTransport()
	}
	loc.Path = joinPreservingTrailingSlash(loc.Path, subpath)
	s.proxyTo(w, req, loc, tr)
}

// joinPreservingTrailingSlash joins two path parts keeping elem's trailing slash
// (apimachinery's JoinPreservingTrailingSlash).
func joinPreservingTrailingSlash(base, elem string) string {
	if elem == "" {
		return base
	}
	joined := strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(elem, "/")
	if !strings.HasSuffix(elem, "/") {
		joined = strings.TrimSuffix(joined, "/")
	}
	return joined
}

// podLocation is the pod's IP and the port asked for, else its first declared container port.
func (s *Server) podLocation(ctx context.Context, r *request, scheme, name, port string) (*url.URL, *apiError) {
	pod := &core.Pod{}
	if err := s.store.Get(ctx, r.kind.Key(r.namespace, name), pod); err != nil {
		return nil, toAPIError(r.kind, name, err)
	}
	if port == "" {
	find:
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				port = strconv.Itoa(int(p.ContainerPort))
				break find
			}
		}
	}
	ip := net.ParseIP(pod.Status.PodIP)
	if ip == nil || !ip.IsGlobalUnicast() {
		return nil, errBadRequest("address not allowed")
	}
	loc := &url.URL{Scheme: scheme, Host: pod.Status.PodIP}
	if strings.Contains(loc.Host, ":") {
		loc.Host = "[" + loc.Host + "]"
	}
	if port != "" {
		loc.Host = net.JoinHostPort(pod.Status.PodIP, port)
	}
	return loc, nil
}

func errServiceUnavailable(msg string) *apiError {
	return newStatus(http.StatusServiceUnavailable, meta.ReasonServiceUnavailable, msg, nil)
}

// serviceLocation is a random ready endpoint of the Service's port (named, or numbered and
// then resolved to its name), as Kubernetes picks it from the Service's Endpoints.
func (s *Server) serviceLocation(ctx context.Context, r *request, scheme, name, port string) (*url.URL, *apiError) {
	if num, err := strconv.Atoi(port); err == nil {
		svc := &core.Service{}
		if err := s.store.Get(ctx, r.kind.Key(r.namespace, name), svc); err != nil {
			return nil, toAPIError(r.kind, name, err)
		}
		found := false
		for _, p := range svc.Spec.Ports {
			if int(p.Port) == num {
				port, found = p.Name, true
				break
			}
		}
		if !found {
			return nil, errServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", num, name))
		}
	}
	epKind, ok := s.reg.Lookup("", "v1", "endpoints")
	if !ok {
		return nil, errInternal(errors.New("endpoints are not served"))
	}
	eps := &core.Endpoints{}
	if err := s.store.Get(ctx, epKind.Key(r.namespace, name), eps); err != nil {
		return nil, toAPIError(epKind, name, err)
	}
	if len(eps.Subsets) == 0 {
		return nil, errServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
	}
	start := rand.IntN(len(eps.Subsets))
	for i := range eps.Subsets {
		ss := &eps.Subsets[(start+i)%len(eps.Subsets)]
		if len(ss.Addresses) == 0 {
			continue
		}
		for _, p := range ss.Ports {
			if p.Name != port {
				continue
			}
			// Only pods are proxied to: an address without a pod behind it is skipped.
			astart := rand.IntN(len(ss.Addresses))
			for j := range ss.Addresses {
				a := ss.Addresses[(astart+j)%len(ss.Addresses)]
				if !s.isPodAddress(ctx, a) {
					continue
				}
				return &url.URL{Scheme: scheme, Host: net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port)))}, nil
			}
		}
	}
	return nil, errServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", r.name))
}

// isPodAddress reports whether an endpoint address is a pod that has that IP
// (Kubernetes' isValidAddress: the proxy must not become a way to reach anything else).
func (s *Server) isPodAddress(ctx context.Context, a core.EndpointAddress) bool {
	if a.TargetRef == nil || a.TargetRef.Kind != "Pod" {
		return false
	}
	pods, ok := s.reg.Lookup("", "v1", "pods")
	if !ok {
		return false
	}
	pod := &core.Pod{}
	if err := s.store.Get(ctx, pods.Key(a.TargetRef.Namespace, a.TargetRef.Name), pod); err != nil {
		return false
	}
	if pod.Status.PodIP == a.IP {
		return true
	}
	for _, ip := range pod.Status.PodIPs {
		if ip.IP == a.IP {
			return true
		}
	}
	return false
}

// nodeLocation is the node agent (by default, or when the port asked for is its port),
// dialled as the API server's kubelet client, else the node's address and that port.
func (s *Server) nodeLocation(ctx context.Context, scheme, name, port string) (*url.URL, http.RoundTripper, *apiError) {
	nodes, ok := s.reg.Lookup("", "v1", "nodes")
	if !ok {
		return nil, nil, errInternal(errors.New("nodes are not served"))
	}
	node := &core.Node{}
	if err := s.store.Get(ctx, nodes.Key("", name), node); err != nil {
		return nil, nil, toAPIError(nodes, name, err)
	}
	host := nodeHost(node)
	if host == "" {
		return nil, nil, errBadRequest(fmt.Sprintf("node %s has no address", name))
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
		return nil, nil, errBadRequest("address not allowed")
	}
	agentPort := strconv.Itoa(int(node.Status.DaemonEndpoints.KubeletEndpoint.Port))
	if port == "" || port == agentPort {
		if agentPort == "0" {
			return nil, nil, errBadRequest(fmt.Sprintf("node %s has no address and port for its node agent", name))
		}
		tr, err := s.nodeTransport()
		if err != nil {
			return nil, nil, errInternal(err)
		}
		return &url.URL{Scheme: s.nodeScheme(), Host: net.JoinHostPort(host, agentPort)}, tr, nil
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}, nil, nil
}

// nodeHost is the address a node is reached at: InternalIP, else ExternalIP, else Hostname.
func nodeHost(node *core.Node) string {
	for _, typ := range []core.NodeAddressType{core.NodeInternalIP, core.NodeExternalIP, core.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == typ {
				return a.Address
			}
		}
	}
	return ""
}

// proxyTransport dials pods and endpoints. As Kubernetes' proxy transport without a proxy
// client certificate, it does not verify the backends' serving certificates: pods serve
// whatever certificate they have, and no CA vouches for them.
func (s *Server) proxyTransport() http.RoundTripper {
	dial := s.cfg.ProxyDialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: nodeDialTimeout}).DialContext
	}
	return &http.Transport{
		DialContext:       dial,
		DisableKeepAlives: true, ResponseHeaderTimeout: time.Minute,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}, //nolint:gosec // see above
	}
}

// proxyTo passes req on to loc through tr (apimachinery's UpgradeAwareHandler with a
// rewriting transport): the query is kept, a trailing slash of the request is kept, an
// upgrade is spliced, and HTML links are rewritten to come back through the proxy.
func (s *Server) proxyTo(w http.ResponseWriter, req *http.Request, loc *url.URL, tr http.RoundTripper) {
	target := *loc
	if target.Scheme == "" {
		target.Scheme = "http"
	}
	target.RawQuery = req.URL.RawQuery
	if !strings.HasSuffix(target.Path, "/") && strings.HasSuffix(req.URL.Path, "/") {
		target.Path += "/"
	}
	if target.Path == "" && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		// Kubernetes' answer to relative links on a page served at ".../proxy" (issue 4958).
		q := ""
		if req.URL.RawQuery != "" {
			q = "?" + req.URL.RawQuery
		}
		w.Header().Set("Location", req.URL.Path+"/"+q)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	// The links on the backend's pages are rewritten under the path the caller used.
	suffix := loc.Path
	if strings.HasSuffix(req.URL.Path, "/") && !strings.HasSuffix(suffix, "/") {
		suffix += "/"
	}
	rw := &rewritingTransport{pathPrepend: strings.TrimSuffix(req.URL.Path, suffix), next: tr}
	if t, ok := tr.(*http.Transport); ok {
		defer t.CloseIdleConnections()
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := target
			pr.Out.URL = &u
			pr.Out.Host = target.Host
			pr.SetXForwarded()
			// The caller's credentials were for this server, not for the backend.
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Cookie")
		},
		Transport:     rw,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			var aerr *apiError
			if errors.As(err, &aerr) {
				writeError(w, aerr)
				return
			}
			writeError(w, errServiceUnavailable("error trying to reach service: "+err.Error()))
		},
	}
	rp.ServeHTTP(w, req)
}
