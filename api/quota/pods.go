package quota

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// podResources are the quota resources a pod is counted by (besides hugepages and extended
// resources, matched by prefix).
var podResources = []core.ResourceName{
	"count/pods", core.ResourceCPU, core.ResourceMemory, core.ResourceEphemeralStorage,
	core.ResourceRequestsCPU, core.ResourceRequestsMemory, core.ResourceRequestsEphemeralStorage,
	core.ResourceLimitsCPU, core.ResourceLimitsMemory, core.ResourceLimitsEphemeralStorage,
	core.ResourcePods,
}

// requiredOnContainers are the resources that, when a quota tracks them, every container must
// declare: Kubernetes calls this a mistake it keeps for compatibility.
var requiredOnContainers = map[core.ResourceName]bool{
	core.ResourceCPU: true, core.ResourceMemory: true,
	core.ResourceRequestsCPU: true, core.ResourceRequestsMemory: true,
	core.ResourceLimitsCPU: true, core.ResourceLimitsMemory: true,
}

type podEvaluator struct{}

func (podEvaluator) MatchingResources(hard []core.ResourceName) []core.ResourceName {
	out := Intersection(hard, podResources)
	for _, h := range hard {
		s := string(h)
		if strings.HasPrefix(s, core.ResourceHugePagesPrefix) || strings.HasPrefix(s, core.ResourceRequestsHugePagesPrefix) ||
			(strings.HasPrefix(s, core.DefaultResourceRequestsPrefix) && strings.Contains(s, "/")) {
			out = append(out, h)
		}
	}
	return out
}

func (podEvaluator) MatchesScope(sel core.ScopedResourceSelectorRequirement, obj meta.Object) bool {
	pod, ok := obj.(*core.Pod)
	if !ok {
		return false
	}
	switch sel.ScopeName {
	case core.ResourceQuotaScopeTerminating:
		return IsTerminating(pod)
	case core.ResourceQuotaScopeNotTerminating:
		return !IsTerminating(pod)
	case core.ResourceQuotaScopeBestEffort:
		return core.GetPodQOS(pod) == core.PodQOSBestEffort
	case core.ResourceQuotaScopeNotBestEffort:
		return core.GetPodQOS(pod) != core.PodQOSBestEffort
	case core.ResourceQuotaScopePriorityClass:
		return matchesPriorityClass(sel, pod.Spec.PriorityClassName)
	case core.ResourceQuotaScopeCrossNamespacePodAffinity:
		return usesCrossNamespaceAffinity(pod)
	}
	return false
}

// matchesPriorityClass evaluates a PriorityClass requirement as Kubernetes does: as a label
// selector over the set {PriorityClass: <the pod's class>} (empty when it has none).
func matchesPriorityClass(sel core.ScopedResourceSelectorRequirement, class string) bool {
	in := false
	for _, v := range sel.Values {
		if v == class {
			in = true
		}
	}
	switch sel.Operator {
	case core.ScopeSelectorOpExists:
		return class != ""
	case core.ScopeSelectorOpDoesNotExist:
		return class == ""
	case core.ScopeSelectorOpIn:
		return class != "" && in
	case core.ScopeSelectorOpNotIn:
		return class == "" || !in
	}
	return false
}

func usesCrossNamespaceAffinity(pod *core.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	cross := func(t core.PodAffinityTerm) bool { return len(t.Namespaces) > 0 || t.NamespaceSelector != nil }
	check := func(req []core.PodAffinityTerm, pref []core.WeightedPodAffinityTerm) bool {
		for _, t := range req {
			if cross(t) {
				return true
			}
		}
		for _, t := range pref {
			if cross(t.PodAffinityTerm) {
				return true
			}
		}
		return false
	}
	if a.PodAffinity != nil && check(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution) {
		return true
	}
	return a.PodAntiAffinity != nil && check(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
}

// Constraints: under a quota of cpu or memory, every container must declare it. The message
// is Kubernetes': "must specify limits.cpu for: a,b; requests.memory for: a".
func (podEvaluator) Constraints(required []core.ResourceName, obj meta.Object) error {
	pod, ok := obj.(*core.Pod)
	if !ok {
		return nil
	}
	missing := map[core.ResourceName][]string{}
	check := func(c *core.Container) {
		have := containerUsage(c.Resources.Requests, c.Resources.Limits)
		for _, r := range required {
			if _, ok := have[r]; requiredOnContainers[r] && !ok {
				missing[r] = append(missing[r], c.Name)
			}
		}
	}
	for i := range pod.Spec.Containers {
		check(&pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		check(&pod.Spec.InitContainers[i])
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, 0, len(missing))
	for r := range missing {
		names = append(names, string(r))
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, r := range names {
		cs := missing[core.ResourceName(r)]
		sort.Strings(cs)
		parts[i] = r + " for: " + strings.Join(dedup(cs), ",")
	}
	return fmt.Errorf("must specify %s", strings.Join(parts, "; "))
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (podEvaluator) ChargedOnUpdate(old, new meta.Object) bool {
	o, ok1 := old.(*core.Pod)
	n, ok2 := new.(*core.Pod)
	return ok1 && ok2 && IsTerminating(o) != IsTerminating(n)
}

// Usage: count/pods always (object counts track what is stored); the rest only while the
// pod is counted (see Counted).
func (podEvaluator) Usage(obj meta.Object, now time.Time) core.ResourceList {
	pod, ok := obj.(*core.Pod)
	if !ok {
		return core.ResourceList{}
	}
	out := core.ResourceList{"count/pods": one()}
	if !Counted(pod, now) {
		return out
	}
	return Add(out, containerUsage(PodRequests(pod), PodLimits(pod)))
}

// Counted reports whether a pod counts for compute quota: not when it has finished, nor when
// its deletion's grace period is over (a pod stuck on a lost node should not block its
// replacement).
func Counted(pod *core.Pod, now time.Time) bool {
	if pod.Status.Phase == core.PodFailed || pod.Status.Phase == core.PodSucceeded {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		end := pod.DeletionTimestamp.Time.Add(time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second)
		if now.After(end) {
			return false
		}
	}
	return true
}

// IsTerminating: a pod with activeDeadlineSeconds falls in the Terminating scope.
func IsTerminating(pod *core.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// containerUsage turns requests and limits into quota resources (Kubernetes'
// podComputeUsageHelper).
func containerUsage(requests, limits core.ResourceList) core.ResourceList {
	out := core.ResourceList{core.ResourcePods: one()}
	for _, r := range []struct{ res, req, lim core.ResourceName }{
		{core.ResourceCPU, core.ResourceRequestsCPU, core.ResourceLimitsCPU},
		{core.ResourceMemory, core.ResourceRequestsMemory, core.ResourceLimitsMemory},
		{core.ResourceEphemeralStorage, core.ResourceRequestsEphemeralStorage, core.ResourceLimitsEphemeralStorage},
	} {
		if q, ok := requests[r.res]; ok {
			out[r.res] = q
			out[r.req] = q
		}
		if q, ok := limits[r.res]; ok {
			out[r.lim] = q
		}
	}
	for name, q := range requests {
		s := string(name)
		switch {
		case strings.HasPrefix(s, core.ResourceHugePagesPrefix):
			out[name] = q
			out[core.ResourceName(core.DefaultResourceRequestsPrefix+s)] = q
		case strings.Contains(s, "/") && !strings.HasPrefix(s, core.ResourceDefaultNamespacePrefix):
			// an extended resource: quota only as requests.<name>
			out[core.ResourceName(core.DefaultResourceRequestsPrefix+s)] = q
		}
	}
	return out
}

// PodRequests is what a pod requests, with Kubernetes' rules: containers add up; an init
// container runs alone, so the pod needs the larger of it and the sum, except that sidecars
// (restartable init containers) keep running and add to everything after them; overhead adds
// on top.
func PodRequests(pod *core.Pod) core.ResourceList {
	sum := podAggregate(pod, func(c *core.Container) core.ResourceList { return c.Resources.Requests })
	if len(pod.Spec.Overhead) > 0 {
		sum = Add(sum, pod.Spec.Overhead)
	}
	return sum
}

// PodLimits is PodRequests for limits.
func PodLimits(pod *core.Pod) core.ResourceList {
	sum := podAggregate(pod, func(c *core.Container) core.ResourceList { return c.Resources.Limits })
	// Overhead adds only to the limits the pod sets (no limit stays no limit).
	for k, v := range pod.Spec.Overhead {
		if q, ok := sum[k]; ok {
			q.Add(v)
			sum[k] = q
		}
	}
	return sum
}

func podAggregate(pod *core.Pod, get func(*core.Container) core.ResourceList) core.ResourceList {
	sum := core.ResourceList{}
	for i := range pod.Spec.Containers {
		sum = Add(sum, get(&pod.Spec.Containers[i]))
	}
	sidecars, initMax := core.ResourceList{}, core.ResourceList{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := get(c)
		if c.RestartPolicy != nil && *c.RestartPolicy == core.ContainerRestartPolicyAlways {
			sum = Add(sum, r)
			sidecars = Add(sidecars, r)
			initMax = maxList(initMax, sidecars)
			continue
		}
		initMax = maxList(initMax, Add(sidecars, r))
	}
	return maxList(sum, initMax)
}

func maxList(a, b core.ResourceList) core.ResourceList {
	out := core.ResourceList{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if cur, ok := out[k]; !ok || v.Cmp(cur) > 0 {
			out[k] = v
		}
	}
	return out
}
