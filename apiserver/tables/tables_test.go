package tables

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/flowcontrol"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/node"
	"github.com/skiff-sh/skiff/api/policy"
	"github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/api/storage"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) meta.Time { return meta.NewTime(now.Add(-d)) }

func ptr[T any](v T) *T { return &v }

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-2 * time.Second, "<invalid>"},
		{-time.Second, "0s"},
		{0, "0s"},
		{5 * time.Second, "5s"},
		{119 * time.Second, "119s"},
		{2 * time.Minute, "2m"},
		{3*time.Minute + 2*time.Second, "3m2s"},
		{10 * time.Minute, "10m"},
		{179 * time.Minute, "179m"},
		{3 * time.Hour, "3h"},
		{3*time.Hour + 5*time.Minute, "3h5m"},
		{8 * time.Hour, "8h"},
		{47 * time.Hour, "47h"},
		{48 * time.Hour, "2d"},
		{51 * time.Hour, "2d3h"},
		{8 * 24 * time.Hour, "8d"},
		{729 * 24 * time.Hour, "729d"},
		{2 * 365 * 24 * time.Hour, "2y"},
		{(2*365 + 10) * 24 * time.Hour, "2y10d"},
		{8 * 365 * 24 * time.Hour, "8y"},
	}
	for _, tt := range tests {
		if got := HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func running() core.ContainerState {
	return core.ContainerState{Running: &core.ContainerStateRunning{StartedAt: ago(time.Minute)}}
}

func waiting(reason string) core.ContainerState {
	return core.ContainerState{Waiting: &core.ContainerStateWaiting{Reason: reason}}
}

func terminated(code int32, signal int32, reason string) core.ContainerState {
	return core.ContainerState{Terminated: &core.ContainerStateTerminated{ExitCode: code, Signal: signal, Reason: reason, FinishedAt: ago(time.Minute)}}
}

// pod builds a pod of app containers c0, c1, ... with the given statuses.
func pod(phase core.PodPhase, statuses ...core.ContainerStatus) *core.Pod {
	p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "web", CreationTimestamp: ago(5 * time.Minute)}}
	p.Status.Phase = phase
	for i := range statuses {
		name := "c" + string(rune('0'+i))
		statuses[i].Name = name
		p.Spec.Containers = append(p.Spec.Containers, core.Container{Name: name, Image: "nginx"})
	}
	if len(statuses) == 0 {
		p.Spec.Containers = []core.Container{{Name: "c0", Image: "nginx"}}
	}
	p.Status.ContainerStatuses = statuses
	return p
}

// withInit adds init containers i0, i1, ... with the given statuses.
func withInit(p *core.Pod, total int, statuses ...core.ContainerStatus) *core.Pod {
	for i := range total {
		p.Spec.InitContainers = append(p.Spec.InitContainers, core.Container{Name: "i" + string(rune('0'+i))})
	}
	for i := range statuses {
		statuses[i].Name = "i" + string(rune('0'+i))
	}
	p.Status.InitContainerStatuses = statuses
	return p
}

func TestPodRows(t *testing.T) {
	deleted := ago(0)
	tests := []struct {
		name                    string
		pod                     *core.Pod
		ready, status, restarts string
		completed               bool
	}{
		{name: "pending, unscheduled", pod: pod(core.PodPending), ready: "0/1", status: "Pending", restarts: "0"},
		{name: "container creating", pod: pod(core.PodPending, core.ContainerStatus{State: waiting("ContainerCreating")}),
			ready: "0/1", status: "ContainerCreating", restarts: "0"},
		{name: "image pull error", pod: pod(core.PodPending, core.ContainerStatus{State: waiting("ErrImagePull")}),
			ready: "0/1", status: "ErrImagePull", restarts: "0"},
		{name: "running", pod: pod(core.PodRunning, core.ContainerStatus{State: running(), Ready: true}),
			ready: "1/1", status: "Running", restarts: "0"},
		{name: "one of two ready", pod: pod(core.PodRunning, core.ContainerStatus{State: running(), Ready: true}, core.ContainerStatus{State: running()}),
			ready: "1/2", status: "Running", restarts: "0"},
		{name: "crash loop", pod: pod(core.PodRunning, core.ContainerStatus{State: waiting("CrashLoopBackOff"), RestartCount: 3,
			LastTerminationState: core.ContainerState{Terminated: &core.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(5 * time.Minute)}}}),
			ready: "0/1", status: "CrashLoopBackOff", restarts: "3 (5m ago)"},
		{name: "completed", pod: pod(core.PodSucceeded, core.ContainerStatus{State: terminated(0, 0, "Completed")}),
			ready: "0/1", status: "Completed", restarts: "0", completed: true},
		{name: "error", pod: pod(core.PodFailed, core.ContainerStatus{State: terminated(1, 0, "Error")}),
			ready: "0/1", status: "Error", restarts: "0", completed: true},
		{name: "exit code without reason", pod: pod(core.PodFailed, core.ContainerStatus{State: terminated(137, 0, "")}),
			ready: "0/1", status: "ExitCode:137", restarts: "0", completed: true},
		{name: "signal without reason", pod: pod(core.PodFailed, core.ContainerStatus{State: terminated(0, 9, "")}),
			ready: "0/1", status: "Signal:9", restarts: "0", completed: true},
		{name: "first container's reason wins", pod: pod(core.PodRunning, core.ContainerStatus{State: waiting("CrashLoopBackOff")}, core.ContainerStatus{State: waiting("ImagePullBackOff")}),
			ready: "0/2", status: "CrashLoopBackOff", restarts: "0"},
		{name: "evicted", pod: func() *core.Pod {
			p := pod(core.PodFailed)
			p.Status.Reason = "Evicted"
			return p
		}(), ready: "0/1", status: "Evicted", restarts: "0", completed: true},
		{name: "terminating", pod: func() *core.Pod {
			p := pod(core.PodRunning, core.ContainerStatus{State: running(), Ready: true})
			p.DeletionTimestamp = &deleted
			return p
		}(), ready: "1/1", status: "Terminating", restarts: "0"},
		{name: "terminal pods do not show Terminating", pod: func() *core.Pod {
			p := pod(core.PodSucceeded, core.ContainerStatus{State: terminated(0, 0, "Completed")})
			p.DeletionTimestamp = &deleted
			return p
		}(), ready: "0/1", status: "Completed", restarts: "0", completed: true},
		{name: "node lost", pod: func() *core.Pod {
			p := pod(core.PodRunning, core.ContainerStatus{State: running(), Ready: true})
			p.DeletionTimestamp, p.Status.Reason = &deleted, "NodeLost"
			return p
		}(), ready: "1/1", status: "Unknown", restarts: "0"},
		{name: "scheduling gated", pod: func() *core.Pod {
			p := pod(core.PodPending)
			p.Status.Conditions = []core.PodCondition{{Type: core.PodScheduled, Status: core.ConditionFalse, Reason: core.PodReasonSchedulingGated}}
			return p
		}(), ready: "0/1", status: "SchedulingGated", restarts: "0"},
		{name: "first init container running", pod: withInit(pod(core.PodPending, core.ContainerStatus{State: waiting("PodInitializing")}), 2,
			core.ContainerStatus{State: running()}, core.ContainerStatus{State: waiting("PodInitializing")}),
			ready: "0/1", status: "Init:0/2", restarts: "0"},
		{name: "second init container running", pod: withInit(pod(core.PodPending, core.ContainerStatus{State: waiting("PodInitializing")}), 2,
			core.ContainerStatus{State: terminated(0, 0, "Completed")}, core.ContainerStatus{State: running()}),
			ready: "0/1", status: "Init:1/2", restarts: "0"},
		{name: "init crash loop", pod: withInit(pod(core.PodPending, core.ContainerStatus{State: waiting("PodInitializing")}), 1,
			core.ContainerStatus{State: waiting("CrashLoopBackOff"), RestartCount: 2}),
			ready: "0/1", status: "Init:CrashLoopBackOff", restarts: "2"},
		{name: "init error", pod: withInit(pod(core.PodPending, core.ContainerStatus{State: waiting("PodInitializing")}), 1,
			core.ContainerStatus{State: terminated(1, 0, "Error")}),
			ready: "0/1", status: "Init:Error", restarts: "0"},
		{name: "init exit code", pod: withInit(pod(core.PodPending), 1, core.ContainerStatus{State: terminated(2, 0, "")}),
			ready: "0/1", status: "Init:ExitCode:2", restarts: "0"},
		{name: "sidecar counts as a container", pod: func() *core.Pod {
			p := withInit(pod(core.PodRunning, core.ContainerStatus{State: running(), Ready: true}), 1,
				core.ContainerStatus{State: running(), Ready: true, Started: ptr(true), RestartCount: 1,
					LastTerminationState: core.ContainerState{Terminated: &core.ContainerStateTerminated{FinishedAt: ago(2 * time.Hour)}}})
			p.Spec.InitContainers[0].RestartPolicy = ptr(core.ContainerRestartPolicyAlways)
			p.Status.Conditions = []core.PodCondition{{Type: core.PodInitialized, Status: core.ConditionTrue}}
			return p
		}(), ready: "2/2", status: "Running", restarts: "1 (120m ago)"},
		{name: "completed container beside a running one, pod ready", pod: func() *core.Pod {
			p := pod(core.PodRunning, core.ContainerStatus{State: terminated(0, 0, "Completed")}, core.ContainerStatus{State: running(), Ready: true})
			p.Status.Conditions = []core.PodCondition{{Type: core.PodReady, Status: core.ConditionTrue}}
			return p
		}(), ready: "1/2", status: "Running", restarts: "0"},
		{name: "completed container beside a running one, pod not ready",
			pod:   pod(core.PodRunning, core.ContainerStatus{State: terminated(0, 0, "Completed")}, core.ContainerStatus{State: running(), Ready: true}),
			ready: "1/2", status: "NotReady", restarts: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := podPrinter.Row(tt.pod, now)
			got := row.Cells[1:4]
			want := []any{tt.ready, tt.status, tt.restarts}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("READY, STATUS, RESTARTS = %v, want %v", got, want)
			}
			if row.Cells[0] != "web" || row.Cells[4] != "5m" {
				t.Errorf("NAME, AGE = %v, %v", row.Cells[0], row.Cells[4])
			}
			if completed := len(row.Conditions) > 0; completed != tt.completed {
				t.Errorf("row conditions = %v", row.Conditions)
			}
		})
	}
}

func TestPodWideCells(t *testing.T) {
	p := pod(core.PodRunning, core.ContainerStatus{State: running(), Ready: true})
	if got, want := podPrinter.Row(p, now).Cells[5:], []any{"<none>", "<none>", "<none>", "<none>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("wide cells of an unscheduled pod = %v, want %v", got, want)
	}
	p.Spec.NodeName = "node-1"
	p.Status.PodIPs = []core.PodIP{{IP: "10.244.1.7"}}
	p.Status.NominatedNodeName = "node-2"
	p.Spec.ReadinessGates = []core.PodReadinessGate{{ConditionType: "a"}, {ConditionType: "b"}}
	p.Status.Conditions = []core.PodCondition{{Type: "a", Status: core.ConditionTrue}, {Type: "b", Status: core.ConditionFalse}}
	if got, want := podPrinter.Row(p, now).Cells[5:], []any{"10.244.1.7", "node-1", "node-2", "1/2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("wide cells = %v, want %v", got, want)
	}
}

func TestServiceRows(t *testing.T) {
	svc := func(typ core.ServiceType, mutate func(*core.Service)) *core.Service {
		s := &core.Service{ObjectMeta: meta.ObjectMeta{Name: "web", CreationTimestamp: ago(time.Hour)}}
		s.Spec.Type = typ
		s.Spec.ClusterIPs = []string{"10.96.0.20"}
		s.Spec.Ports = []core.ServicePort{{Port: 80, Protocol: "TCP"}}
		s.Spec.Selector = map[string]string{"app": "web", "tier": "front"}
		if mutate != nil {
			mutate(s)
		}
		return s
	}
	tests := []struct {
		name string
		svc  *core.Service
		want []any
	}{
		{"cluster IP", svc(core.ServiceTypeClusterIP, nil),
			[]any{"web", "ClusterIP", "10.96.0.20", "<none>", "80/TCP", "60m", "app=web,tier=front"}},
		{"node port", svc(core.ServiceTypeNodePort, func(s *core.Service) {
			s.Spec.Ports = []core.ServicePort{{Port: 80, NodePort: 30080, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}}
		}), []any{"web", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP,53/UDP", "60m", "app=web,tier=front"}},
		{"load balancer pending", svc(core.ServiceTypeLoadBalancer, nil),
			[]any{"web", "LoadBalancer", "10.96.0.20", "<pending>", "80/TCP", "60m", "app=web,tier=front"}},
		{"load balancer", svc(core.ServiceTypeLoadBalancer, func(s *core.Service) {
			s.Status.LoadBalancer.Ingress = []core.LoadBalancerIngress{{IP: "192.0.2.10"}, {Hostname: "lb.example.com"}}
			s.Spec.ExternalIPs = []string{"198.51.100.1"}
		}), []any{"web", "LoadBalancer", "10.96.0.20", "192.0.2.10,lb.example.com,198.51.100.1", "80/TCP", "60m", "app=web,tier=front"}},
		{"external IPs", svc(core.ServiceTypeClusterIP, func(s *core.Service) { s.Spec.ExternalIPs = []string{"198.51.100.1", "198.51.100.2"} }),
			[]any{"web", "ClusterIP", "10.96.0.20", "198.51.100.1,198.51.100.2", "80/TCP", "60m", "app=web,tier=front"}},
		{"headless, no ports, no selector", svc(core.ServiceTypeClusterIP, func(s *core.Service) {
			s.Spec.ClusterIPs, s.Spec.Ports, s.Spec.Selector = []string{"None"}, nil, nil
		}), []any{"web", "ClusterIP", "None", "<none>", "<none>", "60m", "<none>"}},
		{"external name", svc(core.ServiceTypeExternalName, func(s *core.Service) {
			s.Spec.ClusterIPs, s.Spec.ExternalName, s.Spec.Ports = nil, "db.example.com", nil
		}), []any{"web", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "app=web,tier=front"}},
	}
	for _, tt := range tests {
		if got := servicePrinter.Row(tt.svc, now).Cells; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: cells = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNodeRows(t *testing.T) {
	node := func(ready core.ConditionStatus, unschedulable bool, labels map[string]string) *core.Node {
		n := &core.Node{ObjectMeta: meta.ObjectMeta{Name: "node-1", Labels: labels, CreationTimestamp: ago(50 * time.Hour)}}
		if ready != "" {
			n.Status.Conditions = []core.NodeCondition{{Type: "MemoryPressure", Status: core.ConditionFalse}, {Type: core.NodeReady, Status: ready}}
		}
		n.Spec.Unschedulable = unschedulable
		n.Status.NodeInfo.KubeletVersion = "v1.33.0"
		return n
	}
	tests := []struct {
		name               string
		node               *core.Node
		status, roles, age string
	}{
		{"ready worker", node(core.ConditionTrue, false, nil), "Ready", "<none>", "2d2h"},
		{"not ready", node(core.ConditionFalse, false, nil), "NotReady", "<none>", "2d2h"},
		{"unknown", node(core.ConditionUnknown, false, nil), "NotReady", "<none>", "2d2h"},
		{"never reported", node("", false, nil), "Unknown", "<none>", "2d2h"},
		{"cordoned", node(core.ConditionTrue, true, nil), "Ready,SchedulingDisabled", "<none>", "2d2h"},
		{"roles", node(core.ConditionTrue, false, map[string]string{
			"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "true",
			"kubernetes.io/role": "master", "node-role.kubernetes.io/": "", "kubernetes.io/hostname": "node-1",
		}), "Ready", "control-plane,etcd,master", "2d2h"},
	}
	for _, tt := range tests {
		got := nodePrinter.Row(tt.node, now).Cells
		if want := []any{"node-1", tt.status, tt.roles, tt.age, "v1.33.0"}; !reflect.DeepEqual(got[:5], want) {
			t.Errorf("%s: cells = %v, want %v", tt.name, got[:5], want)
		}
	}

	n := node(core.ConditionTrue, false, nil)
	if got, want := nodePrinter.Row(n, now).Cells[5:], []any{"<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("wide cells of a bare node = %v, want %v", got, want)
	}
	n.Status.Addresses = []core.NodeAddress{{Type: "Hostname", Address: "node-1"}, {Type: core.NodeInternalIP, Address: "192.168.1.10"}, {Type: core.NodeExternalIP, Address: "203.0.113.5"}}
	n.Status.NodeInfo.OSImage, n.Status.NodeInfo.KernelVersion, n.Status.NodeInfo.ContainerRuntimeVersion = "Debian GNU/Linux 12", "6.1.0-18-amd64", "containerd://2.0.0"
	if got, want := nodePrinter.Row(n, now).Cells[5:], []any{"192.168.1.10", "203.0.113.5", "Debian GNU/Linux 12", "6.1.0-18-amd64", "containerd://2.0.0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("wide cells = %v, want %v", got, want)
	}
}

func TestWorkloadRows(t *testing.T) {
	created := meta.ObjectMeta{Name: "web", CreationTimestamp: ago(3 * 24 * time.Hour)}
	template := core.PodTemplateSpec{Spec: core.PodSpec{Containers: []core.Container{{Name: "app", Image: "nginx:1.27"}, {Name: "log", Image: "busybox"}}}}
	selector := &meta.LabelSelector{MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: meta.LabelSelectorOpIn, Values: []string{"b", "a"}}}}
	controller := true
	one, fifty, twoFifty := int32(1), int32(50), int32(250)

	tests := []struct {
		name string
		p    Printer
		obj  meta.Object
		want []any
	}{
		{"deployment", deploymentPrinter, &apps.Deployment{ObjectMeta: created,
			Spec:   apps.DeploymentSpec{Replicas: ptr[int32](3), Selector: selector, Template: template},
			Status: apps.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}},
			[]any{"web", "2/3", int64(3), int64(2), "3d", "app,log", "nginx:1.27,busybox", "app=web,tier in (a,b)"}},
		{"deployment without replicas", deploymentPrinter, &apps.Deployment{ObjectMeta: created, Spec: apps.DeploymentSpec{Selector: &meta.LabelSelector{}}},
			[]any{"web", "0/1", int64(0), int64(0), "3d", "", "", ""}},
		{"replica set", replicaSetPrinter, &apps.ReplicaSet{ObjectMeta: created,
			Spec:   apps.ReplicaSetSpec{Replicas: ptr[int32](2), Selector: selector, Template: template},
			Status: apps.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1}},
			[]any{"web", int64(2), int64(2), int64(1), "3d", "app,log", "nginx:1.27,busybox", "app=web,tier in (a,b)"}},
		{"stateful set", statefulSetPrinter, &apps.StatefulSet{ObjectMeta: created,
			Spec: apps.StatefulSetSpec{Replicas: ptr[int32](3), Template: template}, Status: apps.StatefulSetStatus{ReadyReplicas: 3}},
			[]any{"web", "3/3", "3d", "app,log", "nginx:1.27,busybox"}},
		{"daemon set", daemonSetPrinter, &apps.DaemonSet{ObjectMeta: created,
			Spec: apps.DaemonSetSpec{Selector: selector, Template: core.PodTemplateSpec{Spec: core.PodSpec{
				NodeSelector: map[string]string{"kubernetes.io/os": "linux"}, Containers: template.Spec.Containers}}},
			Status: apps.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2}},
			[]any{"web", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux", "3d", "app,log", "nginx:1.27,busybox", "app=web,tier in (a,b)"}},
		{"controller revision", controllerRevisionPrinter, &apps.ControllerRevision{Revision: 4, ObjectMeta: meta.ObjectMeta{
			Name: "web-7d4b9", CreationTimestamp: ago(time.Hour),
			OwnerReferences: []meta.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", Controller: &controller}}}},
			[]any{"web-7d4b9", "statefulset.apps/web", int64(4), "60m"}},
		{"running job", jobPrinter, &batch.Job{ObjectMeta: created,
			Spec:   batch.JobSpec{Completions: ptr[int32](5), Template: template},
			Status: batch.JobStatus{Succeeded: 2, StartTime: ptr(ago(90 * time.Second))}},
			[]any{"web", "Running", "2/5", "90s", "3d", "app,log", "nginx:1.27,busybox", "<none>"}},
		{"complete job", jobPrinter, &batch.Job{ObjectMeta: created,
			Spec: batch.JobSpec{Template: template},
			Status: batch.JobStatus{Succeeded: 1, StartTime: ptr(ago(time.Hour)), CompletionTime: ptr(ago(time.Hour - 75*time.Second)),
				Conditions: []batch.JobCondition{{Type: batch.JobComplete, Status: core.ConditionTrue}}}},
			[]any{"web", "Complete", "1/1", "75s", "3d", "app,log", "nginx:1.27,busybox", "<none>"}},
		{"parallel failed job", jobPrinter, &batch.Job{ObjectMeta: created,
			Spec:   batch.JobSpec{Parallelism: ptr[int32](3), Template: template},
			Status: batch.JobStatus{Conditions: []batch.JobCondition{{Type: batch.JobFailed, Status: core.ConditionTrue}}}},
			[]any{"web", "Failed", "0/1 of 3", "", "3d", "app,log", "nginx:1.27,busybox", "<none>"}},
		{"cron job", cronJobPrinter, &batch.CronJob{ObjectMeta: created,
			Spec: batch.CronJobSpec{Schedule: "*/5 * * * *", Suspend: ptr(false),
				JobTemplate: batch.JobTemplateSpec{Spec: batch.JobSpec{Template: template}}},
			Status: batch.CronJobStatus{Active: []core.ObjectReference{{Name: "web-1"}}, LastScheduleTime: ptr(ago(4 * time.Minute))}},
			[]any{"web", "*/5 * * * *", "<none>", "False", int64(1), "4m", "3d", "app,log", "nginx:1.27,busybox", "<none>"}},
		{"lease", leasePrinter, &coordination.Lease{ObjectMeta: created, Spec: coordination.LeaseSpec{HolderIdentity: ptr("node-1")}},
			[]any{"web", "node-1", "3d"}},
		{"priority class", priorityClassPrinter, &scheduling.PriorityClass{ObjectMeta: created, Value: 1000, GlobalDefault: true},
			[]any{"web", int64(1000), true, "3d", ""}},
		{"runtime class", runtimeClassPrinter, &node.RuntimeClass{ObjectMeta: created, Handler: "runc"},
			[]any{"web", "runc", "3d"}},
		{"ingress", ingressPrinter, &networking.Ingress{ObjectMeta: created, Spec: networking.IngressSpec{IngressClassName: ptr("skiff"),
			TLS:   []networking.IngressTLS{{Hosts: []string{"a.example.com"}}},
			Rules: []networking.IngressRule{{Host: "a.example.com"}, {}, {Host: "*.b.example.com"}, {Host: "c.example.com"}, {Host: "d.example.com"}}},
			Status: networking.IngressStatus{LoadBalancer: networking.IngressLoadBalancerStatus{Ingress: []networking.IngressLoadBalancerIngress{
				{IP: "10.250.0.12"}, {IP: "10.250.0.11"}, {Hostname: "lb.example.com"}}}}},
			[]any{"web", "skiff", "a.example.com,*.b.example.com,c.example.com + 2 more...", "10.250.0.11,10.250.0.12,lb.example.com", "80, 443", "3d"}},
		{"ingress without hosts or class", ingressPrinter, &networking.Ingress{ObjectMeta: created,
			Spec: networking.IngressSpec{DefaultBackend: &networking.IngressBackend{}}},
			[]any{"web", "<none>", "*", "", "80", "3d"}},
		{"ingress class", ingressClassPrinter, &networking.IngressClass{ObjectMeta: created, Spec: networking.IngressClassSpec{Controller: "skiff.dev/ingress",
			Parameters: &networking.IngressClassParametersReference{APIGroup: ptr("k8s.example.com"), Kind: "IngressParameters", Name: "p"}}},
			[]any{"web", "skiff.dev/ingress", "IngressParameters.k8s.example.com/p", "3d"}},
		{"horizontal pod autoscaler", horizontalPodAutoscalerPrinter, &autoscaling.HorizontalPodAutoscaler{ObjectMeta: created,
			Spec: autoscaling.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscaling.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MinReplicas: &one, MaxReplicas: 10,
				Metrics: []autoscaling.MetricSpec{{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricSource{Name: "cpu", Target: autoscaling.MetricTarget{AverageUtilization: &fifty}}}}},
			Status: autoscaling.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: []autoscaling.MetricStatus{{Type: autoscaling.ResourceMetricSourceType,
				Resource: &autoscaling.ResourceMetricStatus{Name: "cpu", Current: autoscaling.MetricValueStatus{AverageUtilization: &twoFifty}}}}}},
			[]any{"web", "Deployment/web", "cpu: 250%/50%", "1", int64(10), int64(3), "3d"}},
		{"pod disruption budget", podDisruptionBudgetPrinter, &policy.PodDisruptionBudget{ObjectMeta: created}, []any{"web", "N/A", "N/A", int64(0), "3d"}},
	}
	for _, tt := range tests {
		if got := tt.p.Row(tt.obj, now).Cells; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: cells = %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

func TestCoreRows(t *testing.T) {
	created := meta.ObjectMeta{Name: "x", CreationTimestamp: ago(30 * time.Second)}
	port := func(n int32) *int32 { return &n }
	tests := []struct {
		name string
		p    Printer
		obj  meta.Object
		want []any
	}{
		{"namespace", namespacePrinter, &core.Namespace{ObjectMeta: created, Status: core.NamespaceStatus{Phase: "Active"}}, []any{"x", "Active", "30s"}},
		{"config map", configMapPrinter, &core.ConfigMap{ObjectMeta: created, Data: map[string]string{"a": "1"}, BinaryData: map[string][]byte{"b": nil}},
			[]any{"x", int64(2), "30s"}},
		{"secret", secretPrinter, &core.Secret{ObjectMeta: created, Type: "Opaque", Data: map[string][]byte{"a": nil}}, []any{"x", "Opaque", int64(1), "30s"}},
		{"service account", serviceAccountPrinter, &core.ServiceAccount{ObjectMeta: created}, []any{"x", int64(0), "30s"}},
		{"endpoints", endpointsPrinter, &core.Endpoints{ObjectMeta: created, Subsets: []core.EndpointSubset{{
			Addresses: []core.EndpointAddress{{IP: "10.244.1.2"}, {IP: "10.244.2.3"}},
			Ports:     []core.EndpointPort{{Name: "http", Port: 80}, {Name: "https", Port: 443}},
		}}}, []any{"x", "10.244.1.2:80,10.244.2.3:80,10.244.1.2:443 + 1 more...", "30s"}},
		{"no endpoints", endpointsPrinter, &core.Endpoints{ObjectMeta: created}, []any{"x", "<none>", "30s"}},
		{"endpoint slice", endpointSlicePrinter, &discovery.EndpointSlice{ObjectMeta: created, AddressType: "IPv4",
			Ports:     []discovery.EndpointPort{{Port: port(80)}, {Name: ptr("metrics")}},
			Endpoints: []discovery.Endpoint{{Addresses: []string{"10.244.1.2"}}, {Addresses: []string{"10.244.2.3"}}}},
			[]any{"x", "IPv4", "80,metrics", "10.244.1.2,10.244.2.3", "30s"}},
		{"network policy", networkPolicyPrinter, &networking.NetworkPolicy{ObjectMeta: created,
			Spec: networking.NetworkPolicySpec{PodSelector: meta.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}},
			[]any{"x", "app=db", "30s"}},
		{"default-deny network policy", networkPolicyPrinter, &networking.NetworkPolicy{ObjectMeta: created}, []any{"x", "<none>", "30s"}},
		{"service cidr", serviceCIDRPrinter, &networking.ServiceCIDR{ObjectMeta: created, Spec: networking.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/12"}}},
			[]any{"x", "10.96.0.0/12", "30s"}},
		{"ip address", ipAddressPrinter, &networking.IPAddress{ObjectMeta: created, Spec: networking.IPAddressSpec{
			ParentRef: &networking.ParentReference{Resource: "services", Namespace: "default", Name: "web"}}},
			[]any{"x", "services/default/web"}},
		{"empty endpoint slice", endpointSlicePrinter, &discovery.EndpointSlice{ObjectMeta: created, AddressType: "IPv4"}, []any{"x", "IPv4", "<unset>", "<unset>", "30s"}},
		{"event", eventPrinter, &core.Event{ObjectMeta: created, Type: "Warning", Reason: "BackOff", Message: "Back-off restarting failed container\n",
			InvolvedObject: core.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
			Source:         core.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: ago(time.Hour), LastTimestamp: ago(2 * time.Minute), Count: 12},
			[]any{"2m", "Warning", "BackOff", "pod/web", "spec.containers{app}", "kubelet, node-1", "Back-off restarting failed container", "60m", int64(12), "x"}},
		{"new-style event", eventPrinter, &core.Event{ObjectMeta: created, Type: "Normal", Reason: "Scheduled",
			InvolvedObject: core.ObjectReference{Kind: "Pod", Name: "web"}, ReportingController: "default-scheduler",
			EventTime: meta.MicroTime{Time: now.Add(-10 * time.Second)}},
			[]any{"10s", "Normal", "Scheduled", "pod/web", "", "default-scheduler", "", "10s", int64(1), "x"}},
		{"pvc pending", persistentVolumeClaimPrinter, &core.PersistentVolumeClaim{ObjectMeta: created,
			Spec: core.PersistentVolumeClaimSpec{StorageClassName: ptr("standard")}, Status: core.PersistentVolumeClaimStatus{Phase: "Pending"}},
			[]any{"x", "Pending", "", "", "", "standard", "<unset>", "30s", "<unset>"}},
		{"pv", persistentVolumePrinter, &core.PersistentVolume{ObjectMeta: created, Spec: core.PersistentVolumeSpec{
			AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteMany, core.ReadWriteOnce}, PersistentVolumeReclaimPolicy: "Retain",
			ClaimRef: &core.ObjectReference{Namespace: "default", Name: "data"}, StorageClassName: "standard"},
			Status: core.PersistentVolumeStatus{Phase: "Bound"}},
			[]any{"x", core.ResourceList{}.Storage().String(), "RWO,RWX", "Retain", "Bound", "default/data", "standard", "<unset>", "", "30s", "<unset>"}},
		{"default storage class", storageClassPrinter, &storage.StorageClass{ObjectMeta: meta.ObjectMeta{Name: "x", CreationTimestamp: ago(30 * time.Second),
			Annotations: map[string]string{storage.IsDefaultStorageClassAnnotation: "true"}}, Provisioner: "skiff.dev/local"},
			[]any{"x (default)", "skiff.dev/local", "Delete", "Immediate", false, "30s"}},
		{"storage class", storageClassPrinter, &storage.StorageClass{ObjectMeta: created, Provisioner: "p",
			ReclaimPolicy: ptr(core.PersistentVolumeReclaimRetain), VolumeBindingMode: ptr(storage.VolumeBindingWaitForFirstConsumer), AllowVolumeExpansion: ptr(true)},
			[]any{"x", "p", "Retain", "WaitForFirstConsumer", true, "30s"}},
		{"cluster role", clusterRolePrinter, &rbac.ClusterRole{ObjectMeta: created}, []any{"x", created.CreationTimestamp.UTC().Format(time.RFC3339)}},
		{"role binding", roleBindingPrinter, &rbac.RoleBinding{ObjectMeta: created, RoleRef: rbac.RoleRef{Kind: "ClusterRole", Name: "view"},
			Subjects: []rbac.Subject{{Kind: "User", Name: "a"}, {Kind: "User", Name: "b"}, {Kind: "Group", Name: "g"}, {Kind: "ServiceAccount", Namespace: "ns", Name: "sa"}}},
			[]any{"x", "ClusterRole/view", "30s", "a, b", "g", "ns/sa"}},
		{"validating webhook configuration", validatingWebhookConfigurationPrinter, &ar.ValidatingWebhookConfiguration{ObjectMeta: created,
			Webhooks: []ar.ValidatingWebhook{{Name: "a.example.com"}, {Name: "b.example.com"}}}, []any{"x", int64(2), "30s"}},
		{"flow schema", flowSchemaPrinter, &flowcontrol.FlowSchema{ObjectMeta: created, Spec: flowcontrol.FlowSchemaSpec{MatchingPrecedence: 1000,
			PriorityLevelConfiguration: flowcontrol.PriorityLevelConfigurationReference{Name: "global-default"},
			DistinguisherMethod:        &flowcontrol.FlowDistinguisherMethod{Type: flowcontrol.FlowDistinguisherMethodByUserType}},
			Status: flowcontrol.FlowSchemaStatus{Conditions: []flowcontrol.FlowSchemaCondition{{Type: "Dangling", Status: "False"}}}},
			[]any{"x", "global-default", int64(1000), "ByUser", "30s", "False"}},
		{"priority level", priorityLevelPrinter, &flowcontrol.PriorityLevelConfiguration{ObjectMeta: created, Spec: flowcontrol.PriorityLevelConfigurationSpec{
			Type: "Limited", Limited: &flowcontrol.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr(int32(20)),
				LimitResponse: flowcontrol.LimitResponse{Type: "Queue", Queuing: &flowcontrol.QueuingConfiguration{Queues: 128, HandSize: 6, QueueLengthLimit: 50}}}}},
			[]any{"x", "Limited", int64(20), int64(128), int64(6), int64(50), "30s"}},
		{"validating admission policy", validatingAdmissionPolicyPrinter, &ar.ValidatingAdmissionPolicy{ObjectMeta: created,
			Spec: ar.ValidatingAdmissionPolicySpec{ParamKind: &ar.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}, Validations: []ar.Validation{{}}}},
			[]any{"x", int64(1), "v1/ConfigMap", "30s"}},
		{"validating admission policy without params", validatingAdmissionPolicyPrinter, &ar.ValidatingAdmissionPolicy{ObjectMeta: created},
			[]any{"x", int64(0), "<unset>", "30s"}},
		{"validating admission policy binding", validatingAdmissionPolicyBindingPrinter, &ar.ValidatingAdmissionPolicyBinding{ObjectMeta: created,
			Spec: ar.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p", ParamRef: &ar.ParamRef{Name: "limits"}}},
			[]any{"x", "p", "*/limits", "30s"}},
		{"mutating webhook configuration", mutatingWebhookConfigurationPrinter, &ar.MutatingWebhookConfiguration{ObjectMeta: created}, []any{"x", int64(0), "30s"}},
	}
	for _, tt := range tests {
		if got := tt.p.Row(tt.obj, now).Cells; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: cells = %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

// Every printer's rows line up with its columns, name is the column of format "name", and
// the wide columns are the priority-1 ones.
func TestRowsMatchColumns(t *testing.T) {
	objs := map[string]meta.Object{
		"/Pod": &core.Pod{}, "/PodTemplate": &core.PodTemplate{}, "/Namespace": &core.Namespace{}, "/Node": &core.Node{},
		"/Service": &core.Service{}, "/Endpoints": &core.Endpoints{}, "/ConfigMap": &core.ConfigMap{}, "/Secret": &core.Secret{},
		"/ServiceAccount": &core.ServiceAccount{}, "/Event": &core.Event{}, "/PersistentVolume": &core.PersistentVolume{},
		"/PersistentVolumeClaim": &core.PersistentVolumeClaim{}, "/ResourceQuota": &core.ResourceQuota{},
		"/ReplicationController": &core.ReplicationController{},
		"apps/Deployment":        &apps.Deployment{}, "apps/ReplicaSet": &apps.ReplicaSet{}, "apps/StatefulSet": &apps.StatefulSet{},
		"apps/DaemonSet": &apps.DaemonSet{}, "apps/ControllerRevision": &apps.ControllerRevision{},
		"batch/Job": &batch.Job{}, "batch/CronJob": &batch.CronJob{}, "coordination.k8s.io/Lease": &coordination.Lease{},
		"discovery.k8s.io/EndpointSlice": &discovery.EndpointSlice{}, "scheduling.k8s.io/PriorityClass": &scheduling.PriorityClass{},
		"policy/PodDisruptionBudget":                              &policy.PodDisruptionBudget{},
		"autoscaling/HorizontalPodAutoscaler":                     &autoscaling.HorizontalPodAutoscaler{},
		"flowcontrol.apiserver.k8s.io/FlowSchema":                 &flowcontrol.FlowSchema{},
		"flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration": &flowcontrol.PriorityLevelConfiguration{},
		"networking.k8s.io/NetworkPolicy":                         &networking.NetworkPolicy{},
		"networking.k8s.io/ServiceCIDR":                           &networking.ServiceCIDR{},
		"networking.k8s.io/IPAddress":                             &networking.IPAddress{},
		"networking.k8s.io/Ingress":                               &networking.Ingress{}, "networking.k8s.io/IngressClass": &networking.IngressClass{},
		"certificates.k8s.io/CertificateSigningRequest": &certificates.CertificateSigningRequest{},
		"rbac.authorization.k8s.io/Role":                &rbac.Role{}, "rbac.authorization.k8s.io/ClusterRole": &rbac.ClusterRole{},
		"rbac.authorization.k8s.io/RoleBinding": &rbac.RoleBinding{}, "rbac.authorization.k8s.io/ClusterRoleBinding": &rbac.ClusterRoleBinding{},
		"storage.k8s.io/StorageClass": &storage.StorageClass{}, "storage.k8s.io/VolumeAttachment": &storage.VolumeAttachment{},
		"storage.k8s.io/CSINode": &storage.CSINode{}, "storage.k8s.io/CSIDriver": &storage.CSIDriver{},
		"storage.k8s.io/CSIStorageCapacity":                             &storage.CSIStorageCapacity{},
		"node.k8s.io/RuntimeClass":                                      &node.RuntimeClass{},
		"admissionregistration.k8s.io/MutatingWebhookConfiguration":     &ar.MutatingWebhookConfiguration{},
		"admissionregistration.k8s.io/ValidatingWebhookConfiguration":   &ar.ValidatingWebhookConfiguration{},
		"admissionregistration.k8s.io/ValidatingAdmissionPolicy":        &ar.ValidatingAdmissionPolicy{},
		"admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding": &ar.ValidatingAdmissionPolicyBinding{},
	}
	if len(objs) != len(printers) {
		t.Fatalf("test covers %d kinds, printers has %d", len(objs), len(printers))
	}
	for key, obj := range objs {
		group, kind, _ := strings.Cut(key, "/")
		p := For(group, kind)
		obj.GetObjectMeta().Name = "n"
		row := p.Row(obj, now)
		if len(row.Cells) != len(p.Columns) {
			t.Errorf("%s: %d cells for %d columns", key, len(row.Cells), len(p.Columns))
		}
		for i, c := range p.Columns {
			if c.Format == "name" && row.Cells[i] != "n" {
				t.Errorf("%s: name column %q holds %v", key, c.Name, row.Cells[i])
			}
			if c.Priority != 0 && c.Priority != 1 {
				t.Errorf("%s: column %q has priority %d", key, c.Name, c.Priority)
			}
		}
		if key != "/Event" && p.Columns[0].Format != "name" {
			t.Errorf("%s: first column is %q, not the name", key, p.Columns[0].Name)
		}
		// A row of another kind's object still fits the columns.
		if row := p.Row(&core.Binding{ObjectMeta: meta.ObjectMeta{Name: "n"}}, now); len(row.Cells) != len(p.Columns) {
			t.Errorf("%s: a foreign object gives %d cells for %d columns", key, len(row.Cells), len(p.Columns))
		}
	}
}

func TestDefaultPrinter(t *testing.T) {
	p := For("example.com", "Widget")
	if len(p.Columns) != 2 || p.Columns[0].Name != "Name" || p.Columns[0].Format != "name" || p.Columns[1].Name != "Age" {
		t.Fatalf("default columns = %+v", p.Columns)
	}
	row := p.Row(&core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "w", CreationTimestamp: ago(3*time.Minute + 2*time.Second)}}, now)
	if want := []any{"w", "3m2s"}; !reflect.DeepEqual(row.Cells, want) {
		t.Errorf("cells = %v, want %v", row.Cells, want)
	}
	if got := p.Row(&core.ConfigMap{}, now).Cells[1]; got != "<unknown>" {
		t.Errorf("AGE without a creation time = %v", got)
	}
}

// TestBuild checks the Table as kubectl decodes it: kind and apiVersion, rows whose object
// decodes by its own kind, and what includeObject and noHeaders change.
func TestBuild(t *testing.T) {
	cm := &core.ConfigMap{
		TypeMeta:   meta.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: "cfg", Namespace: "default", Labels: map[string]string{"app": "web"}, CreationTimestamp: ago(time.Minute)},
		Data:       map[string]string{"k": "v"},
	}
	decode := func(tbl *meta.Table) map[string]any {
		raw, err := json.Marshal(tbl)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	row0 := func(m map[string]any) map[string]any { return m["rows"].([]any)[0].(map[string]any) }

	m := decode(Build(For("", "ConfigMap"), []meta.Object{cm}, now, IncludeMetadata, false))
	if m["kind"] != "Table" || m["apiVersion"] != "meta.k8s.io/v1" {
		t.Errorf("kind, apiVersion = %v, %v", m["kind"], m["apiVersion"])
	}
	if cols := m["columnDefinitions"].([]any); len(cols) != 3 {
		t.Errorf("columnDefinitions = %v", cols)
	}
	if got, want := row0(m)["cells"], []any{"cfg", float64(1), "60s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("cells = %v, want %v", got, want)
	}
	obj := row0(m)["object"].(map[string]any)
	md := obj["metadata"].(map[string]any)
	if obj["kind"] != "PartialObjectMetadata" || obj["apiVersion"] != "meta.k8s.io/v1" || md["namespace"] != "default" || md["labels"] == nil || obj["data"] != nil {
		t.Errorf("Metadata row object = %v", obj)
	}

	m = decode(Build(For("", "ConfigMap"), []meta.Object{cm}, now, IncludeObject, true))
	if m["columnDefinitions"] != nil {
		t.Errorf("noHeaders kept the columns: %v", m["columnDefinitions"])
	}
	if obj := row0(m)["object"].(map[string]any); obj["kind"] != "ConfigMap" || obj["data"] == nil {
		t.Errorf("Object row object = %v", obj)
	}

	m = decode(Build(For("", "ConfigMap"), []meta.Object{cm}, now, IncludeNone, false))
	if _, ok := row0(m)["object"]; ok {
		t.Errorf("None row has an object: %v", row0(m))
	}

	m = decode(Build(For("", "ConfigMap"), nil, now, IncludeMetadata, false))
	if rows, ok := m["rows"].([]any); !ok || len(rows) != 0 {
		t.Errorf("rows of an empty list = %v, want []", m["rows"])
	}
}

func TestParseIncludeObject(t *testing.T) {
	for in, want := range map[string]string{"": "Metadata", "None": "None", "Metadata": "Metadata", "Object": "Object"} {
		if got, err := ParseIncludeObject(in); err != nil || got != want {
			t.Errorf("ParseIncludeObject(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseIncludeObject("object"); err == nil {
		t.Error("ParseIncludeObject accepted a wrong-case value")
	}
}
