package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// Factory builds a plugin from its args (raw JSON of pluginConfig[].args, nil when absent).
type Factory func(args json.RawMessage, h Handle) (fw.Plugin, error)

// Handle is what plugins get from the scheduler.
type Handle struct {
	Parallelizer fw.Parallelizer
	// Workloads finds the Services, ReplicaSets and StatefulSets selecting a pod (for
	// PodTopologySpread's default constraints); nil when there are none to look at.
	Workloads WorkloadLister
	// Volumes reads claims, volumes and classes and writes volume bindings (VolumeBinding);
	// nil when only checking a configuration.
	Volumes VolumeAccess
}

// Registry returns every plugin skiff knows, by name.
func Registry() map[string]Factory {
	simple := func(p fw.Plugin) Factory {
		return func(args json.RawMessage, _ Handle) (fw.Plugin, error) { return p, noArgs(p.Name(), args) }
	}
	return map[string]Factory{
		NodeUnschedulableName: simple(NodeUnschedulable{}),
		NodeNameName:          simple(NodeName{}),
		NodePortsName:         simple(NodePorts{}),
		TaintTolerationName:   simple(TaintToleration{}),
		NodeAffinityName:      simple(NodeAffinity{}),
		ImageLocalityName:     simple(ImageLocality{}),
		VolumeBindingName: func(args json.RawMessage, h Handle) (fw.Plugin, error) {
			return NewVolumeBinding(h.Volumes), noArgs(VolumeBindingName, args)
		},
		NodeResourcesFitName: func(args json.RawMessage, _ Handle) (fw.Plugin, error) {
			var a NodeResourcesFitArgs
			if err := decodeArgs(args, &a); err != nil {
				return nil, err
			}
			return NewNodeResourcesFit(a)
		},
		BalancedAllocationName: func(args json.RawMessage, _ Handle) (fw.Plugin, error) {
			var a BalancedAllocationArgs
			if err := decodeArgs(args, &a); err != nil {
				return nil, err
			}
			return NewBalancedAllocation(a)
		},
		PodTopologySpreadName: func(args json.RawMessage, h Handle) (fw.Plugin, error) {
			var a PodTopologySpreadArgs
			if err := decodeArgs(args, &a); err != nil {
				return nil, err
			}
			return NewPodTopologySpread(a, h)
		},
		InterPodAffinityName: func(args json.RawMessage, h Handle) (fw.Plugin, error) {
			var a InterPodAffinityArgs
			if err := decodeArgs(args, &a); err != nil {
				return nil, err
			}
			weight := int64(1)
			if a.HardPodAffinityWeight != nil {
				weight = int64(*a.HardPodAffinityWeight)
				if weight < 0 || weight > 100 {
					return nil, fmt.Errorf("hardPodAffinityWeight: Invalid value: %d: not in valid range [0, 100]", weight)
				}
			}
			return &InterPodAffinity{parallel: h.Parallelizer, hardWeight: weight}, nil
		},
	}
}

// Default plugin lists and score weights of the default profile, as in Kubernetes.
var (
	DefaultFilters = []string{NodeUnschedulableName, NodeNameName, TaintTolerationName, NodeAffinityName,
		NodePortsName, NodeResourcesFitName, VolumeBindingName, PodTopologySpreadName, InterPodAffinityName}
	DefaultScores = []struct {
		Name   string
		Weight int64
	}{
		{TaintTolerationName, 3}, {NodeAffinityName, 2}, {NodeResourcesFitName, 1}, {PodTopologySpreadName, 2},
		{InterPodAffinityName, 2}, {BalancedAllocationName, 1}, {ImageLocalityName, 1},
	}
)

// decodeArgs decodes args strictly, so that a misspelled field is an error naming it.
func decodeArgs(args json.RawMessage, into any) error {
	if len(args) == 0 || string(args) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func noArgs(name string, args json.RawMessage) error {
	var m map[string]json.RawMessage
	if len(args) == 0 || string(args) == "null" {
		return nil
	}
	if err := json.Unmarshal(args, &m); err != nil || len(m) > 0 {
		return fmt.Errorf("%s takes no arguments", name)
	}
	return nil
}
