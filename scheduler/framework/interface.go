// Package framework is the scheduler's plugin framework, shaped like Kubernetes' scheduling
// framework: a pod goes through PreFilter (work out per-pod state once), Filter (can it run on
// this node?), PostFilter (preemption, when no node fits), PreScore and Score (how good is
// each feasible node?), each a list of plugins a profile enables. It also holds the data the
// plugins read: PodInfo, NodeInfo and the per-cycle Snapshot of the cluster.
package framework

import (
	"context"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
)

// Code is the outcome of a plugin.
type Code int

const (
	Success Code = iota
	// Unschedulable: the pod does not fit now, but could after something changes on the node
	// (another pod leaving, for example), so preemption may help.
	Unschedulable
	// UnschedulableAndUnresolvable: nothing done to the pods on this node would help (a taint, a
	// selector, a missing label); preemption skips such nodes.
	UnschedulableAndUnresolvable
	// Error: the plugin failed; the pod is retried with backoff.
	Error
	// Skip, from PreFilter or PreScore: the plugin has nothing to do for this pod, and its
	// Filter or Score is not called.
	Skip
)

// Status is a plugin's verdict. A nil *Status is Success.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus makes a status with reasons (the phrases that end up in FailedScheduling).
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus wraps an error.
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, err: err, reasons: []string{err.Error()}}
}

// Code is the status code; Success for nil.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports a nil or Success status.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected: Unschedulable or UnschedulableAndUnresolvable.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons are the status's phrases.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Message joins the reasons.
func (s *Status) Message() string { return strings.Join(s.Reasons(), ", ") }

// Err is the error of an Error status.
func (s *Status) Err() error {
	if s == nil {
		return nil
	}
	return s.err
}

// Plugin is the name of the plugin that produced the status (set by the framework).
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records which plugin produced s and returns it.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil {
		s.plugin = name
	}
	return s
}

// CycleState carries data between the extension points of one scheduling cycle: a plugin
// writes its precomputed state in PreFilter/PreScore and reads it in Filter/Score. Filter and
// Score run in parallel over nodes, so they only read it.
type CycleState struct {
	// Snapshot is the cluster as this cycle sees it.
	Snapshot *Snapshot
	// NamespaceLabels returns a namespace's labels (for namespaceSelector terms); nil for an
	// unknown namespace.
	NamespaceLabels func(namespace string) labels.Set
	// SkipFilter and SkipScore name plugins whose PreFilter/PreScore returned Skip.
	SkipFilter map[string]bool
	SkipScore  map[string]bool
	data       map[string]StateData
}

// StateData is one plugin's precomputed state. Clone must copy what AddPod/RemovePod change,
// because preemption tries pod removals on a copy.
type StateData interface {
	Clone() StateData
}

// NewCycleState returns an empty state over snapshot.
func NewCycleState(snapshot *Snapshot, nsLabels func(string) labels.Set) *CycleState {
	if nsLabels == nil {
		nsLabels = func(string) labels.Set { return nil }
	}
	return &CycleState{Snapshot: snapshot, NamespaceLabels: nsLabels, data: map[string]StateData{}}
}

// Write stores a plugin's state.
func (c *CycleState) Write(key string, d StateData) { c.data[key] = d }

// Read returns a plugin's state, nil if none.
func (c *CycleState) Read(key string) StateData { return c.data[key] }

// Clone copies the state (each plugin's data through its Clone).
func (c *CycleState) Clone() *CycleState {
	out := &CycleState{Snapshot: c.Snapshot, NamespaceLabels: c.NamespaceLabels, data: make(map[string]StateData, len(c.data)),
		SkipFilter: c.SkipFilter, SkipScore: c.SkipScore}
	for k, v := range c.data {
		out.data[k] = v.Clone()
	}
	return out
}

// Plugin is anything a profile can enable.
type Plugin interface {
	Name() string
}

// PreFilterPlugin works out per-pod state once per cycle. Returning Skip disables the plugin's
// Filter for this pod; a rejection makes every node fail with that status.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *PodInfo) *Status
}

// PreFilterExtensions keep a plugin's PreFilter state right when the scheduler tries a node
// with a pod added (a nominated pod) or removed (a preemption victim).
type PreFilterExtensions interface {
	AddPod(state *CycleState, pod *PodInfo, added *PodInfo, node *NodeInfo)
	RemovePod(state *CycleState, pod *PodInfo, removed *PodInfo, node *NodeInfo)
}

// FilterPlugin decides whether the pod can run on one node. It is called in parallel for
// different nodes and must not write to shared state.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *PodInfo, node *NodeInfo) *Status
}

// PreScorePlugin works out per-pod state for scoring over the feasible nodes.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks a feasible node. Scores of one plugin are normalized to 0..MaxNodeScore by
// NormalizeScore (when the plugin has one) and then multiplied by the plugin's weight.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *PodInfo, node *NodeInfo) (int64, *Status)
}

// ScoreNormalizer rescales one plugin's scores, given in the order of nodes.
type ScoreNormalizer interface {
	NormalizeScore(state *CycleState, pod *PodInfo, nodes []*NodeInfo, scores []int64)
}

// ReservePlugin keeps what a plugin decided for the chosen node, when the scheduler assumes
// the pod there and before binding starts (the next pod's cycle already sees it). Unreserve
// undoes it when the binding fails.
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *PodInfo, node string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *PodInfo, node string)
}

// PreBindPlugin makes the API writes the binding depends on (a volume's claim annotated with
// the chosen node), in the binding goroutine, before the pod is bound. A failure fails the
// binding: the pod is retried.
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *PodInfo, node string) *Status
}

// EnqueueExtensions says which cluster events may make a pod this plugin rejected schedulable,
// so that an unschedulable pod is retried only when something relevant happened.
type EnqueueExtensions interface {
	EventsToRegister() []ClusterEventWithHint
}

// MaxNodeScore is the top of the normalized score range.
const MaxNodeScore int64 = 100

// EventResource is what a cluster event is about.
type EventResource string

const (
	NodeEvent               EventResource = "Node"
	AssignedPodEvent        EventResource = "AssignedPod"    // a pod bound to a node
	UnscheduledPodEvent     EventResource = "UnscheduledPod" // the pending pod itself, updated
	NamespaceEvent          EventResource = "Namespace"
	PVCEvent                EventResource = "PersistentVolumeClaim"
	PVEvent                 EventResource = "PersistentVolume"
	StorageClassEvent       EventResource = "storage.k8s.io/StorageClass"
	CSIStorageCapacityEvent EventResource = "storage.k8s.io/CSIStorageCapacity"
	CSIDriverEvent          EventResource = "storage.k8s.io/CSIDriver"
	WildCardEvent           EventResource = "*"
)

// ActionType is a bit set of what happened.
type ActionType uint32

const (
	Add ActionType = 1 << iota
	Delete
	UpdateNodeAllocatable
	UpdateNodeLabel
	UpdateNodeTaint // taints or spec.unschedulable
	UpdateNodeCondition
	UpdatePodLabel
	UpdatePodScaleDown // a bound pod's requests shrank
	UpdatePodToleration
	UpdatePodOther

	Update = UpdateNodeAllocatable | UpdateNodeLabel | UpdateNodeTaint | UpdateNodeCondition |
		UpdatePodLabel | UpdatePodScaleDown | UpdatePodToleration | UpdatePodOther
	All = Add | Delete | Update
)

// ClusterEvent is a change in the cluster that may make unschedulable pods schedulable.
type ClusterEvent struct {
	Resource EventResource
	Action   ActionType
	// Label names the event in metrics and logs ("NodeAdd", "AssignedPodDelete").
	Label string
}

// Match reports whether incoming is (a case of) the registered event e.
func (e ClusterEvent) Match(incoming ClusterEvent) bool {
	if e.Resource == WildCardEvent || incoming.Resource == WildCardEvent {
		return true
	}
	return e.Resource == incoming.Resource && e.Action&incoming.Action != 0
}

// QueueingHint decides, for one pod a plugin rejected, whether the event may make it
// schedulable. oldObj/newObj are the objects of the event (nil when absent).
type QueueingHint func(pod *core.Pod, oldObj, newObj any) bool

// ClusterEventWithHint is a registration: the event, and an optional finer check.
type ClusterEventWithHint struct {
	Event ClusterEvent
	Hint  QueueingHint // nil: always retry
}
