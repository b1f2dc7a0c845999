package core

// Pod sysctls: which names are valid, which kernel namespace each belongs to, and which are
// safe (allowed on every node without --allowed-unsafe-sysctls), as Kubernetes'
// component-helpers/node/util/sysctl and the kubelet's safe list have them. The API server
// validates names and the host-namespace conflicts; the node agent refuses the unsafe ones.

import (
	"regexp"
	"slices"
	"strings"
)

// SysctlMaxLength is the longest valid sysctl name.
const SysctlMaxLength = 253

// SysctlNameRegexp is what a sysctl name must match ('.' or '/' separating segments).
var SysctlNameRegexp = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

// IsValidSysctlName reports whether name is a well-formed sysctl name.
func IsValidSysctlName(name string) bool {
	return len(name) <= SysctlMaxLength && SysctlNameRegexp.MatchString(name)
}

// SysctlNamespace says which kernel namespace a sysctl is in: "IPC", "Net", or "" (not
// namespaced: it would change the whole node).
type SysctlNamespace string

const (
	SysctlIPC      SysctlNamespace = "IPC"
	SysctlNet      SysctlNamespace = "Net"
	SysctlNodeWide SysctlNamespace = ""
)

var ipcSysctls = []string{"kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni"}

// NamespaceOfSysctl is the kernel namespace of a sysctl (written with dots or slashes).
func NamespaceOfSysctl(name string) SysctlNamespace {
	name = NormalizeSysctlName(name)
	switch {
	case slices.Contains(ipcSysctls, name), strings.HasPrefix(name, "fs.mqueue."):
		return SysctlIPC
	case strings.HasPrefix(name, "net."):
		return SysctlNet
	}
	return SysctlNodeWide
}

// NormalizeSysctlName writes a sysctl with dots: "kernel/shm_rmid_forced" is
// "kernel.shm_rmid_forced" (a name whose first separator is '/' has '.' and '/' swapped,
// as sysctl.d(5) reads it).
func NormalizeSysctlName(name string) string {
	i := strings.IndexAny(name, "./")
	if i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}

// SafeSysctls are the sysctls every node allows (the kubelet's safe list, Kubernetes 1.33):
// namespaced, and unable to affect other pods or the node.
var SafeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}
