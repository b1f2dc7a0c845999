package apiserver

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"
)

// AddFlags registers skiff-apiserver's flags on fs, writing into c. The returned finish
// must be called after fs.Parse: it checks and applies the flags that need more than a
// plain assignment. skiff-apiserver and in-process servers (skifftest's APIServerArgs)
// share it, so both take the same flags with the same meaning.
func (c *Config) AddFlags(fs *flag.FlagSet) (finish func() error) {
	var etcd string
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:6443", "HOST:PORT to serve the API on")
	fs.StringVar(&c.AdvertiseAddress, "advertise-address", "", "IP address pods and other machines reach this server at: its entry in the kubernetes Service's endpoints and in cluster-info (default: the first --listen host)")
	fs.StringVar(&c.EndpointReconcilerType, "endpoint-reconciler-type", EndpointReconcilerLease, "how the kubernetes Service's endpoints are kept: lease (every live API server, by etcd leases) or none (this server's address, written at start)")
	fs.StringVar(&c.DataDir, "data-dir", "", "directory of the embedded etcd's data (ignored with --etcd-servers)")
	fs.StringVar(&etcd, "etcd-servers", "", "comma-separated client URLs of an external etcd cluster; then nothing is embedded")
	fs.StringVar(&c.EtcdCAFile, "etcd-cafile", "", "CA the external etcd members' serving certificates are verified against (https --etcd-servers)")
	fs.StringVar(&c.EtcdCertFile, "etcd-certfile", "", "client certificate presented to the external etcd (its --client-cert-auth)")
	fs.StringVar(&c.EtcdKeyFile, "etcd-keyfile", "", "its key")
	fs.DurationVar(&c.CompactInterval, "compact-interval", 0, "how often etcd history is compacted (default 5m)")
	fs.StringVar(&c.ServiceCIDR, "service-cluster-ip-range", "10.96.0.0/12", "the CIDR Service cluster IPs are allocated from")
	nodePorts := fs.String("service-node-port-range", "30000-32767", "the range Service node ports are allocated from")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", "", "the serving certificate (PEM); the API port serves only TLS")
	fs.StringVar(&c.TLSKeyFile, "tls-private-key-file", "", "the serving certificate's key (PEM)")
	fs.StringVar(&c.ClientCAFile, "client-ca-file", "", "CA bundle client certificates are verified against (CommonName = user, Organization = groups)")
	fs.StringVar(&c.ProxyClientCertFile, "proxy-client-cert-file", "", "client certificate presented to extension API servers of aggregated APIServices (default: one made for the run)")
	fs.StringVar(&c.ProxyClientKeyFile, "proxy-client-key-file", "", "its key")
	fs.StringVar(&c.RequestHeaderClientCAFile, "requestheader-client-ca-file", "", "the CA of --proxy-client-cert-file, published for extension servers in kube-system/extension-apiserver-authentication")
	allowedNames := fs.String("requestheader-allowed-names", "", "comma-separated common names of --requestheader-client-ca-file's certificates allowed to assert a user in request headers (empty: any); published for extension servers")
	fs.BoolVar(&c.EnableAggregatorRouting, "enable-aggregator-routing", false, "send aggregated APIServices' requests to a ready endpoint of their Service (from its EndpointSlices) rather than its cluster IP")
	userHeaders := fs.String("requestheader-username-headers", headerRemoteUser, "comma-separated request headers a front proxy names the user in (the first set wins)")
	groupHeaders := fs.String("requestheader-group-headers", headerRemoteGroup, "comma-separated request headers a front proxy names the groups in")
	extraPrefixes := fs.String("requestheader-extra-headers-prefix", headerRemoteExtra, "comma-separated request header prefixes a front proxy gives the user's extra values in")
	fs.StringVar(&c.TokenAuthFile, "token-auth-file", "", "static bearer tokens, one CSV line each: token,user,uid[,\"group1,group2\"]")
	fs.StringVar(&c.Authorization, "authorization-mode", "Node,RBAC", "authorizers asked in turn: Node, RBAC, AlwaysAllow (system:masters is always allowed)")
	anonymous := fs.Bool("anonymous-auth", true, "treat requests without credentials as system:anonymous (else 401)")
	fs.StringVar(&c.KubeletClientCertFile, "kubelet-client-certificate", "", "client certificate presented to node agents (logs, exec, port-forward)")
	fs.StringVar(&c.KubeletClientKeyFile, "kubelet-client-key", "", "its key")
	fs.StringVar(&c.KubeletCAFile, "kubelet-certificate-authority", "", "CA that node agents' serving certificates are verified against")
	fs.StringVar(&c.ServiceAccountSigningKeyFile, "service-account-signing-key-file", "", "private key ServiceAccount tokens are signed with (PEM)")
	saKeys := fs.String("service-account-key-file", "", "comma-separated PEM keys ServiceAccount tokens are also verified with")
	fs.StringVar(&c.ServiceAccountIssuer, "service-account-issuer", DefaultServiceAccountIssuer, "the iss claim of ServiceAccount tokens")
	audiences := fs.String("api-audiences", "", "comma-separated audiences tokens must be meant for (default: the issuer)")
	fs.StringVar(&c.AuditLogPath, "audit-log-path", "", "append one JSON audit event per request to this file (- for stdout)")
	fs.Int64Var(&c.EtcdQuotaBytes, "etcd-quota-backend-bytes", 0, "the embedded etcd's database quota (default 8 GiB): past it writes get 507 until space is reclaimed")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", time.Minute, "how long a request that is not a watch or a stream may take, reading its body included (a request's ?timeout= may shorten it)")
	fs.BoolVar(&c.Insecure, "insecure", false, "serve plain HTTP with no authentication or authorization (loopback only; tests and benchmarks)")
	fs.IntVar(&c.MaxRequestsInflight, "max-requests-inflight", 400, "with --max-mutating-requests-inflight, the seats priority and fairness shares among its priority levels")
	fs.IntVar(&c.MaxMutatingRequestsInflight, "max-mutating-requests-inflight", 200, "see --max-requests-inflight")
	apf := fs.Bool("enable-priority-and-fairness", true, "queue and refuse (429) requests beyond each priority level's share of the server, per the FlowSchemas and PriorityLevelConfigurations")
	disabled := fs.String("disable-admission-plugins", "", `comma-separated admission plugins to turn off ("ServiceAccount" for a server without a controller manager)`)
	return func() error {
		if _, err := fmt.Sscanf(*nodePorts, "%d-%d", &c.NodePortMin, &c.NodePortMax); err != nil || c.NodePortMin <= 0 || c.NodePortMax < c.NodePortMin || c.NodePortMax > 65535 {
			return fmt.Errorf("--service-node-port-range %q: want MIN-MAX", *nodePorts)
		}
		c.DisableAnonymous = !*anonymous
		c.DisablePriorityAndFairness = !*apf
		if *saKeys != "" {
			c.ServiceAccountKeyFiles = strings.Split(*saKeys, ",")
		}
		if *audiences != "" {
			c.APIAudiences = strings.Split(*audiences, ",")
		}
		if *allowedNames != "" {
			c.RequestHeaderAllowedNames = strings.Split(*allowedNames, ",")
		}
		split := func(v string) []string {
			out := []string{} // set, even empty: no default then
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					out = append(out, x)
				}
			}
			return out
		}
		c.RequestHeaderUsernameHeaders, c.RequestHeaderGroupHeaders = split(*userHeaders), split(*groupHeaders)
		c.RequestHeaderExtraHeadersPrefix = split(*extraPrefixes)
		if (c.ProxyClientCertFile == "") != (c.RequestHeaderClientCAFile == "") || (c.ProxyClientCertFile == "") != (c.ProxyClientKeyFile == "") {
			return errors.New("--proxy-client-cert-file, --proxy-client-key-file and --requestheader-client-ca-file go together")
		}
		if *disabled != "" {
			c.DisableAdmissionPlugins = append(c.DisableAdmissionPlugins, strings.Split(*disabled, ",")...)
		}
		if c.EndpointReconcilerType != EndpointReconcilerLease && c.EndpointReconcilerType != EndpointReconcilerNone {
			return fmt.Errorf("--endpoint-reconciler-type: want lease or none, got %q", c.EndpointReconcilerType)
		}
		if c.AdvertiseAddress != "" && net.ParseIP(c.AdvertiseAddress) == nil {
			return fmt.Errorf("--advertise-address %q is not an IP address", c.AdvertiseAddress)
		}
		if etcd != "" {
			c.EtcdServers = strings.Split(etcd, ",")
		}
		if (c.EtcdCertFile == "") != (c.EtcdKeyFile == "") {
			return errors.New("--etcd-certfile and --etcd-keyfile go together")
		}
		if (c.EtcdCAFile != "" || c.EtcdCertFile != "") && etcd == "" {
			return errors.New("--etcd-cafile, --etcd-certfile and --etcd-keyfile are for an external etcd: give --etcd-servers https://...")
		}
		return nil
	}
}
