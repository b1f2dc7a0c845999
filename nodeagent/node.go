package nodeagent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/wait"
	"github.com/skiff-sh/skiff/nodeagent/eviction"
	"github.com/skiff-sh/skiff/nodeagent/volumes"
)

// Version is the agent's version, shown as the node's kubeletVersion (kubectl get nodes).
var Version = "v1.33.0-skiff"

// newNode is the Node the agent registers: its labels, taints and pod CIDR. Status is
// written separately, through nodes/status.
func (a *Agent) newNode() *core.Node {
	labels := map[string]string{
		"kubernetes.io/hostname":  a.cfg.NodeName,
		"kubernetes.io/os":        goruntime.GOOS,
		"kubernetes.io/arch":      goruntime.GOARCH,
		"beta.kubernetes.io/os":   goruntime.GOOS,
		"beta.kubernetes.io/arch": goruntime.GOARCH,
	}
	for k, v := range a.cfg.Labels {
		labels[k] = v
	}
	// Where skiff.dev/local volumes of this node live, for the provisioner (sim nodes have
	// no files: theirs is a name only).
	localDir := volumes.LocalVolumeDir(a.cfg.RootDir)
	if a.cfg.Sim || a.cfg.RootDir == "" {
		localDir = "/sim/" + a.cfg.NodeName + "/local-volumes"
	}
	n := &core.Node{ObjectMeta: meta.ObjectMeta{Name: a.cfg.NodeName, Labels: labels,
		Annotations: map[string]string{storage.LocalVolumeDirAnnotation: localDir}}}
	if a.cfg.Sim {
		// A real node measures its room (localVolumeLoop); a simulated one has its capacity.
		capacity, _ := a.capacity()
		n.Annotations[storage.LocalVolumeCapacityAnnotation] = simLocalVolumeRoom(capacity)
	}
	n.Spec.Taints = a.cfg.Taints
	if a.cfg.PodCIDR != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = a.cfg.PodCIDR, []string{a.cfg.PodCIDR}
	}
	return n
}

// register creates the agent's Node, or adopts an existing one: our labels are (re)applied
// and a pod CIDR given on the command line is set if the node has none.
func (a *Agent) register(ctx context.Context) (*core.Node, error) {
	want := a.newNode()
	n, err := a.nodes.Create(ctx, want)
	if err == nil {
		return n, nil
	}
	if !client.IsAlreadyExists(err) {
		return nil, err
	}
	for {
		n, err = a.nodes.Get(ctx, "", a.cfg.NodeName)
		if err != nil {
			return nil, err
		}
		changed := false
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		for k, v := range want.Labels {
			if n.Labels[k] != v {
				n.Labels[k], changed = v, true
			}
		}
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		for k, v := range want.Annotations {
			if n.Annotations[k] != v {
				n.Annotations[k], changed = v, true
			}
		}
		if n.Spec.PodCIDR == "" && want.Spec.PodCIDR != "" {
			n.Spec.PodCIDR, n.Spec.PodCIDRs, changed = want.Spec.PodCIDR, want.Spec.PodCIDRs, true
		}
		if !changed {
			return n, nil
		}
		n, err = a.nodes.Update(ctx, n)
		if client.IsConflict(err) {
			continue
		}
		return n, err
	}
}

// machine is what the agent reads of the host once.
type machine struct {
	cpu, memory, storage int64 // cores, bytes, bytes
	info                 core.NodeSystemInfo
}

func readMachine(rootDir string) machine {
	var m machine
	m.cpu = int64(goruntime.NumCPU())
	m.memory = memTotal()
	if rootDir != "" {
		var st syscall.Statfs_t
		if syscall.Statfs(rootDir, &st) == nil {
			m.storage = int64(st.Blocks) * int64(st.Bsize)
		}
	}
	m.info = core.NodeSystemInfo{
		MachineID:        strings.TrimSpace(readFile("/etc/machine-id")),
		SystemUUID:       strings.TrimSpace(readFile("/sys/class/dmi/id/product_uuid")),
		BootID:           strings.TrimSpace(readFile("/proc/sys/kernel/random/boot_id")),
		KernelVersion:    strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		OSImage:          osImage(),
		KubeletVersion:   Version,
		KubeProxyVersion: Version,
		OperatingSystem:  goruntime.GOOS,
		Architecture:     goruntime.GOARCH,
	}
	return m
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func osImage() string {
	for _, line := range strings.Split(readFile("/etc/os-release"), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return goruntime.GOOS
}

// DefaultNodeIP is the address of the interface the default route uses, else the first
// global unicast IPv4 address, else 127.0.0.1.
func DefaultNodeIP() string {
	if conn, err := net.Dial("udp4", "192.0.2.1:9"); err == nil { // no packet is sent
		ip := conn.LocalAddr().(*net.UDPAddr).IP.String()
		conn.Close()
		return ip
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

// capacity is what the node offers; allocatable is that minus --system-reserved and the
// hard eviction thresholds of memory and the node's disk (as the kubelet's).
func (a *Agent) capacity() (core.ResourceList, core.ResourceList) {
	capacity, alloc := a.capacityReserved()
	for k, r := range eviction.Reserved(a.thresholds(), capacity) {
		if v, ok := alloc[k]; ok {
			v.Sub(r)
			if v.Sign() < 0 {
				v = *resource.NewQuantity(0, resource.DecimalSI)
			}
			alloc[k] = v
		}
	}
	return capacity, alloc
}

// allocatableBeforeEviction is capacity less --system-reserved: the pods' share of the
// node, which allocatableMemory.available is measured against.
func (a *Agent) allocatableBeforeEviction() core.ResourceList {
	_, alloc := a.capacityReserved()
	return alloc
}

// capacityReserved is the capacity, and the capacity less --system-reserved.
func (a *Agent) capacityReserved() (core.ResourceList, core.ResourceList) {
	capacity := core.ResourceList{}
	if a.cfg.Capacity != nil {
		for k, v := range a.cfg.Capacity {
			capacity[k] = v
		}
	} else {
		capacity[core.ResourceCPU] = *resource.NewQuantity(a.machine.cpu, resource.DecimalSI)
		capacity[core.ResourceMemory] = *resource.NewQuantity(a.machine.memory, resource.BinarySI)
		if a.machine.storage > 0 {
			capacity[core.ResourceEphemeralStorage] = *resource.NewQuantity(a.machine.storage, resource.BinarySI)
		}
	}
	if _, ok := capacity[core.ResourcePods]; !ok {
		capacity[core.ResourcePods] = *resource.NewQuantity(int64(a.cfg.MaxPods), resource.DecimalSI)
	}
	alloc := core.ResourceList{}
	for k, v := range capacity {
		if r, ok := a.cfg.SystemReserved[k]; ok {
			v.Sub(r)
			if v.Sign() < 0 {
				v = *resource.NewQuantity(0, resource.DecimalSI)
			}
		}
		alloc[k] = v
	}
	return capacity, alloc
}

// nodeStatus is the status the agent reports now. Conditions keep their transition
// times from the last reported status while unchanged.
func (a *Agent) nodeStatus(ctx context.Context, old *core.NodeStatus) core.NodeStatus {
	capacity, alloc := a.capacity()
	info := a.machine.info
	if v, err := a.rt.Version(ctx); err == nil {
		info.ContainerRuntimeVersion = a.rt.Type() + "://" + v
	}
	if a.cfg.Sim {
		info.MachineID, info.SystemUUID = a.cfg.NodeName, a.cfg.NodeName
	}
	st := core.NodeStatus{
		Capacity: capacity, Allocatable: alloc, NodeInfo: info,
		Addresses: []core.NodeAddress{
			{Type: core.NodeInternalIP, Address: a.cfg.NodeIP},
			{Type: core.NodeHostName, Address: a.cfg.NodeName},
		},
		DaemonEndpoints: core.NodeDaemonEndpoints{KubeletEndpoint: core.DaemonEndpoint{Port: int32(a.cfg.Port)}},
	}
	if imgs, err := a.rt.ListImages(ctx); err == nil {
		sort.Slice(imgs, func(i, j int) bool { return imgs[i].SizeBytes > imgs[j].SizeBytes })
		for i, img := range imgs {
			if i == 50 { // as the kubelet: the 50 largest
				break
			}
			st.Images = append(st.Images, core.ContainerImage{Names: img.Names, SizeBytes: img.SizeBytes})
		}
	}
	now := meta.Now()
	cond := func(t core.NodeConditionType, s core.ConditionStatus, reason, msg string) core.NodeCondition {
		c := core.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
		if old != nil {
			for _, p := range old.Conditions {
				if p.Type == t && p.Status == s {
					c.LastTransitionTime = p.LastTransitionTime
				}
			}
		}
		return c
	}
	ready := cond(core.NodeReady, core.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	if err := a.rt.NetworkReady(); err != nil {
		ready = cond(core.NodeReady, core.ConditionFalse, "KubeletNotReady", "container runtime network not ready: "+err.Error())
	}
	st.Conditions = append(a.pressureConditions(cond), ready)
	return st
}

// statusLoop reports the node's status: at once, then whenever it changes (checked every
// HeartbeatInterval, and at once when the pod CIDR arrives) and at least every
// StatusReportInterval. The agent learns its pod CIDR from the watch of its Node (onNode),
// and also from the answer to each write.
func (a *Agent) statusLoop(ctx context.Context, node *core.Node) {
	var lastSent []byte
	var lastAt time.Time
	old := &node.Status
	a.adoptSpec(node)
	for {
		st := a.nodeStatus(ctx, old)
		cmp := st
		cmp.Conditions = nil // heartbeat times always differ
		key, _ := json.Marshal(struct {
			S     core.NodeStatus
			Conds []string
		}{cmp, condKeys(st.Conditions)})
		due := time.Since(lastAt) >= a.cfg.StatusReportInterval
		if string(key) != string(lastSent) || due || a.podCIDR() == "" && !a.cfg.Sim {
			if n, err := a.patchNodeStatus(ctx, st); err != nil {
				if ctx.Err() != nil {
					return
				}
				a.log.Warn("node status update failed", "err", err)
			} else {
				lastSent, lastAt, old = key, time.Now(), &n.Status
				if a.adoptSpec(n) {
					continue // the network may be ready now: report that at once
				}
			}
		}
		t := time.NewTimer(a.cfg.HeartbeatInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.statusNow:
		case <-t.C:
		}
		t.Stop()
	}
}

// onNode is called with the agent's Node whenever it changes: a new pod CIDR is taken at
// once, and the status reported again (readiness may depend on it).
func (a *Agent) onNode(n *core.Node) {
	if a.adoptSpec(n) {
		select {
		case a.statusNow <- struct{}{}:
		default:
		}
	}
}

func condKeys(cs []core.NodeCondition) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c.Type) + "=" + string(c.Status) + "/" + c.Reason
	}
	return out
}

func (a *Agent) patchNodeStatus(ctx context.Context, st core.NodeStatus) (*core.Node, error) {
	body, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := a.nodes.Patch(ctx, "", a.cfg.NodeName, client.MergePatchType, body, "status")
	if client.IsNotFound(err) {
		// Someone deleted our Node: register again, as the kubelet does.
		if n, err = a.register(ctx); err != nil {
			return nil, err
		}
		return a.nodes.Patch(ctx, "", a.cfg.NodeName, client.MergePatchType, body, "status")
	}
	return n, err
}

// adoptSpec takes the pod CIDR from the node's spec; true if it changed.
func (a *Agent) adoptSpec(n *core.Node) bool {
	a.adoptMu.Lock()
	defer a.adoptMu.Unlock()
	if n == nil || n.Spec.PodCIDR == "" || n.Spec.PodCIDR == a.podCIDR() {
		return false
	}
	if err := a.rt.SetPodCIDR(n.Spec.PodCIDR); err != nil {
		a.log.Error("pod CIDR not usable", "podCIDR", n.Spec.PodCIDR, "err", err)
		return false
	}
	a.mu.Lock()
	a.cidr = n.Spec.PodCIDR
	a.mu.Unlock()
	a.log.Info("pod CIDR", "podCIDR", n.Spec.PodCIDR)
	return true
}

func (a *Agent) podCIDR() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cidr
}

// leaseLoop renews the node's Lease in kube-node-lease every HeartbeatInterval: the node
// lifecycle controller takes a Lease not renewed for 40 s for a dead node.
func (a *Agent) leaseLoop(ctx context.Context, node *core.Node) {
	var lease *coordination.Lease
	for {
		var err error
		lease, err = a.renewLease(ctx, lease, node)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("lease renewal failed", "err", err)
			lease = nil // read it again next time
		}
		d := a.cfg.HeartbeatInterval
		if err != nil {
			d = min(d, time.Second)
		}
		if !wait.Sleep(ctx, d) {
			return
		}
	}
}

func (a *Agent) renewLease(ctx context.Context, lease *coordination.Lease, node *core.Node) (*coordination.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	now := meta.NowMicro()
	if lease == nil {
		l, err := a.leases.Get(ctx, core.NamespaceNodeLease, a.cfg.NodeName)
		switch {
		case client.IsNotFound(err):
			holder, dur := a.cfg.NodeName, int32(a.cfg.LeaseDuration/time.Second)
			isController := true
			l = &coordination.Lease{
				ObjectMeta: meta.ObjectMeta{Name: a.cfg.NodeName, Namespace: core.NamespaceNodeLease,
					OwnerReferences: []meta.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &isController}}},
				Spec: coordination.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &now},
			}
			return a.leases.Create(ctx, l)
		case err != nil:
			return nil, err
		}
		lease = l
	}
	next := *lease
	next.Spec.RenewTime = &now
	holder, dur := a.cfg.NodeName, int32(a.cfg.LeaseDuration/time.Second)
	next.Spec.HolderIdentity, next.Spec.LeaseDurationSeconds = &holder, &dur
	out, err := a.leases.Update(ctx, &next)
	if err != nil {
		return nil, fmt.Errorf("renew lease: %w", err)
	}
	return out, nil
}
