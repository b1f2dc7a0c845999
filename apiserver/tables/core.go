package tables

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
)

// Pods.

var podPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
	column("Status", "string", "The aggregate status of the containers in this pod."),
	column("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
	ageColumn,
	wide("IP", "string", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
	wide("Node", "string", "NodeName indicates in which node this pod is scheduled."),
	wide("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods."),
	wide("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness."),
}, podRow)

var (
	podSucceededConditions = []meta.TableRowCondition{{Type: "Completed", Status: meta.ConditionTrue, Reason: string(core.PodSucceeded), Message: "The pod has completed successfully."}}
	podFailedConditions    = []meta.TableRowCondition{{Type: "Completed", Status: meta.ConditionTrue, Reason: string(core.PodFailed), Message: "The pod failed."}}
)

// nodeUnreachablePodReason is the status reason of pods on a node that stopped responding.
const nodeUnreachablePodReason = "NodeLost"

// podRow is Kubernetes' printPod: STATUS is the phase, refined by the first init container
// that has not finished ("Init:1/3", "Init:CrashLoopBackOff") or else by the app containers'
// waiting or terminated reasons (the first container's wins), and overridden by deletion
// ("Terminating"). Sidecars (restartable init containers) count as containers.
func podRow(pod *core.Pod, now time.Time) meta.TableRow {
	restarts, sidecarRestarts := 0, 0
	totalContainers := len(pod.Spec.Containers)
	readyContainers := 0
	var lastRestart, lastSidecarRestart time.Time

	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == core.PodScheduled && c.Reason == core.PodReasonSchedulingGated {
			reason = core.PodReasonSchedulingGated
		}
	}

	row := meta.TableRow{}
	switch pod.Status.Phase {
	case core.PodSucceeded:
		row.Conditions = podSucceededConditions
	case core.PodFailed:
		row.Conditions = podFailedConditions
	}

	sidecars := map[string]bool{}
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; c.RestartPolicy != nil && *c.RestartPolicy == core.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
			totalContainers++
		}
	}

	initializing := false
	for i, c := range pod.Status.InitContainerStatuses {
		restarts += int(c.RestartCount)
		if t := c.LastTerminationState.Terminated; t != nil && lastRestart.Before(t.FinishedAt.Time) {
			lastRestart = t.FinishedAt.Time
		}
		if sidecars[c.Name] {
			sidecarRestarts += int(c.RestartCount)
			if t := c.LastTerminationState.Terminated; t != nil && lastSidecarRestart.Before(t.FinishedAt.Time) {
				lastSidecarRestart = t.FinishedAt.Time
			}
		}
		switch {
		case c.State.Terminated != nil && c.State.Terminated.ExitCode == 0:
			continue
		case sidecars[c.Name] && c.Started != nil && *c.Started:
			if c.Ready {
				readyContainers++
			}
			continue
		case c.State.Terminated != nil:
			// initialization failed
			switch t := c.State.Terminated; {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
			initializing = true
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + c.State.Waiting.Reason
			initializing = true
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
			initializing = true
		}
		break
	}

	if !initializing || pod.IsConditionTrue(core.PodInitialized) {
		restarts, lastRestart = sidecarRestarts, lastSidecarRestart
		hasRunning := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			c := pod.Status.ContainerStatuses[i]
			restarts += int(c.RestartCount)
			if t := c.LastTerminationState.Terminated; t != nil && lastRestart.Before(t.FinishedAt.Time) {
				lastRestart = t.FinishedAt.Time
			}
			switch {
			case c.State.Waiting != nil && c.State.Waiting.Reason != "":
				reason = c.State.Waiting.Reason
			case c.State.Terminated != nil && c.State.Terminated.Reason != "":
				reason = c.State.Terminated.Reason
			case c.State.Terminated != nil && c.State.Terminated.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", c.State.Terminated.Signal)
			case c.State.Terminated != nil:
				reason = fmt.Sprintf("ExitCode:%d", c.State.Terminated.ExitCode)
			case c.Ready && c.State.Running != nil:
				hasRunning = true
				readyContainers++
			}
		}
		// A completed container beside running ones (a finished sidecar-less job step)
		// does not make the pod Completed.
		if reason == "Completed" && hasRunning {
			reason = "NotReady"
			if pod.IsConditionTrue(core.PodReady) {
				reason = "Running"
			}
		}
	}

	terminal := pod.Status.Phase == core.PodSucceeded || pod.Status.Phase == core.PodFailed
	if pod.DeletionTimestamp != nil && pod.Status.Reason == nodeUnreachablePodReason {
		reason = "Unknown"
	} else if pod.DeletionTimestamp != nil && !terminal {
		reason = "Terminating"
	}

	restartsCell := strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		restartsCell = fmt.Sprintf("%d (%s ago)", restarts, HumanDuration(now.Sub(lastRestart)))
	}

	podIP := pod.Status.PodIP
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	readinessGates := "<none>"
	if len(pod.Spec.ReadinessGates) > 0 {
		trueConditions := 0
		for _, gate := range pod.Spec.ReadinessGates {
			for _, c := range pod.Status.Conditions {
				if c.Type == gate.ConditionType {
					if c.Status == core.ConditionTrue {
						trueConditions++
					}
					break
				}
			}
		}
		readinessGates = fmt.Sprintf("%d/%d", trueConditions, len(pod.Spec.ReadinessGates))
	}

	row.Cells = []any{
		pod.Name, fmt.Sprintf("%d/%d", readyContainers, totalContainers), reason, restartsCell, age(pod.CreationTimestamp, now),
		orNone(podIP), orNone(pod.Spec.NodeName), orNone(pod.Status.NominatedNodeName), readinessGates,
	}
	return row
}

var podTemplatePrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Containers", "string", "Names of each container in the template."),
	column("Images", "string", "Images referenced by each container in the template."),
	column("Pod Labels", "string", "The labels for the pod template."),
}, func(t *core.PodTemplate, now time.Time) meta.TableRow {
	names, images := containerCells(t.Template.Spec.Containers)
	return meta.TableRow{Cells: []any{t.Name, names, images, labels.FormatLabels(t.Template.Labels)}}
})

// Namespaces and nodes.

var namespacePrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Status", "string", "The status of the namespace"),
	ageColumn,
}, func(ns *core.Namespace, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{ns.Name, string(ns.Status.Phase), age(ns.CreationTimestamp, now)}}
})

var nodePrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Status", "string", "The status of the node"),
	column("Roles", "string", "The roles of the node"),
	ageColumn,
	column("Version", "string", "Kubelet Version reported by the node."),
	wide("Internal-IP", "string", "List of addresses reachable to the node."),
	wide("External-IP", "string", "List of addresses reachable to the node."),
	wide("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
	wide("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
	wide("Container-Runtime", "string", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
}, nodeRow)

// Node role labels: node-role.kubernetes.io/<role>="" and the older kubernetes.io/role=<role>.
const (
	nodeRolePrefix = "node-role.kubernetes.io/"
	nodeRoleLabel  = "kubernetes.io/role"
)

func nodeRow(node *core.Node, now time.Time) meta.TableRow {
	// STATUS is Ready or NotReady from the Ready condition ("Unknown" without one), plus
	// SchedulingDisabled for a cordoned node.
	var status []string
	switch c := node.Condition(core.NodeReady); {
	case c == nil:
		status = append(status, "Unknown")
	case c.Status == core.ConditionTrue:
		status = append(status, string(c.Type))
	default:
		status = append(status, "Not"+string(c.Type))
	}
	if node.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}

	var roles []string
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, nodeRolePrefix) && len(k) > len(nodeRolePrefix):
			roles = append(roles, strings.TrimPrefix(k, nodeRolePrefix))
		case k == nodeRoleLabel && v != "":
			roles = append(roles, v)
		}
	}
	slices.Sort(roles)
	roles = slices.Compact(roles)

	info := node.Status.NodeInfo
	return meta.TableRow{Cells: []any{
		node.Name, strings.Join(status, ","), orNone(strings.Join(roles, ",")), age(node.CreationTimestamp, now), info.KubeletVersion,
		orNone(node.Address(core.NodeInternalIP)), orNone(node.Address(core.NodeExternalIP)),
		orUnknown(info.OSImage), orUnknown(info.KernelVersion), orUnknown(info.ContainerRuntimeVersion),
	}}
}

// Services and endpoints.

var servicePrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Type", "string", "type determines how the Service is exposed."),
	column("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly."),
	column("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
	column("Port(s)", "string", "The list of ports that are exposed by this service."),
	ageColumn,
	wide("Selector", "string", "Route service traffic to pods with label keys and values matching this selector."),
}, func(svc *core.Service, now time.Time) meta.TableRow {
	clusterIP := svc.Spec.ClusterIP
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	ports := make([]string, len(svc.Spec.Ports))
	for i, p := range svc.Spec.Ports {
		if p.NodePort > 0 {
			ports[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			ports[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return meta.TableRow{Cells: []any{
		svc.Name, string(svc.Spec.Type), orNone(clusterIP), serviceExternalIP(svc), orNone(strings.Join(ports, ",")),
		age(svc.CreationTimestamp, now), labels.FormatLabels(svc.Spec.Selector),
	}}
})

// serviceExternalIP is the EXTERNAL-IP cell: the external IPs, for a load balancer also its
// ingress points ("<pending>" until it has some), for an ExternalName service the name.
func serviceExternalIP(svc *core.Service) string {
	switch svc.Spec.Type {
	case core.ServiceTypeClusterIP, core.ServiceTypeNodePort:
		return orNone(strings.Join(svc.Spec.ExternalIPs, ","))
	case core.ServiceTypeLoadBalancer:
		var ingress []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				ingress = append(ingress, in.IP)
			} else if in.Hostname != "" {
				ingress = append(ingress, in.Hostname)
			}
		}
		slices.Sort(ingress)
		ips := append(slices.Compact(ingress), svc.Spec.ExternalIPs...)
		if len(ips) == 0 {
			return "<pending>"
		}
		return strings.Join(ips, ",")
	case core.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

var endpointsPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Endpoints", "string", "The set of all endpoints is the union of all subsets."),
	ageColumn,
}, func(ep *core.Endpoints, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{ep.Name, formatEndpoints(ep), age(ep.CreationTimestamp, now)}}
})

// formatEndpoints lists the first three ready address:port pairs ("10.244.1.5:80,... + 2
// more..."), "<none>" for none.
func formatEndpoints(ep *core.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	count := 0
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 { // a headless service without ports
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) < max {
					list = append(list, a.IP)
				}
			}
			continue
		}
		for _, p := range ss.Ports {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) < max {
					list = append(list, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
				}
			}
		}
	}
	s := strings.Join(list, ",")
	if count > max {
		return fmt.Sprintf("%s + %d more...", s, count-max)
	}
	return s
}

// Configuration.

var configMapPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Data", "string", "Data contains the configuration data."),
	ageColumn,
}, func(cm *core.ConfigMap, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), age(cm.CreationTimestamp, now)}}
})

var secretPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Type", "string", "Used to facilitate programmatic handling of secret data."),
	column("Data", "string", "Data contains the secret data."),
	ageColumn,
}, func(s *core.Secret, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{s.Name, string(s.Type), int64(len(s.Data)), age(s.CreationTimestamp, now)}}
})

var serviceAccountPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."),
	ageColumn,
}, func(sa *core.ServiceAccount, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{sa.Name, int64(len(sa.Secrets)), age(sa.CreationTimestamp, now)}}
})

var resourceQuotaPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
	column("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
	ageColumn,
}, func(q *core.ResourceQuota, now time.Time) meta.TableRow {
	// "pods: 3/10, requests.cpu: 500m/2"; the limits.* resources go to LIMIT.
	var requests, limits []string
	for _, name := range slices.Sorted(maps.Keys(q.Status.Hard)) {
		used, hard := q.Status.Used[name], q.Status.Hard[name]
		cell := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
		if strings.HasPrefix(string(name), "limits.") {
			limits = append(limits, cell)
		} else {
			requests = append(requests, cell)
		}
	}
	return meta.TableRow{Cells: []any{q.Name, strings.Join(requests, ", "), strings.Join(limits, ", "), age(q.CreationTimestamp, now)}}
})

// Events.

var eventPrinter = printer([]meta.TableColumnDefinition{
	column("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
	column("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
	column("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
	column("Object", "string", "The object that this event is about."),
	wide("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement."),
	wide("Source", "string", "The component reporting this event. Should be a short machine understandable string."),
	column("Message", "string", "A human-readable description of the status of this operation."),
	wide("First Seen", "string", "The time at which the event was first recorded."),
	wide("Count", "string", "The number of times this event has occurred."),
	{Name: "Name", Type: "string", Format: "name", Priority: 1, Description: nameColumn.Description},
}, func(e *core.Event, now time.Time) meta.TableRow {
	first := age(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = microAge(e.EventTime, now)
	}
	last := age(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last, count = microAge(e.Series.LastObservedTime, now), e.Series.Count
	} else if count == 0 {
		count = 1 // events of the events.k8s.io API leave it unset for a single occurrence
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	source := cmp.Or(e.Source.Component, e.ReportingController)
	if host := cmp.Or(e.Source.Host, e.ReportingInstance); host != "" {
		source += ", " + host
	}
	return meta.TableRow{Cells: []any{
		last, e.Type, e.Reason, target, e.InvolvedObject.FieldPath, source, strings.TrimSpace(e.Message), first, int64(count), e.Name,
	}}
})

// Storage.

var persistentVolumePrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Capacity", "string", "capacity is the description of the persistent volume's resources and capacity."),
	column("Access Modes", "string", "accessModes contains all ways the volume can be mounted."),
	column("Reclaim Policy", "string", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
	column("Status", "string", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
	column("Claim", "string", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
	column("StorageClass", "string", "StorageClass of the pv"),
	column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
	column("Reason", "string", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."),
	ageColumn,
	wide("VolumeMode", "string", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state."),
}, func(pv *core.PersistentVolume, now time.Time) meta.TableRow {
	claim := ""
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	class := pv.Spec.StorageClassName
	if c, ok := pv.Annotations[core.BetaStorageClassAnnotation]; ok {
		class = c
	}
	capacity := pv.Spec.Capacity[core.ResourceStorage]
	return meta.TableRow{Cells: []any{
		pv.Name, capacity.String(), accessModes(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
		phase, claim, class, derefOr(pv.Spec.VolumeAttributesClassName, "<unset>"), pv.Status.Reason, age(pv.CreationTimestamp, now),
		volumeMode(pv.Spec.VolumeMode),
	}}
})

var persistentVolumeClaimPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Status", "string", "phase represents the current phase of PersistentVolumeClaim."),
	column("Volume", "string", "volumeName is the binding reference to the PersistentVolume backing this claim."),
	column("Capacity", "string", "capacity represents the actual resources of the underlying volume."),
	column("Access Modes", "string", "accessModes contains the actual access modes the volume backing the PVC has."),
	column("StorageClass", "string", "StorageClass of the pvc"),
	column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
	ageColumn,
	wide("VolumeMode", "string", "volumeMode defines what type of volume is required by the claim."),
}, func(pvc *core.PersistentVolumeClaim, now time.Time) meta.TableRow {
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	// Capacity and access modes are the bound volume's, so blank until bound.
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		q := pvc.Status.Capacity[core.ResourceStorage]
		capacity, modes = q.String(), accessModes(pvc.Status.AccessModes)
	}
	class := derefOr(pvc.Spec.StorageClassName, "")
	if c, ok := pvc.Annotations[core.BetaStorageClassAnnotation]; ok {
		class = c
	}
	return meta.TableRow{Cells: []any{
		pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class,
		derefOr(pvc.Spec.VolumeAttributesClassName, "<unset>"), age(pvc.CreationTimestamp, now), volumeMode(pvc.Spec.VolumeMode),
	}}
})

// accessModes abbreviates as kubectl does: "RWO,ROX,RWX,RWOP", in that order.
func accessModes(modes []core.PersistentVolumeAccessMode) string {
	var out []string
	for _, m := range []struct {
		mode  core.PersistentVolumeAccessMode
		short string
	}{{core.ReadWriteOnce, "RWO"}, {core.ReadOnlyMany, "ROX"}, {core.ReadWriteMany, "RWX"}, {core.ReadWriteOncePod, "RWOP"}} {
		if slices.Contains(modes, m.mode) {
			out = append(out, m.short)
		}
	}
	return strings.Join(out, ",")
}

func volumeMode(m *core.PersistentVolumeMode) string {
	if m == nil {
		return "<unset>"
	}
	return string(*m)
}

// Helpers shared by the printers.

// containerCells are the CONTAINERS and IMAGES cells: names and images, comma-separated.
func containerCells(containers []core.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

func derefOr[T ~string](p *T, def string) string {
	if p == nil {
		return def
	}
	return string(*p)
}
