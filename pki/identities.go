package pki

import "net"

// The identities of a cluster's programs, as kubeadm names them. Each has its own
// certificate and a least-privilege role bound to its user name (the bootstrap policy).
var (
	Admin = CertRequest{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}, Usage: ClientAuth}
	// ControllerManager, Scheduler and Proxy are bound to system:kube-controller-manager,
	// system:kube-scheduler and system:node-proxier.
	ControllerManager = CertRequest{CommonName: "system:kube-controller-manager", Usage: ClientAuth}
	Scheduler         = CertRequest{CommonName: "system:kube-scheduler", Usage: ClientAuth}
	Proxy             = CertRequest{CommonName: "system:kube-proxy", Usage: ClientAuth}
	// Ingress is skiff-ingress, bound to the ClusterRole of the same name (it reads TLS
	// Secrets, which the proxy never needs).
	Ingress = CertRequest{CommonName: "system:skiff:ingress-controller", Usage: ClientAuth}
	// APIServerKubeletClient is who the API server is to node agents (logs, exec,
	// port-forward); node agents accept it and no one else.
	APIServerKubeletClient = CertRequest{CommonName: "kube-apiserver-kubelet-client", Usage: ClientAuth}
	// FrontProxyClient is who the API server is to extension API servers of aggregated
	// APIServices (kubeadm's front-proxy-client), issued by the front-proxy CA, which those
	// servers trust for requestheader authentication.
	FrontProxyClient = CertRequest{CommonName: "front-proxy-client", Usage: ClientAuth}
)

// Leaf certificate file names in a Dir.
const (
	AdminName                  = "admin"
	APIServerName              = "apiserver"
	ControllerManagerName      = "controller-manager"
	SchedulerName              = "scheduler"
	ProxyName                  = "proxy"
	IngressName                = "ingress"
	APIServerKubeletClientName = "apiserver-kubelet-client"
	// FrontProxyDir is the front-proxy CA's own folder under a Dir (front-proxy/ca.crt,
	// ca.key), with FrontProxyClientName's certificate in it (front-proxy/front-proxy-client.crt).
	FrontProxyDir        = "front-proxy"
	FrontProxyClientName = "front-proxy-client"
)

// NodeUser is the user name of node name: system:node:NAME, in group system:nodes, which
// the Node authorizer restricts to that node's own objects.
func NodeUser(name string) string { return "system:node:" + name }

// Node is a node agent's client certificate.
func Node(name string) CertRequest {
	return CertRequest{CommonName: NodeUser(name), Organization: []string{"system:nodes"}, Usage: ClientAuth}
}

// NodeServing is a node agent's serving certificate (its port for logs, exec, metrics).
func NodeServing(name string, ips ...net.IP) CertRequest {
	return CertRequest{CommonName: NodeUser(name), Organization: []string{"system:nodes"},
		DNSNames: []string{name, "localhost"}, IPs: append([]net.IP{net.IPv4(127, 0, 0, 1)}, ips...), Usage: ServerAuth}
}

// APIServerServing is the API server's serving certificate for the given addresses (besides
// loopback, the kubernetes Service IP and names).
func APIServerServing(serviceIP net.IP, ips ...net.IP) CertRequest {
	dns, all := APIServerNames(serviceIP, ips...)
	return CertRequest{CommonName: "kube-apiserver", DNSNames: dns, IPs: all, Usage: ServerAuth}
}
