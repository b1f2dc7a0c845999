package nodeagent

import "github.com/skiff-sh/skiff/nodeagent/podworker"

// DNSConfig is the cluster DNS pods with dnsPolicy ClusterFirst use.
type DNSConfig = podworker.DNSConfig
