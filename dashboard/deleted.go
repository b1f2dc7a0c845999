package dashboard

import (
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
)

// maxDeletedPods bounds the deleted pods a session remembers.
const maxDeletedPods = 500

// deletedPods remembers the last state of the pods deleted while the dashboard watched (the
// most recent ones), so that a journey page can show a pod's end after the API forgot it.
type deletedPods struct {
	mu    sync.Mutex
	max   int
	order []string // keys, oldest first
	pods  map[string]deletedPod
}

type deletedPod struct {
	pod *core.Pod
	at  time.Time
}

func newDeletedPods(max int) *deletedPods {
	return &deletedPods{max: max, pods: map[string]deletedPod{}}
}

func (d *deletedPods) add(p *core.Pod, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := p.Namespace + "/" + p.Name
	if _, ok := d.pods[key]; !ok {
		d.order = append(d.order, key)
	}
	d.pods[key] = deletedPod{pod: p, at: at}
	for len(d.order) > d.max {
		delete(d.pods, d.order[0])
		d.order = d.order[1:]
	}
}

func (d *deletedPods) get(namespace, name string) (*core.Pod, time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.pods[namespace+"/"+name]
	return p.pod, p.at, ok
}

// markDeleted ends the journey with the pod's removal from the API at t.
func (j *Journey) markDeleted(t time.Time) {
	j.Deleted = &t
	last := &j.Steps[len(j.Steps)-1] // terminated
	if last.State != StateDone {
		last.State, last.Title, last.Time = StateDone, "Terminated", &t
	} else if last.Time == nil {
		last.Time = &t
	}
	last.Title += ": deleted"
	last.Detail = append(last.Detail, "removed from the API at "+t.UTC().Format(time.TimeOnly)+" (seen by the dashboard's watch)")
	j.Pod.Status = "Deleted"
}
