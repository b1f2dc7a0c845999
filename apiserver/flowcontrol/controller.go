package flowcontrol

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/defaults"
	fc "github.com/skiff-sh/skiff/api/flowcontrol"
)

//go:embed defaults.yaml
var defaultsYAML string

// Defaults are Kubernetes' mandatory and suggested configuration objects, defaulted. The
// API server creates them at start when missing, and the Controller uses them until it
// has read the stored ones.
func Defaults() ([]*fc.FlowSchema, []*fc.PriorityLevelConfiguration) {
	var schemas []*fc.FlowSchema
	var levels []*fc.PriorityLevelConfiguration
	for _, doc := range strings.Split(defaultsYAML, "\n---\n") {
		switch {
		case strings.Contains(doc, "\nkind: FlowSchema\n"):
			fs := &fc.FlowSchema{}
			if err := yaml.UnmarshalStrict([]byte(doc), fs); err != nil {
				panic(fmt.Sprintf("flowcontrol defaults: %v", err)) // embedded: a build-time error
			}
			defaults.FlowSchema(fs)
			schemas = append(schemas, fs)
		case strings.Contains(doc, "\nkind: PriorityLevelConfiguration\n"):
			pl := &fc.PriorityLevelConfiguration{}
			if err := yaml.UnmarshalStrict([]byte(doc), pl); err != nil {
				panic(fmt.Sprintf("flowcontrol defaults: %v", err))
			}
			defaults.PriorityLevelConfiguration(pl)
			levels = append(levels, pl)
		}
	}
	return schemas, levels
}

// ErrRejected is wrapped by Acquire's error when a request gets no seat: the level
// rejects rather than queues, its queue is full, or the wait passed its limit.
var ErrRejected = errors.New("too many requests")

// Classification says where a request went: the response carries the UIDs in
// X-Kubernetes-PF-FlowSchema-UID and X-Kubernetes-PF-PriorityLevel-UID.
type Classification struct {
	FlowSchema, FlowSchemaUID       string
	PriorityLevel, PriorityLevelUID string
}

// Controller classifies requests and hands out seats. Its configuration is replaced by
// Update whenever the FlowSchemas or PriorityLevelConfigurations change; levels keep
// their executing and waiting requests across updates.
type Controller struct {
	serverLimit int
	metrics     *Metrics

	mu      sync.Mutex
	schemas []*fc.FlowSchema // by matchingPrecedence, then name; none dangling
	levels  map[string]*level
	order   []*level // the levels by name, for dispatching in turn
	cursor  int
	total   int // the limited levels' nominal seats (rounded up each, so ≥ serverLimit)
}

// New makes a controller sharing serverLimit seats among the limited levels, configured
// with the defaults until the first Update. metrics may be nil.
func New(serverLimit int, metrics *Metrics) *Controller {
	c := &Controller{serverLimit: serverLimit, metrics: metrics, levels: map[string]*level{}}
	c.Update(Defaults())
	return c
}

// Update installs a configuration. Schemas naming a level that does not exist are
// dangling and ignored, as in Kubernetes; a missing catch-all level or schema is supplied
// from the defaults, so every request is classified.
func (c *Controller) Update(schemas []*fc.FlowSchema, levels []*fc.PriorityLevelConfiguration) {
	defSchemas, defLevels := Defaults()
	levels = withMandatory(levels, defLevels, func(pl *fc.PriorityLevelConfiguration) string { return pl.Name })
	schemas = withMandatory(schemas, defSchemas, func(fs *fc.FlowSchema) string { return fs.Name })

	shares := 0.0
	for _, pl := range levels {
		shares += float64(nominalShares(pl))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[string]*level{}
	for _, pl := range levels {
		l := c.levels[pl.Name]
		if l == nil {
			l = &level{name: pl.Name}
		}
		limit := 0
		if shares > 0 {
			limit = int(math.Ceil(float64(c.serverLimit) * float64(nominalShares(pl)) / shares))
		}
		l.configure(pl, max(limit, 1))
		next[pl.Name] = l
		c.metrics.nominalLimit(pl.Name, l.limit)
	}
	c.total, c.order = 0, c.order[:0]
	for _, l := range next {
		if !l.exempt {
			c.total += l.limit
		}
		c.order = append(c.order, l)
	}
	sort.Slice(c.order, func(i, j int) bool { return c.order[i].name < c.order[j].name })
	// A level that went away lets its waiting requests run: nothing would dispatch them.
	for name, l := range c.levels {
		if next[name] == nil {
			l.releaseAllWaiting()
		}
	}
	c.levels = next
	c.schemas = c.schemas[:0]
	for _, fs := range schemas {
		if next[fs.Spec.PriorityLevelConfiguration.Name] != nil {
			c.schemas = append(c.schemas, fs)
		}
	}
	sort.SliceStable(c.schemas, func(i, j int) bool {
		a, b := c.schemas[i], c.schemas[j]
		if a.Spec.MatchingPrecedence != b.Spec.MatchingPrecedence {
			return a.Spec.MatchingPrecedence < b.Spec.MatchingPrecedence
		}
		return a.Name < b.Name
	})
	c.dispatchLocked() // larger limits may free seats at once
}

// Borrowing. Each limited level owns its nominal seats; of those it may lend its lendable
// part while idle, keeping minSeats for itself, and it may borrow beyond its limit (up to
// its borrowing limit) what other levels lend and do not use. The accounting: a level
// holds max(executing, minSeats) of the server's seats — what it uses, but never less than
// what it keeps — and those holdings may not add up to more than the nominal total. A
// level within its own seats is so refused only while they are lent out; it gets them back
// as the borrowers' requests finish (nothing is preempted), and freed seats go to levels
// within their own limits before any borrower. Kubernetes reaches the same bounds by
// re-dividing the seats every 10 s by each level's smoothed demand; skiff lends and takes
// back at each dispatch instead.

// fitsLocked tells whether l may take n more seats now.
func (c *Controller) fitsLocked(l *level, n int) bool {
	if l.exempt {
		return true
	}
	if l.executing+n > l.maxLimit(c.total) {
		return false
	}
	held := 0
	for _, o := range c.order {
		if !o.exempt {
			held += max(o.executing, o.minSeats())
		}
	}
	held += max(l.executing+n, l.minSeats()) - max(l.executing, l.minSeats())
	return held <= c.total
}

// ownFitsLocked is fitsLocked within the level's own nominal seats.
func (c *Controller) ownFitsLocked(l *level, n int) bool {
	return (l.exempt || l.executing+n <= l.limit) && c.fitsLocked(l, n)
}

// dispatchLocked gives free seats to waiting requests: first to every level within its own
// seats, then to levels that borrow, starting from a rotating cursor so that borrowers
// take turns.
func (c *Controller) dispatchLocked() {
	for _, fits := range []fitsFunc{c.ownFitsLocked, c.fitsLocked} {
		for i := range c.order {
			if l := c.order[(c.cursor+i)%len(c.order)]; l.waiting > 0 {
				l.dispatch(fits)
			}
		}
	}
	if len(c.order) > 0 {
		c.cursor = (c.cursor + 1) % len(c.order)
	}
}

// Dangling reports whether fs names a priority level the controller does not have.
func (c *Controller) Dangling(fs *fc.FlowSchema) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.levels[fs.Spec.PriorityLevelConfiguration.Name] == nil
}

func withMandatory[T any](have, defaults []T, name func(T) string) []T {
	out := append([]T(nil), have...)
	for _, d := range defaults {
		n := name(d)
		if n != fc.FlowSchemaNameCatchAll && n != fc.FlowSchemaNameExempt {
			continue
		}
		found := false
		for _, h := range have {
			found = found || name(h) == n
		}
		if !found {
			out = append(out, d)
		}
	}
	return out
}

func nominalShares(pl *fc.PriorityLevelConfiguration) int32 {
	switch {
	case pl.Spec.Limited != nil && pl.Spec.Limited.NominalConcurrencyShares != nil:
		return *pl.Spec.Limited.NominalConcurrencyShares
	case pl.Spec.Exempt != nil && pl.Spec.Exempt.NominalConcurrencyShares != nil:
		return *pl.Spec.Exempt.NominalConcurrencyShares
	case pl.Spec.Limited != nil:
		return 30
	}
	return 0
}

// Classify finds r's schema and level without taking a seat (for long-running requests).
func (c *Controller) Classify(r Request) Classification {
	c.mu.Lock()
	defer c.mu.Unlock()
	fs, l := c.classifyLocked(r)
	return Classification{FlowSchema: fs.Name, FlowSchemaUID: string(fs.UID), PriorityLevel: l.name, PriorityLevelUID: l.uid}
}

func (c *Controller) classifyLocked(r Request) (*fc.FlowSchema, *level) {
	for _, fs := range c.schemas {
		if matches(fs, r) {
			return fs, c.levels[fs.Spec.PriorityLevelConfiguration.Name]
		}
	}
	// Unreachable while catch-all matches everyone; kept so a request is never lost.
	fs := &fc.FlowSchema{}
	fs.Name = fc.FlowSchemaNameCatchAll
	return fs, c.levels[fc.PriorityLevelConfigurationNameCatchAll]
}

// Acquire classifies r and waits for a seat in its level, at most until ctx is done. The
// returned release must be called when the request has been served. The error wraps
// ErrRejected when no seat was given.
func (c *Controller) Acquire(ctx context.Context, r Request) (Classification, func(), error) {
	start := time.Now()
	c.mu.Lock()
	fs, l := c.classifyLocked(r)
	cls := Classification{FlowSchema: fs.Name, FlowSchemaUID: string(fs.UID), PriorityLevel: l.name, PriorityLevelUID: l.uid}
	flow := fs.Name + "\x00" + flowDistinguisher(fs, r)
	seats := max(1, min(r.Seats, l.maxSeats))
	q, w, reason := l.enter(flow, seats, c.fitsLocked)
	c.mu.Unlock()
	if !l.exempt {
		c.metrics.estimated(cls, seats)
	}
	if reason != "" {
		c.metrics.rejected(cls, reason)
		return cls, nil, fmt.Errorf("%w: priority level %q: %s", ErrRejected, l.name, reason)
	}
	c.metrics.waiting(cls.PriorityLevel, 1)
	if w != nil {
		select {
		case <-w.ready:
		case <-ctx.Done():
			c.mu.Lock()
			dispatched := w.dispatched
			if !dispatched {
				l.leave(w)
			}
			c.mu.Unlock()
			if !dispatched {
				c.metrics.waiting(cls.PriorityLevel, -1)
				reason := "time-out"
				if errors.Is(ctx.Err(), context.Canceled) {
					reason = "cancelled"
				}
				c.metrics.rejected(cls, reason)
				return cls, nil, fmt.Errorf("%w: priority level %q: waited %s in queue", ErrRejected, l.name, time.Since(start).Round(time.Millisecond))
			}
		}
		c.mu.Lock()
		q = w.q         // re-dealt if the level's queues changed while it waited
		seats = w.seats // lowered if the level shrank while it waited
		c.mu.Unlock()
	}
	c.metrics.waiting(cls.PriorityLevel, -1)
	c.metrics.dispatched(cls, time.Since(start), seats)
	var once sync.Once
	return cls, func() {
		once.Do(func() {
			c.mu.Lock()
			l.done(q, seats)
			c.dispatchLocked()
			c.mu.Unlock()
			c.metrics.finished(cls.PriorityLevel, seats)
		})
	}, nil
}

// flowHash is the flow's shuffle-sharding hash.
func flowHash(flow string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(flow))
	return h.Sum64()
}
