package podworker

import (
	"fmt"
	"os"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
)

// DNSConfig is the cluster's DNS, for pods with dnsPolicy ClusterFirst.
type DNSConfig struct {
	ClusterDNS    []string // default 10.96.0.10
	ClusterDomain string   // default cluster.local
	// HostResolvConf is the node's resolv.conf, for dnsPolicy Default (default /etc/resolv.conf).
	HostResolvConf string
	// HostHosts is the node's hosts file, which host-network pods see (default /etc/hosts).
	HostHosts string
}

// resolvConf renders a pod's /etc/resolv.conf by its dnsPolicy and dnsConfig, as the
// kubelet does. ok is false when the pod should use the node's file unchanged.
func resolvConf(pod *core.Pod, cfg DNSConfig) ([]byte, error) {
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = core.DNSClusterFirst
	}
	if policy == core.DNSClusterFirstWithHostNet && !pod.Spec.HostNetwork {
		policy = core.DNSClusterFirst
	}
	if policy == core.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = core.DNSDefault // ClusterFirst means Default for host-network pods
	}
	var servers, searches, options []string
	switch policy {
	case core.DNSClusterFirst, core.DNSClusterFirstWithHostNet:
		d := cfg.ClusterDomain
		servers = cfg.ClusterDNS
		searches = []string{pod.Namespace + ".svc." + d, "svc." + d, d}
		options = []string{"ndots:5"}
		host, _ := parseResolvConf(cfg.HostResolvConf)
		searches = append(searches, host.searches...)
	case core.DNSDefault:
		host, err := parseResolvConf(cfg.HostResolvConf)
		if err != nil {
			return nil, err
		}
		servers, searches, options = host.servers, host.searches, host.options
	case core.DNSNone:
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		servers = append(servers, dc.Nameservers...)
		searches = append(searches, dc.Searches...)
		for _, o := range dc.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			options = mergeOption(options, opt)
		}
	}
	var b strings.Builder
	if len(searches) > 0 {
		b.WriteString("search " + strings.Join(dedupe(searches), " ") + "\n")
	}
	for _, s := range dedupe(servers) {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return []byte(b.String()), nil
}

// mergeOption sets opt, replacing an option of the same name.
func mergeOption(options []string, opt string) []string {
	name, _, _ := strings.Cut(opt, ":")
	for i, o := range options {
		if n, _, _ := strings.Cut(o, ":"); n == name {
			options[i] = opt
			return options
		}
	}
	return append(options, opt)
}

func dedupe(l []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

type hostResolv struct{ servers, searches, options []string }

func parseResolvConf(path string) (hostResolv, error) {
	var r hostResolv
	if path == "" {
		path = "/etc/resolv.conf"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("read host resolv.conf: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "nameserver":
			r.servers = append(r.servers, f[1])
		case "search", "domain":
			r.searches = append(r.searches, f[1:]...)
		case "options":
			r.options = append(r.options, f[1:]...)
		}
	}
	return r, nil
}

// hostsFile renders a pod's managed /etc/hosts: localhost, the pod's own names, then
// hostAliases.
func hostsFile(pod *core.Pod, podIP, clusterDomain string) []byte {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	if podIP != "" {
		host := podHostname(pod)
		if pod.Spec.Subdomain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", podIP, host, pod.Spec.Subdomain, pod.Namespace, clusterDomain, host)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", podIP, host)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return []byte(b.String())
}

// hostNetworkHostsFile renders a host-network pod's /etc/hosts as the kubelet does: the
// node's hosts file under its own header, then hostAliases.
func hostNetworkHostsFile(pod *core.Pod, node []byte) []byte {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file (host network).\n")
	b.Write(node)
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return []byte(b.String())
}

// podHostname is spec.hostname, or the pod's name cut to 63 characters.
func podHostname(pod *core.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}
