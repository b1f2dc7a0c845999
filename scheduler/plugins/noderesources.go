package plugins

import (
	"context"
	"fmt"
	"math"

	"github.com/skiff-sh/skiff/api/core"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// Scoring strategies of NodeResourcesFit.
const (
	LeastAllocated = "LeastAllocated" // spread: prefer the emptiest node
	MostAllocated  = "MostAllocated"  // bin-pack: prefer the fullest node that fits
)

// ResourceSpec is a resource and its weight in a score.
type ResourceSpec struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// ScoringStrategy configures NodeResourcesFit's score.
type ScoringStrategy struct {
	Type      string         `json:"type,omitempty"`
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// NodeResourcesFitArgs are the plugin's args in KubeSchedulerConfiguration.
type NodeResourcesFitArgs struct {
	ScoringStrategy *ScoringStrategy `json:"scoringStrategy,omitempty"`
	// IgnoredResources are extended resources the filter does not check.
	IgnoredResources []string `json:"ignoredResources,omitempty"`
}

var defaultResources = []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}

// NodeResourcesFit rejects nodes without room for the pod's requests (and the pods slot), and
// scores by LeastAllocated (default) or MostAllocated.
type NodeResourcesFit struct {
	strategy  string
	resources []ResourceSpec
	ignored   map[core.ResourceName]bool
}

// NewNodeResourcesFit validates args.
func NewNodeResourcesFit(args NodeResourcesFitArgs) (*NodeResourcesFit, error) {
	p := &NodeResourcesFit{strategy: LeastAllocated, resources: defaultResources, ignored: map[core.ResourceName]bool{}}
	if s := args.ScoringStrategy; s != nil {
		switch s.Type {
		case "", LeastAllocated, MostAllocated:
			if s.Type != "" {
				p.strategy = s.Type
			}
		default:
			return nil, fmt.Errorf("scoringStrategy.type: Unsupported value: %q: supported values: %q, %q", s.Type, LeastAllocated, MostAllocated)
		}
		if len(s.Resources) > 0 {
			res, err := checkResources(s.Resources, "scoringStrategy.resources")
			if err != nil {
				return nil, err
			}
			p.resources = res
		}
	}
	for _, r := range args.IgnoredResources {
		p.ignored[core.ResourceName(r)] = true
	}
	return p, nil
}

func checkResources(in []ResourceSpec, path string) ([]ResourceSpec, error) {
	out := make([]ResourceSpec, len(in))
	for i, r := range in {
		if r.Name == "" {
			return nil, fmt.Errorf("%s[%d].name: Required value", path, i)
		}
		if r.Weight == 0 {
			r.Weight = 1
		}
		if r.Weight < 1 || r.Weight > 100 {
			return nil, fmt.Errorf("%s[%d].weight: Invalid value: %d: must be in the range [1, 100]", path, i, r.Weight)
		}
		out[i] = r
	}
	return out, nil
}

func (*NodeResourcesFit) Name() string { return NodeResourcesFitName }

// Filter checks the pods slot and every requested resource against what is left on the node.
// A request larger than the node's whole allocatable cannot be helped by preemption and is
// reported as unresolvable.
func (p *NodeResourcesFit) Filter(_ context.Context, _ *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	var reasons []string
	unresolvable := false
	if int64(len(n.Pods))+1 > n.Allocatable.AllowedPodNumber {
		reasons = append(reasons, ReasonTooManyPods)
	}
	req := &pod.Requests
	check := func(name core.ResourceName, want, alloc, used int64) {
		if want == 0 || want <= alloc-used {
			return
		}
		reasons = append(reasons, "Insufficient "+string(name))
		if want > alloc {
			unresolvable = true
		}
	}
	check(core.ResourceCPU, req.MilliCPU, n.Allocatable.MilliCPU, n.Requested.MilliCPU)
	check(core.ResourceMemory, req.Memory, n.Allocatable.Memory, n.Requested.Memory)
	check(core.ResourceEphemeralStorage, req.EphemeralStorage, n.Allocatable.EphemeralStorage, n.Requested.EphemeralStorage)
	for name, want := range req.Scalar {
		if !p.ignored[name] {
			check(name, want, n.Allocatable.Scalar[name], n.Requested.Scalar[name])
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	if unresolvable {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, reasons...)
	}
	return fw.NewStatus(fw.Unschedulable, reasons...)
}

func (p *NodeResourcesFit) Score(_ context.Context, _ *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) (int64, *fw.Status) {
	scorer := leastRequestedScore
	if p.strategy == MostAllocated {
		scorer = mostRequestedScore
	}
	return weightedResourceScore(p.resources, pod, n, false, scorer), nil
}

// weightedResourceScore averages scorer(requested, allocatable) over the resources by weight.
// With useRequested false, cpu and memory count with the spreading defaults (NonZero).
func weightedResourceScore(resources []ResourceSpec, pod *fw.PodInfo, n *fw.NodeInfo, useRequested bool, scorer func(req, alloc int64) int64) int64 {
	var score, weights int64
	for _, r := range resources {
		req, alloc := requestedAndAllocatable(core.ResourceName(r.Name), pod, n, useRequested)
		if alloc == 0 {
			continue
		}
		score += scorer(req, alloc) * r.Weight
		weights += r.Weight
	}
	if weights == 0 {
		return 0
	}
	return score / weights
}

// requestedAndAllocatable is what the node would have requested with the pod on it, and its
// allocatable, for one resource.
func requestedAndAllocatable(name core.ResourceName, pod *fw.PodInfo, n *fw.NodeInfo, useRequested bool) (int64, int64) {
	nodeReq, podReq := n.Requested, pod.Requests
	if !useRequested && (name == core.ResourceCPU || name == core.ResourceMemory) {
		nodeReq, podReq = n.NonZeroRequested, pod.NonZero
	}
	return nodeReq.Get(name) + podReq.Get(name), n.Allocatable.Get(name)
}

func leastRequestedScore(req, alloc int64) int64 {
	if req > alloc {
		return 0
	}
	return (alloc - req) * fw.MaxNodeScore / alloc
}

func mostRequestedScore(req, alloc int64) int64 {
	req = min(req, alloc)
	return req * fw.MaxNodeScore / alloc
}

func (p *NodeResourcesFit) EventsToRegister() []fw.ClusterEventWithHint {
	return []fw.ClusterEventWithHint{
		{Event: fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Delete | fw.UpdatePodScaleDown}},
		{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add | fw.UpdateNodeAllocatable},
			Hint: func(pod *core.Pod, _, newObj any) bool {
				node, ok := newObj.(*core.Node)
				if !ok {
					return false
				}
				// Worth a retry if the pod would fit the node when empty.
				pi := fw.NewPodInfo(pod)
				ni := fw.NewNodeInfo()
				ni.SetNode(node)
				return p.Filter(context.Background(), nil, pi, ni).IsSuccess()
			}},
	}
}

// BalancedAllocationArgs are NodeResourcesBalancedAllocation's args.
type BalancedAllocationArgs struct {
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// BalancedAllocation prefers nodes whose resources would be used evenly (cpu and memory
// fractions close to each other), scoring (1 - standard deviation of the fractions) × 100.
type BalancedAllocation struct{ resources []ResourceSpec }

// NewBalancedAllocation validates args.
func NewBalancedAllocation(args BalancedAllocationArgs) (*BalancedAllocation, error) {
	p := &BalancedAllocation{resources: defaultResources}
	if len(args.Resources) > 0 {
		res, err := checkResources(args.Resources, "resources")
		if err != nil {
			return nil, err
		}
		p.resources = res
	}
	return p, nil
}

func (*BalancedAllocation) Name() string { return BalancedAllocationName }

// PreScore skips pods that request none of the resources: they change no fraction.
func (p *BalancedAllocation) PreScore(_ context.Context, _ *fw.CycleState, pod *fw.PodInfo, _ []*fw.NodeInfo) *fw.Status {
	for _, r := range p.resources {
		if pod.Requests.Get(core.ResourceName(r.Name)) > 0 {
			return nil
		}
	}
	return fw.NewStatus(fw.Skip)
}

func (p *BalancedAllocation) Score(_ context.Context, _ *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) (int64, *fw.Status) {
	var fractions []float64
	for _, r := range p.resources {
		req, alloc := requestedAndAllocatable(core.ResourceName(r.Name), pod, n, true)
		if alloc == 0 {
			continue
		}
		fractions = append(fractions, min(1, float64(req)/float64(alloc)))
	}
	var std float64
	switch len(fractions) {
	case 0, 1:
	case 2:
		std = math.Abs(fractions[0]-fractions[1]) / 2
	default:
		var mean, sq float64
		for _, f := range fractions {
			mean += f
		}
		mean /= float64(len(fractions))
		for _, f := range fractions {
			sq += (f - mean) * (f - mean)
		}
		std = math.Sqrt(sq / float64(len(fractions)))
	}
	return int64((1 - std) * float64(fw.MaxNodeScore)), nil
}

// ImageLocality prefers nodes that already have the pod's images, weighted by image size and
// by how widely the image is spread (an image on every node says nothing about this one).
type ImageLocality struct{}

func (ImageLocality) Name() string { return ImageLocalityName }

const (
	mb                    int64 = 1024 * 1024
	minImageThreshold           = 23 * mb
	maxContainerThreshold       = 1000 * mb
)

func (ImageLocality) Score(_ context.Context, state *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) (int64, *fw.Status) {
	if len(n.ImageStates) == 0 {
		return 0, nil
	}
	total := int64(state.Snapshot.NumNodes())
	var sum int64
	containers := pod.Pod.Spec.Containers
	for i := range containers {
		if st, ok := n.ImageStates[fw.NormalizedImageName(containers[i].Image)]; ok && total > 0 {
			sum += int64(float64(st.Size) * float64(st.NumNodes) / float64(total))
		}
	}
	maxThreshold := maxContainerThreshold * int64(max(1, len(containers)))
	sum = min(max(sum, minImageThreshold), maxThreshold)
	return fw.MaxNodeScore * (sum - minImageThreshold) / (maxThreshold - minImageThreshold), nil
}
