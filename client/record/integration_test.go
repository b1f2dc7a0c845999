package record_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/record"
	"github.com/skiff-sh/skiff/test/harness"
)

// TestAgainstAPIServer: the events the recorder writes pass the API server's validation, and a
// repeat shows as one event with count 2, as kubectl describe shows "(x2 over ...)".
func TestAgainstAPIServer(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{})
	c, err := client.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	pods := client.For[core.Pod](c, client.Resource{Version: "v1", Resource: "pods", Namespaced: true})
	events := client.For[core.Event](c, client.Resource{Version: "v1", Resource: "events", Namespaced: true})
	pod, err := pods.Create(context.Background(), &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox"}}}})
	if err != nil {
		t.Fatal(err)
	}
	node := &core.Node{ObjectMeta: meta.ObjectMeta{Name: "node-1"}}
	r := record.NewRecorder(c, "test-component", "")
	r.Event(pod, core.EventTypeWarning, "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.")
	r.Event(node, core.EventTypeNormal, "Registered", "node registered")
	list := func(selector string) []core.Event {
		l, err := events.List(context.Background(), "default", client.ListOptions{FieldSelector: selector})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	harness.Eventually(t, 10*time.Second, "both events", func() (bool, string) {
		n := len(list("involvedObject.name=web")) + len(list("involvedObject.kind=Node"))
		return n == 2, fmt.Sprintf("%d events", n)
	})
	r.Event(pod, core.EventTypeWarning, "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.")
	harness.Eventually(t, 10*time.Second, "count 2", func() (bool, string) {
		evs := list("involvedObject.name=web,reason=FailedScheduling")
		if len(evs) != 1 {
			return false, fmt.Sprintf("%d events", len(evs))
		}
		e := evs[0]
		return e.Count == 2 && e.InvolvedObject.UID == pod.UID && e.Source.Component == "test-component" && e.Type == "Warning",
			fmt.Sprintf("%+v", e)
	})
}
