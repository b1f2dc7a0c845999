package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/skiff-sh/skiff/nodeagent/gc"
)

// gcFlags defines the garbage collection flags (the kubelet's names)
// and returns what makes the configuration once the flags are parsed.
func gcFlags() func() (gc.Config, error) {
	var c gc.Config
	flag.IntVar(&c.HighThresholdPercent, "image-gc-high-threshold", 85, "image filesystem usage (%) above which unused images are removed")
	flag.IntVar(&c.LowThresholdPercent, "image-gc-low-threshold", 80, "image filesystem usage (%) image garbage collection brings it down to")
	flag.DurationVar(&c.MinImageAge, "minimum-image-ttl-duration", 2*time.Minute, "how long an unused image is kept at least (negative: no minimum)")
	flag.IntVar(&c.MaxPerPodContainer, "maximum-dead-containers-per-container", 1, "exited instances kept of each container of a pod (at least 1)")
	flag.DurationVar(&c.Period, "gc-period", time.Minute, "how often dead containers and unused images are collected")
	return func() (gc.Config, error) {
		if c.LowThresholdPercent > c.HighThresholdPercent {
			return c, fmt.Errorf("--image-gc-low-threshold (%d) is above --image-gc-high-threshold (%d)", c.LowThresholdPercent, c.HighThresholdPercent)
		}
		return c, nil
	}
}
