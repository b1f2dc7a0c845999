// Package leaderelection lets one of several replicas of a component do the work: the
// replicas compete for a coordination.k8s.io/v1 Lease, as client-go's leaderelection does.
//
// How it is safe: every write of the Lease is conditional on the resourceVersion last
// read, so of two candidates writing at once one gets a 409 Conflict and loses. A lease
// counts as expired only after a candidate has watched it stay unchanged for its
// leaseDurationSeconds on its own clock, so clocks need not agree. The leader renews every
// RetryPeriod and gives up if it could not renew for RenewDeadline, which is shorter than
// LeaseDuration: it stops working before anyone else may start.
package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/wait"
)

var leases = client.Resource{Group: coordination.GroupName, Version: coordination.Version, Resource: "leases", Namespaced: true}

// LeaseLock names the Lease the candidates compete for and this candidate's identity
// (unique per replica, e.g. hostname plus a random suffix).
type LeaseLock struct {
	Namespace string // default "kube-system"
	Name      string
	Identity  string
}

// Callbacks are the elector's notifications.
type Callbacks struct {
	// OnStartedLeading runs (in its own goroutine) once the lease is acquired; ctx is
	// cancelled when leadership ends, and the function must then return promptly.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading is called after leadership ended (lost, or Run's ctx cancelled) and
	// OnStartedLeading returned. Unlike client-go, it is not called if this candidate
	// never led. Optional.
	OnStoppedLeading func()
	// OnNewLeader is called (in its own goroutine) whenever the observed holder changes,
	// including to this candidate. Optional.
	OnNewLeader func(identity string)
}

// Config of an elector. Zero durations take client-go's defaults.
type Config struct {
	Lock LeaseLock
	// LeaseDuration is how long followers wait, after the lease last changed, before
	// taking it over (whole seconds; default 15s).
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps retrying a failed renewal before it gives
	// up leadership (default 10s). Must be shorter than LeaseDuration.
	RenewDeadline time.Duration
	// RetryPeriod is the interval between attempts to acquire or renew (default 2s).
	RetryPeriod time.Duration
	Callbacks   Callbacks
	// ReleaseOnCancel clears the lease when Run's ctx is cancelled (after OnStartedLeading
	// returned), so that a successor need not wait for it to expire.
	ReleaseOnCancel bool
}

// jitterFactor spreads the candidates' attempts: each waits RetryPeriod·(1 + rand·1.2).
const jitterFactor = 1.2

func (c *Config) setDefaults() error {
	if c.Lock.Namespace == "" {
		c.Lock.Namespace = "kube-system"
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = 10 * time.Second
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = 2 * time.Second
	}
	switch {
	case c.Lock.Name == "":
		return errors.New("leaderelection: Lock.Name is required")
	case c.Lock.Identity == "":
		return errors.New("leaderelection: Lock.Identity is required")
	case c.Callbacks.OnStartedLeading == nil:
		return errors.New("leaderelection: Callbacks.OnStartedLeading is required")
	case c.LeaseDuration < time.Second:
		return errors.New("leaderelection: LeaseDuration must be at least 1s (the lease records whole seconds)")
	case c.LeaseDuration <= c.RenewDeadline:
		return errors.New("leaderelection: LeaseDuration must be greater than RenewDeadline")
	case float64(c.RenewDeadline) <= jitterFactor*float64(c.RetryPeriod):
		return fmt.Errorf("leaderelection: RenewDeadline must be greater than RetryPeriod*%.1f", jitterFactor)
	case c.RetryPeriod <= 0:
		return errors.New("leaderelection: RetryPeriod must be positive")
	}
	return nil
}

// LeaderElector runs one candidate.
type LeaderElector struct {
	cfg    Config
	leases *client.Typed[coordination.Lease, *coordination.Lease]
	log    *slog.Logger

	mu sync.Mutex
	// observed is the lease as last read or written, and observedAt when (on our clock)
	// it was first seen in that version: expiry is measured from there.
	observed       *coordination.Lease
	observedAt     time.Time
	reportedLeader string
}

// New validates cfg (filling in defaults) and returns an elector using c.
func New(c *client.Client, cfg Config) (*LeaderElector, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &LeaderElector{
		cfg:    cfg,
		leases: client.For[coordination.Lease](c, leases),
		log:    slog.Default().With("lease", cfg.Lock.Namespace+"/"+cfg.Lock.Name, "identity", cfg.Lock.Identity),
	}, nil
}

// Run is New followed by LeaderElector.Run.
func Run(ctx context.Context, c *client.Client, cfg Config) error {
	le, err := New(c, cfg)
	if err != nil {
		return err
	}
	le.Run(ctx)
	return nil
}

// Run competes for the lease until ctx ends; once leading, it renews the lease and runs
// OnStartedLeading until ctx ends or the lease is lost. It returns after leadership (if
// any) ended and OnStartedLeading returned: to compete again, call Run again.
func (le *LeaderElector) Run(ctx context.Context) {
	if !le.acquire(ctx) {
		return
	}
	leaderCtx, cancel := context.WithCancel(ctx)
	working := make(chan struct{})
	go func() {
		defer close(working)
		le.cfg.Callbacks.OnStartedLeading(leaderCtx)
	}()
	le.renew(leaderCtx)
	cancel()
	<-working // no leader work may overlap a successor's: release only after it stopped
	if le.cfg.ReleaseOnCancel {
		le.release()
	}
	if le.cfg.Callbacks.OnStoppedLeading != nil {
		le.cfg.Callbacks.OnStoppedLeading()
	}
}

// IsLeader reports whether this candidate held the lease when last observed.
func (le *LeaderElector) IsLeader() bool {
	return le.Leader() == le.cfg.Lock.Identity
}

// Leader is the holder of the lease as last observed ("" if none).
func (le *LeaderElector) Leader() string {
	le.mu.Lock()
	defer le.mu.Unlock()
	return holder(le.observed)
}

// acquire tries every RetryPeriod (jittered) until it holds the lease; false if ctx ended.
func (le *LeaderElector) acquire(ctx context.Context) bool {
	le.log.Info("attempting to acquire leader lease")
	for {
		ok := le.tryAcquireOrRenew(ctx)
		le.reportTransition()
		if ok {
			le.log.Info("acquired leader lease")
			return true
		}
		if !wait.Sleep(ctx, jittered(le.cfg.RetryPeriod)) {
			return false
		}
	}
}

// renew keeps the lease until ctx ends or a renewal fails for RenewDeadline.
func (le *LeaderElector) renew(ctx context.Context) {
	for {
		renewed := le.renewWithin(ctx)
		le.reportTransition()
		if ctx.Err() != nil {
			return
		}
		if !renewed {
			le.log.Warn("lost leader lease")
			return
		}
		if !wait.Sleep(ctx, le.cfg.RetryPeriod) {
			return
		}
	}
}

// renewWithin retries a renewal every RetryPeriod until it succeeds, RenewDeadline
// passes, or someone else is seen holding the lease.
func (le *LeaderElector) renewWithin(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, le.cfg.RenewDeadline)
	defer cancel()
	for {
		if le.tryAcquireOrRenew(ctx) {
			return true
		}
		if h := le.Leader(); h != "" && h != le.cfg.Lock.Identity {
			return false // taken over: stop working at once rather than at the deadline
		}
		if !wait.Sleep(ctx, le.cfg.RetryPeriod) {
			return false
		}
	}
}

// tryAcquireOrRenew makes one attempt to take or extend the lease, as client-go's
// function of that name does.
func (le *LeaderElector) tryAcquireOrRenew(ctx context.Context) bool {
	now := time.Now()
	id := le.cfg.Lock.Identity

	// Fast path: we hold a lease we know is current; write it without reading it first.
	le.mu.Lock()
	observed, observedAt := le.observed, le.observedAt
	le.mu.Unlock()
	if holder(observed) == id && le.valid(observed, observedAt, now) {
		updated, err := le.leases.Update(ctx, le.desired(observed, now))
		if err == nil {
			le.observe(updated, now)
			return true
		}
		le.log.Debug("optimistic renewal failed, reading the lease", "err", err)
	}

	current, err := le.leases.Get(ctx, le.cfg.Lock.Namespace, le.cfg.Lock.Name)
	if client.IsNotFound(err) {
		created, err := le.leases.Create(ctx, le.desired(&coordination.Lease{
			TypeMeta:   meta.TypeMeta{Kind: "Lease", APIVersion: leases.GroupVersion()},
			ObjectMeta: meta.ObjectMeta{Namespace: le.cfg.Lock.Namespace, Name: le.cfg.Lock.Name},
		}, now))
		if err != nil {
			le.log.Debug("creating the lease failed", "err", err) // AlreadyExists: someone beat us
			return false
		}
		le.observe(created, now)
		return true
	}
	if err != nil {
		le.log.Warn("reading the lease failed", "err", err)
		return false
	}
	observed, observedAt = le.observe(current, now)
	if h := holder(current); h != "" && h != id && le.valid(observed, observedAt, now) {
		return false // held by someone else, and not expired
	}
	updated, err := le.leases.Update(ctx, le.desired(current, now))
	if err != nil {
		le.log.Debug("updating the lease failed", "err", err) // Conflict: someone else wrote first
		return false
	}
	le.observe(updated, now)
	return true
}

// desired is lease with this candidate as holder, renewed now. Acquiring (from another
// holder or none) sets acquireTime and counts a transition; renewing keeps both.
func (le *LeaderElector) desired(lease *coordination.Lease, now time.Time) *coordination.Lease {
	out := *lease // the metadata (resourceVersion) and other spec fields carry over
	spec := &out.Spec
	t := meta.MicroTime{Time: now.UTC().Truncate(time.Microsecond)}
	id := le.cfg.Lock.Identity
	secs := int32(le.cfg.LeaseDuration / time.Second)
	transitions := int32(0)
	if spec.LeaseTransitions != nil {
		transitions = *spec.LeaseTransitions
	}
	if holder(lease) != id {
		if lease.ResourceVersion != "" { // an existing lease changes hands
			transitions++
		}
		spec.AcquireTime = &t
	}
	spec.HolderIdentity = &id
	spec.LeaseDurationSeconds = &secs
	spec.RenewTime = &t
	spec.LeaseTransitions = &transitions
	return &out
}

// release gives the lease up: no holder and a 1s duration, so followers take it at once.
func (le *LeaderElector) release() {
	le.mu.Lock()
	lease := le.observed
	le.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), le.cfg.RenewDeadline)
	defer cancel()
	for attempt := 0; ; attempt++ {
		if holder(lease) != le.cfg.Lock.Identity {
			return
		}
		out := *lease
		t := meta.MicroTime{Time: time.Now().UTC().Truncate(time.Microsecond)}
		empty, one := "", int32(1)
		out.Spec.HolderIdentity = &empty
		out.Spec.LeaseDurationSeconds = &one
		out.Spec.AcquireTime = &t
		out.Spec.RenewTime = &t
		updated, err := le.leases.Update(ctx, &out)
		if err == nil {
			le.observe(updated, time.Now())
			le.log.Info("released leader lease")
			return
		}
		// A renewal cancelled mid-flight may still have been written, leaving us a stale
		// resourceVersion: read the lease once and release what is really there.
		if client.IsConflict(err) && attempt == 0 {
			if lease, err = le.leases.Get(ctx, le.cfg.Lock.Namespace, le.cfg.Lock.Name); err == nil {
				continue
			}
		}
		le.log.Warn("releasing the lease failed", "err", err)
		return
	}
}

// observe records lease; its observation time moves only when the lease changed.
func (le *LeaderElector) observe(lease *coordination.Lease, now time.Time) (*coordination.Lease, time.Time) {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.observed == nil || le.observed.ResourceVersion != lease.ResourceVersion {
		le.observedAt = now
	}
	le.observed = lease
	return le.observed, le.observedAt
}

// valid: the lease was seen unchanged for less than its duration.
func (le *LeaderElector) valid(lease *coordination.Lease, observedAt, now time.Time) bool {
	if lease == nil || lease.Spec.LeaseDurationSeconds == nil {
		return false
	}
	return observedAt.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second).After(now)
}

func (le *LeaderElector) reportTransition() {
	le.mu.Lock()
	h := holder(le.observed)
	changed := h != le.reportedLeader
	le.reportedLeader = h
	le.mu.Unlock()
	if changed && h != "" && le.cfg.Callbacks.OnNewLeader != nil {
		go le.cfg.Callbacks.OnNewLeader(h)
	}
}

func holder(lease *coordination.Lease) string {
	if lease == nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

func jittered(d time.Duration) time.Duration {
	return d + time.Duration(rand.Float64()*jitterFactor*float64(d))
}
