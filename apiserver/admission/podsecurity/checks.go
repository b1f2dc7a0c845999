package podsecurity

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
)

// A check is one of the Pod Security Standards' controls: "" when the pod passes, else
// Kubernetes' "reason (detail)".
type check struct {
	id    string // the check's ID in pod-security-admission; checks run in ID order
	level Level  // the lowest level that enforces it
	// overrides names a baseline check this restricted one replaces.
	overrides string
	fn        func(*core.PodSpec) (reason, detail string)
}

var checks = []check{
	{id: "allowPrivilegeEscalation", level: Restricted, fn: allowPrivilegeEscalation},
	{id: "capabilities_baseline", level: Baseline, fn: capabilitiesBaseline},
	{id: "capabilities_restricted", level: Restricted, overrides: "capabilities_baseline", fn: capabilitiesRestricted},
	{id: "hostNamespaces", level: Baseline, fn: hostNamespaces},
	{id: "hostPathVolumes", level: Baseline, fn: hostPathVolumes},
	{id: "hostPorts", level: Baseline, fn: hostPorts},
	{id: "privileged", level: Baseline, fn: privileged},
	{id: "procMount", level: Baseline, fn: procMount},
	{id: "restrictedVolumes", level: Restricted, overrides: "hostPathVolumes", fn: restrictedVolumes},
	{id: "runAsNonRoot", level: Restricted, fn: runAsNonRoot},
	{id: "runAsUser", level: Restricted, fn: runAsUser},
	{id: "seccompProfile_baseline", level: Baseline, fn: seccompBaseline},
	{id: "seccompProfile_restricted", level: Restricted, overrides: "seccompProfile_baseline", fn: seccompRestricted},
	{id: "sysctls", level: Baseline, fn: sysctls},
}

// Violations are the failed checks of a level, each "reason (detail)", in check order.
func Violations(level Level, spec *core.PodSpec) []string {
	if level == Privileged {
		return nil
	}
	overridden := map[string]bool{}
	if level == Restricted {
		for _, c := range checks {
			if c.level == Restricted && c.overrides != "" {
				overridden[c.overrides] = true
			}
		}
	}
	var out []string
	for _, c := range checks {
		if (c.level == Restricted && level != Restricted) || overridden[c.id] {
			continue
		}
		if reason, detail := c.fn(spec); reason != "" {
			out = append(out, fmt.Sprintf("%s (%s)", reason, detail))
		}
	}
	return out
}

// container is what the checks read of any container (app, init or ephemeral).
type container struct {
	name  string
	sc    *core.SecurityContext
	ports []core.ContainerPort
}

func containers(spec *core.PodSpec) []container {
	var out []container
	for _, c := range spec.InitContainers {
		out = append(out, container{c.Name, c.SecurityContext, c.Ports})
	}
	for _, c := range spec.Containers {
		out = append(out, container{c.Name, c.SecurityContext, c.Ports})
	}
	for _, c := range spec.EphemeralContainers {
		out = append(out, container{c.Name, c.SecurityContext, c.Ports})
	}
	return out
}

func joinQuote(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return `"` + strings.Join(items, `", "`) + `"`
}

func pluralize(singular, plural string, n int) string {
	if n == 1 {
		return singular
	}
	return plural
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func hostNamespaces(spec *core.PodSpec) (string, string) {
	var ns []string
	if spec.HostNetwork {
		ns = append(ns, "hostNetwork=true")
	}
	if spec.HostPID {
		ns = append(ns, "hostPID=true")
	}
	if spec.HostIPC {
		ns = append(ns, "hostIPC=true")
	}
	if len(ns) == 0 {
		return "", ""
	}
	return "host namespaces", strings.Join(ns, ", ")
}

func privileged(spec *core.PodSpec) (string, string) {
	var bad []string
	for _, c := range containers(spec) {
		if c.sc != nil && c.sc.Privileged != nil && *c.sc.Privileged {
			bad = append(bad, c.name)
		}
	}
	if len(bad) == 0 {
		return "", ""
	}
	return "privileged", fmt.Sprintf("%s %s must not set securityContext.privileged=true", pluralize("container", "containers", len(bad)), joinQuote(bad))
}

var baselineCapabilities = map[core.Capability]bool{"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true,
	"FSETID": true, "KILL": true, "MKNOD": true, "NET_BIND_SERVICE": true, "SETFCAP": true, "SETGID": true, "SETPCAP": true,
	"SETUID": true, "SYS_CHROOT": true}

func capabilitiesBaseline(spec *core.PodSpec) (string, string) {
	var bad []string
	caps := map[string]bool{}
	for _, c := range containers(spec) {
		if c.sc == nil || c.sc.Capabilities == nil {
			continue
		}
		ok := true
		for _, a := range c.sc.Capabilities.Add {
			if !baselineCapabilities[a] {
				ok = false
				caps[string(a)] = true
			}
		}
		if !ok {
			bad = append(bad, c.name)
		}
	}
	if len(bad) == 0 {
		return "", ""
	}
	return "non-default capabilities", fmt.Sprintf("%s %s must not include %s in securityContext.capabilities.add",
		pluralize("container", "containers", len(bad)), joinQuote(bad), joinQuote(sortedKeys(caps)))
}

func capabilitiesRestricted(spec *core.PodSpec) (string, string) {
	var missingDrop, adding []string
	caps := map[string]bool{}
	for _, c := range containers(spec) {
		if c.sc == nil || c.sc.Capabilities == nil {
			missingDrop = append(missingDrop, c.name)
			continue
		}
		dropped := false
		for _, d := range c.sc.Capabilities.Drop {
			if d == "ALL" {
				dropped = true
			}
		}
		if !dropped {
			missingDrop = append(missingDrop, c.name)
		}
		bad := false
		for _, a := range c.sc.Capabilities.Add {
			if a != "NET_BIND_SERVICE" {
				bad = true
				caps[string(a)] = true
			}
		}
		if bad {
			adding = append(adding, c.name)
		}
	}
	var details []string
	if len(missingDrop) > 0 {
		details = append(details, fmt.Sprintf(`%s %s must set securityContext.capabilities.drop=["ALL"]`,
			pluralize("container", "containers", len(missingDrop)), joinQuote(missingDrop)))
	}
	if len(adding) > 0 {
		details = append(details, fmt.Sprintf(`%s %s must not include %s in securityContext.capabilities.add`,
			pluralize("container", "containers", len(adding)), joinQuote(adding), joinQuote(sortedKeys(caps))))
	}
	if len(details) == 0 {
		return "", ""
	}
	return "unrestricted capabilities", strings.Join(details, "; ")
}

func hostPathVolumes(spec *core.PodSpec) (string, string) {
	var bad []string
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			bad = append(bad, v.Name)
		}
	}
	if len(bad) == 0 {
		return "", ""
	}
	return "hostPath volumes", fmt.Sprintf("%s %s", pluralize("volume", "volumes", len(bad)), joinQuote(bad))
}

func hostPorts(spec *core.PodSpec) (string, string) {
	var bad []string
	ports := map[string]bool{}
	for _, c := range containers(spec) {
		found := false
		for _, p := range c.ports {
			if p.HostPort != 0 {
				found = true
				ports[fmt.Sprint(p.HostPort)] = true
			}
		}
		if found {
			bad = append(bad, c.name)
		}
	}
	if len(bad) == 0 {
		return "", ""
	}
	list := sortedKeys(ports)
	return "hostPort", fmt.Sprintf("%s %s %s %s %s", pluralize("container", "containers", len(bad)), joinQuote(bad),
		pluralize("uses", "use", len(bad)), pluralize("hostPort", "hostPorts", len(list)), strings.Join(list, ", "))
}

func procMount(spec *core.PodSpec) (string, string) {
	var bad []string
	types := map[string]bool{}
	for _, c := range containers(spec) {
		if c.sc != nil && c.sc.ProcMount != nil && *c.sc.ProcMount != "Default" {
			bad = append(bad, c.name)
			types[string(*c.sc.ProcMount)] = true
		}
	}
	if len(bad) == 0 {
		return "", ""
	}
	return "procMount", fmt.Sprintf("%s %s must not set securityContext.procMount to %s",
		pluralize("container", "containers", len(bad)), joinQuote(bad), joinQuote(sortedKeys(types)))
}

// allowedVolumeTypes are the volume sources restricted allows (by their JSON names).
var allowedVolumeTypes = map[string]bool{"configMap": true, "csi": true, "downwardAPI": true, "emptyDir": true,
	"ephemeral": true, "persistentVolumeClaim": true, "projected": true, "secret": true}

func restrictedVolumes(spec *core.PodSpec) (string, string) {
	var bad []string
	types := map[string]bool{}
	for _, v := range spec.Volumes {
		raw, err := json.Marshal(v.VolumeSource)
		if err != nil {
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			continue
		}
		for name := range fields {
			if !allowedVolumeTypes[name] {
				bad = append(bad, v.Name)
				types[name] = true
				break
			}
		}
	}
	if len(bad) == 0 {
		return "", ""
	}
	list := sortedKeys(types)
	return "restricted volume types", fmt.Sprintf("%s %s %s %s %s", pluralize("volume", "volumes", len(bad)), joinQuote(bad),
		pluralize("uses", "use", len(bad)), pluralize("restricted volume type", "restricted volume types", len(list)), joinQuote(list))
}

func allowPrivilegeEscalation(spec *core.PodSpec) (string, string) {
	if spec.OS != nil && spec.OS.Name == "windows" {
		return "", ""
	}
	var bad []string
	for _, c := range containers(spec) {
		if c.sc == nil || c.sc.AllowPrivilegeEscalation == nil || *c.sc.AllowPrivilegeEscalation {
			bad = append(bad, c.name)
		}
	}
	if len(bad) == 0 {
		return "", ""
	}
	return "allowPrivilegeEscalation != false", fmt.Sprintf("%s %s must set securityContext.allowPrivilegeEscalation=false",
		pluralize("container", "containers", len(bad)), joinQuote(bad))
}

func runAsNonRoot(spec *core.PodSpec) (string, string) {
	var badSetters []string
	podNonRoot := false
	if sc := spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil {
		if !*sc.RunAsNonRoot {
			badSetters = append(badSetters, "pod")
		} else {
			podNonRoot = true
		}
	}
	var explicit, implicit []string
	for _, c := range containers(spec) {
		if c.sc != nil && c.sc.RunAsNonRoot != nil {
			if !*c.sc.RunAsNonRoot {
				explicit = append(explicit, c.name)
			}
		} else if !podNonRoot {
			implicit = append(implicit, c.name)
		}
	}
	if len(explicit) > 0 {
		badSetters = append(badSetters, fmt.Sprintf("%s %s", pluralize("container", "containers", len(explicit)), joinQuote(explicit)))
	}
	if len(badSetters) > 0 {
		return "runAsNonRoot != true", strings.Join(badSetters, " and ") + " must not set securityContext.runAsNonRoot=false"
	}
	if len(implicit) > 0 {
		return "runAsNonRoot != true", fmt.Sprintf("pod or %s %s must set securityContext.runAsNonRoot=true",
			pluralize("container", "containers", len(implicit)), joinQuote(implicit))
	}
	return "", ""
}

func runAsUser(spec *core.PodSpec) (string, string) {
	var badSetters []string
	if sc := spec.SecurityContext; sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		badSetters = append(badSetters, "pod")
	}
	var explicit []string
	for _, c := range containers(spec) {
		if c.sc != nil && c.sc.RunAsUser != nil && *c.sc.RunAsUser == 0 {
			explicit = append(explicit, c.name)
		}
	}
	if len(explicit) > 0 {
		badSetters = append(badSetters, fmt.Sprintf("%s %s", pluralize("container", "containers", len(explicit)), joinQuote(explicit)))
	}
	if len(badSetters) == 0 {
		return "", ""
	}
	return "runAsUser=0", strings.Join(badSetters, " and ") + " must not set runAsUser=0"
}

// seccomp checks share their walk: bad lists explicit setters of a forbidden type, implicit
// the containers with no profile when the pod sets none.
func seccomp(spec *core.PodSpec, forbidden func(core.SeccompProfileType) bool) (badSetters, implicit []string, values map[string]bool) {
	values = map[string]bool{}
	podSet := false
	if sc := spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		if forbidden(sc.SeccompProfile.Type) {
			badSetters = append(badSetters, "pod")
			values[string(sc.SeccompProfile.Type)] = true
		} else {
			podSet = true
		}
	}
	var explicit []string
	for _, c := range containers(spec) {
		if c.sc != nil && c.sc.SeccompProfile != nil {
			if forbidden(c.sc.SeccompProfile.Type) {
				explicit = append(explicit, c.name)
				values[string(c.sc.SeccompProfile.Type)] = true
			}
		} else if !podSet {
			implicit = append(implicit, c.name)
		}
	}
	if len(explicit) > 0 {
		badSetters = append(badSetters, fmt.Sprintf("%s %s", pluralize("container", "containers", len(explicit)), joinQuote(explicit)))
	}
	return badSetters, implicit, values
}

func seccompBaseline(spec *core.PodSpec) (string, string) {
	bad, _, values := seccomp(spec, func(t core.SeccompProfileType) bool { return t == core.SeccompProfileTypeUnconfined })
	if len(bad) == 0 {
		return "", ""
	}
	return "seccompProfile", fmt.Sprintf("%s must not set securityContext.seccompProfile.type to %s", strings.Join(bad, " and "), joinQuote(sortedKeys(values)))
}

func seccompRestricted(spec *core.PodSpec) (string, string) {
	if spec.OS != nil && spec.OS.Name == "windows" {
		return "", ""
	}
	bad, implicit, values := seccomp(spec, func(t core.SeccompProfileType) bool {
		return t != core.SeccompProfileTypeRuntimeDefault && t != core.SeccompProfileTypeLocalhost
	})
	if len(bad) > 0 {
		return "seccompProfile", fmt.Sprintf("%s must not set securityContext.seccompProfile.type to %s", strings.Join(bad, " and "), joinQuote(sortedKeys(values)))
	}
	if len(implicit) > 0 {
		return "seccompProfile", fmt.Sprintf(`pod or %s %s must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
			pluralize("container", "containers", len(implicit)), joinQuote(implicit))
	}
	return "", ""
}

var safeSysctls = map[string]bool{"kernel.shm_rmid_forced": true, "net.ipv4.ip_local_port_range": true, "net.ipv4.tcp_syncookies": true,
	"net.ipv4.ping_group_range": true, "net.ipv4.ip_unprivileged_port_start": true, "net.ipv4.ip_local_reserved_ports": true,
	"net.ipv4.tcp_keepalive_time": true, "net.ipv4.tcp_fin_timeout": true, "net.ipv4.tcp_keepalive_intvl": true,
	"net.ipv4.tcp_keepalive_probes": true, "net.ipv4.tcp_rmem": true, "net.ipv4.tcp_wmem": true}

func sysctls(spec *core.PodSpec) (string, string) {
	if spec.SecurityContext == nil {
		return "", ""
	}
	var bad []string
	for _, s := range spec.SecurityContext.Sysctls {
		if !safeSysctls[s.Name] {
			bad = append(bad, s.Name)
		}
	}
	if len(bad) == 0 {
		return "", ""
	}
	return "forbidden sysctls", strings.Join(bad, ", ")
}
