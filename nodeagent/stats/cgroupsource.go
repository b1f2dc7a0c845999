package stats

import (
	"errors"
	"path/filepath"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// CgroupSource reads a real node: pods and containers from their cgroups (a container's
// cgroup is its pod's cgroup joined with its ID, as the containerd runtime creates it), the
// node from procfs.
type CgroupSource struct {
	Cgroups *Cgroups
	Proc    Proc
	// PodCgroup is the pod's cgroup path ("" when pods get no cgroup of their own).
	PodCgroup func(pod *core.Pod) string
}

var errNoCgroup = errors.New("stats: pod has no cgroup of its own")

func (s *CgroupSource) Node() (Usage, uint64, error) { return s.Proc.Read() }

func (s *CgroupSource) Pod(pod *core.Pod) (Usage, error) {
	p := s.PodCgroup(pod)
	if p == "" {
		return Usage{}, errNoCgroup
	}
	return s.Cgroups.Read(p)
}

func (s *CgroupSource) Container(pod *core.Pod, c *runtime.Container) (Usage, error) {
	p := s.PodCgroup(pod)
	if p == "" {
		return Usage{}, errNoCgroup
	}
	return s.Cgroups.Read(filepath.Join(p, c.ID))
}
