package events

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// Every field of either form survives a trip through the other: the core Event stores all
// of the events.k8s.io/v1 Event, under other names.
func TestRoundTrips(t *testing.T) {
	now := meta.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	micro := meta.MicroTime{Time: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)}
	v1 := &Event{
		TypeMeta:   meta.TypeMeta{APIVersion: APIVersion, Kind: "Event"},
		ObjectMeta: meta.ObjectMeta{Name: "e", Namespace: "default", Labels: map[string]string{"a": "b"}},
		EventTime:  micro, Series: &EventSeries{Count: 3, LastObservedTime: micro},
		ReportingController: "example.com/c", ReportingInstance: "c-1", Action: "Act", Reason: "Why",
		Regarding: core.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p", UID: "u"},
		Related:   &core.ObjectReference{Kind: "Node", Name: "n"}, Note: "note", Type: core.EventTypeWarning,
		DeprecatedSource: core.EventSource{Component: "kubelet", Host: "n"}, DeprecatedFirstTimestamp: now, DeprecatedLastTimestamp: now, DeprecatedCount: 4,
	}
	c, err := ToCore(v1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Message != "note" || c.InvolvedObject.Name != "p" || c.ReportingController != "example.com/c" || c.Count != 4 || c.Source.Host != "n" ||
		c.APIVersion != "v1" || c.Series.Count != 3 {
		t.Errorf("ToCore: %+v", c)
	}
	back, err := FromCore(c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, v1) {
		b1, _ := json.Marshal(back)
		b2, _ := json.Marshal(v1)
		t.Errorf("v1 → core → v1:\n got %s\nwant %s", b1, b2)
	}
	again, _ := ToCore(back)
	if !reflect.DeepEqual(again, c) {
		t.Errorf("core → v1 → core changed the event: %+v", again)
	}
}
