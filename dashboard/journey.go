package dashboard

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/scheduling"
)

// Step states.
const (
	StateDone    = "done"    // happened, at Time
	StateWaiting = "waiting" // being tried, not there yet (unschedulable, image pulling, not ready)
	StateFailed  = "failed"  // tried and failed (pull error, crash loop, sandbox error)
	StatePending = "pending" // not reached yet
)

// Step is one stage of a pod's journey through the components.
type Step struct {
	Stage  string     `json:"stage"` // created, admitted, scheduled, sandbox, image, started, ready, terminated
	Title  string     `json:"title"`
	State  string     `json:"state"`
	Time   *time.Time `json:"time,omitempty"` // when it happened; nil when not reached or not recorded
	By     string     `json:"by,omitempty"`   // the component that did it
	Detail []string   `json:"detail,omitempty"`
}

// EventLine is one Event about the pod, as `kubectl describe` lists them.
type EventLine struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	From    string    `json:"from"`
	Message string    `json:"message"`
	Count   int32     `json:"count"`
}

// Journey is a pod's way from creation to termination, assembled from what the API keeps:
// metadata (managedFields, owners), status (conditions, container states), the events the
// components recorded, and the scheduler's decision annotation.
type Journey struct {
	Pod      PodRef               `json:"pod"`
	Steps    []Step               `json:"steps"`
	Events   []EventLine          `json:"events"`
	Decision *scheduling.Decision `json:"decision,omitempty"`
	// Deleted is when the dashboard saw the pod removed from the API (its last state is shown).
	Deleted *time.Time `json:"deleted,omitempty"`
}

// BuildJourney assembles the journey of pod from its events (those about other objects
// are ignored, so the caller may pass more).
func BuildJourney(pod *core.Pod, events []*core.Event) Journey {
	evs := eventsOf(pod, events)
	j := Journey{Pod: podRef(pod), Events: make([]EventLine, 0, len(evs))}
	for _, e := range evs {
		j.Events = append(j.Events, EventLine{Time: eventTime(e), Type: e.Type, Reason: e.Reason,
			From: cmp.Or(e.Source.Component, e.ReportingController), Message: e.Message, Count: max(e.Count, 1)})
	}
	if raw := pod.Annotations[scheduling.DecisionAnnotation]; raw != "" {
		var d scheduling.Decision
		if json.Unmarshal([]byte(raw), &d) == nil {
			j.Decision = &d
		}
	}
	node := "kubelet"
	if pod.Spec.NodeName != "" {
		node = "kubelet on " + pod.Spec.NodeName
	}
	j.Steps = append(j.Steps, createdStep(pod), admittedStep(pod), scheduledStep(pod, evs, j.Decision), sandboxStep(pod, evs, node))
	j.Steps = append(j.Steps, imageSteps(pod, evs, node)...)
	j.Steps = append(j.Steps, startedSteps(pod, evs, node)...)
	j.Steps = append(j.Steps, readyStep(pod, evs, node), terminatedStep(pod, evs, node))
	return j
}

// eventsOf keeps the events about pod (this pod: same UID when both carry one), oldest first.
func eventsOf(pod *core.Pod, events []*core.Event) []*core.Event {
	var out []*core.Event
	for _, e := range events {
		o := e.InvolvedObject
		if o.Kind != "Pod" || o.Namespace != pod.Namespace || o.Name != pod.Name {
			continue
		}
		if o.UID != "" && pod.UID != "" && o.UID != pod.UID {
			continue // an earlier pod of the same name
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b *core.Event) int { return eventTime(a).Compare(eventTime(b)) })
	return out
}

func eventTime(e *core.Event) time.Time {
	switch {
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func at(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// find returns the events with one of reasons (and, when match is set, a message containing it).
func find(evs []*core.Event, match string, reasons ...string) []*core.Event {
	var out []*core.Event
	for _, e := range evs {
		if slices.Contains(reasons, e.Reason) && strings.Contains(e.Message, match) {
			out = append(out, e)
		}
	}
	return out
}

func condition(pod *core.Pod, t core.PodConditionType) *core.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// managedFieldsEntry is the part of a managedFields entry the journey reads.
type managedFieldsEntry struct {
	Manager     string    `json:"manager"`
	Operation   string    `json:"operation"`
	Subresource string    `json:"subresource"`
	Time        meta.Time `json:"time"`
}

// creator is the field manager that wrote the object's spec first: for a create that is the
// client that created it (kubectl-create, kubectl-client-side-apply, skiff-controller-manager).
func creator(pod *core.Pod) string {
	var first *managedFieldsEntry
	for _, raw := range pod.ManagedFields {
		var e managedFieldsEntry
		if json.Unmarshal(raw, &e) != nil || e.Subresource != "" {
			continue
		}
		if first == nil || e.Time.Before(first.Time.Time) {
			first = &e
		}
	}
	if first == nil {
		return ""
	}
	return first.Manager
}

func createdStep(pod *core.Pod) Step {
	s := Step{Stage: "created", State: StateDone, Time: at(pod.CreationTimestamp.Time), Title: "Created"}
	s.By = creator(pod)
	owner := meta.GetControllerOf(&pod.ObjectMeta)
	switch {
	case owner != nil:
		s.Title = fmt.Sprintf("Created by %s %s", owner.Kind, owner.Name)
		s.Detail = append(s.Detail, fmt.Sprintf("ownerReference: %s %s (controller)", owner.Kind, owner.Name))
	case pod.Annotations[core.MirrorPodAnnotationKey] != "":
		s.Title = "Created as the mirror of a static pod"
	case s.By != "":
		s.Title = "Created by " + s.By
	}
	if s.By != "" {
		s.Detail = append(s.Detail, "field manager: "+s.By)
	}
	if pod.GenerateName != "" {
		s.Detail = append(s.Detail, fmt.Sprintf("name generated from %q", pod.GenerateName))
	}
	return s
}

// admittedStep: the admission chain ran before the pod was stored, so it has the creation
// time; what the mutating plugins added is visible in the stored spec.
func admittedStep(pod *core.Pod) Step {
	s := Step{Stage: "admitted", State: StateDone, Time: at(pod.CreationTimestamp.Time), By: "skiff-apiserver",
		Title: "Admitted and stored"}
	if pod.UID == "" {
		s.State, s.Time = StatePending, nil
		return s
	}
	s.Detail = append(s.Detail, fmt.Sprintf("uid %s", pod.UID))
	if sa := pod.Spec.ServiceAccountName; sa != "" {
		d := "service account " + sa
		for _, v := range pod.Spec.Volumes {
			if strings.HasPrefix(v.Name, "kube-api-access-") {
				d += ", token volume " + v.Name
			}
		}
		s.Detail = append(s.Detail, d)
	}
	for _, t := range pod.Spec.Tolerations {
		if t.TolerationSeconds != nil && (t.Key == core.TaintNodeNotReady || t.Key == core.TaintNodeUnreachable) {
			s.Detail = append(s.Detail, fmt.Sprintf("toleration %s for %ds", t.Key, *t.TolerationSeconds))
		}
	}
	if pod.Spec.PriorityClassName != "" || (pod.Spec.Priority != nil && *pod.Spec.Priority != 0) {
		s.Detail = append(s.Detail, fmt.Sprintf("priority %d (%s)", deref(pod.Spec.Priority), cmp.Or(pod.Spec.PriorityClassName, "default")))
	}
	if pod.Status.QOSClass != "" {
		s.Detail = append(s.Detail, "QoS class "+string(pod.Status.QOSClass))
	}
	return s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func scheduledStep(pod *core.Pod, evs []*core.Event, d *scheduling.Decision) Step {
	s := Step{Stage: "scheduled", State: StatePending, Title: "Not scheduled yet", By: pod.Spec.SchedulerName}
	failed := find(evs, "", "FailedScheduling")
	for _, e := range failed {
		s.Detail = append(s.Detail, fmt.Sprintf("waited (x%d): %s", max(e.Count, 1), e.Message))
	}
	c := condition(pod, core.PodScheduled)
	switch {
	case c != nil && c.Status == core.ConditionTrue:
		s.State, s.Time = StateDone, at(c.LastTransitionTime.Time)
		s.Title = "Scheduled to " + pod.Spec.NodeName
		if ok := find(evs, "", "Scheduled"); len(ok) > 0 {
			s.By = ok[0].Source.Component
			s.Time = at(eventTime(ok[0]))
		}
		s.Detail = append(s.Detail, decisionLines(d)...)
	case pod.Spec.NodeName != "":
		s.State, s.Time = StateDone, at(pod.CreationTimestamp.Time)
		s.Title, s.By = "Assigned to "+pod.Spec.NodeName, ""
		s.Detail = append(s.Detail, "spec.nodeName was set at creation: no scheduler involved")
	case c != nil && c.Status == core.ConditionFalse:
		s.State, s.Time = StateWaiting, at(c.LastTransitionTime.Time)
		s.Title = "Waiting for a node: " + c.Reason
		if c.Message != "" && len(failed) == 0 {
			s.Detail = append(s.Detail, c.Message)
		}
	}
	return s
}

// decisionLines says why the scheduler chose the node, from its decision annotation.
func decisionLines(d *scheduling.Decision) []string {
	if d == nil {
		return nil
	}
	out := []string{fmt.Sprintf("why: %s", d.Why),
		fmt.Sprintf("filters: %d of %d node(s) evaluated, %d feasible", d.Evaluated, d.Nodes, d.Feasible)}
	for _, r := range d.Rejected {
		out = append(out, fmt.Sprintf("rejected %d node(s): %s (%s)", r.Nodes, r.Reason, r.Plugin))
	}
	for _, ns := range d.Scores {
		plugins := make([]string, 0, len(ns.Plugins))
		for p, v := range ns.Plugins {
			plugins = append(plugins, fmt.Sprintf("%s %d", p, v))
		}
		slices.Sort(plugins)
		out = append(out, fmt.Sprintf("score %s: %d (%s)", ns.Node, ns.Total, strings.Join(plugins, ", ")))
	}
	return out
}

func sandboxStep(pod *core.Pod, evs []*core.Event, node string) Step {
	s := Step{Stage: "sandbox", State: StatePending, Title: "Sandbox and network", By: node}
	if pod.Spec.HostNetwork {
		s.Detail = append(s.Detail, "hostNetwork: the pod uses the node's network")
	}
	if c := condition(pod, core.PodReadyToStartContainers); c != nil && c.Status == core.ConditionTrue {
		s.State, s.Time = StateDone, at(c.LastTransitionTime.Time)
	}
	if ip := pod.Status.PodIP; ip != "" {
		s.State = StateDone
		s.Title = "Sandbox ready, IP " + ip
		if pod.Status.HostIP != "" {
			s.Detail = append(s.Detail, "host IP "+pod.Status.HostIP)
		}
	}
	if bad := find(evs, "", "FailedCreatePodSandBox", "FailedMount"); len(bad) > 0 && s.State != StateDone {
		s.State = StateFailed
		for _, e := range bad {
			s.Detail = append(s.Detail, e.Reason+": "+e.Message)
		}
	}
	for _, e := range find(evs, "", "SandboxChanged") {
		s.Detail = append(s.Detail, e.Message)
	}
	return s
}

// allContainers are the init containers, then the app containers, with their statuses.
func allContainers(pod *core.Pod) []containerAndStatus {
	var out []containerAndStatus
	add := func(cs []core.Container, st []core.ContainerStatus, init bool) {
		for _, c := range cs {
			x := containerAndStatus{c: c, init: init}
			for i := range st {
				if st[i].Name == c.Name {
					x.st = &st[i]
				}
			}
			out = append(out, x)
		}
	}
	add(pod.Spec.InitContainers, pod.Status.InitContainerStatuses, true)
	add(pod.Spec.Containers, pod.Status.ContainerStatuses, false)
	return out
}

type containerAndStatus struct {
	c    core.Container
	st   *core.ContainerStatus
	init bool
}

func (x containerAndStatus) label() string {
	if x.init {
		return "init container " + x.c.Name
	}
	return "container " + x.c.Name
}

func imageSteps(pod *core.Pod, evs []*core.Event, node string) []Step {
	var out []Step
	seen := map[string]bool{}
	for _, x := range allContainers(pod) {
		if seen[x.c.Image] {
			continue
		}
		seen[x.c.Image] = true
		s := Step{Stage: "image", State: StatePending, Title: "Image " + x.c.Image, By: node}
		quoted := fmt.Sprintf("%q", x.c.Image)
		if e := find(evs, quoted, "Pulling"); len(e) > 0 {
			s.State, s.Time = StateWaiting, at(eventTime(e[0]))
			s.Detail = append(s.Detail, e[0].Message)
		}
		if e := find(evs, quoted, "Pulled"); len(e) > 0 {
			s.State, s.Time = StateDone, at(eventTime(e[0]))
			s.Detail = append(s.Detail, e[0].Message)
		} else if x.st != nil && x.st.ImageID != "" {
			s.State = StateDone
			s.Detail = append(s.Detail, "image ID "+x.st.ImageID+" (no pull recorded)")
		}
		if e := find(evs, quoted, "Failed"); len(e) > 0 && s.State != StateDone {
			s.State = StateFailed
			s.Detail = append(s.Detail, e[len(e)-1].Message)
		}
		if x.st != nil && x.st.State.Waiting != nil && strings.Contains(x.st.State.Waiting.Reason, "Image") {
			s.State = StateFailed
			s.Detail = append(s.Detail, x.st.State.Waiting.Reason+": "+x.st.State.Waiting.Message)
		}
		out = append(out, s)
	}
	return out
}

func startedSteps(pod *core.Pod, evs []*core.Event, node string) []Step {
	var out []Step
	for _, x := range allContainers(pod) {
		s := Step{Stage: "started", State: StatePending, Title: x.label() + " started", By: node}
		for _, e := range find(evs, "", "Started") {
			if e.Message == "Started container "+x.c.Name { // the node agent's (and kubelet's) words
				s.State, s.Time = StateDone, at(eventTime(e))
				break
			}
		}
		if x.st != nil {
			st := x.st.State
			switch {
			case st.Running != nil:
				s.State, s.Time = StateDone, at(st.Running.StartedAt.Time)
			case st.Terminated != nil:
				s.State, s.Time = StateDone, cmp.Or(at(st.Terminated.StartedAt.Time), s.Time)
			case st.Waiting != nil && st.Waiting.Reason != "ContainerCreating" && st.Waiting.Reason != "PodInitializing":
				s.State = StateFailed
				s.Detail = append(s.Detail, "waiting: "+st.Waiting.Reason+" "+st.Waiting.Message)
			}
			if x.st.RestartCount > 0 {
				s.Detail = append(s.Detail, fmt.Sprintf("restarted %d time(s)", x.st.RestartCount))
				if t := x.st.LastTerminationState.Terminated; t != nil {
					s.Detail = append(s.Detail, fmt.Sprintf("last exit: code %d %s", t.ExitCode, t.Reason))
				}
			}
		}
		for _, e := range find(evs, " container "+x.c.Name+" in pod ", "BackOff") {
			s.Detail = append(s.Detail, e.Reason+": "+e.Message)
		}
		out = append(out, s)
	}
	return out
}

func readyStep(pod *core.Pod, evs []*core.Event, node string) Step {
	s := Step{Stage: "ready", State: StatePending, Title: "Ready", By: node}
	if c := condition(pod, core.PodReady); c != nil {
		switch {
		case c.Status == core.ConditionTrue:
			s.State, s.Time = StateDone, at(c.LastTransitionTime.Time)
			s.Title = "Ready: receives Service traffic"
		case pod.Spec.NodeName != "" && c.Reason != "PodCompleted":
			s.State = StateWaiting
			s.Title = "Not ready: " + c.Reason
			if c.Message != "" {
				s.Detail = append(s.Detail, c.Message)
			}
		}
	}
	for _, e := range find(evs, "", "Unhealthy") {
		s.Detail = append(s.Detail, fmt.Sprintf("Unhealthy (x%d): %s", max(e.Count, 1), e.Message))
	}
	return s
}

func terminatedStep(pod *core.Pod, evs []*core.Event, node string) Step {
	s := Step{Stage: "terminated", State: StatePending, Title: "Terminated", By: node}
	if dt := pod.DeletionTimestamp; dt != nil {
		grace := time.Duration(deref(pod.DeletionGracePeriodSeconds)) * time.Second
		s.State, s.Time = StateWaiting, at(dt.Add(-grace))
		s.Title = "Terminating"
		s.Detail = append(s.Detail, fmt.Sprintf("deletion requested, grace period %s", grace))
	}
	for _, e := range find(evs, "", "Killing", "DeadlineExceeded", "FailedPreStopHook") {
		s.Detail = append(s.Detail, e.Reason+": "+e.Message)
	}
	var finished time.Time
	terminated, total := 0, 0
	for _, x := range allContainers(pod) {
		if x.init {
			continue
		}
		total++
		if x.st != nil && x.st.State.Terminated != nil {
			t := x.st.State.Terminated
			terminated++
			s.Detail = append(s.Detail, fmt.Sprintf("%s: exit code %d %s", x.label(), t.ExitCode, t.Reason))
			if t.FinishedAt.After(finished) {
				finished = t.FinishedAt.Time
			}
		}
	}
	if pod.Status.Phase == core.PodSucceeded || pod.Status.Phase == core.PodFailed || (total > 0 && terminated == total) {
		s.State, s.Time = StateDone, cmp.Or(at(finished), s.Time)
		s.Title = "Terminated: " + string(pod.Status.Phase)
		if pod.Status.Reason != "" {
			s.Title += " (" + pod.Status.Reason + ")"
		}
	}
	return s
}
