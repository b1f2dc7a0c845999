package core

// Host ports: which ports of a pod are bound on its node, and when two collide (the same port
// and protocol on overlapping addresses), as the node agent's admission checks them. The
// scheduler's per-node index of ports in use (scheduler/framework HostPortInfo) keys ports by
// the same rules.

// PodHostPorts are the ports of a pod's app and sidecar containers mapped on the node.
func PodHostPorts(pod *Pod) []ContainerPort {
	var out []ContainerPort
	add := func(c Container) {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				out = append(out, p)
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		add(c)
	}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == ContainerRestartPolicyAlways {
			add(c) // a sidecar runs beside the app containers
		}
	}
	return out
}

// HostPortsConflict: the same host port and protocol on addresses that overlap (the wildcard
// overlaps every address).
func HostPortsConflict(a, b ContainerPort) bool {
	proto := func(p ContainerPort) Protocol {
		if p.Protocol == "" {
			return ProtocolTCP
		}
		return p.Protocol
	}
	return a.HostPort == b.HostPort && proto(a) == proto(b) &&
		(WildcardHostIP(a.HostIP) || WildcardHostIP(b.HostIP) || a.HostIP == b.HostIP)
}

// WildcardHostIP: a host IP that binds every address of the node.
func WildcardHostIP(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
