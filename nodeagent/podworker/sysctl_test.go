package podworker

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
)

func TestForbiddenSysctl(t *testing.T) {
	pod := func(hostNet bool, names ...string) *core.Pod {
		p := &core.Pod{Spec: core.PodSpec{HostNetwork: hostNet, SecurityContext: &core.PodSecurityContext{}}}
		for _, n := range names {
			p.Spec.SecurityContext.Sysctls = append(p.Spec.SecurityContext.Sysctls, core.Sysctl{Name: n, Value: "1"})
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		pod     *core.Pod
		allowed []string
		want    string
	}{
		{"safe", pod(false, "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range"), nil, ""},
		{"safe, written with slashes", pod(false, "kernel/shm_rmid_forced"), nil, ""},
		{"unsafe", pod(false, "kernel.msgmax"), nil, `forbidden sysctl: "kernel.msgmax" not allowlisted`},
		{"unsafe but allowed by name", pod(false, "kernel.msgmax"), []string{"kernel.msgmax"}, ""},
		{"unsafe but allowed by prefix", pod(false, "kernel.msgmax"), []string{"kernel.msg*"}, ""},
		{"a net sysctl with hostNetwork", pod(true, "net.ipv4.tcp_syncookies"), nil, `forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host Net enabled`},
		{"no security context", &core.Pod{}, nil, ""},
	} {
		if got := forbiddenSysctl(tc.pod, tc.allowed); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := podSysctls(pod(false, "kernel/shm_rmid_forced")); got["kernel.shm_rmid_forced"] != "1" || len(got) != 1 {
		t.Errorf("podSysctls = %v", got)
	}
}

func TestPortsConflict(t *testing.T) {
	p := func(port int32, proto core.Protocol, ip string) core.ContainerPort {
		return core.ContainerPort{ContainerPort: 80, HostPort: port, Protocol: proto, HostIP: ip}
	}
	for _, tc := range []struct {
		name string
		a, b core.ContainerPort
		want bool
	}{
		{"same port, TCP by default", p(8080, "", ""), p(8080, core.ProtocolTCP, ""), true},
		{"another port", p(8080, "", ""), p(8081, "", ""), false},
		{"another protocol", p(8080, core.ProtocolTCP, ""), p(8080, core.ProtocolUDP, ""), false},
		{"the wildcard overlaps an address", p(8080, "", "0.0.0.0"), p(8080, "", "127.0.0.1"), true},
		{"two different addresses", p(8080, "", "10.0.0.1"), p(8080, "", "127.0.0.1"), false},
		{"the same address", p(8080, "", "127.0.0.1"), p(8080, "", "127.0.0.1"), true},
	} {
		if got := core.HostPortsConflict(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
