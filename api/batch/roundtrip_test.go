package batch_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/batch"
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

func TestJobRoundTrip(t *testing.T) {
	roundTrip[batch.Job](t, `{
  "apiVersion": "batch/v1", "kind": "Job",
  "metadata": {"labels": {"batch.kubernetes.io/controller-uid": "j1", "batch.kubernetes.io/job-name": "pi"}, "name": "pi", "namespace": "default", "uid": "j1"},
  "spec": {"activeDeadlineSeconds": 600, "backoffLimit": 4, "completionMode": "Indexed", "completions": 3, "manualSelector": false, "parallelism": 2,
    "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {"containerName": "pi", "operator": "In", "values": [42]}},
                                   {"action": "Ignore", "onPodConditions": [{"status": "True", "type": "DisruptionTarget"}]}]},
    "podReplacementPolicy": "Failed",
    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j1"}}, "suspend": false,
    "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "j1"}}, "spec": {"containers": [{"image": "perl", "name": "pi", "resources": {}}], "restartPolicy": "Never"}},
    "ttlSecondsAfterFinished": 100},
  "status": {"active": 1, "completedIndexes": "0-1", "conditions": [{"lastProbeTime": "2024-05-01T10:01:00Z", "lastTransitionTime": "2024-05-01T10:01:00Z", "status": "True", "type": "Complete"}],
    "completionTime": "2024-05-01T10:01:00Z", "failed": 1, "ready": 0, "startTime": "2024-05-01T10:00:00Z", "succeeded": 2, "terminating": 0,
    "uncountedTerminatedPods": {}}
}`)
}

func TestCronJobRoundTrip(t *testing.T) {
	roundTrip[batch.CronJob](t, `{
  "apiVersion": "batch/v1", "kind": "CronJob",
  "metadata": {"name": "hello", "namespace": "default"},
  "spec": {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1, "schedule": "*/5 * * * *", "startingDeadlineSeconds": 30, "successfulJobsHistoryLimit": 3, "suspend": false, "timeZone": "Etc/UTC",
    "jobTemplate": {"metadata": {"labels": {"x": "y"}}, "spec": {"template": {"metadata": {}, "spec": {"containers": [{"image": "busybox", "name": "hello", "resources": {}}], "restartPolicy": "OnFailure"}}}}},
  "status": {"active": [{"apiVersion": "batch/v1", "kind": "Job", "name": "hello-28571234", "namespace": "default", "resourceVersion": "5", "uid": "j2"}],
    "lastScheduleTime": "2024-05-01T10:00:00Z", "lastSuccessfulTime": "2024-05-01T09:55:09Z"}
}`)
}
