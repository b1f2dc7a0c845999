// Package resourcequota is Kubernetes' ResourceQuota admission plugin: a write that would take
// a namespace's usage past a quota's hard limit is refused ("exceeded quota: small, requested:
// pods=1, used: pods=2, limited: pods=2"), and an admitted one is charged to the quota before
// it is stored, by a compare-and-swap update of the quota's status.used. The charge is what
// makes quota exact under concurrency: two creates racing for the last unit cannot both
// succeed, since only one of them can move status.used from the version both read. The
// controller manager's resourcequota controller fills status.hard and recalculates
// status.used from what is stored (releasing what deletes free).
package resourcequota

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/quota"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/storage"
)

// Name is the plugin's name in --enable-admission-plugins.
const Name = "ResourceQuota"

// Store is the plugin's narrow window on ResourceQuotas: it reads the server's cache for the
// common case, the storage itself after a conflict, and writes status with a precondition.
type Store interface {
	// Cached lists the namespace's quotas from the watch cache (possibly stale).
	Cached(namespace string) []*core.ResourceQuota
	// Live lists the namespace's quotas from storage.
	Live(ctx context.Context, namespace string) ([]*core.ResourceQuota, error)
	// UpdateStatus stores q.Status if the stored quota's resourceVersion is still
	// q.ResourceVersion, and returns the stored quota; an error wrapping storage.ErrConflict
	// when it is not.
	UpdateStatus(ctx context.Context, q *core.ResourceQuota) (*core.ResourceQuota, error)
}

// Plugin is the ResourceQuota admission plugin.
type Plugin struct {
	store Store
	now   func() time.Time

	mu sync.Mutex
	// locks serialize admission per namespace within this server, so its requests do not
	// conflict with each other (the compare-and-swap still guards against other servers and
	// the controller).
	locks map[string]*sync.Mutex
	// written are the quotas this plugin wrote last, by namespace/name: the cache lags its
	// own writes, and reading them stale would cost a conflict and a live read every time.
	written map[string]*core.ResourceQuota
}

var _ admission.Validator = (*Plugin)(nil)

// New makes the plugin.
func New(store Store) *Plugin {
	return &Plugin{store: store, now: time.Now, locks: map[string]*sync.Mutex{}, written: map[string]*core.ResourceQuota{}}
}

// Name implements admission.Plugin.
func (p *Plugin) Name() string { return Name }

// maxAttempts bounds the retries after conflicts (another server or the controller wrote
// the quota between our read and our write).
const maxAttempts = 5

// Validate refuses a write that would exceed a quota and charges the quota for an admitted one.
func (p *Plugin) Validate(ctx context.Context, a *admission.Attributes) error {
	if a.Kind == nil || !a.Kind.Namespaced || a.Namespace == "" || a.Subresource != "" || a.Object == nil {
		return nil
	}
	if a.Operation != admission.Create && a.Operation != admission.Update {
		return nil
	}
	if ignored[a.Kind.Group+"/"+a.Kind.Resource] {
		return nil
	}
	e := quota.For(a.Kind.Group, a.Kind.Resource)
	if a.Operation == admission.Update && (a.OldObject == nil || !e.ChargedOnUpdate(a.OldObject, a.Object)) {
		return nil
	}
	lock := p.lock(a.Namespace)
	lock.Lock()
	defer lock.Unlock()

	quotas := p.cached(a.Namespace)
	if len(quotas) == 0 {
		return nil
	}
	done := map[string]bool{} // quotas charged already, by UID (kept across retries)
	for attempt := 1; ; attempt++ {
		charged, err := p.check(a, e, quotas)
		if err != nil || len(charged) == 0 || a.DryRun {
			return err
		}
		err = p.charge(ctx, charged, done)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) || attempt == maxAttempts {
			return fmt.Errorf("charging quota: %w", err)
		}
		live, err := p.store.Live(ctx, a.Namespace)
		if err != nil {
			return fmt.Errorf("reading quotas: %w", err)
		}
		p.remember(live...)
		quotas = slices.DeleteFunc(live, func(q *core.ResourceQuota) bool { return done[string(q.UID)] })
	}
}

// ignored are the kinds quota never counts, as Kubernetes' default configuration has it.
var ignored = map[string]bool{
	"/events": true, "events.k8s.io/events": true,
}

func (p *Plugin) lock(ns string) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.locks[ns]
	if !ok {
		l = &sync.Mutex{}
		p.locks[ns] = l
	}
	return l
}

// cached is the namespace's quotas from the cache, each replaced by the one this plugin
// wrote if that is newer (resourceVersions are etcd revisions: comparable).
func (p *Plugin) cached(ns string) []*core.ResourceQuota {
	list := p.store.Cached(ns)
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*core.ResourceQuota, len(list))
	for i, q := range list {
		out[i] = q
		if w, ok := p.written[ns+"/"+q.Name]; ok && w.UID == q.UID && rv(w) > rv(q) {
			out[i] = w
		}
	}
	// Forget quotas the cache no longer has (deleted).
	for key, w := range p.written {
		if w.Namespace == ns && !slices.ContainsFunc(list, func(q *core.ResourceQuota) bool { return q.UID == w.UID }) && rv(w) <= maxRV(list) {
			delete(p.written, key)
		}
	}
	return out
}

func (p *Plugin) remember(qs ...*core.ResourceQuota) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, q := range qs {
		if w, ok := p.written[q.Namespace+"/"+q.Name]; !ok || w.UID != q.UID || rv(q) >= rv(w) {
			p.written[q.Namespace+"/"+q.Name] = q
		}
	}
}

func rv(q *core.ResourceQuota) int64 {
	n, _ := strconv.ParseInt(q.ResourceVersion, 10, 64)
	return n
}

func maxRV(list []*core.ResourceQuota) int64 {
	var m int64
	for _, q := range list {
		m = max(m, rv(q))
	}
	return m
}

// check returns the quotas with the request's usage added, or the refusal. It is Kubernetes'
// CheckRequest.
func (p *Plugin) check(a *admission.Attributes, e quota.Evaluator, quotas []*core.ResourceQuota) ([]*core.ResourceQuota, error) {
	var matching []*core.ResourceQuota
	for _, q := range quotas {
		if !quota.Matches(q, e, a.Object) {
			continue
		}
		restricted := e.MatchingResources(quota.ResourceNames(q.Status.Hard))
		if err := e.Constraints(restricted, a.Object); err != nil {
			return nil, admission.Forbidden(a, fmt.Sprintf("failed quota: %s: %v", q.Name, err))
		}
		for _, r := range restricted {
			if _, ok := q.Status.Used[r]; !ok {
				return nil, admission.Forbidden(a, fmt.Sprintf("status unknown for quota: %s, resources: %s", q.Name, quota.PrettyPrintNames(restricted)))
			}
		}
		matching = append(matching, q)
	}
	if len(matching) == 0 {
		return nil, nil
	}
	now := p.now()
	usage := e.Usage(a.Object, now)
	if neg := quota.IsNegative(usage); len(neg) > 0 {
		return nil, admission.Forbidden(a, "quota usage is negative for resource(s): "+quota.PrettyPrintNames(neg))
	}
	var out []*core.ResourceQuota
	for _, q := range matching {
		delta := usage
		if a.Operation == admission.Update && a.OldObject.GetObjectMeta().ResourceVersion != "" && quota.Matches(q, e, a.OldObject) {
			delta = quota.SubtractWithNonNegativeResult(usage, e.Usage(a.OldObject, now))
		}
		requested := quota.RemoveZeros(quota.Mask(delta, quota.ResourceNames(q.Status.Hard)))
		if len(requested) == 0 {
			continue
		}
		newUsed := quota.Add(q.Status.Used, requested)
		if ok, exceeded := quota.LessThanOrEqual(quota.Mask(newUsed, quota.ResourceNames(requested)), q.Status.Hard); !ok {
			return nil, admission.Forbidden(a, fmt.Sprintf("exceeded quota: %s, requested: %s, used: %s, limited: %s", q.Name,
				quota.PrettyPrint(quota.Mask(requested, exceeded)),
				quota.PrettyPrint(quota.Mask(q.Status.Used, exceeded)),
				quota.PrettyPrint(quota.Mask(q.Status.Hard, exceeded))))
		}
		n := *q
		n.Status = core.ResourceQuotaStatus{Hard: q.Status.Hard, Used: newUsed}
		out = append(out, &n)
	}
	return out, nil
}

// charge writes the new usage of every quota, recording in done those written. After a
// conflict on the second of two quotas only the second is checked and charged again; if it
// then refuses, the first stays charged for an object never stored, until the controller's
// next recalculation releases it, as in Kubernetes.
func (p *Plugin) charge(ctx context.Context, qs []*core.ResourceQuota, done map[string]bool) error {
	for _, q := range qs {
		stored, err := p.store.UpdateStatus(ctx, q)
		if err != nil {
			return err
		}
		done[string(q.UID)] = true
		p.remember(stored)
	}
	return nil
}
