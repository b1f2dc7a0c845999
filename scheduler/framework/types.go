package framework

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
)

// PodInfo is a pod with what the plugins need from it worked out once: requests and parsed
// affinity terms. It is immutable once made; a changed pod gets a new PodInfo.
type PodInfo struct {
	Pod *core.Pod
	// LabelsKey is the pod's namespace and labels in one string: pods with the same key are
	// selected alike, which lets a cycle match a selector once per key (see SelectorMemo).
	LabelsKey  string
	LabelsHash uint64
	// Terminating: the pod has a deletionTimestamp (it still holds its resources).
	Terminating bool
	// Requests is what the pod needs from a node; NonZero the same with spreading defaults.
	Requests Resource
	NonZero  Resource
	// Required and preferred inter-pod (anti-)affinity terms, selectors parsed.
	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// ParseErr is set when a term's selector is malformed; such a pod cannot be scheduled
	// and, on a node, its malformed terms are ignored.
	ParseErr error
}

// AffinityTerm is a PodAffinityTerm with its selectors parsed.
type AffinityTerm struct {
	Namespaces        map[string]bool
	NamespaceSelector labels.Selector // Nothing() when the term has none
	// hasNamespaceSelector: the term has one, so a pod's namespace labels must be looked up.
	hasNamespaceSelector bool
	Selector             labels.Selector
	TopologyKey          string
	// Key is the term in canonical form: equal keys select the same pods.
	Key     string
	KeyHash uint64
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// Matches reports whether the term selects pod. nsLabels returns a namespace's labels; it is
// called only for terms with a namespaceSelector (it may be nil otherwise), because looking
// labels up for every pod of the cluster in every cycle would cost more than the match itself.
func (t *AffinityTerm) Matches(pod *core.Pod, nsLabels func(namespace string) labels.Set) bool {
	if !t.Namespaces[pod.Namespace] {
		if !t.hasNamespaceSelector || nsLabels == nil || !t.NamespaceSelector.Matches(nsLabels(pod.Namespace)) {
			return false
		}
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// HasNamespaceSelector reports whether the term selects namespaces by label.
func (t *AffinityTerm) HasNamespaceSelector() bool { return t.hasNamespaceSelector }

// NewPodInfo works out a pod's PodInfo.
func NewPodInfo(pod *core.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, LabelsKey: labelsKey(pod), Terminating: pod.DeletionTimestamp != nil}
	pi.LabelsHash = hashString(pi.LabelsKey)
	pi.Requests, pi.NonZero = PodRequests(pod)
	a := pod.Spec.Affinity
	if a == nil {
		return pi
	}
	var errs []string
	if a.PodAffinity != nil {
		pi.RequiredAffinityTerms = affinityTerms(pod, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAffinityTerms = weightedTerms(pod, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if a.PodAntiAffinity != nil {
		pi.RequiredAntiAffinityTerms = affinityTerms(pod, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAntiAffinityTerms = weightedTerms(pod, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if len(errs) > 0 {
		pi.ParseErr = fmt.Errorf("invalid pod affinity: %s", strings.Join(errs, "; "))
	}
	return pi
}

// HasAffinity: the pod has inter-pod affinity or anti-affinity of any kind.
func (pi *PodInfo) HasAffinity() bool {
	return len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms)+
		len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
}

func affinityTerms(pod *core.Pod, terms []core.PodAffinityTerm, errs *[]string) []AffinityTerm {
	var out []AffinityTerm
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i])
		if err != nil {
			*errs = append(*errs, err.Error())
			continue
		}
		out = append(out, t)
	}
	return out
}

func weightedTerms(pod *core.Pod, terms []core.WeightedPodAffinityTerm, errs *[]string) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			*errs = append(*errs, err.Error())
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
	}
	return out
}

// newAffinityTerm parses a term. With neither namespaces nor a namespaceSelector it applies
// to the pod's own namespace; matchLabelKeys/mismatchLabelKeys narrow the selector to pods
// that share (or do not share) the pod's values of those labels.
func newAffinityTerm(pod *core.Pod, t *core.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := labels.SelectorFromLabelSelector(t.LabelSelector)
	if err != nil {
		return AffinityTerm{}, err
	}
	var extra []labels.Requirement
	for _, k := range t.MatchLabelKeys {
		if v, ok := pod.Labels[k]; ok {
			r, err := labels.NewRequirement(k, labels.In, []string{v})
			if err != nil {
				return AffinityTerm{}, err
			}
			extra = append(extra, *r)
		}
	}
	for _, k := range t.MismatchLabelKeys {
		if v, ok := pod.Labels[k]; ok {
			r, err := labels.NewRequirement(k, labels.NotIn, []string{v})
			if err != nil {
				return AffinityTerm{}, err
			}
			extra = append(extra, *r)
		}
	}
	if len(extra) > 0 && t.LabelSelector != nil {
		sel = sel.Add(extra...)
	}
	nsSel, err := labels.SelectorFromLabelSelector(t.NamespaceSelector)
	if err != nil {
		return AffinityTerm{}, err
	}
	ns := map[string]bool{}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		ns[pod.Namespace] = true
	}
	for _, n := range t.Namespaces {
		ns[n] = true
	}
	key := fmt.Sprintf("%s|%s|%v|%s|%s", sel.String(), strings.Join(slices.Sorted(maps.Keys(ns)), ","), t.NamespaceSelector != nil, nsSel.String(), t.TopologyKey)
	return AffinityTerm{Namespaces: ns, NamespaceSelector: nsSel, hasNamespaceSelector: t.NamespaceSelector != nil,
		Selector: sel, TopologyKey: t.TopologyKey, Key: key, KeyHash: hashString(key)}, nil
}

// labelsKey is namespace NUL k=v NUL k=v ..., keys sorted.
func labelsKey(pod *core.Pod) string {
	var b strings.Builder
	b.WriteString(pod.Namespace)
	for _, k := range slices.Sorted(maps.Keys(pod.Labels)) {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(pod.Labels[k])
	}
	return b.String()
}

// Memo remembers yes/no answers by key for one scheduling cycle: whether a selector matched
// pods of a given namespace and label set (PodInfo.LabelsKey), or whether a term matched the
// pod being scheduled (AffinityTerm.Key). The pods of one workload share labels and terms, so a
// cluster of thousands of pods has few distinct answers; without the memo every cycle would run
// selectors against every pod, reading thousands of label maps scattered in memory, which is
// where such cycles spend their time. Keys come with a precomputed hash, so a lookup hashes a
// number rather than a string. Safe for concurrent use.
type Memo struct {
	shards [16]memoShard
}

type memoShard struct {
	mu sync.RWMutex
	m  map[uint64]memoEntry
}

type memoEntry struct {
	key    string
	answer bool
}

// Load returns the answer remembered for key (whose hash is hash), if any.
func (m *Memo) Load(hash uint64, key string) (answer, ok bool) {
	s := &m.shards[hash%uint64(len(m.shards))]
	s.mu.RLock()
	e, found := s.m[hash]
	s.mu.RUnlock()
	if !found || e.key != key { // two keys with one hash just miss
		return false, false
	}
	return e.answer, true
}

// Store remembers an answer.
func (m *Memo) Store(hash uint64, key string, answer bool) {
	s := &m.shards[hash%uint64(len(m.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[uint64]memoEntry{}
	}
	s.m[hash] = memoEntry{key, answer}
}

// hashString is FNV-1a.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Priority is the pod's spec.priority (0 when unset).
func Priority(pod *core.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}

// NodeInfo is one node with the pods on it (assumed ones included) and their totals, kept up
// to date incrementally by the cache so that a scheduling cycle never adds up a node's pods.
type NodeInfo struct {
	Node *core.Node
	Pods []*PodInfo
	// The subsets of Pods with inter-pod affinity of any kind, and with required anti-affinity:
	// InterPodAffinity only has to look at these for the symmetric rules.
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	UsedPorts                    HostPortInfo
	Requested                    Resource
	NonZeroRequested             Resource
	Allocatable                  Resource
	// ImageStates: images present on the node, with their size and on how many nodes they are.
	ImageStates map[string]*ImageState
	// Invalid says why the node must not be used (malformed taints or labels), "" when fine.
	Invalid string
	// Generation changes whenever anything above changes; the snapshot copies only nodes whose
	// generation moved.
	Generation int64
}

// ImageState is what the image locality score needs about one image on one node.
type ImageState struct {
	Size     int64
	NumNodes int // nodes that have the image, cluster-wide
}

// NewNodeInfo returns a NodeInfo holding pods (and no node yet).
func NewNodeInfo(pods ...*PodInfo) *NodeInfo {
	n := &NodeInfo{UsedPorts: HostPortInfo{}, ImageStates: map[string]*ImageState{}}
	for _, p := range pods {
		n.AddPod(p)
	}
	return n
}

// Name is the node's name ("" before the node object is known).
func (n *NodeInfo) Name() string {
	if n.Node == nil {
		return ""
	}
	return n.Node.Name
}

// SetNode sets the node object and its allocatable.
func (n *NodeInfo) SetNode(node *core.Node) {
	n.Node = node
	n.Allocatable = NewResource(node.Status.Allocatable)
}

// AddPod accounts for a pod on this node.
func (n *NodeInfo) AddPod(p *PodInfo) {
	n.Pods = append(n.Pods, p)
	if p.HasAffinity() {
		n.PodsWithAffinity = append(n.PodsWithAffinity, p)
	}
	if len(p.RequiredAntiAffinityTerms) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, p)
	}
	n.update(p, 1)
}

// RemovePod takes a pod (matched by UID) off this node; false if it was not there.
func (n *NodeInfo) RemovePod(pod *core.Pod) bool {
	var removed *PodInfo
	n.Pods, removed = removeFrom(n.Pods, pod.UID)
	if removed == nil {
		return false
	}
	n.PodsWithAffinity, _ = removeFrom(n.PodsWithAffinity, pod.UID)
	n.PodsWithRequiredAntiAffinity, _ = removeFrom(n.PodsWithRequiredAntiAffinity, pod.UID)
	n.update(removed, -1)
	return true
}

// removeFrom deletes the pod with uid from s, in place (order is not kept: it does not matter
// and swapping with the last is O(1)).
func removeFrom(s []*PodInfo, uid string) ([]*PodInfo, *PodInfo) {
	for i, p := range s {
		if p.Pod.UID == uid {
			last := len(s) - 1
			s[i] = s[last]
			s[last] = nil
			return s[:last], p
		}
	}
	return s, nil
}

func (n *NodeInfo) update(p *PodInfo, sign int64) {
	if sign > 0 {
		n.Requested.Add(p.Requests)
		n.NonZeroRequested.Add(p.NonZero)
	} else {
		n.Requested.Sub(p.Requests)
		n.NonZeroRequested.Sub(p.NonZero)
	}
	for _, hp := range HostPorts(p.Pod) {
		if sign > 0 {
			n.UsedPorts.Add(hp)
		} else {
			n.UsedPorts.Remove(hp)
		}
	}
}

// Clone copies n deeply enough that changing the copy (adding or removing pods, as preemption
// and nominated pods do) leaves n alone. Pods and node objects are shared: never mutate them.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		Node:             n.Node,
		Requested:        n.Requested.Clone(),
		NonZeroRequested: n.NonZeroRequested.Clone(),
		Allocatable:      n.Allocatable.Clone(),
		UsedPorts:        n.UsedPorts.Clone(),
		ImageStates:      n.ImageStates, // replaced wholesale by the cache, never modified
		Invalid:          n.Invalid,
		Generation:       n.Generation,
	}
	c.Pods = append([]*PodInfo(nil), n.Pods...)
	if len(n.PodsWithAffinity) > 0 {
		c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	}
	if len(n.PodsWithRequiredAntiAffinity) > 0 {
		c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	}
	return c
}

// HostPort is one host port a pod binds.
type HostPort struct {
	IP       string // "" and "0.0.0.0" both mean every address
	Protocol core.Protocol
	Port     int32
}

// HostPorts lists the host ports a pod binds on its node: its app and sidecar containers'
// (core.PodHostPorts, the node agent's admission rule, so that the two agree).
func HostPorts(pod *core.Pod) []HostPort {
	var out []HostPort
	for _, p := range core.PodHostPorts(pod) {
		out = append(out, HostPort{IP: p.HostIP, Protocol: p.Protocol, Port: p.HostPort})
	}
	return out
}

const allIPs = "0.0.0.0"

type protocolPort struct {
	protocol core.Protocol
	port     int32
}

// HostPortInfo is the set of host ports in use on a node: ip → (protocol, port) → count.
// Counted, because two assumed-and-confirmed pods may briefly both hold a port.
type HostPortInfo map[string]map[protocolPort]int

// sanitize keys hp as core.HostPortsConflict compares ports: every wildcard address as one,
// TCP when no protocol is given.
func sanitize(hp HostPort) (string, protocolPort) {
	ip := hp.IP
	if core.WildcardHostIP(ip) {
		ip = allIPs
	}
	proto := hp.Protocol
	if proto == "" {
		proto = core.ProtocolTCP
	}
	return ip, protocolPort{proto, hp.Port}
}

// Add marks hp as used.
func (h HostPortInfo) Add(hp HostPort) {
	ip, pp := sanitize(hp)
	m := h[ip]
	if m == nil {
		m = map[protocolPort]int{}
		h[ip] = m
	}
	m[pp]++
}

// Remove releases hp.
func (h HostPortInfo) Remove(hp HostPort) {
	ip, pp := sanitize(hp)
	if m := h[ip]; m != nil {
		if m[pp]--; m[pp] <= 0 {
			delete(m, pp)
		}
		if len(m) == 0 {
			delete(h, ip)
		}
	}
}

// Conflicts reports whether hp collides with a port in use: the same protocol and port on the
// same address, where 0.0.0.0 collides with every address.
func (h HostPortInfo) Conflicts(hp HostPort) bool {
	ip, pp := sanitize(hp)
	if ip == allIPs {
		for _, m := range h {
			if m[pp] > 0 {
				return true
			}
		}
		return false
	}
	return h[allIPs][pp] > 0 || h[ip][pp] > 0
}

// Clone copies h.
func (h HostPortInfo) Clone() HostPortInfo {
	c := make(HostPortInfo, len(h))
	for ip, m := range h {
		cm := make(map[protocolPort]int, len(m))
		for k, v := range m {
			cm[k] = v
		}
		c[ip] = cm
	}
	return c
}

// IsTerminating: the pod is being deleted.
func IsTerminating(pod *core.Pod) bool { return pod.DeletionTimestamp != nil }

// PodKey is namespace/name, for messages.
func PodKey(pod *core.Pod) string { return pod.Namespace + "/" + pod.Name }

// NodeLabels returns the node's labels as a labels.Set.
func NodeLabels(n *core.Node) labels.Set { return labels.Set(n.Labels) }

// StartTime is when the pod started, falling back to its creation: the preemption tie-breaker
// prefers evicting the most recently started.
func StartTime(pod *core.Pod) meta.Time {
	if pod.Status.StartTime != nil {
		return *pod.Status.StartTime
	}
	return pod.CreationTimestamp
}

// NormalizedImageName adds ":latest" to an image with neither tag nor digest, so that "nginx"
// and "nginx:latest" are the same image.
func NormalizedImageName(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		switch name[i] {
		case '@', ':':
			return name
		case '/':
			return name + ":latest"
		}
	}
	return name + ":latest"
}
