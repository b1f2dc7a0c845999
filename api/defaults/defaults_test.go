package defaults_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/scheduling"
)

// Each case decodes in into a fresh object of the kind, defaults it, and requires the JSON
// to equal want: the object as a real API server stores and returns it.
func TestObject(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  meta.Object
		in   string
		want string
	}{
		{
			name: "pod",
			obj:  &core.Pod{},
			in: `{"metadata": {"name": "p"}, "spec": {
				"containers": [{"name": "c", "image": "nginx",
					"ports": [{"containerPort": 80}],
					"env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
					"resources": {"limits": {"cpu": "500m"}},
					"livenessProbe": {"httpGet": {"port": 80}},
					"readinessProbe": {"grpc": {"port": 9090}, "periodSeconds": 5},
					"lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/stop"}}}}],
				"initContainers": [{"name": "i", "image": "busybox:1.36"}],
				"volumes": [{"name": "scratch"}, {"name": "cm", "configMap": {"name": "x"}}, {"name": "s", "secret": {"secretName": "x"}},
					{"name": "h", "hostPath": {"path": "/data"}},
					{"name": "d", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
					{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]}}`,
			want: `{"metadata": {"name": "p"}, "spec": {
				"containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Always",
					"ports": [{"containerPort": 80, "protocol": "TCP"}],
					"env": [{"name": "N", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
					"resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}},
					"livenessProbe": {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
					"readinessProbe": {"grpc": {"port": 9090, "service": ""}, "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3},
					"lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/stop", "scheme": "HTTP"}}},
					"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
				"initContainers": [{"name": "i", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent", "resources": {},
					"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
				"volumes": [{"name": "scratch", "emptyDir": {}},
					{"name": "cm", "configMap": {"name": "x", "defaultMode": 420}},
					{"name": "s", "secret": {"secretName": "x", "defaultMode": 420}},
					{"name": "h", "hostPath": {"path": "/data", "type": ""}},
					{"name": "d", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}], "defaultMode": 420}},
					{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}], "defaultMode": 420}}],
				"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
				"securityContext": {}, "schedulerName": "default-scheduler", "enableServiceLinks": true},
				"status": {}}`,
		},
		{
			name: "pod keeps what the user set; host network exposes container ports",
			obj:  &core.Pod{},
			in: `{"spec": {"hostNetwork": true, "restartPolicy": "Never", "dnsPolicy": "ClusterFirstWithHostNet", "terminationGracePeriodSeconds": 0,
				"schedulerName": "mine", "enableServiceLinks": false, "securityContext": {"runAsUser": 1},
				"containers": [{"name": "c", "image": "nginx:latest", "imagePullPolicy": "Never", "ports": [{"containerPort": 53, "protocol": "UDP"}],
					"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "100m"}}}]}}`,
			want: `{"metadata": {}, "spec": {"hostNetwork": true, "restartPolicy": "Never", "dnsPolicy": "ClusterFirstWithHostNet", "terminationGracePeriodSeconds": 0,
				"schedulerName": "mine", "enableServiceLinks": false, "securityContext": {"runAsUser": 1},
				"containers": [{"name": "c", "image": "nginx:latest", "imagePullPolicy": "Never", "ports": [{"containerPort": 53, "hostPort": 53, "protocol": "UDP"}],
					"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "100m"}},
					"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}]}, "status": {}}`,
		},
		{
			name: "pod: serviceAccount is the old name of serviceAccountName",
			obj:  &core.Pod{},
			in:   `{"spec": {"serviceAccount": "robot", "containers": []}}`,
			want: `{"metadata": {}, "spec": {"containers": [], "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
				"serviceAccountName": "robot", "serviceAccount": "robot",
				"securityContext": {}, "schedulerName": "default-scheduler", "enableServiceLinks": true}, "status": {}}`,
		},
		{
			name: "pod: serviceAccountName wins over serviceAccount",
			obj:  &core.Pod{},
			in:   `{"spec": {"serviceAccountName": "new", "serviceAccount": "old", "containers": []}}`,
			want: `{"metadata": {}, "spec": {"containers": [], "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
				"serviceAccountName": "new", "serviceAccount": "new",
				"securityContext": {}, "schedulerName": "default-scheduler", "enableServiceLinks": true}, "status": {}}`,
		},
		{
			name: "deployment",
			obj:  &apps.Deployment{},
			in: `{"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}},
				"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25", "resources": {"limits": {"cpu": "1"}}}]}}}}`,
			want: `{"metadata": {"name": "web"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
				"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
				"revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
				"template": {"metadata": {"labels": {"app": "web"}}, "spec": {
					"containers": [{"name": "c", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent", "resources": {"limits": {"cpu": "1"}},
						"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
					"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
					"securityContext": {}, "schedulerName": "default-scheduler"}}}, "status": {}}`,
		},
		{
			name: "deployment with Recreate gets no rolling update",
			obj:  &apps.Deployment{},
			in:   `{"spec": {"replicas": 0, "strategy": {"type": "Recreate"}, "selector": null, "template": {"spec": {"containers": []}}}}`,
			want: `{"metadata": {}, "spec": {"replicas": 0, "strategy": {"type": "Recreate"}, "selector": null, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
				"template": {"metadata": {}, "spec": {"containers": [], "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
					"securityContext": {}, "schedulerName": "default-scheduler"}}}, "status": {}}`,
		},
		{
			name: "replicaset",
			obj:  &apps.ReplicaSet{},
			in:   `{"spec": {"selector": null, "template": {"spec": {"containers": null}}}}`,
			want: `{"metadata": {}, "spec": {"replicas": 1, "selector": null, "template": {"metadata": {}, "spec": {"containers": null,
				"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "securityContext": {}, "schedulerName": "default-scheduler"}}},
				"status": {"replicas": 0}}`,
		},
		{
			name: "statefulset",
			obj:  &apps.StatefulSet{},
			in: `{"spec": {"selector": null, "serviceName": "db", "template": {"spec": {"containers": null}},
				"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}}`,
			want: `{"metadata": {}, "spec": {"replicas": 1, "selector": null, "serviceName": "db", "podManagementPolicy": "OrderedReady",
				"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}, "revisionHistoryLimit": 10,
				"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
				"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {}, "volumeMode": "Filesystem"}, "status": {"phase": "Pending"}}],
				"template": {"metadata": {}, "spec": {"containers": null,
					"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "securityContext": {}, "schedulerName": "default-scheduler"}}},
				"status": {"replicas": 0, "availableReplicas": 0}}`,
		},
		{
			name: "daemonset",
			obj:  &apps.DaemonSet{},
			in:   `{"spec": {"selector": null, "template": {"spec": {"containers": null}}}}`,
			want: `{"metadata": {}, "spec": {"selector": null, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
				"revisionHistoryLimit": 10, "template": {"metadata": {}, "spec": {"containers": null,
					"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "securityContext": {}, "schedulerName": "default-scheduler"}}},
				"status": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}}`,
		},
		{
			name: "job",
			obj:  &batch.Job{},
			in:   `{"spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {"restartPolicy": "Never", "containers": null}}}}`,
			want: `{"metadata": {"labels": {"app": "pi"}}, "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": false,
				"podReplacementPolicy": "TerminatingOrFailed",
				"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {"containers": null,
					"restartPolicy": "Never", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "securityContext": {}, "schedulerName": "default-scheduler"}}},
				"status": {}}`,
		},
		{
			name: "job with parallelism, per-index backoff and a pod failure policy",
			obj:  &batch.Job{},
			in: `{"spec": {"parallelism": 3, "backoffLimitPerIndex": 1, "completionMode": "Indexed", "completions": 5,
				"podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]},
				"template": {"spec": {"containers": null, "restartPolicy": "Never"}}}}`,
			want: `{"metadata": {}, "spec": {"parallelism": 3, "completions": 5, "backoffLimit": 2147483647, "backoffLimitPerIndex": 1, "completionMode": "Indexed", "suspend": false,
				"podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]},
				"podReplacementPolicy": "Failed",
				"template": {"metadata": {}, "spec": {"containers": null,
					"restartPolicy": "Never", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "securityContext": {}, "schedulerName": "default-scheduler"}}},
				"status": {}}`,
		},
		{
			name: "cronjob",
			obj:  &batch.CronJob{},
			in:   `{"spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": {"spec": {"containers": null, "restartPolicy": "OnFailure"}}}}}}`,
			want: `{"metadata": {}, "spec": {"schedule": "@hourly", "concurrencyPolicy": "Allow", "suspend": false, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
				"jobTemplate": {"metadata": {}, "spec": {"template": {"metadata": {}, "spec": {"containers": null,
					"restartPolicy": "OnFailure", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "securityContext": {}, "schedulerName": "default-scheduler"}}}}},
				"status": {}}`,
		},
		{
			name: "service",
			obj:  &core.Service{},
			in:   `{"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"}]}}`,
			want: `{"metadata": {}, "spec": {"selector": {"app": "web"}, "type": "ClusterIP", "sessionAffinity": "None",
				"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}, {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"}],
				"internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"},
				"status": {"loadBalancer": {}}}`,
		},
		{
			name: "load balancer service with client IP affinity",
			obj:  &core.Service{},
			in: `{"spec": {"type": "LoadBalancer", "clusterIP": "fd00::10", "sessionAffinity": "ClientIP", "ports": [{"port": 443, "targetPort": 8443}]},
				"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.example.com"}]}}}`,
			want: `{"metadata": {}, "spec": {"type": "LoadBalancer", "clusterIP": "fd00::10", "clusterIPs": ["fd00::10"], "sessionAffinity": "ClientIP",
				"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
				"ports": [{"port": 443, "protocol": "TCP", "targetPort": 8443}],
				"externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster", "allocateLoadBalancerNodePorts": true,
				"ipFamilies": ["IPv6"], "ipFamilyPolicy": "SingleStack"},
				"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}, {"hostname": "lb.example.com"}]}}}`,
		},
		{
			name: "headless service without selector",
			obj:  &core.Service{},
			in:   `{"spec": {"clusterIP": "None"}}`,
			want: `{"metadata": {}, "spec": {"clusterIP": "None", "clusterIPs": ["None"], "type": "ClusterIP", "sessionAffinity": "None",
				"internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "RequireDualStack"}, "status": {"loadBalancer": {}}}`,
		},
		{
			name: "external name service",
			obj:  &core.Service{},
			in:   `{"spec": {"type": "ExternalName", "externalName": "db.example.com"}}`,
			want: `{"metadata": {}, "spec": {"type": "ExternalName", "externalName": "db.example.com", "sessionAffinity": "None"}, "status": {"loadBalancer": {}}}`,
		},
		{
			name: "secret",
			obj:  &core.Secret{},
			in:   `{"data": {"a": "YQ==", "b": "Yg=="}, "stringData": {"b": "B", "c": "C"}}`,
			want: `{"metadata": {}, "type": "Opaque", "data": {"a": "YQ==", "b": "Qg==", "c": "Qw=="}}`,
		},
		{
			name: "namespace being created",
			obj:  &core.Namespace{},
			in:   `{"metadata": {"name": "team-a"}}`,
			want: `{"metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}`,
		},
		{
			name: "namespace being finalized keeps its finalizers removed",
			obj:  &core.Namespace{},
			in: `{"metadata": {"name": "team-a", "creationTimestamp": "2024-05-01T10:00:00Z", "deletionTimestamp": "2024-05-01T11:00:00Z"},
				"spec": {}, "status": {"phase": "Terminating"}}`,
			want: `{"metadata": {"name": "team-a", "creationTimestamp": "2024-05-01T10:00:00Z", "deletionTimestamp": "2024-05-01T11:00:00Z",
				"labels": {"kubernetes.io/metadata.name": "team-a"}}, "spec": {}, "status": {"phase": "Terminating"}}`,
		},
		{
			name: "node",
			obj:  &core.Node{},
			in:   `{"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "4", "pods": "110"}}}`,
			want: `{"metadata": {"name": "n"}, "spec": {}, "status": {"capacity": {"cpu": "4", "pods": "110"}, "allocatable": {"cpu": "4", "pods": "110"},
				"daemonEndpoints": {"kubeletEndpoint": {"Port": 0}}, "nodeInfo": {"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "",
				"containerRuntimeVersion": "", "kubeletVersion": "", "kubeProxyVersion": "", "operatingSystem": "", "architecture": ""}}}`,
		},
		{
			name: "persistent volume",
			obj:  &core.PersistentVolume{},
			in:   `{"spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/mnt/data"}}}`,
			want: `{"metadata": {}, "spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/mnt/data", "type": ""},
				"persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"}, "status": {"phase": "Pending"}}`,
		},
		{
			name: "persistent volume claim",
			obj:  &core.PersistentVolumeClaim{},
			in:   `{"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}`,
			want: `{"metadata": {}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
				"status": {"phase": "Pending"}}`,
		},
		{
			name: "endpoint slice",
			obj:  &discovery.EndpointSlice{},
			in:   `{"addressType": "IPv4", "endpoints": null, "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}`,
			want: `{"metadata": {}, "addressType": "IPv4", "endpoints": null, "ports": [{"name": "", "port": 80, "protocol": "TCP"}, {"name": "dns", "port": 53, "protocol": "UDP"}]}`,
		},
		{
			name: "endpoints",
			obj:  &core.Endpoints{},
			in:   `{"subsets": [{"addresses": [{"ip": "10.244.1.7"}], "ports": [{"port": 80}]}]}`,
			want: `{"metadata": {}, "subsets": [{"addresses": [{"ip": "10.244.1.7"}], "ports": [{"port": 80, "protocol": "TCP"}]}]}`,
		},
		{
			name: "priority class",
			obj:  &scheduling.PriorityClass{},
			in:   `{"value": 1000}`,
			want: `{"metadata": {}, "value": 1000, "preemptionPolicy": "PreemptLowerPriority"}`,
		},
		{
			name: "network policy with egress rules",
			obj:  &networking.NetworkPolicy{},
			in:   `{"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 443}]}]}}`,
			want: `{"metadata": {}, "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 443, "protocol": "TCP"}]}],
				"policyTypes": ["Ingress", "Egress"]}}`,
		},
		{
			name: "network policy: policyTypes given are kept",
			obj:  &networking.NetworkPolicy{},
			in:   `{"spec": {"podSelector": {}, "policyTypes": ["Egress"]}}`,
			want: `{"metadata": {}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}`,
		},
		{
			name: "limit range",
			obj:  &core.LimitRange{},
			in:   `{"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}}`,
			want: `{"metadata": {}, "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"},
				"default": {"cpu": "2"}, "defaultRequest": {"cpu": "2", "memory": "64Mi"}}]}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tc.in), tc.obj); err != nil {
				t.Fatalf("decode: %v", err)
			}
			defaults.Object(tc.obj)
			got, err := json.Marshal(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &wantV); err != nil {
				t.Fatalf("bad want: %v", err)
			}
			if !reflect.DeepEqual(gotV, wantV) {
				want, _ := json.Marshal(wantV)
				t.Errorf("defaulted object differs\nwant %s\ngot  %s", want, got)
			}
		})
	}
}

func TestObjectIsIdempotent(t *testing.T) {
	pod := &core.Pod{Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "nginx"}}}}
	defaults.Object(pod)
	once, _ := json.Marshal(pod)
	defaults.Object(pod)
	twice, _ := json.Marshal(pod)
	if string(once) != string(twice) {
		t.Errorf("second defaulting changed the pod\nonce  %s\ntwice %s", once, twice)
	}
}

func TestImagePullPolicy(t *testing.T) {
	for image, want := range map[string]core.PullPolicy{
		"nginx":                          core.PullAlways,
		"nginx:latest":                   core.PullAlways,
		"nginx:1.25":                     core.PullIfNotPresent,
		"docker.io/library/nginx":        core.PullAlways,
		"localhost:5000/app":             core.PullAlways,
		"localhost:5000/app:v2":          core.PullIfNotPresent,
		"localhost:5000/app:latest":      core.PullAlways,
		"nginx@sha256:0d17b565c37bcbd8":  core.PullIfNotPresent,
		"nginx:latest@sha256:0d17b565c3": core.PullAlways,
		"nginx:1.25@sha256:0d17b565c37b": core.PullIfNotPresent,
	} {
		pod := &core.Pod{Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: image}}}}
		defaults.Object(pod)
		if got := pod.Spec.Containers[0].ImagePullPolicy; got != want {
			t.Errorf("%s: imagePullPolicy %s, want %s", image, got, want)
		}
	}
}

func TestJobSelector(t *testing.T) {
	j := &batch.Job{ObjectMeta: meta.ObjectMeta{Name: "pi", UID: "u-1"}}
	defaults.JobSelector(j)
	wantTemplate := map[string]string{"job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"}
	if !reflect.DeepEqual(j.Spec.Template.Labels, wantTemplate) {
		t.Errorf("template labels = %v", j.Spec.Template.Labels)
	}
	if !reflect.DeepEqual(j.Spec.Selector.MatchLabels, map[string]string{"batch.kubernetes.io/controller-uid": "u-1"}) {
		t.Errorf("selector = %v", j.Spec.Selector.MatchLabels)
	}
	if !reflect.DeepEqual(j.Labels, wantTemplate) {
		t.Errorf("job labels = %v", j.Labels)
	}

	manual := true
	m := &batch.Job{ObjectMeta: meta.ObjectMeta{Name: "pi", UID: "u-2"}, Spec: batch.JobSpec{ManualSelector: &manual}}
	defaults.JobSelector(m)
	if m.Spec.Selector != nil || m.Spec.Template.Labels != nil {
		t.Errorf("manual selector job was changed: %+v", m.Spec)
	}
}
