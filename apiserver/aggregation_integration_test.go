package apiserver_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apiregistration"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/apiserver/openapi"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
)

// wardle is a tiny extension API server, as sample-apiserver is to Kubernetes: TLS with
// its own CA, trusting only client certificates of the front-proxy CA that the API server
// publishes in kube-system/extension-apiserver-authentication (with a name from
// requestheader-allowed-names), and taking the user from the headers that ConfigMap names.
type wardle struct {
	ln       net.Listener
	srv      *http.Server
	caPEM    []byte
	requests atomic.Int32 // flunder lists served
	mu       sync.Mutex
	lastUser string
	lastGrps []string
}

func startWardle(t *testing.T, authCM *core.ConfigMap) *wardle {
	t.Helper()
	ca, err := pki.NewCA("wardle-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertRequest{CommonName: "wardle", DNSNames: []string{"wardle-api.default.svc"}, Usage: pki.ServerAuth})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM([]byte(authCM.Data["requestheader-client-ca-file"])) {
		t.Fatalf("no front-proxy CA in %s: %v", apiserver.ExtensionAuthConfigMap, authCM.Data)
	}
	var allowed, userHeaders, groupHeaders []string
	for key, into := range map[string]*[]string{"requestheader-allowed-names": &allowed,
		"requestheader-username-headers": &userHeaders, "requestheader-group-headers": &groupHeaders} {
		if err := json.Unmarshal([]byte(authCM.Data[key]), into); err != nil || len(*into) == 0 {
			t.Fatalf("%s: %q (%v)", key, authCM.Data[key], err)
		}
	}
	w := &wardle{caPEM: ca.CertPEM}
	// Its OpenAPI documents, built as skiff builds a custom resource's.
	flunder := []openapi.Resource{{Group: "wardle.example.com", Version: "v1alpha1", Kind: "Flunder", Resource: "flunders",
		Namespaced: true, Verbs: []string{"get", "list"}, Schema: json.RawMessage(`{"type":"object",` +
			`"description":"A Flunder is what the wardle server serves.","properties":{"spec":{"type":"object",` +
			`"description":"what the flunder should be","properties":{"reference":{"type":"string","description":"the name of another flunder"}}}}}`)}}
	docs := map[string][]byte{"/openapi/v2": openapi.V2Document(flunder), "/openapi/v3": openapi.V3Index(flunder),
		"/openapi/v3/apis/wardle.example.com/v1alpha1": openapi.V3Document("wardle.example.com/v1alpha1", flunder)}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		// requestheader authentication: only the front proxy's certificate may assert a user.
		if len(r.TLS.PeerCertificates) == 0 || !contains(allowed, r.TLS.PeerCertificates[0].Subject.CommonName) {
			http.Error(rw, "not the front proxy", http.StatusUnauthorized)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/flunders") { // not the availability checks
			w.requests.Add(1)
			w.mu.Lock()
			w.lastUser, w.lastGrps = r.Header.Get(userHeaders[0]), r.Header.Values(groupHeaders[0])
			w.mu.Unlock()
		}
		rw.Header().Set("Content-Type", "application/json")
		if doc, ok := docs[r.URL.Path]; ok {
			rw.Write(doc)
			return
		}
		switch r.URL.Path {
		case "/apis/wardle.example.com/v1alpha1":
			fmt.Fprint(rw, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"wardle.example.com/v1alpha1",`+
				`"resources":[{"name":"flunders","singularName":"flunder","namespaced":true,"kind":"Flunder","verbs":["get","list"]}]}`)
		case "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders":
			fmt.Fprintf(rw, `{"kind":"FlunderList","apiVersion":"wardle.example.com/v1alpha1","metadata":{},"items":[`+
				`{"kind":"Flunder","apiVersion":"wardle.example.com/v1alpha1","metadata":{"name":"seen-by-%s","namespace":"default"}}]}`,
				r.Header.Get(userHeaders[0]))
		default:
			http.NotFound(rw, r)
		}
	})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: clientCAs})
	if err != nil {
		t.Fatal(err)
	}
	w.ln = ln
	srv := &http.Server{Handler: mux}
	w.srv = srv
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return w
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// An APIService with a Service reference: the API server proxies its group/version to
// the extension server over TLS (verified by caBundle) with its front-proxy identity and
// the caller in X-Remote-* headers (never the caller's own), after authorizing the caller
// itself; discovery lists the group; the Available condition follows the extension
// server; bad APIServices are refused with Kubernetes' messages.
func TestAPIAggregation(t *testing.T) {
	env := setUpAggregation(t)
	s, w, target, apisvcs, as := env.s, env.w, env.target, env.apisvcs, env.as
	ctx := context.Background()
	available := env.available

	get := func(hc *http.Client, path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	hc := s.HTTPClient(t)

	// Discovery: the group is listed, its resource list comes from the extension.
	if code, body := get(hc, "/apis", nil); code != 200 || !strings.Contains(body, `"name":"wardle.example.com"`) {
		t.Errorf("/apis: %d %s", code, body)
	}
	if code, body := get(hc, "/apis/wardle.example.com", nil); code != 200 || !strings.Contains(body, `"groupVersion":"wardle.example.com/v1alpha1"`) {
		t.Errorf("/apis/wardle.example.com: %d %s", code, body)
	}
	if code, body := get(hc, "/apis/wardle.example.com/v1alpha1", nil); code != 200 || !strings.Contains(body, `"name":"flunders"`) {
		t.Errorf("resource list: %d %s", code, body)
	}

	// Aggregated discovery (what kubectl asks first) carries the extension's resources.
	if code, body := get(hc, "/apis", map[string]string{"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"}); code != 200 ||
		!strings.Contains(body, `"resource":"flunders"`) {
		t.Errorf("aggregated discovery: %d %s", code, body)
	}

	// A request as the admin, who tries to pass as someone else with the headers: the
	// extension sees the admin, authenticated here.
	code, body := get(hc, "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders", map[string]string{"X-Remote-User": "mallory"})
	w.mu.Lock()
	user, groups := w.lastUser, w.lastGrps
	w.mu.Unlock()
	if code != 200 || !strings.Contains(body, "seen-by-") || user == "" || user == "mallory" ||
		!contains(groups, "system:masters") || !contains(groups, "system:authenticated") {
		t.Errorf("proxied list: %d %s; the extension saw user %q groups %v", code, body, user, groups)
	}

	// Authorization happens here: a user without RBAC rights never reaches the extension.
	bob, err := s.UserConfig(t, "bob").HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	before := w.requests.Load()
	if code, body := get(bob, "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders", nil); code != http.StatusForbidden ||
		!strings.Contains(body, `cannot list resource \"flunders\" in API group \"wardle.example.com\"`) {
		t.Errorf("bob: %d %s, want 403", code, body)
	}
	if w.requests.Load() != before {
		t.Error("a forbidden request reached the extension server")
	}

	// Bad APIServices are refused with kube-aggregator's messages.
	bad := *as
	bad.Name = "v1.wrong.example.com"
	bad.Spec.InsecureSkipTLSVerify = true
	_, err = apisvcs.Create(ctx, &bad)
	for _, want := range []string{"must be `spec.version+\".\"+spec.group`: \"v1alpha1.wardle.example.com\"",
		"spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad APIService: %v, want %q", err, want)
		}
	}

	// The extension server goes away: Available turns False, requests get 503.
	w.srv.Close() // the listener and the kept-alive connections
	target.Store("127.0.0.1:1")
	available(apiregistration.ConditionFalse, "FailedDiscoveryCheck")
	if code, body := get(hc, "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders", nil); code != http.StatusServiceUnavailable {
		t.Errorf("extension down: %d %s, want 503", code, body)
	}
}

// aggregationEnv is an API server with the wardle extension server behind the APIService
// v1alpha1.wardle.example.com, Available.
type aggregationEnv struct {
	s         *harness.Server
	w         *wardle
	target    *atomic.Value // where the Service's ClusterIP leads
	apisvcs   *client.Typed[apiregistration.APIService, *apiregistration.APIService]
	as        *apiregistration.APIService
	available func(want apiregistration.ConditionStatus, reason string)
}

func setUpAggregation(t *testing.T) *aggregationEnv { return setUpAggregationWith(t, false) }

// The Service's endpoint (an EndpointSlice of it, port "https" 8443): where requests go
// with --enable-aggregator-routing.
const wardleEndpoint = "10.244.1.5:8443"

// setUpAggregationWith routing dials the Service's ready endpoint (routing) and leaves its
// cluster IP unreachable, or the other way round.
func setUpAggregationWith(t *testing.T, routing bool) *aggregationEnv {
	t.Helper()
	const clusterIP = "10.96.0.77"
	var target atomic.Value // the extension server's real address
	target.Store("")
	via := clusterIP + ":443" // as the node's proxy would route it
	if routing {
		via = wardleEndpoint
	}
	s := harness.StartServer(t, harness.ServerOptions{Configure: func(c *apiserver.Config) {
		c.AvailabilityCheckPeriod = 200 * time.Millisecond
		c.EnableAggregatorRouting = routing
		c.ProxyDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			switch addr {
			case via:
				addr = target.Load().(string)
			case clusterIP + ":443", wardleEndpoint:
				return nil, fmt.Errorf("dial %s: the test's network does not lead there", addr)
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
	}})
	ctx := context.Background()
	admin := s.Client(t)
	cm, err := client.For[core.ConfigMap](admin, client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}).
		Get(ctx, "kube-system", apiserver.ExtensionAuthConfigMap)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["client-ca-file"] == "" || cm.Data["requestheader-extra-headers-prefix"] != `["X-Remote-Extra-"]` {
		t.Errorf("%s lacks the client CA or the extra-headers prefix: %v", apiserver.ExtensionAuthConfigMap, cm.Data)
	}
	w := startWardle(t, cm)
	target.Store(w.ln.Addr().String())

	svcs := client.For[core.Service](admin, client.Resource{Version: "v1", Resource: "services", Namespaced: true})
	if _, err := svcs.Create(ctx, &core.Service{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "wardle-api"},
		Spec: core.ServiceSpec{ClusterIP: clusterIP, Ports: []core.ServicePort{{Name: "https", Port: 443, Protocol: core.ProtocolTCP}}}}); err != nil {
		t.Fatal(err)
	}
	if routing {
		ready, port, name := true, int32(8443), "https"
		host, _, _ := net.SplitHostPort(wardleEndpoint)
		slices := client.For[discovery.EndpointSlice](admin, client.Resource{Group: discovery.GroupName, Version: "v1", Resource: "endpointslices", Namespaced: true})
		if _, err := slices.Create(ctx, &discovery.EndpointSlice{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "wardle-api-x1",
			Labels: map[string]string{"kubernetes.io/service-name": "wardle-api"}}, AddressType: discovery.AddressTypeIPv4,
			Endpoints: []discovery.Endpoint{{Addresses: []string{host}, Conditions: discovery.EndpointConditions{Ready: &ready}}},
			Ports:     []discovery.EndpointPort{{Name: &name, Port: &port}}}); err != nil {
			t.Fatal(err)
		}
	}
	apisvcs := client.For[apiregistration.APIService](admin, client.Resource{Group: apiregistration.GroupName, Version: "v1", Resource: "apiservices"})
	port := int32(443)
	as := &apiregistration.APIService{ObjectMeta: meta.ObjectMeta{Name: "v1alpha1.wardle.example.com"},
		Spec: apiregistration.APIServiceSpec{Group: "wardle.example.com", Version: "v1alpha1",
			Service:  &apiregistration.ServiceReference{Namespace: "default", Name: "wardle-api", Port: &port},
			CABundle: w.caPEM, GroupPriorityMinimum: 1000, VersionPriority: 15}}
	if _, err := apisvcs.Create(ctx, as); err != nil {
		t.Fatal(err)
	}
	available := func(want apiregistration.ConditionStatus, reason string) {
		t.Helper()
		harness.Eventually(t, 15*time.Second, "APIService Available="+string(want)+" ("+reason+")", func() (bool, string) {
			got, err := apisvcs.Get(ctx, "", as.Name)
			if err != nil {
				return false, err.Error()
			}
			c := got.Status.Condition(apiregistration.Available)
			if c == nil {
				return false, "no condition"
			}
			return c.Status == want && c.Reason == reason, fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
		})
	}
	available(apiregistration.ConditionTrue, "Passed")
	return &aggregationEnv{s: s, w: w, target: &target, apisvcs: apisvcs, as: as, available: available}
}

// With --enable-aggregator-routing the requests go to a ready endpoint of the Service (its
// EndpointSlice's address and the port of the Service port's name), not its cluster IP.
func TestAPIAggregationEndpointRouting(t *testing.T) {
	env := setUpAggregationWith(t, true) // Available: reached through the endpoint
	hc := env.s.HTTPClient(t)
	code, body := httpGet(t, hc, env.s.URL+"/apis/wardle.example.com/v1alpha1/namespaces/default/flunders", nil)
	if code != 200 || !strings.Contains(string(body), "seen-by-") {
		t.Errorf("proxied list through the endpoint: %d %s", code, body)
	}
	// The endpoint turns not ready: nothing to route to.
	ctx := context.Background()
	slices := client.For[discovery.EndpointSlice](env.s.Client(t), client.Resource{Group: discovery.GroupName, Version: "v1", Resource: "endpointslices", Namespaced: true})
	es, err := slices.Get(ctx, "default", "wardle-api-x1")
	if err != nil {
		t.Fatal(err)
	}
	notReady := false
	es.Endpoints[0].Conditions.Ready = &notReady
	if _, err := slices.Update(ctx, es); err != nil {
		t.Fatal(err)
	}
	env.available(apiregistration.ConditionFalse, "ServiceAccessError")
	if code, body := httpGet(t, hc, env.s.URL+"/apis/wardle.example.com/v1alpha1/namespaces/default/flunders", nil); code != http.StatusServiceUnavailable ||
		!strings.Contains(string(body), "no ready endpoint") {
		t.Errorf("no ready endpoint: %d %s, want 503", code, body)
	}
}
