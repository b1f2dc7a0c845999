package dashboard

import (
	"encoding/json"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
)

// TestBuildOverview: pods land under their node (or as unscheduled), under their ReplicaSet
// under its Deployment, and under the endpoints of their Service's slices.
func TestBuildOverview(t *testing.T) {
	ctrl := func(kind, name, uid string) []meta.OwnerReference {
		return []meta.OwnerReference{{Kind: kind, Name: name, UID: uid, Controller: ptr(true)}}
	}
	pod := func(name, node, ip string, ready bool) *core.Pod {
		p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default", OwnerReferences: ctrl("ReplicaSet", "web-1", "rs-uid")},
			Spec: core.PodSpec{NodeName: node}, Status: core.PodStatus{Phase: core.PodRunning, PodIP: ip}}
		st := core.ConditionFalse
		if ready {
			st = core.ConditionTrue
		}
		p.Status.Conditions = []core.PodCondition{{Type: core.PodReady, Status: st}}
		return p
	}
	s := Snapshot{
		Nodes: []*core.Node{
			{ObjectMeta: meta.ObjectMeta{Name: "b"}, Status: core.NodeStatus{Conditions: []core.NodeCondition{{Type: core.NodeReady, Status: core.ConditionTrue}}}},
			{ObjectMeta: meta.ObjectMeta{Name: "a"}, Spec: core.NodeSpec{Taints: []core.Taint{{Key: "gpu", Effect: core.TaintEffectNoSchedule}}}},
		},
		Pods: []*core.Pod{pod("web-1-y", "b", "10.0.0.2", true), pod("web-1-x", "b", "10.0.0.1", false), pod("web-1-z", "", "", false)},
		Deployments: []*apps.Deployment{{ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default", UID: "dep-uid"},
			Spec: apps.DeploymentSpec{Replicas: ptr(int32(3))}, Status: apps.DeploymentStatus{ReadyReplicas: 1}}},
		ReplicaSets: []*apps.ReplicaSet{{ObjectMeta: meta.ObjectMeta{Name: "web-1", Namespace: "default", UID: "rs-uid",
			OwnerReferences: ctrl("Deployment", "web", "dep-uid"), Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"}},
			Spec: apps.ReplicaSetSpec{Replicas: ptr(int32(3))}}},
		Services: []*core.Service{{ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: core.ServiceSpec{Type: core.ServiceTypeClusterIP, ClusterIP: "10.96.0.9", Ports: []core.ServicePort{{Port: 80, Protocol: core.ProtocolTCP}}}}},
		EndpointSlices: []*discovery.EndpointSlice{{ObjectMeta: meta.ObjectMeta{Name: "web-abc", Namespace: "default", Labels: map[string]string{serviceNameLabel: "web"}},
			Endpoints: []discovery.Endpoint{
				{Addresses: []string{"10.0.0.2"}, Conditions: discovery.EndpointConditions{Ready: ptr(true)}, TargetRef: &core.ObjectReference{Kind: "Pod", Name: "web-1-y"}},
				{Addresses: []string{"10.0.0.1"}, Conditions: discovery.EndpointConditions{Ready: ptr(false)}, TargetRef: &core.ObjectReference{Kind: "Pod", Name: "web-1-x"}},
			}}},
	}
	o := BuildOverview(s)
	got, _ := json.Marshal(o)
	want := `{"nodes":[` +
		`{"name":"a","ready":false,"taints":["gpu=:NoSchedule"],"pods":[]},` +
		`{"name":"b","ready":true,"pods":[{"namespace":"default","name":"web-1-x","status":"Running","ready":false,"node":"b","ip":"10.0.0.1"},{"namespace":"default","name":"web-1-y","status":"Running","ready":true,"node":"b","ip":"10.0.0.2"}]}],` +
		`"unscheduled":[{"namespace":"default","name":"web-1-z","status":"Running","ready":false}],` +
		`"deployments":[{"namespace":"default","name":"web","replicas":3,"ready":1,"replicaSets":[{"name":"web-1","revision":"1","replicas":3,"pods":[` +
		`{"namespace":"default","name":"web-1-x","status":"Running","ready":false,"node":"b","ip":"10.0.0.1"},{"namespace":"default","name":"web-1-y","status":"Running","ready":true,"node":"b","ip":"10.0.0.2"},{"namespace":"default","name":"web-1-z","status":"Running","ready":false}]}]}],` +
		`"services":[{"namespace":"default","name":"web","type":"ClusterIP","clusterIP":"10.96.0.9","ports":"80/TCP","slices":[{"name":"web-abc","endpoints":[` +
		`{"address":"10.0.0.2","ready":true,"pod":{"namespace":"default","name":"web-1-y","status":"Running","ready":true,"node":"b","ip":"10.0.0.2"}},` +
		`{"address":"10.0.0.1","ready":false,"pod":{"namespace":"default","name":"web-1-x","status":"Running","ready":false,"node":"b","ip":"10.0.0.1"}}]}]}]}`
	if string(got) != want {
		t.Fatalf("overview\n got %s\nwant %s", got, want)
	}
}

func TestPodStatus(t *testing.T) {
	cases := []struct {
		pod  core.Pod
		want string
	}{
		{core.Pod{}, "Pending"},
		{core.Pod{Status: core.PodStatus{Phase: core.PodRunning}}, "Running"},
		{core.Pod{Status: core.PodStatus{Phase: core.PodPending, ContainerStatuses: []core.ContainerStatus{{State: core.ContainerState{Waiting: &core.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}}, "ContainerCreating"},
		{core.Pod{Status: core.PodStatus{Phase: core.PodRunning, ContainerStatuses: []core.ContainerStatus{{State: core.ContainerState{Waiting: &core.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}}}, "CrashLoopBackOff"},
		{core.Pod{Status: core.PodStatus{Phase: core.PodSucceeded, ContainerStatuses: []core.ContainerStatus{{State: core.ContainerState{Terminated: &core.ContainerStateTerminated{Reason: "Completed"}}}}}}, "Completed"},
		{core.Pod{Status: core.PodStatus{Phase: core.PodFailed, Reason: "Evicted"}}, "Evicted"},
		{core.Pod{ObjectMeta: meta.ObjectMeta{DeletionTimestamp: ptr(ts(1))}, Status: core.PodStatus{Phase: core.PodRunning}}, "Terminating"},
	}
	for _, tc := range cases {
		if got := podStatus(&tc.pod); got != tc.want {
			t.Errorf("podStatus(%+v) = %q, want %q", tc.pod.Status, got, tc.want)
		}
	}
}
