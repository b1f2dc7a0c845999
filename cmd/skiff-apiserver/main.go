// Command skiff-apiserver serves the Kubernetes API over etcd (embedded by default).
package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/internal/cli"
)

func main() {
	var cfg apiserver.Config
	var etcd, level, format string
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:6443", "HOST:PORT to serve the API on")
	flag.StringVar(&cfg.DataDir, "data-dir", "", "directory of the embedded etcd's data (ignored with --etcd-servers)")
	flag.StringVar(&etcd, "etcd-servers", "", "comma-separated client URLs of an external etcd cluster; then nothing is embedded")
	flag.DurationVar(&cfg.CompactInterval, "compact-interval", 0, "how often etcd history is compacted (default 5m)")
	flag.StringVar(&cfg.ServiceCIDR, "service-cluster-ip-range", "10.96.0.0/12", "the CIDR Service cluster IPs are allocated from")
	nodePorts := flag.String("service-node-port-range", "30000-32767", "the range Service node ports are allocated from")
	flag.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "the serving certificate (PEM); the API port serves only TLS")
	flag.StringVar(&cfg.TLSKeyFile, "tls-private-key-file", "", "the serving certificate's key (PEM)")
	flag.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "CA bundle client certificates are verified against (CommonName = user, Organization = groups)")
	flag.StringVar(&cfg.TokenAuthFile, "token-auth-file", "", "static bearer tokens, one CSV line each: token,user,uid[,\"group1,group2\"]")
	flag.StringVar(&cfg.Authorization, "authorization-mode", "Node,RBAC", "authorizers asked in turn: Node, RBAC, AlwaysAllow (system:masters is always allowed)")
	anonymous := flag.Bool("anonymous-auth", true, "treat requests without credentials as system:anonymous (else 401)")
	flag.StringVar(&cfg.KubeletClientCertFile, "kubelet-client-certificate", "", "client certificate presented to node agents (logs, exec, port-forward)")
	flag.StringVar(&cfg.KubeletClientKeyFile, "kubelet-client-key", "", "its key")
	flag.StringVar(&cfg.KubeletCAFile, "kubelet-certificate-authority", "", "CA that node agents' serving certificates are verified against")
	flag.StringVar(&cfg.ServiceAccountSigningKeyFile, "service-account-signing-key-file", "", "private key ServiceAccount tokens are signed with (PEM)")
	saKeys := flag.String("service-account-key-file", "", "comma-separated PEM keys ServiceAccount tokens are also verified with")
	flag.StringVar(&cfg.ServiceAccountIssuer, "service-account-issuer", apiserver.DefaultServiceAccountIssuer, "the iss claim of ServiceAccount tokens")
	audiences := flag.String("api-audiences", "", "comma-separated audiences tokens must be meant for (default: the issuer)")
	flag.StringVar(&cfg.AuditLogPath, "audit-log-path", "", "append one JSON audit event per request to this file (- for stdout)")
	flag.BoolVar(&cfg.Insecure, "insecure", false, "serve plain HTTP with no authentication or authorization (loopback only; tests and benchmarks)")
	disabled := flag.String("disable-admission-plugins", "", `comma-separated admission plugins to turn off ("ServiceAccount" for a server without a controller manager)`)
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()
	if _, err := fmt.Sscanf(*nodePorts, "%d-%d", &cfg.NodePortMin, &cfg.NodePortMax); err != nil || cfg.NodePortMin <= 0 || cfg.NodePortMax < cfg.NodePortMin || cfg.NodePortMax > 65535 {
		cli.Fatal("skiff-apiserver", fmt.Errorf("--service-node-port-range %q: want MIN-MAX", *nodePorts))
	}
	cfg.DisableAnonymous = !*anonymous
	if *saKeys != "" {
		cfg.ServiceAccountKeyFiles = strings.Split(*saKeys, ",")
	}
	if *audiences != "" {
		cfg.APIAudiences = strings.Split(*audiences, ",")
	}
	if *disabled != "" {
		cfg.DisableAdmissionPlugins = strings.Split(*disabled, ",")
	}
	if etcd != "" {
		cfg.EtcdServers = strings.Split(etcd, ",")
	}
	log, err := cli.Logger(level, format)
	if err != nil {
		cli.Fatal("skiff-apiserver", err)
	}
	cfg.Logger = log
	ctx, stop := cli.SignalContext()
	defer stop()
	if err := apiserver.Run(ctx, cfg); err != nil {
		cli.Fatal("skiff-apiserver", err)
	}
}
