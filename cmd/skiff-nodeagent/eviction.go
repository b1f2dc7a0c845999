package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/skiff-sh/skiff/nodeagent/eviction"
)

// evictionFlags defines the kubelet's eviction flags and returns what makes the
// configuration once the flags are parsed.
func evictionFlags() func() (eviction.Config, error) {
	var f eviction.Flags
	var c eviction.Config
	flag.StringVar(&f.Hard, "eviction-hard", eviction.DefaultHard,
		"hard eviction thresholds, signal<quantity or signal<N%: memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available (0% drops one; the flag replaces the defaults)")
	flag.StringVar(&f.Soft, "eviction-soft", "", "soft eviction thresholds (as --eviction-hard), each needing a grace period")
	flag.StringVar(&f.SoftGracePeriod, "eviction-soft-grace-period", "", "how long a soft threshold must hold before pods are evicted: signal=duration,...")
	flag.StringVar(&f.MinimumReclaim, "eviction-minimum-reclaim", "", "how far past a threshold the node must get before pressure ends: signal=quantity or N%,...")
	flag.Int64Var(&c.MaxPodGracePeriodSeconds, "eviction-max-pod-grace-period", 0, "most seconds a pod evicted for a soft threshold gets to stop")
	flag.DurationVar(&c.PressureTransitionPeriod, "eviction-pressure-transition-period", 5*time.Minute, "how long a pressure condition stays after its signal recovered")
	return func() (eviction.Config, error) {
		ts, err := eviction.Parse(f)
		if err != nil {
			return c, err
		}
		if c.PressureTransitionPeriod < 0 {
			return c, fmt.Errorf("--eviction-pressure-transition-period: %v is negative", c.PressureTransitionPeriod)
		}
		if c.PressureTransitionPeriod == 0 {
			c.PressureTransitionPeriod = time.Nanosecond // no hold, as asked (0 would take the default)
		}
		c.Thresholds = ts
		return c, nil
	}
}
