package core_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// roundTrip decodes doc into a new T, encodes it again and requires the same JSON value:
// every field a real cluster returns must survive, and nothing may be added.
func roundTrip[T any](t *testing.T, doc string) *T {
	t.Helper()
	obj := new(T)
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		t.Fatalf("decode: %v", err)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(doc), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip changed the object\nwant %s\ngot  %s", compact(doc), out)
	}
	return obj
}

func compact(doc string) string {
	var v any
	_ = json.Unmarshal([]byte(doc), &v)
	b, _ := json.Marshal(v)
	return string(b)
}

// A pod as `kubectl get pod -o json` shows it on a real cluster.
const podJSON = `{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "creationTimestamp": "2024-05-01T10:00:00Z",
    "generateName": "web-7d4b9c8f5-",
    "labels": {"app": "web", "pod-template-hash": "7d4b9c8f5"},
    "name": "web-7d4b9c8f5-x2v9k",
    "namespace": "default",
    "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true, "kind": "ReplicaSet", "name": "web-7d4b9c8f5", "uid": "0f5c1c1e-2b7a-4f5e-9a51-3f1f2f8e9d10"}],
    "resourceVersion": "1234",
    "uid": "6c0c7b3e-1f1e-4a33-8d1b-0d5c7f2e4a11"
  },
  "spec": {
    "affinity": {
      "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}},
      "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}, "weight": 100}]}
    },
    "containers": [{
      "args": ["--port=8080"],
      "command": ["/server"],
      "env": [
        {"name": "MODE", "value": "prod"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password", "name": "db"}}}
      ],
      "envFrom": [{"configMapRef": {"name": "web-config"}}],
      "image": "nginx:1.25",
      "imagePullPolicy": "IfNotPresent",
      "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
      "livenessProbe": {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "initialDelaySeconds": 5, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
      "name": "web",
      "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
      "readinessProbe": {"failureThreshold": 3, "periodSeconds": 10, "successThreshold": 1, "tcpSocket": {"port": "http"}, "timeoutSeconds": 1},
      "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}},
      "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true, "runAsNonRoot": true},
      "terminationMessagePath": "/dev/termination-log",
      "terminationMessagePolicy": "File",
      "volumeMounts": [
        {"mountPath": "/cache", "name": "cache"},
        {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-abcde", "readOnly": true}
      ]
    }],
    "dnsPolicy": "ClusterFirst",
    "enableServiceLinks": true,
    "nodeName": "node-1",
    "preemptionPolicy": "PreemptLowerPriority",
    "priority": 0,
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {"fsGroup": 2000, "runAsUser": 1000},
    "serviceAccount": "default",
    "serviceAccountName": "default",
    "terminationGracePeriodSeconds": 30,
    "tolerations": [
      {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
      {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
    ],
    "topologySpreadConstraints": [{"labelSelector": {"matchLabels": {"app": "web"}}, "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}],
    "volumes": [
      {"emptyDir": {"sizeLimit": "1Gi"}, "name": "cache"},
      {"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}
      ]}}
    ]
  },
  "status": {
    "conditions": [
      {"lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:02Z", "status": "True", "type": "Initialized"},
      {"lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:05Z", "status": "True", "type": "Ready"},
      {"lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:00Z", "status": "True", "type": "PodScheduled"}
    ],
    "containerStatuses": [{
      "containerID": "containerd://4f1c2e",
      "image": "docker.io/library/nginx:1.25",
      "imageID": "docker.io/library/nginx@sha256:0d17b5",
      "lastState": {"terminated": {"containerID": "containerd://1a2b", "exitCode": 137, "finishedAt": "2024-05-01T10:00:03Z", "reason": "OOMKilled", "startedAt": "2024-05-01T10:00:01Z"}},
      "name": "web",
      "ready": true,
      "restartCount": 1,
      "started": true,
      "state": {"running": {"startedAt": "2024-05-01T10:00:04Z"}}
    }],
    "hostIP": "10.0.0.11",
    "hostIPs": [{"ip": "10.0.0.11"}],
    "phase": "Running",
    "podIP": "10.244.1.7",
    "podIPs": [{"ip": "10.244.1.7"}],
    "qosClass": "Burstable",
    "startTime": "2024-05-01T10:00:00Z"
  }
}`

func TestPodRoundTrip(t *testing.T) {
	pod := roundTrip[core.Pod](t, podJSON)
	if pod.Spec.Containers[0].Resources.Limits.Memory().String() != "128Mi" {
		t.Errorf("memory limit = %v", pod.Spec.Containers[0].Resources.Limits.Memory())
	}
	if *pod.Spec.Volumes[1].Projected.DefaultMode != 0644 {
		t.Errorf("defaultMode = %o", *pod.Spec.Volumes[1].Projected.DefaultMode)
	}
	var _ meta.Object = pod
	var _ meta.ListObject = &core.PodList{}
}

func TestServiceRoundTrip(t *testing.T) {
	roundTrip[core.Service](t, `{
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"creationTimestamp": "2024-05-01T10:00:00Z", "name": "web", "namespace": "default", "resourceVersion": "99", "uid": "u1"},
  "spec": {
    "allocateLoadBalancerNodePorts": true,
    "clusterIP": "10.96.12.34", "clusterIPs": ["10.96.12.34"],
    "externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster",
    "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
    "ports": [{"name": "http", "nodePort": 31234, "port": 80, "protocol": "TCP", "targetPort": "http"},
              {"appProtocol": "grpc", "name": "grpc", "nodePort": 31235, "port": 9090, "protocol": "TCP", "targetPort": 9090}],
    "selector": {"app": "web"},
    "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
    "type": "LoadBalancer"
  },
  "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "VIP", "ports": [{"port": 80, "protocol": "TCP"}]}]}}
}`)
}

func TestNodeRoundTrip(t *testing.T) {
	roundTrip[core.Node](t, `{
  "apiVersion": "v1", "kind": "Node",
  "metadata": {"annotations": {"node.alpha.kubernetes.io/ttl": "0"}, "creationTimestamp": "2024-05-01T09:00:00Z", "labels": {"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux"}, "name": "node-1", "resourceVersion": "7", "uid": "n1"},
  "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"], "providerID": "skiff://node-1",
           "taints": [{"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "timeAdded": "2024-05-01T09:30:00Z"}], "unschedulable": true},
  "status": {
    "addresses": [{"address": "10.0.0.11", "type": "InternalIP"}, {"address": "node-1", "type": "Hostname"}],
    "allocatable": {"cpu": "4", "ephemeral-storage": "95551679124", "memory": "16221628Ki", "pods": "110"},
    "capacity": {"cpu": "4", "ephemeral-storage": "103676568Ki", "memory": "16324028Ki", "pods": "110"},
    "conditions": [{"lastHeartbeatTime": "2024-05-01T10:00:00Z", "lastTransitionTime": "2024-05-01T09:00:10Z", "message": "kubelet is posting ready status", "reason": "KubeletReady", "status": "True", "type": "Ready"}],
    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
    "images": [{"names": ["docker.io/library/nginx@sha256:0d17b5", "docker.io/library/nginx:1.25"], "sizeBytes": 70000000}],
    "nodeInfo": {"architecture": "amd64", "bootID": "b", "containerRuntimeVersion": "containerd://2.0.0", "kernelVersion": "6.8.0", "kubeProxyVersion": "", "kubeletVersion": "v1.33.0", "machineID": "m", "operatingSystem": "linux", "osImage": "Ubuntu 24.04", "systemUUID": "s"},
    "volumesInUse": ["kubernetes.io/csi/x"]
  }
}`)
}

func TestEventRoundTrip(t *testing.T) {
	roundTrip[core.Event](t, `{
  "apiVersion": "v1", "kind": "Event",
  "action": "Binding", "count": 1, "eventTime": "2024-05-01T10:00:00.123456Z", "firstTimestamp": null, "lastTimestamp": null,
  "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-1", "namespace": "default", "resourceVersion": "5", "uid": "p1", "fieldPath": "spec.containers{web}"},
  "message": "Successfully assigned default/web-1 to node-1",
  "metadata": {"creationTimestamp": "2024-05-01T10:00:00Z", "name": "web-1.17abc", "namespace": "default", "resourceVersion": "6", "uid": "e1"},
  "reason": "Scheduled", "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-node-0",
  "series": {"count": 2, "lastObservedTime": "2024-05-01T10:01:00.000001Z"},
  "source": {"component": "kubelet", "host": "node-1"}, "type": "Normal"
}`)
}

func TestSecretDataIsBase64(t *testing.T) {
	s := roundTrip[core.Secret](t, `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"},
  "data": {"password": "aHVudGVyMg=="}, "immutable": true, "type": "Opaque"}`)
	if string(s.Data["password"]) != "hunter2" {
		t.Errorf("password = %q", s.Data["password"])
	}
}

func TestTolerations(t *testing.T) {
	taint := core.Taint{Key: "dedicated", Value: "gpu", Effect: core.TaintEffectNoSchedule}
	for _, tc := range []struct {
		tol  core.Toleration
		want bool
	}{
		{core.Toleration{Key: "dedicated", Operator: core.TolerationOpEqual, Value: "gpu", Effect: core.TaintEffectNoSchedule}, true},
		{core.Toleration{Key: "dedicated", Value: "gpu"}, true},
		{core.Toleration{Key: "dedicated", Value: "cpu"}, false},
		{core.Toleration{Key: "dedicated", Operator: core.TolerationOpExists}, true},
		{core.Toleration{Operator: core.TolerationOpExists}, true},
		{core.Toleration{Key: "dedicated", Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute}, false},
	} {
		if got := tc.tol.ToleratesTaint(&taint); got != tc.want {
			t.Errorf("%+v tolerates %s = %v, want %v", tc.tol, taint.ToString(), got, tc.want)
		}
	}
}
