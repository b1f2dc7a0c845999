// Package apiserver serves the Kubernetes REST API over etcd: discovery, the generic verbs for
// every registered kind, subresources, patch, watch, Table output and OpenAPI.
package apiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	metricsv1beta1 "github.com/skiff-sh/skiff/api/metrics"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/audit"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
	"github.com/skiff-sh/skiff/apiserver/flowcontrol"
	"github.com/skiff-sh/skiff/apiserver/webhookclient"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// Config configures an API server.
type Config struct {
	// Listen is HOST:PORT to serve on (default 127.0.0.1:6443); several comma-separated
	// addresses serve the same API on each (a multi-node cluster on one machine adds the
	// nodes' bridge address to loopback). The first is the kubernetes Service's endpoint.
	Listen string
	// AdvertiseAddress is the IP this server is reached at by pods and other machines: its
	// entry in the kubernetes Service's endpoints and in cluster-info (default: the first
	// --listen host).
	AdvertiseAddress string
	// EndpointReconcilerType is how default/kubernetes's endpoints are kept: "lease" (the
	// default with Run: every live server, by etcd leases; endpointreconciler.go) or "none"
	// (this server's address, written once at start).
	EndpointReconcilerType string
	// MasterLeaseTTL and MasterLeaseInterval: a server's lease lasts TTL (default 15 s) and
	// is renewed every interval (default 10 s), Kubernetes' values.
	MasterLeaseTTL, MasterLeaseInterval time.Duration
	// DataDir holds the embedded etcd's data when EtcdServers is empty.
	DataDir string
	// EtcdServers are the client URLs of an external etcd cluster; then nothing is embedded.
	EtcdServers []string
	// EtcdCAFile, EtcdCertFile and EtcdKeyFile: TLS towards the external etcd (the members'
	// CA, and this server's client certificate for etcd's --client-cert-auth).
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// EtcdStartTimeout is how long Run waits for an external etcd cluster to answer with a
	// leader before giving up with a message that says so (default 1 minute).
	EtcdStartTimeout time.Duration
	// CompactInterval is how often etcd history is compacted (default 5 minutes).
	CompactInterval time.Duration
	// EtcdQuotaBytes is the embedded etcd's backend quota (default 8 GiB): past it etcd
	// refuses writes (507) until skiff's maintenance has reclaimed space.
	EtcdQuotaBytes int64
	// MaxRequestBytes caps request bodies (default 3 MiB).
	MaxRequestBytes int64
	// RequestTimeout bounds every request that is not long-running (watches, logs, exec,
	// attach, port-forward, proxy), body reading included (default 60 s, kube-apiserver's
	// --request-timeout); a request's own ?timeout= may shorten it (timeouts.go).
	RequestTimeout time.Duration
	// WatchHistory is how many events each watch cache keeps for resuming watches.
	WatchHistory int
	// BookmarkInterval is how often idle watchers that asked for bookmarks get one (default 1 minute).
	BookmarkInterval time.Duration
	// ServiceCIDR is the range Service cluster IPs come from (default 10.96.0.0/12).
	ServiceCIDR string
	// NodePortMin and NodePortMax bound Service node ports (default 30000-32767).
	NodePortMin, NodePortMax int
	Logger                   *slog.Logger

	// ServiceAccountSigningKeyFile is the PEM private key (DIR/pki/sa.key) TokenRequest signs
	// ServiceAccount tokens with; empty means the server issues none.
	ServiceAccountSigningKeyFile string
	// ServiceAccountKeyFiles are PEM public or private keys ServiceAccount tokens are verified
	// with, besides the signing key's public half (old keys during a rotation).
	ServiceAccountKeyFiles []string
	// ServiceAccountIssuer is the iss claim of the tokens issued and the one accepted
	// (default https://kubernetes.default.svc.cluster.local, kubeadm's).
	ServiceAccountIssuer string
	// ServiceAccountMaxTokenExpiration caps a TokenRequest's expirationSeconds (0: no cap).
	ServiceAccountMaxTokenExpiration time.Duration
	// APIAudiences are the audiences a token must be meant for to authenticate to this
	// server, and the default audience of issued tokens (default [ServiceAccountIssuer]).
	APIAudiences []string
	// TLSCertFile and TLSKeyFile are the serving certificate and key; the API port serves
	// only TLS. Required unless Insecure.
	TLSCertFile, TLSKeyFile string
	// ClientCAFile holds the CA(s) client certificates are verified against (x509
	// authentication: CommonName = user, Organization = groups).
	ClientCAFile string
	// TokenAuthFile is an optional static token file (token,user,uid,"groups").
	TokenAuthFile string
	// Authorization is a comma-separated list of authorizers asked in turn: Node, RBAC
	// (the default "Node,RBAC") or AlwaysAllow. system:masters is always allowed.
	Authorization string
	// DisableAnonymous refuses unauthenticated requests with 401 instead of treating them as
	// system:anonymous (who may read only /version, the health checks and discovery).
	DisableAnonymous bool
	// KubeletClientCertFile and KubeletClientKeyFile are the client certificate the API
	// server presents to node agents; KubeletCAFile verifies their serving certificates.
	KubeletClientCertFile, KubeletClientKeyFile, KubeletCAFile string
	// MetricsNodeTimeout bounds each node agent's answer to a metrics.k8s.io request
	// (default 5s): a node that does not answer in time is left out of the answer.
	MetricsNodeTimeout time.Duration
	// Insecure serves plain HTTP with neither authentication nor authorization: every
	// request acts as a member of system:masters. For benchmarks and tests of the cost of
	// security only; refused on anything but a loopback address.
	Insecure bool
	// AuditLogPath is the file the audit log is appended to, one JSON Event a line
	// ("-" is standard output, empty none).
	AuditLogPath string
	// DisableAdmissionPlugins turns admission plugins off by name, as kube-apiserver's
	// --disable-admission-plugins: "ServiceAccount" for a server without a controller manager
	// to create the default accounts (the test harness's bare servers).
	DisableAdmissionPlugins []string
	// MaxRequestsInflight and MaxMutatingRequestsInflight add up to the seats priority and
	// fairness shares among its priority levels (kube-apiserver's flags; default 400 and
	// 200).
	MaxRequestsInflight, MaxMutatingRequestsInflight int
	// DisablePriorityAndFairness turns the filter off: no request waits or is refused for
	// load (kube-apiserver's --enable-priority-and-fairness=false).
	DisablePriorityAndFairness bool
	// ProxyDialContext dials the pods, endpoints and node ports the proxy subresources reach
	// (nil: a plain net.Dialer). Tests point it at local servers.
	ProxyDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// API aggregation (aggregator.go): the client certificate presented to extension API
	// servers (--proxy-client-cert-file/--proxy-client-key-file) and the CA that issued it
	// (--requestheader-client-ca-file). Without them the server makes an ephemeral
	// front-proxy CA and certificate for the run.
	//
	// Requestheader authentication (authn.RequestHeader), as kube-apiserver's: with
	// --requestheader-client-ca-file, a client certificate of that CA whose CommonName is in
	// --requestheader-allowed-names (empty: any) names the user in the headers
	// --requestheader-username-headers, --requestheader-group-headers and
	// --requestheader-extra-headers-prefix (default X-Remote-User, X-Remote-Group,
	// X-Remote-Extra-, what kubeadm sets). The same values are published for extension
	// servers in kube-system/extension-apiserver-authentication.
	ProxyClientCertFile, ProxyClientKeyFile, RequestHeaderClientCAFile string
	RequestHeaderAllowedNames                                          []string
	RequestHeaderUsernameHeaders, RequestHeaderGroupHeaders            []string
	RequestHeaderExtraHeadersPrefix                                    []string
	// AvailabilityCheckPeriod is how often aggregated APIServices are checked (default
	// AvailabilityCheckPeriod).
	AvailabilityCheckPeriod time.Duration
	// EnableAggregatorRouting sends aggregated APIServices' requests to a ready endpoint of
	// their Service rather than its cluster IP (kube-apiserver's --enable-aggregator-routing).
	EnableAggregatorRouting bool
	// OpenAPIRefreshPeriod is how often an available extension server's OpenAPI is fetched
	// again (default OpenAPIRefreshPeriod).
	OpenAPIRefreshPeriod time.Duration
}

func (c *Config) setDefaults() {
	if c.RequestHeaderUsernameHeaders == nil {
		c.RequestHeaderUsernameHeaders = []string{headerRemoteUser}
	}
	if c.RequestHeaderGroupHeaders == nil {
		c.RequestHeaderGroupHeaders = []string{headerRemoteGroup}
	}
	if c.RequestHeaderExtraHeadersPrefix == nil {
		c.RequestHeaderExtraHeadersPrefix = []string{headerRemoteExtra}
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:6443"
	}
	if c.CompactInterval == 0 {
		c.CompactInterval = 5 * time.Minute
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 3 << 20
	}
	if c.WatchHistory == 0 {
		c.WatchHistory = 10000
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = time.Minute
	}
	if c.MaxRequestsInflight == 0 {
		c.MaxRequestsInflight = 400
	}
	if c.MaxMutatingRequestsInflight == 0 {
		c.MaxMutatingRequestsInflight = 200
	}
	if c.BookmarkInterval == 0 {
		c.BookmarkInterval = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ServiceCIDR == "" {
		c.ServiceCIDR = "10.96.0.0/12"
	}
	if c.NodePortMin == 0 {
		c.NodePortMin, c.NodePortMax = 30000, 32767
	}
	if c.ServiceAccountIssuer == "" {
		c.ServiceAccountIssuer = DefaultServiceAccountIssuer
	}
	if len(c.APIAudiences) == 0 {
		c.APIAudiences = []string{c.ServiceAccountIssuer}
	}
}

// DefaultServiceAccountIssuer is the issuer of ServiceAccount tokens unless configured.
const DefaultServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// Server is a running API server's state.
type Server struct {
	cfg   Config
	log   *slog.Logger
	reg   *registry.Registry
	store storage.Interface
	// rawStore is the store the watch caches read, without the metrics wrapper.
	rawStore storage.Interface
	caches   *cacheSet
	metrics  *metrics
	alloc    *allocator
	docs     atomic.Pointer[openAPIDocs] // rebuilt when custom resources come and go
	crds     *crdController              // crd_controller.go
	ready    atomic.Bool
	handler  http.Handler

	// Security (security.go): who a request is, and whether it may.
	authenticator       authn.Authenticator
	tokenAuthenticators []authn.TokenAuthenticator
	clientCAs           *x509.CertPool
	authorizer          authz.Authorizer
	nodeAuthorizer      authz.Authorizer // nil until set up
	rbacAuthorizer      authz.Authorizer // nil until set up
	impersonate         func(http.Handler) http.Handler
	saTokens            *saTokens               // ServiceAccount token signer and authenticator (tokens.go)
	auditSink           audit.Sink              // nil without an audit log (auditing.go)
	admission           *admission.Chain        // admission_plugins.go
	apf                 *flowcontrol.Controller // nil when disabled (priorityfairness.go)
	fieldTypes          sync.Map                // field-management types by Go type or *registry.Custom (managedfields.go)
	agg                 *aggregator             // aggregator.go
	webhooks            *webhookclient.Client   // conversion webhooks of custom resources (customresource.go)
}

// New builds a server over store (already connected) and starts its watch caches.
func New(ctx context.Context, cfg Config, store storage.Interface) (*Server, error) {
	cfg.setDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, reg: registry.Default(), caches: newCacheSet(), rawStore: store}
	fp, err := loadFrontProxy(cfg)
	if err != nil {
		return nil, err
	}
	s.agg = &aggregator{fp: fp, transports: map[string]*http.Transport{}, ext: extensionStore{byName: map[string]*extension{}}}
	s.webhooks = webhookclient.New(webhookclient.EndpointResolver(admissionObjects{s}))
	if err := s.buildAdmission(); err != nil { // admission_plugins.go
		return nil, err
	}
	s.metrics = newMetrics()
	s.store = instrumentStore(store, s.metrics)
	alloc, err := newAllocator(s.store, cfg.ServiceCIDR, cfg.NodePortMin, cfg.NodePortMax)
	if err != nil {
		return nil, err
	}
	s.alloc = alloc
	var started []*watchcache.Cache
	for _, k := range s.reg.Kinds() {
		if k.CreateOnly {
			continue // never stored: no cache (createonly.go)
		}
		started = append(started, s.startCache(ctx, k))
	}
	s.metrics.reg.MustRegister(newCacheCollector(s))
	s.docs.Store(newOpenAPIDocs(s.reg))
	s.setUpNodeAuthorizer(ctx)
	s.setUpRBAC(ctx) // rbac.go
	if err := s.setUpSecurity(); err != nil {
		return nil, err
	}
	if err := s.setUpTokens(); err != nil {
		return nil, err
	}
	s.impersonate = s.impersonation
	s.setUpPriorityAndFairness()
	if err := s.setUpAudit(ctx); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	for _, c := range started {
		if err := c.WaitReady(ctx); err != nil {
			return nil, fmt.Errorf("watch cache: %w", err)
		}
	}
	// Custom resources: serve the established definitions before reporting ready, so a
	// restarted server answers for them at once.
	s.crds = newCRDController(s)
	if err := s.crds.start(ctx); err != nil {
		return nil, err
	}
	if err := s.bootstrap(ctx); err != nil {
		return nil, err
	}
	s.followFlowControl(ctx)
	s.followAdmissionPolicies(ctx) // admissionpolicy_status.go
	period := cfg.AvailabilityCheckPeriod
	if period <= 0 {
		period = AvailabilityCheckPeriod
	}
	go s.runAvailability(ctx, period)
	s.ready.Store(true)
	return s, nil
}

// Handler is the server's HTTP handler (for tests that serve it with httptest).
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(withNegotiation, s.audit, s.instrument, s.authenticate, s.impersonateFilter, s.withTimeout, s.priorityAndFairness, s.authorize, withWarnings)
	r.Get("/healthz", s.health)
	r.Get("/livez", s.health)
	r.Get("/readyz", s.readyz)
	r.Get("/version", s.version)
	r.Get(openIDConfigPath, s.openIDConfiguration)
	r.Get(openIDKeysPath, s.openIDKeys)
	r.Handle("/metrics", s.metrics.handler())
	r.Get("/api", s.apiVersions)
	r.Get("/apis", s.apiGroups)
	r.Get("/openapi/v2", s.openAPIV2)
	r.Get("/openapi/v3", s.openAPIV3Index)
	r.Get("/openapi/v3/*", s.openAPIV3Doc)
	r.HandleFunc("/api/*", s.serveAPI)
	r.HandleFunc("/apis/*", s.serveAPI)
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
	})
	return r
}

// serveAPI resolves /api/v1/... and /apis/group/version/... paths.
func (s *Server) serveAPI(w http.ResponseWriter, req *http.Request) {
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	var group, version string
	switch {
	case len(segs) == 1 && segs[0] == "api":
		s.apiVersions(w, req) // "/api/", as Kubernetes serves it
		return
	case len(segs) == 1 && segs[0] == "apis":
		s.apiGroups(w, req)
		return
	case segs[0] == "api" && len(segs) >= 2:
		version, segs = segs[1], segs[2:]
	case segs[0] == "apis" && len(segs) == 2:
		s.apiGroup(w, req, segs[1])
		return
	case segs[0] == "apis" && len(segs) >= 3:
		group, version, segs = segs[1], segs[2], segs[3:]
	default:
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
		return
	}
	if a := s.aggregated(group, version); a != nil {
		s.serveAggregated(w, req, a)
		return
	}
	if group == metricsv1beta1.GroupName {
		s.serveMetricsAPI(w, req, version, segs)
		return
	}
	if len(segs) == 0 {
		s.resourceList(w, req, group, version)
		return
	}
	watchParam := isTrue(req.URL.Query().Get("watch"))
	r, aerr := s.parseResourcePath(group, version, segs, req.Method, watchParam)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	setRequestInfo(req, r)
	servesKind(w, r.kind) // negotiation.go: a custom resource has no protobuf
	s.serveResource(w, req, r)
}

func isTrue(v string) bool { return v == "true" || v == "1" }

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok"))
}

func (s *Server) readyz(w http.ResponseWriter, req *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.store.CurrentRevision(ctx); err != nil {
		http.Error(w, "etcd: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	s.health(w, req)
}

// Run connects to etcd (embedded or external), serves until ctx ends, then shuts down.
func Run(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	if cfg.Insecure {
		if err := checkInsecure(cfg.Listen); err != nil {
			return err
		}
	} else if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
		return errors.New("--tls-cert-file and --tls-private-key-file are required (the API serves only TLS; --insecure serves plain HTTP on loopback for tests)")
	}
	var client *clientv3.Client
	if len(cfg.EtcdServers) > 0 {
		var opts []storage.ClientOption
		if cfg.EtcdCAFile != "" || cfg.EtcdCertFile != "" {
			t, err := etcdTLS(cfg.EtcdCAFile, cfg.EtcdCertFile, cfg.EtcdKeyFile)
			if err != nil {
				return err
			}
			opts = append(opts, storage.WithTLS(t))
		}
		c, err := storage.NewClient(cfg.EtcdServers, opts...)
		if err != nil {
			return fmt.Errorf("connect to etcd %v: %w", cfg.EtcdServers, err)
		}
		defer c.Close()
		client = c
		cfg.Logger.Info("using external etcd", "servers", cfg.EtcdServers)
		if err := storage.WaitForQuorum(ctx, c, cfg.EtcdServers, cfg.EtcdStartTimeout, cfg.Logger); err != nil {
			return err
		}
	} else {
		if cfg.DataDir == "" {
			return errors.New("either --data-dir (embedded etcd) or --etcd-servers is required")
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return err
		}
		e, err := storage.StartEmbedded(ctx, cfg.DataDir, storage.EmbeddedOptions{QuotaBackendBytes: cfg.EtcdQuotaBytes})
		if err != nil {
			return fmt.Errorf("start embedded etcd: %w", err)
		}
		defer e.Close()
		client = e.Client()
		cfg.Logger.Info("embedded etcd started", "dir", cfg.DataDir)
		// The embedded etcd has no operator: skiff defragments it and recovers it from a
		// full database (an external etcd's operator does that for theirs).
		go storage.RunMaintenance(ctx, client, e.Endpoint(), storage.MaintenanceOptions{Quota: e.Quota()})
	}
	go storage.RunCompactor(ctx, client, cfg.CompactInterval)
	if cfg.EndpointReconcilerType == "" {
		cfg.EndpointReconcilerType = EndpointReconcilerLease
	}

	var lns []net.Listener
	for _, addr := range strings.Split(cfg.Listen, ",") {
		ln, err := net.Listen("tcp", strings.TrimSpace(addr))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
		lns = append(lns, ln)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := New(ctx, cfg, storage.NewEtcd(client, storage.EtcdOptions{}))
	if err != nil {
		for _, l := range lns {
			l.Close()
		}
		return err
	}
	var reconciled chan struct{}
	if cfg.EndpointReconcilerType == EndpointReconcilerLease {
		reconciled = make(chan struct{})
		go func() { defer close(reconciled); s.runEndpointReconciler(ctx, client) }()
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		// Requests (watches above all) end when the server stops.
		BaseContext: func(net.Listener) context.Context { return ctx }}
	var tc *tls.Config
	if !cfg.Insecure {
		if tc, err = s.serverTLS(); err != nil {
			return err
		}
		srv.TLSConfig = tc
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		if tc != nil {
			// A plain HTTP request on the TLS port gets Go's 400 "Client sent an HTTP
			// request to an HTTPS server" and nothing else.
			go func() { errc <- srv.ServeTLS(ln, "", "") }()
		} else {
			go func() { errc <- srv.Serve(ln) }()
		}
		cfg.Logger.Info("serving", "address", ln.Addr().String(), "tls", tc != nil)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	srv.Shutdown(sctx)
	if reconciled != nil {
		<-reconciled // this server's address has left the kubernetes endpoints
	}
	return nil
}

// etcdTLS is the client side of TLS towards an external etcd: its members' CA and, for
// etcd's --client-cert-auth, this server's certificate.
func etcdTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cafile: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--etcd-cafile %s: no PEM certificate in it", caFile)
		}
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--etcd-certfile/--etcd-keyfile: %w", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}
