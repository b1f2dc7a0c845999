package podworker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
)

// Pod sysctls, as the kubelet's sysctl admission handles them: the safe ones and those the
// node allows with --allowed-unsafe-sysctls (names, or prefixes ending in '*') run; a pod
// with any other is rejected with SysctlForbidden before anything of it starts. The allowed
// ones are set in the sandbox's namespaces, which the pod's containers share.

// forbiddenSysctl is why the node refuses the pod's sysctls, "" when it does not.
func forbiddenSysctl(pod *core.Pod, allowedUnsafe []string) string {
	sc := pod.Spec.SecurityContext
	if sc == nil {
		return ""
	}
	for _, s := range sc.Sysctls {
		name := core.NormalizeSysctlName(s.Name)
		if !slices.Contains(core.SafeSysctls, name) && !matchesAny(name, allowedUnsafe) {
			return fmt.Sprintf("forbidden sysctl: %q not allowlisted", name)
		}
		ns := core.NamespaceOfSysctl(name)
		if ns == core.SysctlNet && pod.Spec.HostNetwork || ns == core.SysctlIPC && pod.Spec.HostIPC {
			return fmt.Sprintf("forbidden sysctl: %q not allowed with host %s enabled", name, ns)
		}
	}
	return ""
}

func matchesAny(name string, patterns []string) bool {
	for _, p := range patterns {
		p = core.NormalizeSysctlName(p)
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(name, prefix) || p == name {
			return true
		}
	}
	return false
}

// podSysctls are the pod's sysctls by their dotted names.
func podSysctls(pod *core.Pod) map[string]string {
	sc := pod.Spec.SecurityContext
	if sc == nil || len(sc.Sysctls) == 0 {
		return nil
	}
	out := make(map[string]string, len(sc.Sysctls))
	for _, s := range sc.Sysctls {
		out[core.NormalizeSysctlName(s.Name)] = s.Value
	}
	return out
}
