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

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/statsapi"
)

// userHZ is the unit of /proc/stat's times (USER_HZ, 100 on every Linux the project runs on).
const userHZ = 100

// Proc reads the node's totals from procfs: CPU from /proc/stat, memory from /proc/meminfo.
type Proc struct {
	// Root is the procfs mount ("" is /proc).
	Root string
}

func (p Proc) path(name string) string {
	root := p.Root
	if root == "" {
		root = "/proc"
	}
	return filepath.Join(root, name)
}

// Read returns the node's usage. CPU is every non-idle jiffy since boot (user, nice, system,
// irq, softirq, steal); memory usage is total − free, and the working set usage less the
// inactive file pages, as the kubelet's root cgroup would show.
func (p Proc) Read() (Usage, uint64, error) {
	u := Usage{Time: time.Now()}
	b, err := os.ReadFile(p.path("stat"))
	if err != nil {
		return u, 0, fmt.Errorf("node stats: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return u, 0, fmt.Errorf("node stats: unexpected %s: %q", p.path("stat"), line)
	}
	var busy uint64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return u, 0, fmt.Errorf("node stats: %s: %w", p.path("stat"), err)
		}
		busy += n
	}
	u.CPUUsageNanos = busy * (1e9 / userHZ)
	mi, err := readMeminfo(p.path("meminfo"))
	if err != nil {
		return u, 0, err
	}
	total := mi["MemTotal"]
	u.MemoryUsage = total - min(total, mi["MemFree"])
	u.MemoryWorkingSet = workingSet(u.MemoryUsage, mi["Inactive(file)"])
	u.MemoryRSS = mi["AnonPages"]
	return u, total, nil
}

// readMeminfo reads /proc/meminfo in bytes.
func readMeminfo(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node stats: %w", err)
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		out[k] = n
	}
	return out, nil
}

// Rlimit is the node's task ceiling and count, as the kubelet's pidlimit.Stats: the lower
// of pid_max and threads-max, and the tasks /proc/loadavg counts.
func (p Proc) Rlimit() (*statsapi.RlimitStats, error) {
	r := &statsapi.RlimitStats{Time: meta.Now()}
	taskMax := int64(-1)
	for _, f := range []string{"sys/kernel/pid_max", "sys/kernel/threads-max"} {
		b, err := os.ReadFile(p.path(f))
		if err != nil {
			continue
		}
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && (taskMax < 0 || v < taskMax) {
			taskMax = v
		}
	}
	if taskMax >= 0 {
		r.MaxPID = &taskMax
	}
	b, err := os.ReadFile(p.path("loadavg"))
	if err != nil {
		return nil, fmt.Errorf("node stats: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 5 {
		return nil, fmt.Errorf("node stats: not enough fields in %s", p.path("loadavg"))
	}
	_, total, ok := strings.Cut(f[3], "/")
	n, err := strconv.ParseInt(total, 10, 64)
	if !ok || err != nil {
		return nil, fmt.Errorf("node stats: fourth field of %s: %q", p.path("loadavg"), f[3])
	}
	r.NumOfRunningProcesses = &n
	return r, nil
}
