package dashboard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// TestDeletedPodsKeepsTheNewest: the memory of deleted pods is bounded, oldest out first.
func TestDeletedPodsKeepsTheNewest(t *testing.T) {
	d := newDeletedPods(3)
	for i := range 5 {
		d.add(&core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: fmt.Sprint(i)}}, t0)
	}
	d.add(&core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "4"}}, t0) // again: no second entry
	for i, want := range []bool{false, false, true, true, true} {
		if _, _, ok := d.get("ns", fmt.Sprint(i)); ok != want {
			t.Errorf("pod %d remembered: %v, want %v", i, ok, want)
		}
	}
	if len(d.order) != 3 {
		t.Errorf("order %v", d.order)
	}
}

// TestMarkDeleted: a deleted pod's journey ends done at its removal, after a termination
// seen or not.
func TestMarkDeleted(t *testing.T) {
	for _, pod := range []*core.Pod{running(newPod()), func() *core.Pod {
		p := running(newPod())
		p.Status.Phase = core.PodSucceeded
		return p
	}()} {
		j := BuildJourney(pod, runningEvents)
		j.markDeleted(t0.Add(30e9))
		end := j.Steps[len(j.Steps)-1]
		if end.State != StateDone || end.Time == nil || !strings.HasSuffix(end.Title, ": deleted") || j.Pod.Status != "Deleted" || j.Deleted == nil {
			t.Errorf("phase %s: end %+v, pod %+v", pod.Status.Phase, end, j.Pod)
		}
	}
}
