package skifftest

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStart measures Start (to every node Ready, with the default ServiceAccount when
// controllers run) and what the running cluster holds in memory, for docs/PERFORMANCE.md:
//
//	go test -run '^$' -bench Start -benchtime 1x ./skifftest/
func BenchmarkStart(b *testing.B) {
	for _, nodes := range []int{1, 100, 1000} {
		for _, controllers := range []bool{true, false} {
			name := fmt.Sprintf("nodes=%d/scheduler+controllers=%v", nodes, controllers)
			b.Run(name, func(b *testing.B) {
				for range b.N {
					runtime.GC()
					rss0, heap0, cpu0 := rssBytes(), heapBytes(), cpuTime()
					begin := time.Now()
					c := Start(b, Options{Nodes: nodes, NoScheduler: !controllers, NoControllers: !controllers, Log: io.Discard})
					elapsed, cpu := time.Since(begin), cpuTime()-cpu0
					runtime.GC()
					b.ReportMetric(elapsed.Seconds(), "start-s")
					// CPU time is what a loaded machine cannot hide (wall time waits for it).
					b.ReportMetric(cpu.Seconds(), "cpu-s")
					b.ReportMetric(float64(heapBytes()-heap0)/(1<<20), "heap-MiB")
					b.ReportMetric(float64(rssBytes()-rss0)/(1<<20), "rss-MiB")
					c.Stop()
				}
			})
		}
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapBytes() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// rssBytes is this process's resident set (VmRSS).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
