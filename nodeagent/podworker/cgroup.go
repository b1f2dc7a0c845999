package podworker

import (
	"os"
	"path/filepath"
)

// cgroupRoot is where the cgroup filesystems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// removePodCgroup removes a gone pod's cgroup (CgroupParent[/qos]/pod<uid>, in every
// hierarchy with cgroup v1). The runtime removes each container's own cgroup but not the
// pod's, their parent; without this every pod the node ever ran would leave an empty
// cgroup behind. A cgroup something still runs in is not empty and stays.
func (m *Manager) removePodCgroup(uid string) { RemovePodCgroup(m.cfg.CgroupParent, uid) }

// RemovePodCgroup removes the empty cgroups of pod uid under parent (see removePodCgroup);
// `skiff-nodeagent cleanup` uses it for the pods of a stopped node.
func RemovePodCgroup(parent, uid string) {
	if parent == "" || uid == "" {
		return
	}
	var pods []string
	for _, qos := range []string{"", "burstable", "besteffort"} { // the pod is gone: its QoS class too
		pods = append(pods, filepath.Join(parent, qos, "pod"+uid))
	}
	hierarchies := []string{cgroupRoot} // cgroup v2: one
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err != nil {
		hierarchies, _ = filepath.Glob(filepath.Join(cgroupRoot, "*"))
	}
	for _, h := range hierarchies {
		for _, p := range pods {
			_ = os.Remove(filepath.Join(h, p)) // rmdir: only an empty cgroup goes
		}
	}
}
