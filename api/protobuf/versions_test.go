package protobuf

import (
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/autoscaling"
	autoscalingv1 "github.com/skiff-sh/skiff/api/autoscaling/v1"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/events"
	"github.com/skiff-sh/skiff/api/meta"
)

// The served-only versions are known to the protobuf decoder (client-go's typed clients send
// protobuf): a body of each turns into its own JSON, v1 field names included.
func TestServedOnlyVersionsDecode(t *testing.T) {
	fifty := int32(50)
	for _, tc := range []struct {
		obj  meta.Object
		want []string
	}{
		{&autoscalingv1.HorizontalPodAutoscaler{TypeMeta: meta.TypeMeta{APIVersion: "autoscaling/v1", Kind: "HorizontalPodAutoscaler"},
			ObjectMeta: meta.ObjectMeta{Name: "web"},
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscaling.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
				MaxReplicas: 5, TargetCPUUtilizationPercentage: &fifty}},
			[]string{`"apiVersion":"autoscaling/v1"`, `"targetCPUUtilizationPercentage":50`, `"maxReplicas":5`}},
		{&events.Event{TypeMeta: meta.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}, ObjectMeta: meta.ObjectMeta{Name: "e"},
			EventTime: meta.MicroTime{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, Note: "hello", Type: core.EventTypeNormal,
			Regarding: core.ObjectReference{Kind: "Pod", Name: "p"}, ReportingController: "x/y"},
			[]string{`"apiVersion":"events.k8s.io/v1"`, `"note":"hello"`, `"regarding":{"kind":"Pod","name":"p"}`, `"reportingController":"x/y"`}},
	} {
		b, err := Encode(tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		j, err := ToJSON(b)
		if err != nil {
			t.Fatalf("%T: %v", tc.obj, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(j), w) {
				t.Errorf("%T decoded to %s, want %s in it", tc.obj, j, w)
			}
		}
	}
}
