package stats

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Usage is one cgroup's (or the node's) counters at one moment. CPU is cumulative; the
// collector turns two samples into a rate.
type Usage struct {
	Time             time.Time
	CPUUsageNanos    uint64 // cumulative CPU time, all cores
	MemoryUsage      uint64 // bytes charged, page cache included
	MemoryWorkingSet uint64 // usage − inactive file pages (never below 0)
	MemoryRSS        uint64
	PageFaults       uint64
	MajorPageFaults  uint64
	Processes        uint64 // tasks in the cgroup (pids.current; 0 if unknown)
}

// Cgroups reads cgroups under a cgroupfs mount point (/sys/fs/cgroup). With cgroup v2 (a
// cgroup.controllers file at the root) every controller is in one tree; with v1 (and the
// hybrid layout, where the unified tree holds no controllers) each has its own hierarchy.
type Cgroups struct {
	root string
	v2   bool
	// cpuacct is the v1 hierarchy with cpuacct.usage: "cpuacct" or "cpu,cpuacct".
	cpuacct string
}

// NewCgroups detects the layout under root ("" is /sys/fs/cgroup).
func NewCgroups(root string) *Cgroups {
	if root == "" {
		root = "/sys/fs/cgroup"
	}
	c := &Cgroups{root: root, cpuacct: "cpuacct"}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		c.v2 = true
		return c
	}
	for _, h := range []string{"cpuacct", "cpu,cpuacct", "cpuacct,cpu"} {
		if fi, err := os.Stat(filepath.Join(root, h)); err == nil && fi.IsDir() {
			c.cpuacct = h
			break
		}
	}
	return c
}

// V2 reports whether the unified hierarchy is in use.
func (c *Cgroups) V2() bool { return c.v2 }

// Read reads the cgroup at path (relative to each hierarchy's root, e.g.
// /skiff/burstable/pod<uid>/<container id>). A cgroup that does not exist is an error
// wrapping os.ErrNotExist.
func (c *Cgroups) Read(path string) (Usage, error) {
	u := Usage{Time: time.Now()}
	if c.v2 {
		return u, c.readV2(filepath.Join(c.root, path), &u)
	}
	return u, c.readV1(path, &u)
}

func (c *Cgroups) readV1(path string, u *Usage) error {
	cpu, err := readUint(filepath.Join(c.root, c.cpuacct, path, "cpuacct.usage"))
	if err != nil {
		return err
	}
	u.CPUUsageNanos = cpu
	mem := filepath.Join(c.root, "memory", path)
	if u.MemoryUsage, err = readUint(filepath.Join(mem, "memory.usage_in_bytes")); err != nil {
		return err
	}
	st, err := readKeyValues(filepath.Join(mem, "memory.stat"))
	if err != nil {
		return err
	}
	// The total_ values count the cgroup's descendants too (a pod's containers).
	u.MemoryRSS = st["total_rss"]
	u.PageFaults, u.MajorPageFaults = st["total_pgfault"], st["total_pgmajfault"]
	u.MemoryWorkingSet = workingSet(u.MemoryUsage, st["total_inactive_file"])
	u.Processes, _ = readUint(filepath.Join(c.root, "pids", path, "pids.current"))
	return nil
}

func (c *Cgroups) readV2(dir string, u *Usage) error {
	cs, err := readKeyValues(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return err
	}
	u.CPUUsageNanos = cs["usage_usec"] * 1000
	if u.MemoryUsage, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
		return err
	}
	st, err := readKeyValues(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return err
	}
	u.MemoryRSS = st["anon"]
	u.PageFaults, u.MajorPageFaults = st["pgfault"], st["pgmajfault"]
	u.MemoryWorkingSet = workingSet(u.MemoryUsage, st["inactive_file"])
	u.Processes, _ = readUint(filepath.Join(dir, "pids.current"))
	return nil
}

// workingSet is the kubelet's (cAdvisor's) working set: usage less the inactive file
// pages, which the kernel reclaims first.
func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %s: %w", path, err)
	}
	return n, nil
}

// readKeyValues reads a "key value" per line file (memory.stat, cpu.stat, /proc/meminfo
// with its colons and units stripped by the caller's keys).
func readKeyValues(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[strings.TrimSuffix(f[0], ":")] = n
		}
	}
	return out, nil
}
