package dashboard

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/scheduling"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func ts(sec int) meta.Time { return meta.Time{Time: t0.Add(time.Duration(sec) * time.Second)} }

// fixture pods, each a stage further than the last.
func newPod() *core.Pod {
	return &core.Pod{
		ObjectMeta: meta.ObjectMeta{Name: "web-1", Namespace: "default", UID: "uid-1", CreationTimestamp: ts(0),
			GenerateName:    "web-",
			OwnerReferences: []meta.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", UID: "rs-1", Controller: ptr(true)}},
			ManagedFields: []json.RawMessage{
				json.RawMessage(`{"manager":"skiff-nodeagent","operation":"Update","subresource":"status","time":"2026-12-07T10:00:03Z"}`),
				json.RawMessage(`{"manager":"skiff-controller-manager","operation":"Update","time":"2026-12-07T10:00:00Z"}`),
			}},
		Spec: core.PodSpec{SchedulerName: "default-scheduler", ServiceAccountName: "default",
			Containers:  []core.Container{{Name: "app", Image: "web:1"}, {Name: "sidecar", Image: "log:1"}},
			Volumes:     []core.Volume{{Name: "kube-api-access-abcde"}},
			Tolerations: []core.Toleration{{Key: core.TaintNodeNotReady, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))}}},
		Status: core.PodStatus{Phase: core.PodPending, QOSClass: core.PodQOSBestEffort},
	}
}

func ptr[T any](v T) *T { return &v }

func ev(reason, typ, from, msg string, sec int, count int32) *core.Event {
	return &core.Event{ObjectMeta: meta.ObjectMeta{Name: reason, Namespace: "default"},
		InvolvedObject: core.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", UID: "uid-1"},
		Reason:         reason, Type: typ, Message: msg, Source: core.EventSource{Component: from},
		FirstTimestamp: ts(sec), LastTimestamp: ts(sec), Count: count}
}

func cond(t core.PodConditionType, s core.ConditionStatus, sec int, reason, msg string) core.PodCondition {
	return core.PodCondition{Type: t, Status: s, LastTransitionTime: ts(sec), Reason: reason, Message: msg}
}

func scheduled(p *core.Pod) *core.Pod {
	p.Spec.NodeName = "node-b"
	d, _ := json.Marshal(scheduling.Decision{Profile: "default-scheduler", Node: "node-b", Nodes: 3, Evaluated: 3, Feasible: 2,
		Rejected: []scheduling.Rejection{{Plugin: "TaintToleration", Reason: "node(s) had untolerated taint {gpu: }", Nodes: 1}},
		Scores: []scheduling.NodeScore{{Node: "node-b", Total: 180, Plugins: map[string]int64{"NodeResourcesFit": 90, "BalancedAllocation": 90}},
			{Node: "node-a", Total: 120}},
		Why: "highest total score (180) of 2 feasible node(s)"})
	p.Annotations = map[string]string{scheduling.DecisionAnnotation: string(d)}
	p.Status.Conditions = append(p.Status.Conditions, cond(core.PodScheduled, core.ConditionTrue, 1, "", ""))
	return p
}

func running(p *core.Pod) *core.Pod {
	p = scheduled(p)
	p.Status.Phase = core.PodRunning
	p.Status.PodIP, p.Status.HostIP = "10.244.1.7", "192.0.2.2"
	p.Status.Conditions = append(p.Status.Conditions,
		cond(core.PodReadyToStartContainers, core.ConditionTrue, 2, "", ""),
		cond(core.PodReady, core.ConditionTrue, 5, "", ""))
	p.Status.ContainerStatuses = []core.ContainerStatus{
		{Name: "app", ImageID: "sha256:aaa", Ready: true, State: core.ContainerState{Running: &core.ContainerStateRunning{StartedAt: ts(4)}}},
		{Name: "sidecar", ImageID: "sha256:bbb", Ready: true, State: core.ContainerState{Running: &core.ContainerStateRunning{StartedAt: ts(4)}}},
	}
	return p
}

var runningEvents = []*core.Event{
	ev("Scheduled", "Normal", "default-scheduler", "Successfully assigned default/web-1 to node-b", 1, 1),
	ev("Pulling", "Normal", "kubelet", `Pulling image "web:1"`, 2, 1),
	ev("Pulled", "Normal", "kubelet", `Successfully pulled image "web:1" in 1.2s. Image size: 1000 bytes.`, 3, 1),
	ev("Pulled", "Normal", "kubelet", `Container image "log:1" already present on machine`, 3, 1),
	ev("Started", "Normal", "kubelet", "Started container app", 4, 1),
	ev("Started", "Normal", "kubelet", "Started container sidecar", 4, 1),
}

// want is what one step must show: its state, a title fragment, the second it happened
// (-1: no time) and fragments its detail must contain.
type want struct {
	state, title string
	sec          int
	detail       []string
}

func TestBuildJourney(t *testing.T) {
	cases := []struct {
		name   string
		pod    *core.Pod
		events []*core.Event
		want   map[string]want // by stage; image and started steps keyed stage/index
	}{
		{
			name: "just created",
			pod:  newPod(),
			want: map[string]want{
				"created":    {StateDone, "Created by ReplicaSet web-5d8f", 0, []string{"field manager: skiff-controller-manager", `name generated from "web-"`}},
				"admitted":   {StateDone, "Admitted", 0, []string{"uid uid-1", "service account default, token volume kube-api-access-abcde", "toleration node.kubernetes.io/not-ready for 300s", "QoS class BestEffort"}},
				"scheduled":  {StatePending, "Not scheduled yet", -1, nil},
				"sandbox":    {StatePending, "Sandbox", -1, nil},
				"image/0":    {StatePending, "Image web:1", -1, nil},
				"started/1":  {StatePending, "container sidecar started", -1, nil},
				"ready":      {StatePending, "Ready", -1, nil},
				"terminated": {StatePending, "Terminated", -1, nil},
			},
		},
		{
			name: "unschedulable",
			pod: func() *core.Pod {
				p := newPod()
				p.Status.Conditions = []core.PodCondition{cond(core.PodScheduled, core.ConditionFalse, 0, "Unschedulable", "0/3 nodes are available: 3 Insufficient cpu.")}
				return p
			}(),
			events: []*core.Event{ev("FailedScheduling", "Warning", "default-scheduler", "0/3 nodes are available: 3 Insufficient cpu.", 0, 4)},
			want: map[string]want{
				"scheduled": {StateWaiting, "Waiting for a node: Unschedulable", 0, []string{"waited (x4): 0/3 nodes are available: 3 Insufficient cpu."}},
			},
		},
		{
			name:   "running",
			pod:    running(newPod()),
			events: runningEvents,
			want: map[string]want{
				"scheduled": {StateDone, "Scheduled to node-b", 1, []string{"why: highest total score (180) of 2 feasible node(s)",
					"filters: 3 of 3 node(s) evaluated, 2 feasible", "rejected 1 node(s): node(s) had untolerated taint {gpu: } (TaintToleration)",
					"score node-b: 180 (BalancedAllocation 90, NodeResourcesFit 90)"}},
				"sandbox":    {StateDone, "Sandbox ready, IP 10.244.1.7", 2, []string{"host IP 192.0.2.2"}},
				"image/0":    {StateDone, "Image web:1", 3, []string{`Successfully pulled image "web:1"`}},
				"image/1":    {StateDone, "Image log:1", 3, []string{"already present"}},
				"started/0":  {StateDone, "container app started", 4, nil},
				"started/1":  {StateDone, "container sidecar started", 4, nil},
				"ready":      {StateDone, "Ready: receives Service traffic", 5, nil},
				"terminated": {StatePending, "Terminated", -1, nil},
			},
		},
		{
			name: "image pull fails",
			pod: func() *core.Pod {
				p := scheduled(newPod())
				p.Status.ContainerStatuses = []core.ContainerStatus{{Name: "app", State: core.ContainerState{Waiting: &core.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}}
				return p
			}(),
			events: []*core.Event{ev("Pulling", "Normal", "kubelet", `Pulling image "web:1"`, 2, 1),
				ev("Failed", "Warning", "kubelet", `Failed to pull image "web:1": not found`, 3, 2)},
			want: map[string]want{
				"image/0":   {StateFailed, "Image web:1", 2, []string{`Failed to pull image "web:1": not found`, "ImagePullBackOff"}},
				"started/0": {StateFailed, "container app started", -1, []string{"waiting: ImagePullBackOff"}},
			},
		},
		{
			name: "crash loop",
			pod: func() *core.Pod {
				p := running(newPod())
				p.Status.Conditions[len(p.Status.Conditions)-1] = cond(core.PodReady, core.ConditionFalse, 9, "ContainersNotReady", "containers with unready status: [app]")
				p.Status.ContainerStatuses[0] = core.ContainerStatus{Name: "app", ImageID: "sha256:aaa", RestartCount: 3,
					State:                core.ContainerState{Waiting: &core.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: core.ContainerState{Terminated: &core.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}
				return p
			}(),
			events: append(runningEvents[:len(runningEvents):len(runningEvents)],
				ev("BackOff", "Warning", "kubelet", "Back-off restarting failed container app in pod web-1_default(uid-1)", 9, 5)),
			want: map[string]want{
				"started/0": {StateFailed, "container app started", 4, []string{"restarted 3 time(s)", "last exit: code 1 Error", "BackOff: Back-off restarting"}},
				"ready":     {StateWaiting, "Not ready: ContainersNotReady", -1, []string{"containers with unready status: [app]"}},
			},
		},
		{
			name: "terminating",
			pod: func() *core.Pod {
				p := running(newPod())
				p.DeletionTimestamp, p.DeletionGracePeriodSeconds = ptr(ts(40)), ptr(int64(30))
				return p
			}(),
			events: append(runningEvents[:len(runningEvents):len(runningEvents)], ev("Killing", "Normal", "kubelet", "Stopping container app", 10, 1)),
			want: map[string]want{
				"terminated": {StateWaiting, "Terminating", 10, []string{"deletion requested, grace period 30s", "Killing: Stopping container app"}},
			},
		},
		{
			name: "completed",
			pod: func() *core.Pod {
				p := running(newPod())
				p.Status.Phase = core.PodSucceeded
				for i := range p.Status.ContainerStatuses {
					p.Status.ContainerStatuses[i].State = core.ContainerState{Terminated: &core.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: ts(4), FinishedAt: ts(20 + i)}}
				}
				return p
			}(),
			events: runningEvents,
			want: map[string]want{
				"started/1":  {StateDone, "container sidecar started", 4, nil},
				"terminated": {StateDone, "Terminated: Succeeded", 21, []string{"container app: exit code 0 Completed", "container sidecar: exit code 0 Completed"}},
			},
		},
		{
			name: "nodeName set at creation, events of an earlier pod of the same name ignored",
			pod: func() *core.Pod {
				p := newPod()
				p.OwnerReferences, p.GenerateName = nil, ""
				p.ManagedFields = []json.RawMessage{json.RawMessage(`{"manager":"kubectl-create","operation":"Update","time":"2026-12-07T10:00:00Z"}`)}
				p.Spec.NodeName = "node-a"
				return p
			}(),
			events: []*core.Event{func() *core.Event {
				e := ev("Scheduled", "Normal", "default-scheduler", "Successfully assigned default/web-1 to node-z", 0, 1)
				e.InvolvedObject.UID = "an-older-pod"
				return e
			}()},
			want: map[string]want{
				"created":   {StateDone, "Created by kubectl-create", 0, nil},
				"scheduled": {StateDone, "Assigned to node-a", 0, []string{"spec.nodeName was set at creation"}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := BuildJourney(tc.pod, tc.events)
			steps := map[string]Step{}
			count := map[string]int{}
			for _, s := range j.Steps {
				key := s.Stage
				if s.Stage == "image" || s.Stage == "started" {
					key = s.Stage + "/" + string(rune('0'+count[s.Stage]))
					count[s.Stage]++
				}
				steps[key] = s
			}
			for key, w := range tc.want {
				s, ok := steps[key]
				if !ok {
					t.Errorf("%s: no such step in %+v", key, j.Steps)
					continue
				}
				if s.State != w.state || !strings.Contains(s.Title, w.title) {
					t.Errorf("%s: state %q title %q, want %q containing %q", key, s.State, s.Title, w.state, w.title)
				}
				switch {
				case w.sec < 0 && s.Time != nil:
					t.Errorf("%s: time %v, want none", key, s.Time)
				case w.sec >= 0 && (s.Time == nil || !s.Time.Equal(t0.Add(time.Duration(w.sec)*time.Second))):
					t.Errorf("%s: time %v, want +%ds", key, s.Time, w.sec)
				}
				all := strings.Join(s.Detail, "\n")
				for _, d := range w.detail {
					if !strings.Contains(all, d) {
						t.Errorf("%s: detail %q lacks %q", key, all, d)
					}
				}
			}
		})
	}
}

// TestJourneyEventsInOrder: the events list is the pod's own, oldest first, with counts.
func TestJourneyEventsInOrder(t *testing.T) {
	evs := []*core.Event{runningEvents[3], runningEvents[0], runningEvents[5]}
	other := ev("Scheduled", "Normal", "default-scheduler", "x", 0, 1)
	other.InvolvedObject.Name = "web-2"
	j := BuildJourney(running(newPod()), append(evs, other))
	var reasons []string
	for _, e := range j.Events {
		reasons = append(reasons, e.Reason+"@"+e.Time.Format("05"))
	}
	if got := strings.Join(reasons, " "); got != "Scheduled@01 Pulled@03 Started@04" {
		t.Fatalf("events %s", got)
	}
	if j.Decision == nil || j.Decision.Node != "node-b" {
		t.Fatalf("decision %+v", j.Decision)
	}
}
