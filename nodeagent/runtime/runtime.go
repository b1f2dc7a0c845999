// Package runtime is the node agent's view of a container runtime: pod sandboxes and the
// containers in them, much like Kubernetes' CRI but as a Go interface. The pod workers
// decide what should run; a Runtime only does what it is told and reports what exists.
//
// Two implementations: runtime/containerd (real containers) and runtime/sim (no
// containers at all, for simulated nodes by the hundred).
//
// Everything a Runtime reports is found again after the agent restarts (containerd keeps
// it in labels), so the agent adopts what runs instead of starting duplicates.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/skiff-sh/skiff/api/core"
)

// Errors a Runtime returns, wrapped; callers check them with errors.Is. Each maps to the
// waiting reason Kubernetes shows for it.
var (
	ErrNotFound         = errors.New("not found")
	ErrImagePull        = errors.New("ErrImagePull")         // the image could not be pulled
	ErrImageNeverPull   = errors.New("ErrImageNeverPull")    // absent, and imagePullPolicy is Never
	ErrCreateContainer  = errors.New("CreateContainerError") // the runtime refused the container
	ErrRunContainer     = errors.New("RunContainerError")    // it was created but did not start
	ErrCreateConfig     = errors.New("CreateContainerConfigError")
	ErrSandboxCreation  = errors.New("FailedCreatePodSandBox")
	ErrNetworkNotReady  = errors.New("NetworkNotReady")
	ErrContainerRunning = errors.New("container is running")
	// ErrNotSupported: the runtime cannot do this at all (the sim runtime runs no
	// processes, so there is nothing to exec into or forward to).
	ErrNotSupported = errors.New("not supported")
	// ErrInvalidImageArchive: an image archive given to import is not one (a broken tar
	// stream, no manifest, no image in it).
	ErrInvalidImageArchive = errors.New("invalid image archive")
)

// Labels the agent puts on what it creates; the runtime stores them and reports them back.
const (
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelContainerName = "io.kubernetes.container.name"
	LabelAttempt       = "io.skiff.attempt"   // restart number of a container, or of a sandbox
	LabelSpecHash      = "io.skiff.spec-hash" // hash of the container spec it was made from
	LabelKind          = "io.skiff.kind"      // "sandbox" or "container"
	LabelInit          = "io.skiff.init"      // "true" for an init container
	LabelNode          = "io.skiff.node"      // node name, so agents sharing a runtime keep apart
)

// PodRef names the pod something belongs to.
type PodRef struct {
	UID, Namespace, Name string
}

// SandboxConfig is what RunPodSandbox needs.
type SandboxConfig struct {
	Pod      PodRef
	Attempt  int
	Hostname string
	// HostNetwork, HostIPC, HostPID share the node's namespaces instead of new ones, for
	// the sandbox and every container of the pod.
	HostNetwork, HostIPC, HostPID bool
	// ShareProcessNamespace puts the app containers in the sandbox's process namespace
	// (the pause process is its PID 1, reaping zombies), as spec.shareProcessNamespace
	// asks; otherwise each container has its own.
	ShareProcessNamespace bool
	// Ports are the pod's container ports; those with a hostPort are mapped on the node.
	Ports []core.ContainerPort
	// CgroupParent is the pod's cgroup (the QoS class's, then the pod's own).
	CgroupParent string
	Labels       map[string]string
	// LogDir is where the pod's container logs go (one file per container and attempt).
	LogDir string
	// RuntimeHandler is the handler of the pod's RuntimeClass ("" is the default runtime);
	// a runtime without that handler refuses the sandbox.
	RuntimeHandler string
	// Sysctls are set in the sandbox's namespaces (network, IPC), which its containers share.
	Sysctls map[string]string
}

// SandboxState of a sandbox.
type SandboxState int

const (
	SandboxReady SandboxState = iota
	SandboxNotReady
)

// Sandbox is a pod's shared environment: namespaces, network, hosts files.
type Sandbox struct {
	ID        string
	Pod       PodRef
	Attempt   int
	State     SandboxState
	IP        string // the pod IP ("" with host networking: the node's IP applies)
	CreatedAt time.Time
	Labels    map[string]string
}

// Mount is a host path bind-mounted into a container.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
	// Propagation: "" (private), "rslave" (HostToContainer), "rshared" (Bidirectional).
	Propagation string
	// Tmpfs mounts a new tmpfs (HostPath is ignored); SizeBytes > 0 limits it.
	Tmpfs     bool
	SizeBytes int64
}

// Resources are a container's cgroup settings, derived from its requests and limits.
type Resources struct {
	CPUShares   uint64 // from the cpu request
	CPUQuota    int64  // µs per CPUPeriod, from the cpu limit; 0: none
	CPUPeriod   uint64
	MemoryLimit int64 // bytes; 0: none
	OOMScoreAdj int   // by QoS class; only ever raised above the agent's own
}

// SecurityConfig is a container's resolved securityContext.
type SecurityConfig struct {
	RunAsUser, RunAsGroup  *int64
	SupplementalGroups     []int64
	Privileged             bool
	CapAdd, CapDrop        []string
	ReadOnlyRootFilesystem bool
	NoNewPrivileges        bool
	RunAsNonRoot           bool
}

// ContainerConfig is a container resolved for the runtime: command, env and mounts are
// final (the pod worker has applied Kubernetes' rules to the spec and the image).
type ContainerConfig struct {
	Pod     PodRef
	Name    string
	Attempt int
	Image   string // the reference to run, as pulled
	// Command and Args follow Kubernetes: nil Command means the image's entrypoint, nil
	// Args the image's cmd (only when Command is nil too).
	Command, Args []string
	Env           []string // KEY=value
	WorkingDir    string
	Mounts        []Mount
	Resources     Resources
	Security      SecurityConfig
	StopSignal    string // "" means the image's STOPSIGNAL, else SIGTERM
	// TTY gives the process a terminal; Stdin keeps its stdin open for AttachStdin, and
	// StdinOnce closes it when the first attached client's stdin ends.
	TTY, Stdin, StdinOnce bool
	// PIDNamespaceOf is the ID of a running container whose process namespace this one
	// joins (an ephemeral container's targetContainerName); "" gives it its own.
	PIDNamespaceOf string
	// LogPath is the file the container's stdout and stderr go to, in the CRI log format.
	LogPath string
	Labels  map[string]string
	// TerminationMessagePath is read (from the container's view) when it exits.
	TerminationMessagePath string
}

// ContainerState of a container.
type ContainerState int

const (
	ContainerCreated ContainerState = iota
	ContainerRunning
	ContainerExited
	ContainerUnknown
)

func (s ContainerState) String() string {
	return [...]string{"created", "running", "exited", "unknown"}[s]
}

// Container is one instance (attempt) of a pod's container.
type Container struct {
	ID        string
	SandboxID string
	Pod       PodRef
	Name      string
	Attempt   int
	Init      bool
	SpecHash  string
	Image     string // as asked for
	ImageRef  string // the image's digest reference (imageID in pod status)
	State     ContainerState
	CreatedAt time.Time
	StartedAt time.Time
	// FinishedAt, ExitCode, Signal and Reason describe an exited container. Reason is
	// "OOMKilled", or "" for the agent to choose Completed or Error.
	FinishedAt time.Time
	ExitCode   int
	Signal     int
	Reason     string
	Message    string // the termination message, if any
	LogPath    string
	Labels     map[string]string
}

// Image is an image the runtime holds.
type Image struct {
	Ref        string   // what to run it by: "name@sha256:..." or an ID
	Names      []string // every name it has
	SizeBytes  int64
	StopSignal string
	User       string
	// Pinned images are never garbage collected (the pause image).
	Pinned bool
}

// PullAuth are registry credentials (from a dockerconfigjson imagePullSecret).
type PullAuth struct {
	Username, Password, Auth, IdentityToken string
}

// ExecResult is the outcome of ExecSync.
type ExecResult struct {
	ExitCode int
	Output   []byte // stdout then stderr, cut at a bound
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Width, Height uint16
}

// ExecOptions describe a process to run in a container.
type ExecOptions struct {
	Cmd []string
	// TTY gives the process a terminal: Stdout then carries both its output streams.
	TTY bool
	// Stdin, Stdout and Stderr are connected when not nil; the process sees EOF on its
	// stdin when Stdin does.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Size, with TTY, is the terminal's size from the start (nil: unknown); Resize
	// carries the sizes it takes afterwards.
	Size   *TerminalSize
	Resize <-chan TerminalSize
}

// Runtime runs pods. Every method is safe for concurrent use.
type Runtime interface {
	// Type is the scheme of container IDs in pod status ("containerd", "sim").
	Type() string
	// Version is what nodeInfo.containerRuntimeVersion shows after the scheme.
	Version(ctx context.Context) (string, error)
	// SetPodCIDR tells the runtime the node's pod range, from which sandboxes get IPs.
	SetPodCIDR(cidr string) error
	// NetworkReady is nil once sandboxes can get a network.
	NetworkReady() error

	RunPodSandbox(ctx context.Context, cfg *SandboxConfig) (*Sandbox, error)
	// StopPodSandbox stops the sandbox and releases its network; its containers must be
	// stopped first. Idempotent.
	StopPodSandbox(ctx context.Context, id string) error
	RemovePodSandbox(ctx context.Context, id string) error
	// ListPodSandboxes lists the sandboxes of one pod, or of every pod when podUID is "".
	ListPodSandboxes(ctx context.Context, podUID string) ([]*Sandbox, error)

	// EnsureImage makes ref present according to policy and returns the reference to run.
	EnsureImage(ctx context.Context, ref string, policy core.PullPolicy, auth []PullAuth) (*Image, error)
	ListImages(ctx context.Context) ([]Image, error)

	CreateContainer(ctx context.Context, sandboxID string, cfg *ContainerConfig) (string, error)
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the stop signal, then SIGKILL after grace. Idempotent.
	StopContainer(ctx context.Context, id string, grace time.Duration, signal string) error
	RemoveContainer(ctx context.Context, id string) error
	// ListContainers lists the containers of one pod, or of every pod when podUID is "".
	ListContainers(ctx context.Context, podUID string) ([]*Container, error)

	// ExecSync runs cmd in a running container and waits for it (probes, hooks).
	ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*ExecResult, error)
	// Exec runs a process in a running container with streams attached (kubectl exec)
	// and returns its exit code once it has ended and its output is written. Cancelling
	// ctx kills the process.
	Exec(ctx context.Context, id string, opts ExecOptions) (int, error)
	// AttachStdin copies stdin into the stdin of a running container created with Stdin
	// (kubectl attach -i, kubectl debug -it) until stdin ends or ctx does, and resizes its
	// terminal as resize says. When stdin ends and the container has StdinOnce, the
	// process sees EOF. Output is read from the container's log.
	AttachStdin(ctx context.Context, id string, stdin io.Reader, resize <-chan TerminalSize) error
	// PortForward connects stream to port on localhost in the sandbox's network
	// namespace (kubectl port-forward) and copies both ways until either side ends.
	PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error

	// Changes receives the UID of a pod whose containers changed on their own (exited),
	// so its worker syncs now rather than at the next periodic sync.
	Changes() <-chan string

	// ImageFsUsage reports the filesystem holding the images and the containers' writable
	// layers (for image garbage collection and DiskPressure); ErrNotSupported when there
	// is none (sim).
	ImageFsUsage(ctx context.Context) (*FsUsage, error)
	// RemoveImage removes an image, under every name it has. Whether a container still
	// uses it is the caller's concern.
	RemoveImage(ctx context.Context, ref string) error
	// WritableLayerUsage is what a container wrote to its root filesystem (its writable
	// layer); ErrNotSupported when the runtime cannot tell.
	WritableLayerUsage(ctx context.Context, containerID string) (DiskUsage, error)
}

// DiskUsage is what a directory tree (or a writable layer) holds.
type DiskUsage struct {
	Bytes, Inodes uint64
}

// FsUsage is a filesystem's size and what is left of it.
type FsUsage struct {
	Path                     string // a directory on it
	CapacityBytes, FreeBytes uint64 // free: available to unprivileged users, as df shows
	InodesTotal, InodesFree  uint64
}
