// Package eviction is the node agent's eviction manager, the kubelet's: every stats sample
// it compares the node's signals (memory.available, nodefs/imagefs available bytes and free
// inodes, pid.available) with the configured thresholds, reports MemoryPressure,
// DiskPressure and PIDPressure, reclaims node-level resources first (dead containers and
// unused images, for disk), and otherwise evicts one pod per round — ranked as the kubelet
// ranks them — which ends Failed with reason Evicted and Kubernetes' message. It also
// enforces local storage limits (emptyDir sizeLimit, ephemeral-storage limits).
//
// Thresholds come from the kubelet's flags (--eviction-hard, --eviction-soft with
// --eviction-soft-grace-period, --eviction-minimum-reclaim) through one parser, Parse.
package eviction

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
)

// Signal is an eviction signal: something the node runs short of.
type Signal string

// The signals the node agent observes (the kubelet's names). containerfs.* is not: skiff's
// containers write to the image filesystem.
const (
	SignalMemoryAvailable            Signal = "memory.available"
	SignalAllocatableMemoryAvailable Signal = "allocatableMemory.available"
	SignalNodeFsAvailable            Signal = "nodefs.available"
	SignalNodeFsInodesFree           Signal = "nodefs.inodesFree"
	SignalImageFsAvailable           Signal = "imagefs.available"
	SignalImageFsInodesFree          Signal = "imagefs.inodesFree"
	SignalPIDAvailable               Signal = "pid.available"
)

// Resources a signal is about, as eviction messages name them.
const (
	resourceInodes core.ResourceName = "inodes"
	resourcePids   core.ResourceName = "pids"
)

// signalResource is the resource each signal measures; a signal not in it is not one.
var signalResource = map[Signal]core.ResourceName{
	SignalMemoryAvailable:            core.ResourceMemory,
	SignalAllocatableMemoryAvailable: core.ResourceMemory,
	SignalNodeFsAvailable:            core.ResourceEphemeralStorage,
	SignalNodeFsInodesFree:           resourceInodes,
	SignalImageFsAvailable:           core.ResourceEphemeralStorage,
	SignalImageFsInodesFree:          resourceInodes,
	SignalPIDAvailable:               resourcePids,
}

// signalCondition is the node condition a signal under its threshold sets.
var signalCondition = map[Signal]core.NodeConditionType{
	SignalMemoryAvailable:            core.NodeMemoryPressure,
	SignalAllocatableMemoryAvailable: core.NodeMemoryPressure,
	SignalNodeFsAvailable:            core.NodeDiskPressure,
	SignalNodeFsInodesFree:           core.NodeDiskPressure,
	SignalImageFsAvailable:           core.NodeDiskPressure,
	SignalImageFsInodesFree:          core.NodeDiskPressure,
	SignalPIDAvailable:               core.NodePIDPressure,
}

// Value is a threshold's amount: a quantity, or a fraction of the signal's capacity.
type Value struct {
	Quantity   *resource.Quantity
	Percentage float32 // 0.1 is 10%
}

// String is the value as written on the command line.
func (v Value) String() string {
	if v.Quantity != nil {
		return v.Quantity.String()
	}
	return strconv.FormatFloat(float64(v.Percentage)*100, 'g', 6, 64) + "%" // float32: 6 digits are exact
}

// Quantity is the value against a capacity (a percentage of it), as the kubelet's
// GetThresholdQuantity.
func (v Value) quantity(capacity resource.Quantity) resource.Quantity {
	if v.Quantity != nil {
		return *v.Quantity
	}
	return *resource.NewQuantity(int64(float64(capacity.Value())*float64(v.Percentage)), resource.BinarySI)
}

func (v Value) equal(o Value) bool {
	if (v.Quantity == nil) != (o.Quantity == nil) {
		return false
	}
	if v.Quantity != nil {
		return v.Quantity.Cmp(*o.Quantity) == 0
	}
	return v.Percentage == o.Percentage
}

// Threshold: the signal's available amount below Value is pressure. A hard threshold
// (GracePeriod 0) evicts at once, with no grace for the pod; a soft one once it has held
// for GracePeriod, giving pods at most --eviction-max-pod-grace-period. MinReclaim is how
// far past the threshold the node must get before the pressure is over.
type Threshold struct {
	Signal      Signal
	Value       Value
	GracePeriod time.Duration
	MinReclaim  *Value
}

// Hard reports whether the threshold is a hard one.
func (t Threshold) Hard() bool { return t.GracePeriod == 0 }

func (t Threshold) same(o Threshold) bool {
	return t.Signal == o.Signal && t.GracePeriod == o.GracePeriod && t.Value.equal(o.Value)
}

func (t Threshold) String() string {
	s := string(t.Signal) + "<" + t.Value.String()
	if !t.Hard() {
		s += " for " + t.GracePeriod.String()
	}
	return s
}

// DefaultHard is the kubelet's --eviction-hard default (Linux).
const DefaultHard = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%,imagefs.inodesFree<5%"

// Flags are the kubelet's eviction flags as written.
type Flags struct {
	Hard, Soft, SoftGracePeriod, MinimumReclaim string
}

// Parse reads the flags into thresholds, with the kubelet's rules and messages: a signal
// it does not know is refused; "0%" and "100%" drop the threshold (kind runs its nodes with
// nodefs.available<0% so a full disk does not stop them); a quantity must be positive; every
// soft threshold needs a grace period; minimum reclaims apply to the hard and soft
// thresholds of their signal. A hard memory.available threshold also applies to
// allocatableMemory.available (the pods' share: the kubelet does this with its default
// --enforce-node-allocatable=pods).
func Parse(f Flags) ([]Threshold, error) {
	hard, err := parseStatements("--eviction-hard", f.Hard, "<")
	if err != nil {
		return nil, err
	}
	soft, err := parseStatements("--eviction-soft", f.Soft, "<")
	if err != nil {
		return nil, err
	}
	graces, err := parseMap("--eviction-soft-grace-period", f.SoftGracePeriod)
	if err != nil {
		return nil, err
	}
	reclaims, err := parseMap("--eviction-minimum-reclaim", f.MinimumReclaim)
	if err != nil {
		return nil, err
	}
	out := []Threshold{} // not nil: no thresholds at all is a choice (see Config)
	for _, s := range hard {
		if t, err := parseThreshold(s.signal, s.value); err != nil {
			return nil, fmt.Errorf("--eviction-hard: %w", err)
		} else if t != nil {
			out = append(out, *t)
		}
	}
	for _, s := range soft {
		t, err := parseThreshold(s.signal, s.value)
		if err != nil {
			return nil, fmt.Errorf("--eviction-soft: %w", err)
		}
		g, ok := graces[s.signal]
		if !ok {
			return nil, fmt.Errorf("--eviction-soft: grace period must be specified for the soft eviction threshold %s", s.signal)
		}
		d, err := time.ParseDuration(g)
		if err != nil {
			return nil, fmt.Errorf("--eviction-soft-grace-period: %s: %w", s.signal, err)
		}
		if d < 0 {
			return nil, fmt.Errorf("--eviction-soft-grace-period: invalid eviction grace period specified: %v, must be a positive value", g)
		}
		if t != nil {
			t.GracePeriod = d
			out = append(out, *t)
		}
	}
	for signal, v := range reclaims {
		r, err := parseMinReclaim(signal, v)
		if err != nil {
			return nil, fmt.Errorf("--eviction-minimum-reclaim: %w", err)
		}
		for i := range out {
			if out[i].Signal == signal {
				out[i].MinReclaim = &r
			}
		}
	}
	for _, t := range out {
		if t.Signal == SignalMemoryAvailable && t.Hard() {
			t.Signal = SignalAllocatableMemoryAvailable
			out = append(out, t)
		}
	}
	return out, nil
}

type statement struct {
	signal Signal
	value  string
}

// parseStatements reads "signal<value,signal<value" (sep "<").
func parseStatements(flag, s, sep string) ([]statement, error) {
	var out []statement
	seen := map[Signal]bool{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, sep)
		if !ok {
			return nil, fmt.Errorf("%s: malformed pair %q, expect string%sstring", flag, item, sep)
		}
		sig := Signal(strings.TrimSpace(k))
		if _, ok := signalResource[sig]; !ok || sig == SignalAllocatableMemoryAvailable {
			return nil, fmt.Errorf("%s: unsupported eviction signal %s", flag, sig)
		}
		if seen[sig] {
			return nil, fmt.Errorf("%s: signal %s given twice", flag, sig)
		}
		seen[sig] = true
		out = append(out, statement{sig, strings.TrimSpace(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].signal < out[j].signal })
	return out, nil
}

// parseMap reads "signal=value,..." into a map.
func parseMap(flag, s string) (map[Signal]string, error) {
	l, err := parseStatements(flag, s, "=")
	if err != nil {
		return nil, err
	}
	out := map[Signal]string{}
	for _, st := range l {
		out[st.signal] = st.value
	}
	return out, nil
}

// parseThreshold is the kubelet's parseThresholdStatement; nil for 0% and 100%.
func parseThreshold(signal Signal, val string) (*Threshold, error) {
	if strings.HasSuffix(val, "%") {
		if val == "0%" || val == "100%" {
			return nil, nil
		}
		p, err := parsePercentage(val)
		if err != nil {
			return nil, err
		}
		if p < 0 {
			return nil, fmt.Errorf("eviction percentage threshold %v must be >= 0%%: %s", signal, val)
		}
		if p > 1 {
			return nil, fmt.Errorf("eviction percentage threshold %v must be <= 100%%: %s", signal, val)
		}
		return &Threshold{Signal: signal, Value: Value{Percentage: p}}, nil
	}
	q, err := resource.ParseQuantity(val)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", signal, err)
	}
	if q.Sign() <= 0 {
		return nil, fmt.Errorf("eviction threshold %v must be positive: %s", signal, q.String())
	}
	return &Threshold{Signal: signal, Value: Value{Quantity: &q}}, nil
}

func parseMinReclaim(signal Signal, val string) (Value, error) {
	if strings.HasSuffix(val, "%") {
		p, err := parsePercentage(val)
		if err != nil {
			return Value{}, err
		}
		if p <= 0 {
			return Value{}, fmt.Errorf("eviction percentage minimum reclaim %v must be positive: %s", signal, val)
		}
		return Value{Percentage: p}, nil
	}
	q, err := resource.ParseQuantity(val)
	if err != nil {
		return Value{}, fmt.Errorf("%s: %w", signal, err)
	}
	if q.Sign() < 0 {
		return Value{}, fmt.Errorf("negative eviction minimum reclaim specified for %v", signal)
	}
	return Value{Quantity: &q}, nil
}

func parsePercentage(s string) (float32, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 32)
	if err != nil {
		return 0, fmt.Errorf("invalid percentage %q: %w", s, err)
	}
	return float32(v) / 100, nil
}

// Reserved is what the hard thresholds keep from pods, for the node's allocatable (the
// kubelet subtracts hard memory.available and nodefs.available thresholds, a percentage
// of capacity, from it).
func Reserved(ts []Threshold, capacity core.ResourceList) core.ResourceList {
	out := core.ResourceList{}
	for _, t := range ts {
		if !t.Hard() {
			continue
		}
		var name core.ResourceName
		switch t.Signal {
		case SignalMemoryAvailable:
			name = core.ResourceMemory
		case SignalNodeFsAvailable:
			name = core.ResourceEphemeralStorage
		default:
			continue
		}
		c, ok := capacity[name]
		if !ok {
			continue
		}
		out[name] = t.Value.quantity(c)
	}
	return out
}
