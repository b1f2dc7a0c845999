package podworker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// specHash identifies the parts of a container spec that need a new container when they
// change (in practice the image: the rest of a pod's spec is immutable).
func specHash(c *core.Container) string {
	data, _ := json.Marshal(struct {
		Image         string
		Command, Args []string
	}{c.Image, c.Command, c.Args})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// podLabels are the labels that tie runtime objects to a pod.
func podLabels(pod *core.Pod, node string) map[string]string {
	return map[string]string{
		runtime.LabelPodUID:       pod.UID,
		runtime.LabelPodName:      pod.Name,
		runtime.LabelPodNamespace: pod.Namespace,
		runtime.LabelNode:         node,
	}
}

func podRef(pod *core.Pod) runtime.PodRef {
	return runtime.PodRef{UID: pod.UID, Namespace: pod.Namespace, Name: pod.Name}
}

// resources turns a container's requests and limits into cgroup settings, as the kubelet
// does: cpu shares from the request (the limit when only that is set; at least 2), a CFS
// quota from the cpu limit over a 100 ms period, and the memory limit.
func resources(c *core.Container) runtime.Resources {
	const period = 100000
	var r runtime.Resources
	cpuReq, hasReq := c.Resources.Requests[core.ResourceCPU]
	cpuLim, hasLim := c.Resources.Limits[core.ResourceCPU]
	switch {
	case hasReq:
		r.CPUShares = uint64(max(2, cpuReq.MilliValue()*1024/1000))
	case hasLim:
		r.CPUShares = uint64(max(2, cpuLim.MilliValue()*1024/1000))
	default:
		r.CPUShares = 2
	}
	if hasLim && !cpuLim.IsZero() {
		r.CPUPeriod = period
		r.CPUQuota = max(1000, cpuLim.MilliValue()*period/1000)
	}
	if mem, ok := c.Resources.Limits[core.ResourceMemory]; ok {
		r.MemoryLimit = mem.Value()
	}
	return r
}

func memoryRequest(pod *core.Pod) int64 {
	var total int64
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Requests[core.ResourceMemory]; ok {
			total += q.Value()
		} else if q, ok := c.Resources.Limits[core.ResourceMemory]; ok {
			total += q.Value()
		}
	}
	return total
}

// security resolves a container's security settings from its own securityContext and
// the pod's, the container's winning.
func security(pod *core.Pod, c *core.Container, imageUser string) (runtime.SecurityConfig, error) {
	var s runtime.SecurityConfig
	var nonRoot bool
	if psc := pod.Spec.SecurityContext; psc != nil {
		s.RunAsUser, s.RunAsGroup = psc.RunAsUser, psc.RunAsGroup
		s.SupplementalGroups = psc.SupplementalGroups
		if psc.FSGroup != nil {
			s.SupplementalGroups = append(s.SupplementalGroups, *psc.FSGroup)
		}
		nonRoot = isTrue(psc.RunAsNonRoot)
	}
	s.NoNewPrivileges = false
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			s.RunAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			s.RunAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		s.Privileged = isTrue(sc.Privileged)
		s.ReadOnlyRootFilesystem = isTrue(sc.ReadOnlyRootFilesystem)
		if sc.AllowPrivilegeEscalation != nil {
			s.NoNewPrivileges = !*sc.AllowPrivilegeEscalation
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				s.CapAdd = append(s.CapAdd, string(c))
			}
			for _, c := range sc.Capabilities.Drop {
				s.CapDrop = append(s.CapDrop, string(c))
			}
		}
	}
	s.RunAsNonRoot = nonRoot
	if nonRoot {
		// The kubelet's check: the uid must be known and not 0.
		switch {
		case s.RunAsUser != nil && *s.RunAsUser == 0:
			return s, configErrorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", pod.Namespace+"/"+pod.Name, c.Name)
		case s.RunAsUser == nil:
			uid, err := strconv.ParseInt(userPart(imageUser), 10, 64)
			if imageUser == "" || userPart(imageUser) == "root" || (err == nil && uid == 0) {
				return s, configErrorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", pod.Namespace+"/"+pod.Name, c.Name)
			}
			if err != nil {
				return s, configErrorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", imageUser, pod.Namespace+"/"+pod.Name, c.Name)
			}
		}
	}
	return s, nil
}

func userPart(u string) string {
	for i := range len(u) {
		if u[i] == ':' {
			return u[:i]
		}
	}
	return u
}

// logPath is where attempt n of a container logs: <logDir>/<ns>_<pod>_<uid>/<container>/<n>.log,
// the kubelet's layout.
func LogPath(logDir string, ref runtime.PodRef, container string, attempt int) string {
	return filepath.Join(PodLogDir(logDir, ref), container, fmt.Sprintf("%d.log", attempt))
}

// PodLogDir is the directory of a pod's container logs.
func PodLogDir(logDir string, ref runtime.PodRef) string {
	return filepath.Join(logDir, ref.Namespace+"_"+ref.Name+"_"+ref.UID)
}
