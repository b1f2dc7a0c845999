package podautoscaler

import (
	"math"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/autoscaling"
)

// The memory of past decisions Kubernetes' controller keeps per autoscaler (in memory: a
// restarted controller starts afresh, as Kubernetes' does): recent recommendations, for the
// stabilization windows, and recent scale events, for the rate policies.

type recommendation struct {
	replicas int32
	at       time.Time
}

type scaleEvent struct {
	change   int32
	at       time.Time
	outdated bool
}

// history is one autoscaler's memory.
type history struct {
	recommendations []recommendation
	up, down        []scaleEvent
}

// memory holds every autoscaler's history by key.
type memory struct {
	mu  sync.Mutex
	now func() time.Time
	// downscaleWindow is the stabilization window of autoscalers without behavior, and of a
	// behavior's scaleDown without one (default 5m, --horizontal-pod-autoscaler-downscale-stabilization).
	downscaleWindow time.Duration
	m               map[string]*history
}

func newMemory(now func() time.Time, downscaleWindow time.Duration) *memory {
	return &memory{now: now, downscaleWindow: downscaleWindow, m: map[string]*history{}}
}

func (m *memory) get(key string) *history {
	h := m.m[key]
	if h == nil {
		h = &history{}
		m.m[key] = h
	}
	return h
}

func (m *memory) forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
}

// recordInitial remembers the current size as the first recommendation.
func (m *memory) recordInitial(key string, current int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.get(key); h.recommendations == nil {
		h.recommendations = []recommendation{{current, m.now()}}
	}
}

// add appends a recommendation, reusing a slot older than cutoff if there is one.
func (h *history) add(r recommendation, reuse func(recommendation) bool) {
	for i, old := range h.recommendations {
		if reuse(old) {
			h.recommendations[i] = r
			return
		}
	}
	h.recommendations = append(h.recommendations, r)
}

// stabilize is stabilizeRecommendation (no behavior): the highest recommendation of the
// downscale window.
func (m *memory) stabilize(key string, desired int32) int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	cutoff := now.Add(-m.downscaleWindow)
	h := m.get(key)
	highest := desired
	for _, r := range h.recommendations {
		if !r.at.Before(cutoff) && r.replicas > highest {
			highest = r.replicas
		}
	}
	h.add(recommendation{desired, now}, func(r recommendation) bool { return r.at.Before(cutoff) })
	return highest
}

// stabilizeWithBehavior is stabilizeRecommendationWithBehaviors: the current size moved
// toward desired only as far as every recommendation of the windows agrees (the lowest of the
// scale-up window, the highest of the scale-down window).
func (m *memory) stabilizeWithBehavior(key string, current, desired int32, up, down *autoscaling.HPAScalingRules) (int32, string, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	upCutoff := now.Add(-time.Duration(deref(up.StabilizationWindowSeconds)) * time.Second)
	downCutoff := now.Add(-time.Duration(deref(down.StabilizationWindowSeconds)) * time.Second)
	upRec, downRec := desired, desired
	h := m.get(key)
	for _, r := range h.recommendations {
		if r.at.After(upCutoff) {
			upRec = min(r.replicas, upRec)
		}
		if r.at.After(downCutoff) {
			downRec = max(r.replicas, downRec)
		}
	}
	rec := max(current, upRec)
	rec = min(rec, downRec)
	h.add(recommendation{desired, now}, func(r recommendation) bool { return r.at.Before(upCutoff) && r.at.Before(downCutoff) })
	if desired >= current {
		return rec, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
	}
	return rec, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
}

// storeScaleEvent remembers a change of size for the rate policies (with behavior only).
func (m *memory) storeScaleEvent(key string, b *autoscaling.HorizontalPodAutoscalerBehavior, prev, next int32) {
	if b == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	h, now := m.get(key), m.now()
	events, rules, change := &h.up, b.ScaleUp, next-prev
	if next < prev {
		events, rules, change = &h.down, b.ScaleDown, prev-next
	}
	cutoff := now.Add(-time.Duration(longestPeriod(rules)) * time.Second)
	ev := scaleEvent{change: change, at: now}
	for i := range *events {
		if (*events)[i].at.Before(cutoff) {
			(*events)[i].outdated = true
		}
	}
	for i := range *events {
		if (*events)[i].outdated {
			(*events)[i] = ev
			return
		}
	}
	*events = append(*events, ev)
}

// limitByRate is convertDesiredReplicasWithBehaviorRate.
func (m *memory) limitByRate(key string, current, desired, minReplicas, maxReplicas int32, up, down *autoscaling.HPAScalingRules) (int32, string, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, now := m.get(key), m.now()
	switch {
	case desired > current:
		limit := max(scaleUpLimit(now, current, h.up, h.down, up), current)
		allowed, reason, msg := maxReplicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
		if allowed > limit {
			allowed, reason, msg = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
		}
		if desired > allowed {
			return allowed, reason, msg
		}
	case desired < current:
		limit := min(scaleDownLimit(now, current, h.up, h.down, down), current)
		allowed, reason, msg := minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
		if allowed < limit {
			allowed, reason, msg = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
		}
		if desired < allowed {
			return allowed, reason, msg
		}
	}
	return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
}

// limitByRules is convertDesiredReplicasWithRules (no behavior): within min and max, and up
// by at most a factor of 2 (or to 4).
func limitByRules(current, desired, minReplicas, maxReplicas int32) (int32, string, string) {
	upLimit := int32(math.Max(2*float64(current), 4))
	allowed, reason, msg := maxReplicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
	if maxReplicas > upLimit {
		allowed, reason, msg = upLimit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
	}
	if desired < minReplicas {
		return minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
	}
	if desired > allowed {
		return allowed, reason, msg
	}
	return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
}

func changeInPeriod(now time.Time, periodSeconds int32, events []scaleEvent) int32 {
	cutoff := now.Add(-time.Duration(periodSeconds) * time.Second)
	var n int32
	for _, e := range events {
		if e.at.After(cutoff) {
			n += e.change
		}
	}
	return n
}

func scaleUpLimit(now time.Time, current int32, up, down []scaleEvent, rules *autoscaling.HPAScalingRules) int32 {
	sel := derefPolicy(rules.SelectPolicy)
	if sel == autoscaling.DisabledPolicySelect {
		return current
	}
	result, pick := int32(math.MinInt32), func(a, b int32) int32 { return max(a, b) }
	if sel == autoscaling.MinChangePolicySelect {
		result, pick = math.MaxInt32, func(a, b int32) int32 { return min(a, b) }
	}
	for _, p := range rules.Policies {
		start := current - changeInPeriod(now, p.PeriodSeconds, up) + changeInPeriod(now, p.PeriodSeconds, down)
		var proposed int32
		if p.Type == autoscaling.PodsScalingPolicy {
			proposed = start + p.Value
		} else {
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

func scaleDownLimit(now time.Time, current int32, up, down []scaleEvent, rules *autoscaling.HPAScalingRules) int32 {
	sel := derefPolicy(rules.SelectPolicy)
	if sel == autoscaling.DisabledPolicySelect {
		return current
	}
	result, pick := int32(math.MaxInt32), func(a, b int32) int32 { return min(a, b) }
	if sel == autoscaling.MinChangePolicySelect {
		result, pick = math.MinInt32, func(a, b int32) int32 { return max(a, b) }
	}
	for _, p := range rules.Policies {
		start := current - changeInPeriod(now, p.PeriodSeconds, up) + changeInPeriod(now, p.PeriodSeconds, down)
		var proposed int32
		if p.Type == autoscaling.PodsScalingPolicy {
			proposed = start - p.Value
		} else {
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

func longestPeriod(r *autoscaling.HPAScalingRules) int32 {
	var longest int32
	if r == nil {
		return 0
	}
	for _, p := range r.Policies {
		longest = max(longest, p.PeriodSeconds)
	}
	return longest
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func derefPolicy(p *autoscaling.ScalingPolicySelect) autoscaling.ScalingPolicySelect {
	if p == nil {
		return autoscaling.MaxChangePolicySelect
	}
	return *p
}

// The rules of a behavior that leaves a direction out (the API server's defaults fill them
// in; these are for objects written before).
func defaultScaleUp() *autoscaling.HPAScalingRules {
	maxPolicy, w := autoscaling.MaxChangePolicySelect, int32(0)
	return &autoscaling.HPAScalingRules{StabilizationWindowSeconds: &w, SelectPolicy: &maxPolicy, Policies: []autoscaling.HPAScalingPolicy{
		{Type: autoscaling.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}, {Type: autoscaling.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}}
}

func defaultScaleDown() *autoscaling.HPAScalingRules {
	maxPolicy := autoscaling.MaxChangePolicySelect
	return &autoscaling.HPAScalingRules{SelectPolicy: &maxPolicy, Policies: []autoscaling.HPAScalingPolicy{
		{Type: autoscaling.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}}
}
