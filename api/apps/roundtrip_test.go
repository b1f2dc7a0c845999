package apps_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
)

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
	_ = json.Unmarshal([]byte(doc), &want)
	_ = json.Unmarshal(out, &got)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip changed the object\nwant %s\ngot  %s", doc, out)
	}
	return obj
}

func TestDeploymentRoundTrip(t *testing.T) {
	d := roundTrip[apps.Deployment](t, `{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}, "creationTimestamp": "2024-05-01T10:00:00Z", "generation": 1, "labels": {"app": "web"}, "name": "web", "namespace": "default", "resourceVersion": "10", "uid": "d1"},
  "spec": {
    "progressDeadlineSeconds": 600, "replicas": 3, "revisionHistoryLimit": 10,
    "selector": {"matchLabels": {"app": "web"}},
    "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}, "type": "RollingUpdate"},
    "template": {"metadata": {"labels": {"app": "web"}},
      "spec": {"containers": [{"image": "nginx", "imagePullPolicy": "Always", "name": "nginx", "resources": {}, "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30}}
  },
  "status": {"availableReplicas": 3, "conditions": [
      {"lastTransitionTime": "2024-05-01T10:00:05Z", "lastUpdateTime": "2024-05-01T10:00:05Z", "message": "Deployment has minimum availability.", "reason": "MinimumReplicasAvailable", "status": "True", "type": "Available"}],
    "observedGeneration": 1, "readyReplicas": 3, "replicas": 3, "updatedReplicas": 3}
}`)
	if d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 1 || d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" {
		t.Errorf("rolling update = %+v", d.Spec.Strategy.RollingUpdate)
	}
}

func TestStatefulSetRoundTrip(t *testing.T) {
	roundTrip[apps.StatefulSet](t, `{
  "apiVersion": "apps/v1", "kind": "StatefulSet",
  "metadata": {"name": "db", "namespace": "default"},
  "spec": {
    "ordinals": {"start": 1},
    "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"},
    "podManagementPolicy": "Parallel", "replicas": 2, "revisionHistoryLimit": 10,
    "selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
    "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"image": "postgres:16", "name": "pg", "resources": {}}]}},
    "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
    "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"}, "status": {"phase": "Pending"}}]
  },
  "status": {"availableReplicas": 2, "collisionCount": 0, "currentReplicas": 2, "currentRevision": "db-5d8f", "observedGeneration": 1, "readyReplicas": 2, "replicas": 2, "updateRevision": "db-5d8f", "updatedReplicas": 2}
}`)
}

func TestControllerRevisionRoundTrip(t *testing.T) {
	roundTrip[apps.ControllerRevision](t, `{"apiVersion": "apps/v1", "kind": "ControllerRevision",
  "metadata": {"name": "db-5d8f", "namespace": "default"},
  "data": {"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "db"}}}}}, "revision": 1}`)
}
