package apiserver

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/apiregistration"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/webhookclient"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/storage"
)

// API aggregation, as kube-apiserver's aggregator does it: an APIService with
// spec.service makes /apis/GROUP/VERSION/... a proxy to that Service (its ClusterIP and
// port, over TLS verified by spec.caBundle or skipped with insecureSkipTLSVerify). The
// request was authenticated and authorized here; the extension server learns who asked
// from X-Remote-User, X-Remote-Group and X-Remote-Extra-* headers, which it trusts because
// they come with this server's front-proxy client certificate, issued by the front-proxy
// CA that the ConfigMap kube-system/extension-apiserver-authentication publishes
// (requestheader-client-ca-file) with the header names and the allowed certificate name —
// what k8s.io/apiserver's delegated authentication reads. Discovery lists the aggregated
// groups; their resource lists come from the extension. A loop checks every aggregated
// APIService and sets its Available condition.

// Names kube-apiserver uses.
const (
	ExtensionAuthConfigMap = "extension-apiserver-authentication"
	FrontProxyClientName   = "front-proxy-client"
	headerRemoteUser       = "X-Remote-User"
	headerRemoteGroup      = "X-Remote-Group"
	headerRemoteExtra      = "X-Remote-Extra-"
	// AvailabilityCheckPeriod is how often every aggregated APIService is checked.
	AvailabilityCheckPeriod = 10 * time.Second
)

// frontProxy is the identity the aggregator presents to extension servers.
type frontProxy struct {
	cert         tls.Certificate
	caPEM        []byte
	allowedNames []string
}

// aggregator holds the front-proxy identity and a transport per APIService version.
type aggregator struct {
	fp *frontProxy
	mu sync.Mutex
	// transports by APIService name and resourceVersion (a changed caBundle gets a new one).
	transports map[string]*http.Transport
	ext        extensionStore // what the extension servers told (aggregator_openapi.go)
}

// loadFrontProxy reads the configured front-proxy client certificate and CA, or — without
// them (tests, a server started by hand) — makes an ephemeral CA and certificate for this
// run; the ConfigMap publishes whichever is in use.
func loadFrontProxy(cfg Config) (*frontProxy, error) {
	names := cfg.RequestHeaderAllowedNames
	if cfg.ProxyClientCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.ProxyClientCertFile, cfg.ProxyClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("front-proxy client certificate: %w", err)
		}
		caPEM, err := os.ReadFile(cfg.RequestHeaderClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("front-proxy CA (--requestheader-client-ca-file): %w", err)
		}
		// As kube-apiserver: the allowed names published are the flag's (none: any name
		// of the CA; kubeadm and skiff up pass front-proxy-client).
		return &frontProxy{cert: cert, caPEM: caPEM, allowedNames: names}, nil
	}
	ca, err := pki.NewCA("skiff-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertRequest{CommonName: FrontProxyClientName, Usage: pki.ClientAuth})
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &frontProxy{cert: cert, caPEM: ca.CertPEM, allowedNames: []string{FrontProxyClientName}}, nil
}

// bootstrapExtensionAuth publishes kube-system/extension-apiserver-authentication.
func (s *Server) bootstrapExtensionAuth(ctx context.Context) error {
	fp := s.agg.fp
	list := func(v ...string) string {
		if v == nil {
			v = []string{}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	data := map[string]string{
		"requestheader-client-ca-file":       string(fp.caPEM),
		"requestheader-username-headers":     list(s.cfg.RequestHeaderUsernameHeaders...),
		"requestheader-group-headers":        list(s.cfg.RequestHeaderGroupHeaders...),
		"requestheader-extra-headers-prefix": list(s.cfg.RequestHeaderExtraHeadersPrefix...),
		"requestheader-allowed-names":        list(fp.allowedNames...),
	}
	if s.cfg.ClientCAFile != "" {
		caPEM, err := os.ReadFile(s.cfg.ClientCAFile)
		if err != nil {
			return fmt.Errorf("%s: %w", ExtensionAuthConfigMap, err)
		}
		data["client-ca-file"] = string(caPEM)
	}
	cmKind, _ := s.reg.Lookup("", "v1", "configmaps")
	key := cmKind.Key("kube-system", ExtensionAuthConfigMap)
	_, err := s.store.GuaranteedUpdate(ctx, key, cmKind.New, func(cur meta.Object) (meta.Object, error) {
		cur.(*core.ConfigMap).Data = data
		return cur, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		err = s.createSystemObject(ctx, key, &core.ConfigMap{TypeMeta: meta.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
			ObjectMeta: meta.ObjectMeta{Name: ExtensionAuthConfigMap, Namespace: "kube-system"}, Data: data})
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ExtensionAuthConfigMap, err)
	}
	return nil
}

// apiServices are the APIServices in the watch cache.
func (s *Server) apiServices() []*apiregistration.APIService {
	k, ok := s.reg.Lookup(apiregistration.GroupName, "v1", "apiservices")
	if !ok {
		return nil
	}
	items, _ := s.cache(k).List(nil)
	out := make([]*apiregistration.APIService, 0, len(items))
	for _, o := range items {
		if a, ok := o.(*apiregistration.APIService); ok {
			out = append(out, a)
		}
	}
	return out
}

// aggregated is the APIService that sends group/version to an extension server, or nil.
func (s *Server) aggregated(group, version string) *apiregistration.APIService {
	if group == "" {
		return nil
	}
	k, ok := s.reg.Lookup(apiregistration.GroupName, "v1", "apiservices")
	if !ok {
		return nil
	}
	o, ok := s.cache(k).Get(k.Key("", version+"."+group))
	if !ok {
		return nil
	}
	a, ok := o.(*apiregistration.APIService)
	if !ok || a.Spec.Service == nil {
		return nil
	}
	return a
}

// aggregatedGroups adds the groups and versions of aggregated APIServices to local
// discovery, ordered as kube-aggregator orders them: groups by their highest
// groupPriorityMinimum (then by name), a group's versions by versionPriority (then by
// Kubernetes' version order), the first being the preferred one. This server's own groups
// come first in their own order — kube-apiserver gives its built-in groups priorities
// (16000–18000) above those extensions use — and a group served here too gets the
// extension's versions after its own.
func (s *Server) aggregatedGroups(groups []meta.APIGroup) []meta.APIGroup {
	var aggs []*apiregistration.APIService
	for _, a := range s.apiServices() {
		if a.Spec.Service != nil && a.Spec.Group != "" {
			aggs = append(aggs, a)
		}
	}
	top := map[string]int32{}
	for _, a := range aggs {
		top[a.Spec.Group] = max(top[a.Spec.Group], a.Spec.GroupPriorityMinimum)
	}
	slices.SortStableFunc(aggs, func(a, b *apiregistration.APIService) int {
		if c := cmp.Compare(top[b.Spec.Group], top[a.Spec.Group]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Spec.Group, b.Spec.Group); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Spec.VersionPriority, a.Spec.VersionPriority); c != 0 {
			return c
		}
		return -registry.CompareKubeVersions(a.Spec.Version, b.Spec.Version)
	})
	idx := map[string]int{}
	for i, g := range groups {
		idx[g.Name] = i
	}
	for _, a := range aggs {
		v := meta.GroupVersionForDiscovery{GroupVersion: a.Spec.Group + "/" + a.Spec.Version, Version: a.Spec.Version}
		if i, ok := idx[a.Spec.Group]; ok {
			if !slices.ContainsFunc(groups[i].Versions, func(have meta.GroupVersionForDiscovery) bool { return have.Version == v.Version }) {
				groups[i].Versions = append(groups[i].Versions, v)
			}
			continue
		}
		idx[a.Spec.Group] = len(groups)
		groups = append(groups, meta.APIGroup{Name: a.Spec.Group, Versions: []meta.GroupVersionForDiscovery{v}, PreferredVersion: v})
	}
	return groups
}

// serviceTarget is the address an APIService's requests go to: its Service's ClusterIP
// and port, as kube-apiserver resolves it by default, or with --enable-aggregator-routing
// a ready endpoint of the Service's EndpointSlices (the port of the same name), as the
// admission webhooks are reached.
func (s *Server) serviceTarget(a *apiregistration.APIService) (string, *apiError) {
	ref := a.Spec.Service
	if s.cfg.EnableAggregatorRouting {
		port := int32(443)
		if ref.Port != nil {
			port = *ref.Port
		}
		addr, err := webhookclient.EndpointResolver(admissionObjects{s}).ResolveEndpoint(context.Background(), ref.Namespace, ref.Name, port)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return "", errServiceUnavailable(fmt.Sprintf("service \"%s/%s\" not found", ref.Namespace, ref.Name))
			}
			return "", errServiceUnavailable(err.Error())
		}
		return addr, nil
	}
	svcKind, _ := s.reg.Lookup("", "v1", "services")
	o, ok := s.cache(svcKind).Get(svcKind.Key(ref.Namespace, ref.Name))
	if !ok {
		return "", errServiceUnavailable(fmt.Sprintf("service \"%s/%s\" not found", ref.Namespace, ref.Name))
	}
	svc := o.(*core.Service)
	port := int32(443)
	if ref.Port != nil {
		port = *ref.Port
	}
	found := false
	for _, p := range svc.Spec.Ports {
		found = found || p.Port == port
	}
	if !found {
		return "", errServiceUnavailable(fmt.Sprintf("service \"%s/%s\" has no port %d", ref.Namespace, ref.Name, port))
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == core.ClusterIPNone {
		return "", errServiceUnavailable(fmt.Sprintf("service \"%s/%s\" has no cluster IP", ref.Namespace, ref.Name))
	}
	return net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(port))), nil
}

// transport is the TLS transport to a's extension server: its CA bundle (or no
// verification), its Service's DNS name as the server name, and the front-proxy client
// certificate.
func (s *Server) transport(a *apiregistration.APIService) (*http.Transport, *apiError) {
	key := a.Name + "@" + a.ResourceVersion
	s.agg.mu.Lock()
	defer s.agg.mu.Unlock()
	if t, ok := s.agg.transports[key]; ok {
		return t, nil
	}
	tc := &tls.Config{Certificates: []tls.Certificate{s.agg.fp.cert},
		ServerName: a.Spec.Service.Name + "." + a.Spec.Service.Namespace + ".svc", NextProtos: []string{"http/1.1"}}
	switch {
	case a.Spec.InsecureSkipTLSVerify:
		tc.InsecureSkipVerify = true //nolint:gosec // the APIService asks for it, as in Kubernetes
	case len(a.Spec.CABundle) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(a.Spec.CABundle) {
			return nil, errServiceUnavailable(fmt.Sprintf("APIService %s: spec.caBundle holds no certificate", a.Name))
		}
		tc.RootCAs = pool
	}
	dial := s.cfg.ProxyDialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	}
	t := &http.Transport{DialContext: dial, TLSClientConfig: tc, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second,
		ResponseHeaderTimeout: time.Minute}
	for k, old := range s.agg.transports {
		if strings.HasPrefix(k, a.Name+"@") {
			old.CloseIdleConnections()
			delete(s.agg.transports, k)
		}
	}
	s.agg.transports[key] = t
	return t, nil
}

// serveAggregated proxies req to a's extension server as the requesting user.
func (s *Server) serveAggregated(w http.ResponseWriter, req *http.Request, a *apiregistration.APIService) {
	target, aerr := s.serviceTarget(a)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	tr, aerr := s.transport(a)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	u, _ := authn.UserFrom(req.Context())
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			out.URL.Scheme, out.URL.Host = "https", target
			out.Host = target
			// The caller's credentials were for this server; who they are travels in the
			// request headers, and only those this server sets.
			for h := range out.Header {
				lh := strings.ToLower(h)
				if lh == "authorization" || strings.HasPrefix(lh, "impersonate-") || strings.HasPrefix(lh, "x-remote-") {
					out.Header.Del(h)
				}
			}
			if u != nil {
				out.Header.Set(headerRemoteUser, u.Name)
				for _, g := range u.Groups {
					out.Header.Add(headerRemoteGroup, g)
				}
				for k, vs := range u.Extra {
					for _, v := range vs {
						out.Header.Add(headerRemoteExtra+k, v)
					}
				}
			}
		},
		Transport:     tr,
		FlushInterval: -1, // watches stream
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			writeError(w, errServiceUnavailable("error trying to reach service: "+err.Error()))
		},
	}
	rp.ServeHTTP(w, req)
}

// runAvailability checks every aggregated APIService every period (and local ones once)
// and keeps its Available condition, as kube-aggregator's AvailableConditionController.
func (s *Server) runAvailability(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	// A new, changed or deleted APIService is checked (and its OpenAPI fetched) at once;
	// its status updates (this loop's own writes) wake nothing.
	wake := make(chan struct{}, 1)
	if k, ok := s.reg.Lookup(apiregistration.GroupName, "v1", "apiservices"); ok {
		seen := map[string]string{}
		go follow(ctx, s.cache(k), func() { clear(seen) }, func(typ string, o meta.Object) {
			a, ok := o.(*apiregistration.APIService)
			if !ok {
				return
			}
			key := specKey(a)
			if typ == meta.Deleted {
				delete(seen, a.Name)
			} else if seen[a.Name] == key {
				return
			} else {
				seen[a.Name] = key
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		}, s.log)
	}
	for {
		// Each APIService on its own, so one extension that does not answer delays no other.
		all := s.apiServices()
		var wg sync.WaitGroup
		for _, a := range all {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, reason, msg, body := s.checkAvailable(ctx, a)
				now := time.Now()
				// The resource list is kept before Available says so.
				fetch := a.Spec.Service != nil && s.recordCheck(a, st == apiregistration.ConditionTrue, body, now) // aggregator_openapi.go
				s.setAvailable(ctx, a, st, reason, msg)
				if fetch {
					s.fetchOpenAPI(ctx, a, now)
				}
			}()
		}
		wg.Wait()
		s.forgetExtensions(all)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// checkAvailable is a's Available status: local ones always; aggregated ones when their
// Service resolves and GET /apis/GROUP/VERSION answers 2xx within 5 s — with that answer,
// the resource list discovery serves.
func (s *Server) checkAvailable(ctx context.Context, a *apiregistration.APIService) (st apiregistration.ConditionStatus, reason, msg string, body []byte) {
	if a.Spec.Service == nil {
		return apiregistration.ConditionTrue, "Local", "Local APIServices are always available", nil
	}
	target, aerr := s.serviceTarget(a)
	if aerr != nil {
		reason = "ServiceNotFound"
		if !strings.Contains(aerr.status.Message, "not found") {
			reason = "ServiceAccessError"
		}
		return apiregistration.ConditionFalse, reason, aerr.status.Message, nil
	}
	tr, aerr := s.transport(a)
	if aerr != nil {
		return apiregistration.ConditionFalse, "ServiceAccessError", aerr.status.Message, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := "https://" + target + "/apis/" + a.Spec.Group + "/" + a.Spec.Version
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	if err != nil {
		return apiregistration.ConditionFalse, "FailedDiscoveryCheck", err.Error(), nil
	}
	// The check runs as this server itself, as kube-aggregator's does.
	req.Header.Set(headerRemoteUser, "system:kube-aggregator")
	req.Header.Set(headerRemoteGroup, "system:masters")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return apiregistration.ConditionFalse, "FailedDiscoveryCheck", fmt.Sprintf("failing or missing response from %s: %v", url, err), nil
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiregistration.ConditionFalse, "FailedDiscoveryCheck", fmt.Sprintf("failing or missing response from %s: bad status from %s: %d", url, url, resp.StatusCode), nil
	}
	body, _ = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return apiregistration.ConditionTrue, "Passed", "all checks passed", body
}

// setAvailable writes a's Available condition when it changed.
func (s *Server) setAvailable(ctx context.Context, a *apiregistration.APIService, st apiregistration.ConditionStatus, reason, msg string) {
	if c := a.Status.Condition(apiregistration.Available); c != nil && c.Status == st && c.Reason == reason && c.Message == msg {
		return
	}
	k, _ := s.reg.Lookup(apiregistration.GroupName, "v1", "apiservices")
	_, err := s.store.GuaranteedUpdate(ctx, k.Key("", a.Name), k.New, func(cur meta.Object) (meta.Object, error) {
		as := cur.(*apiregistration.APIService)
		c := as.Status.Condition(apiregistration.Available)
		if c == nil {
			as.Status.Conditions = append(as.Status.Conditions, apiregistration.APIServiceCondition{Type: apiregistration.Available})
			c = &as.Status.Conditions[len(as.Status.Conditions)-1]
		}
		if c.Status != st {
			c.LastTransitionTime = meta.Now()
		}
		c.Status, c.Reason, c.Message = st, reason, msg
		return as, nil
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) && ctx.Err() == nil {
		s.log.Warn("APIService availability not recorded", "apiservice", a.Name, "err", err)
	}
}
