package podworker

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// observed is what a worker knows about one pod after acting on it: what the runtime
// runs, why containers wait, and what the probes say.
type observed struct {
	sandbox *runtime.Sandbox // the newest sandbox; nil if there is none
	// containers by container name, newest attempt first.
	containers map[string][]*runtime.Container
	// waiting says why a container is not running when the worker knows better than
	// "ContainerCreating" (CrashLoopBackOff, ErrImagePull, CreateContainerConfigError, ...).
	waiting map[string]core.ContainerStateWaiting
	// ready and started are the probe results, by container ID.
	ready, started map[string]bool
	startTime      time.Time
	nodeIP         string
	runtimeType    string
}

func newObserved() *observed {
	return &observed{
		containers: map[string][]*runtime.Container{},
		waiting:    map[string]core.ContainerStateWaiting{},
		ready:      map[string]bool{},
		started:    map[string]bool{},
	}
}

// group sorts a pod's containers by name, newest attempt first.
func group(cs []*runtime.Container) map[string][]*runtime.Container {
	out := map[string][]*runtime.Container{}
	for _, c := range cs {
		out[c.Name] = append(out[c.Name], c)
	}
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool {
			if list[i].Attempt != list[j].Attempt {
				return list[i].Attempt > list[j].Attempt
			}
			return list[i].CreatedAt.After(list[j].CreatedAt)
		})
	}
	return out
}

func (o *observed) latest(name string) *runtime.Container {
	if l := o.containers[name]; len(l) > 0 {
		return l[0]
	}
	return nil
}

// terminated renders an exited container as Kubernetes does.
func (o *observed) terminated(c *runtime.Container) *core.ContainerStateTerminated {
	reason := c.Reason
	if reason == "" {
		reason = "Completed"
		if c.ExitCode != 0 {
			reason = "Error"
		}
	}
	return &core.ContainerStateTerminated{
		ExitCode: int32(c.ExitCode), Signal: int32(c.Signal), Reason: reason, Message: c.Message,
		StartedAt: meta.NewTime(c.StartedAt), FinishedAt: meta.NewTime(c.FinishedAt),
		ContainerID: o.containerID(c),
	}
}

func (o *observed) containerID(c *runtime.Container) string {
	return o.runtimeType + "://" + c.ID
}

// containerStatus is the status of one container of the spec. defaultWaiting is the
// reason shown before it first runs (ContainerCreating, or PodInitializing for app
// containers waiting on init containers).
func (o *observed) containerStatus(spec *core.Container, defaultWaiting string, probed bool) core.ContainerStatus {
	st := core.ContainerStatus{Name: spec.Name, Image: spec.Image}
	list := o.containers[spec.Name]
	falseV := false
	if probed {
		st.Started = &falseV
	}
	var cur *runtime.Container
	if len(list) > 0 {
		cur = list[0]
		st.RestartCount = int32(cur.Attempt)
		st.ImageID = cur.ImageRef
		st.ContainerID = o.containerID(cur)
	}
	w, hasWaiting := o.waiting[spec.Name]
	switch {
	case cur != nil && cur.State == runtime.ContainerRunning:
		st.State.Running = &core.ContainerStateRunning{StartedAt: meta.NewTime(cur.StartedAt)}
		started := true
		if spec.StartupProbe != nil {
			started = o.started[cur.ID]
		}
		if probed {
			st.Started = &started
		}
		st.Ready = started
		if spec.ReadinessProbe != nil {
			st.Ready = started && o.ready[cur.ID]
		}
		if len(list) > 1 && list[1].State == runtime.ContainerExited {
			st.LastTerminationState.Terminated = o.terminated(list[1])
		}
	case cur != nil && cur.State == runtime.ContainerExited && hasWaiting:
		// Exited and to be restarted (after a back-off): waiting, with the exit as lastState.
		st.State.Waiting = &w
		st.LastTerminationState.Terminated = o.terminated(cur)
	case cur != nil && cur.State == runtime.ContainerExited:
		st.State.Terminated = o.terminated(cur)
		if len(list) > 1 && list[1].State == runtime.ContainerExited {
			st.LastTerminationState.Terminated = o.terminated(list[1])
		}
	default:
		if !hasWaiting {
			w = core.ContainerStateWaiting{Reason: defaultWaiting}
		}
		st.State.Waiting = &w
		if cur != nil {
			// A new attempt not started yet: the previous one is the last state.
			for _, prev := range list[1:] {
				if prev.State == runtime.ContainerExited {
					st.LastTerminationState.Terminated = o.terminated(prev)
					break
				}
			}
		}
	}
	return st
}

// initDone reports whether the pod has initialized — every regular init container ran
// to success and every sidecar is running and started, or an app container has run — and
// the names of the init containers holding it up.
func (o *observed) initDone(pod *core.Pod) (bool, []string) {
	if anyStarted(pod.Spec.Containers, o.containers) {
		return true, nil
	}
	var pending []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur := o.latest(c.Name)
		if isSidecar(c) {
			if cur == nil || cur.State != runtime.ContainerRunning || !o.sidecarStarted(c, cur) {
				pending = append(pending, c.Name)
			}
			continue
		}
		if cur == nil || cur.State != runtime.ContainerExited || cur.ExitCode != 0 {
			pending = append(pending, c.Name)
		}
	}
	return len(pending) == 0, pending
}

func (o *observed) sidecarStarted(c *core.Container, cur *runtime.Container) bool {
	return c.StartupProbe == nil || o.started[cur.ID]
}

// sidecarsRunning reports whether any sidecar still runs (a pod whose app containers
// finished is not terminal before its sidecars are stopped).
func (o *observed) sidecarsRunning(pod *core.Pod) bool {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if cur := o.latest(c.Name); isSidecar(c) && cur != nil && cur.State == runtime.ContainerRunning {
			return true
		}
	}
	return false
}

// initFailed reports whether an init container failed for good (restartPolicy Never).
func (o *observed) initFailed(pod *core.Pod) bool {
	if pod.Spec.RestartPolicy != core.RestartPolicyNever {
		return false
	}
	for _, c := range pod.Spec.InitContainers {
		if cur := o.latest(c.Name); cur != nil && cur.State == runtime.ContainerExited && cur.ExitCode != 0 {
			return true
		}
	}
	return false
}

// podStatus computes the status to report from the pod's last reported status and what
// was observed. Conditions owned by others (PodScheduled, DisruptionTarget, readiness
// gates' own) are kept; the agent's own ones keep their transition times while unchanged.
func (o *observed) podStatus(pod *core.Pod) core.PodStatus {
	old := pod.Status
	st := core.PodStatus{
		ObservedGeneration: pod.Generation,
		NominatedNodeName:  old.NominatedNodeName,
		Message:            old.Message,
		Reason:             old.Reason,
		QOSClass:           core.GetPodQOS(pod),
	}
	if o.nodeIP != "" {
		st.HostIP = o.nodeIP
		st.HostIPs = []core.HostIP{{IP: o.nodeIP}}
	}
	switch {
	case pod.Spec.HostNetwork && o.nodeIP != "":
		st.PodIP = o.nodeIP
	case o.sandbox != nil && o.sandbox.IP != "":
		st.PodIP = o.sandbox.IP
	default:
		st.PodIP = old.PodIP // a pod keeps its IP once its sandbox is gone
	}
	if st.PodIP != "" {
		st.PodIPs = []core.PodIP{{IP: st.PodIP}}
	}
	if !o.startTime.IsZero() {
		t := meta.NewTime(o.startTime)
		st.StartTime = &t
	}
	if old.StartTime != nil {
		st.StartTime = old.StartTime
	}

	initDone, pendingInit := o.initDone(pod)
	var unready []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		// A sidecar (restartPolicy Always) reports started and ready as app containers do,
		// and its readiness counts for the pod's; a regular init container is ready once
		// it completed, as the kubelet reports it.
		cs := o.containerStatus(c, "PodInitializing", isSidecar(c))
		if isSidecar(c) {
			if !cs.Ready {
				unready = append(unready, cs.Name)
			}
		} else {
			t := cs.State.Terminated
			cs.Ready = t != nil && t.ExitCode == 0
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	appWaiting := "ContainerCreating"
	if !initDone {
		appWaiting = "PodInitializing"
	}
	for i := range pod.Spec.Containers {
		cs := o.containerStatus(&pod.Spec.Containers[i], appWaiting, true)
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}

	for i := range pod.Spec.EphemeralContainers {
		cs := o.containerStatus(ephemeralAsContainer(&pod.Spec.EphemeralContainers[i]), "ContainerCreating", false)
		cs.Ready = false // debug containers are never part of the pod's readiness
		st.EphemeralContainerStatuses = append(st.EphemeralContainerStatuses, cs)
	}
	st.Phase = o.phase(pod, st.ContainerStatuses, initDone)
	if (st.Phase == core.PodSucceeded || st.Phase == core.PodFailed) && o.sidecarsRunning(pod) {
		st.Phase = core.PodRunning // terminal once its sidecars are stopped too
	}
	if old.Phase == core.PodSucceeded || old.Phase == core.PodFailed {
		st.Phase = old.Phase // a terminal phase is final
	}
	terminal := st.Phase == core.PodSucceeded || st.Phase == core.PodFailed

	// Conditions, in the order Kubernetes lists them.
	conds := []core.PodCondition{}
	set := func(t core.PodConditionType, ok bool, reason, msg string) {
		c := core.PodCondition{Type: t, Status: core.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c = core.PodCondition{Type: t, Status: core.ConditionTrue}
		}
		c.LastTransitionTime = meta.Now()
		if prev := old.Condition(t); prev != nil && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		}
		conds = append(conds, c)
	}
	set(core.PodReadyToStartContainers, o.sandbox != nil && o.sandbox.State == runtime.SandboxReady, "", "")
	if terminal && len(pendingInit) > 0 && !o.initFailed(pod) {
		pendingInit = nil // a pod that finished had initialized
	}
	set(core.PodInitialized, len(pendingInit) == 0, "ContainersNotInitialized", listMessage("containers with incomplete status", pendingInit))
	readyReason, readyMsg := "ContainersNotReady", listMessage("containers with unready status", unready)
	if terminal {
		readyReason, readyMsg = "PodCompleted", ""
	}
	gatesOK, gateMsg := readinessGates(pod, &old)
	set(core.PodReady, len(unready) == 0 && !terminal && gatesOK, readyReason, joinMessages(readyMsg, gateMsg))
	set(core.ContainersReady, len(unready) == 0 && !terminal, readyReason, readyMsg)
	own := map[core.PodConditionType]bool{}
	for _, c := range conds {
		own[c.Type] = true
	}
	scheduled := false
	for _, c := range old.Conditions {
		if !own[c.Type] {
			conds = append(conds, c)
			scheduled = scheduled || c.Type == core.PodScheduled
		}
	}
	if !scheduled {
		conds = append(conds, core.PodCondition{Type: core.PodScheduled, Status: core.ConditionTrue, LastTransitionTime: meta.Now()})
	}
	st.Conditions = conds
	return st
}

// phase follows the kubelet's getPhase.
func (o *observed) phase(pod *core.Pod, statuses []core.ContainerStatus, initDone bool) core.PodPhase {
	if !initDone {
		if o.initFailed(pod) {
			return core.PodFailed
		}
		return core.PodPending
	}
	var waiting, running, stopped, succeeded int
	for _, s := range statuses {
		switch {
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.State.Waiting != nil && s.LastTerminationState.Terminated != nil:
			stopped++ // restarting
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return core.PodPending
	case running > 0:
		return core.PodRunning
	case stopped > 0:
		if pod.Spec.RestartPolicy == core.RestartPolicyAlways {
			return core.PodRunning // restarting
		}
		if stopped == succeeded {
			return core.PodSucceeded
		}
		if pod.Spec.RestartPolicy == core.RestartPolicyNever {
			return core.PodFailed
		}
		return core.PodRunning
	}
	return core.PodPending
}

// readinessGates checks the pod's readiness gates against conditions others set.
func readinessGates(pod *core.Pod, old *core.PodStatus) (bool, string) {
	var missing, notTrue []string
	for _, g := range pod.Spec.ReadinessGates {
		c := old.Condition(g.ConditionType)
		switch {
		case c == nil:
			missing = append(missing, string(g.ConditionType))
		case c.Status != core.ConditionTrue:
			notTrue = append(notTrue, string(g.ConditionType))
		}
	}
	var msgs []string
	if len(missing) > 0 {
		msgs = append(msgs, "corresponding condition of pod readiness gate "+quoteList(missing)+" does not exist.")
	}
	if len(notTrue) > 0 {
		msgs = append(msgs, "the status of pod readiness gate "+quoteList(notTrue)+" is not \"True\", but False")
	}
	return len(missing)+len(notTrue) == 0, strings.Join(msgs, ", ")
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func listMessage(prefix string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	return prefix + ": [" + strings.Join(names, " ") + "]"
}

func joinMessages(a, b string) string {
	return strings.Join(slices.DeleteFunc([]string{a, b}, func(s string) bool { return s == "" }), ", ")
}
