// Package statsapi holds the kubelet Summary API's types (stats/v1alpha1), which the node agent
// serves at /stats/summary and the API server reads to answer metrics.k8s.io.
package statsapi

import "github.com/skiff-sh/skiff/api/meta"

// The Summary API's types, JSON-identical to the kubelet's stats/v1alpha1 (the fields skiff
// fills; the rest are left out rather than served empty).

// Summary is a node's and its pods' usage, as GET /stats/summary serves it.
type Summary struct {
	Node NodeStats  `json:"node"`
	Pods []PodStats `json:"pods"`
}

// NodeStats is the node's usage.
type NodeStats struct {
	NodeName  string        `json:"nodeName"`
	StartTime meta.Time     `json:"startTime"`
	CPU       *CPUStats     `json:"cpu,omitempty"`
	Memory    *MemoryStats  `json:"memory,omitempty"`
	Fs        *FsStats      `json:"fs,omitempty"`
	Runtime   *RuntimeStats `json:"runtime,omitempty"`
	// Rlimit is the node's process ceiling and count (pid.available).
	Rlimit *RlimitStats `json:"rlimit,omitempty"`
}

// RlimitStats: MaxPID is the ceiling of process IDs (threads count, one each), and
// NumOfRunningProcesses how many are in use.
type RlimitStats struct {
	Time                  meta.Time `json:"time"`
	MaxPID                *int64    `json:"maxpid,omitempty"`
	NumOfRunningProcesses *int64    `json:"curproc,omitempty"`
}

// RuntimeStats is the container runtime's filesystem usage.
type RuntimeStats struct {
	ImageFs *FsStats `json:"imageFs,omitempty"`
}

// PodReference names a pod.
type PodReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// PodStats is one pod's usage: the pod cgroup's, and its running containers'.
type PodStats struct {
	PodRef     PodReference     `json:"podRef"`
	StartTime  meta.Time        `json:"startTime"`
	Containers []ContainerStats `json:"containers"`
	CPU        *CPUStats        `json:"cpu,omitempty"`
	Memory     *MemoryStats     `json:"memory,omitempty"`
	// VolumeStats are the pod's local volumes' usage (emptyDir).
	VolumeStats []VolumeStats `json:"volume,omitempty"`
	// EphemeralStorage is the pod's local storage: its containers' writable layers and logs
	// and its emptyDir volumes.
	EphemeralStorage *FsStats      `json:"ephemeral-storage,omitempty"`
	ProcessStats     *ProcessStats `json:"process_stats,omitempty"`
}

// VolumeStats is one volume's usage.
type VolumeStats struct {
	FsStats `json:",inline"`
	Name    string `json:"name,omitempty"`
}

// ProcessStats counts a pod's processes.
type ProcessStats struct {
	ProcessCount *uint64 `json:"process_count,omitempty"`
}

// ContainerStats is one container's usage.
type ContainerStats struct {
	Name      string       `json:"name"`
	StartTime meta.Time    `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
	// Rootfs is the container's writable layer, Logs its log files.
	Rootfs *FsStats `json:"rootfs,omitempty"`
	Logs   *FsStats `json:"logs,omitempty"`
}

// CPUStats: UsageNanoCores is the rate over the last sampling interval, UsageCoreNanoSeconds
// the cumulative counter.
type CPUStats struct {
	Time                 meta.Time `json:"time"`
	UsageNanoCores       *uint64   `json:"usageNanoCores,omitempty"`
	UsageCoreNanoSeconds *uint64   `json:"usageCoreNanoSeconds,omitempty"`
}

// MemoryStats: WorkingSetBytes is what the kubelet evicts and `kubectl top` reports by
// (usage minus inactive file pages); AvailableBytes only for the node (or a limited cgroup).
type MemoryStats struct {
	Time            meta.Time `json:"time"`
	AvailableBytes  *uint64   `json:"availableBytes,omitempty"`
	UsageBytes      *uint64   `json:"usageBytes,omitempty"`
	WorkingSetBytes *uint64   `json:"workingSetBytes,omitempty"`
	RSSBytes        *uint64   `json:"rssBytes,omitempty"`
	PageFaults      *uint64   `json:"pageFaults,omitempty"`
	MajorPageFaults *uint64   `json:"majorPageFaults,omitempty"`
}

// FsStats is a filesystem's usage.
type FsStats struct {
	Time           meta.Time `json:"time"`
	AvailableBytes *uint64   `json:"availableBytes,omitempty"`
	CapacityBytes  *uint64   `json:"capacityBytes,omitempty"`
	UsedBytes      *uint64   `json:"usedBytes,omitempty"`
	InodesFree     *uint64   `json:"inodesFree,omitempty"`
	Inodes         *uint64   `json:"inodes,omitempty"`
	InodesUsed     *uint64   `json:"inodesUsed,omitempty"`
}
