package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/nodeagent/gc"
)

// gcFlags defines the garbage collection and disk eviction flags (the kubelet's names)
// and returns what makes the configuration once the flags are parsed.
func gcFlags() func() (gc.Config, error) {
	var c gc.Config
	flag.IntVar(&c.HighThresholdPercent, "image-gc-high-threshold", 85, "image filesystem usage (%) above which unused images are removed")
	flag.IntVar(&c.LowThresholdPercent, "image-gc-low-threshold", 80, "image filesystem usage (%) image garbage collection brings it down to")
	flag.DurationVar(&c.MinImageAge, "minimum-image-ttl-duration", 2*time.Minute, "how long an unused image is kept at least (negative: no minimum)")
	flag.IntVar(&c.MaxPerPodContainer, "maximum-dead-containers-per-container", 1, "exited instances kept of each container of a pod (at least 1)")
	flag.DurationVar(&c.Period, "gc-period", time.Minute, "how often dead containers and unused images are collected")
	eviction := flag.String("eviction-hard", "nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%",
		"DiskPressure thresholds: nodefs.available, imagefs.available, nodefs.inodesFree / imagefs.inodesFree, in %")
	return func() (gc.Config, error) {
		if c.LowThresholdPercent > c.HighThresholdPercent {
			return c, fmt.Errorf("--image-gc-low-threshold (%d) is above --image-gc-high-threshold (%d)", c.LowThresholdPercent, c.HighThresholdPercent)
		}
		return c, parseEviction(*eviction, &c)
	}
}

// parseEviction reads "signal<N%,..." into c.
func parseEviction(s string, c *gc.Config) error {
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		signal, value, ok := strings.Cut(item, "<")
		pct, isPct := strings.CutSuffix(strings.TrimSpace(value), "%")
		v, err := strconv.ParseFloat(pct, 64)
		if !ok || !isPct || err != nil || v <= 0 || v > 100 {
			return fmt.Errorf("--eviction-hard: %q: want signal<N%%", item)
		}
		switch strings.TrimSpace(signal) {
		case "nodefs.available":
			c.NodeFsMinFreePercent = v
		case "imagefs.available":
			c.ImageFsMinFreePercent = v
		case "nodefs.inodesFree", "imagefs.inodesFree":
			c.InodesMinFreePercent = v
		default:
			return fmt.Errorf("--eviction-hard: signal %q: only nodefs.available, imagefs.available and *.inodesFree are supported", signal)
		}
	}
	return nil
}
