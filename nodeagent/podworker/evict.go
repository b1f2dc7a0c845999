package podworker

// Eviction by the node: the eviction manager asks for a pod to be stopped and reported
// Failed with reason Evicted (the kubelet's killPodFunc with a status function). The pod
// stays in the API, Failed, so its controller replaces it.

import (
	"context"
	"errors"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// EvictedReason is the status reason of a pod the node evicted.
const EvictedReason = "Evicted"

// evictRequest is an eviction a pod's next sync carries out.
type evictRequest struct {
	grace   time.Duration
	message string
	cond    *core.PodCondition
	done    chan error // buffered; nil once answered
}

var errEvicting = errors.New("the pod is being evicted already")

// Evict stops pod's containers within grace seconds and reports it Failed, reason Evicted,
// with msg and cond (if not nil) among its conditions. It returns once that is done, or
// when ctx ends.
func (m *Manager) Evict(ctx context.Context, pod *core.Pod, grace int64, msg string, cond *core.PodCondition) error {
	st := m.state(pod.UID)
	done := make(chan error, 1)
	st.mu.Lock()
	if st.evict != nil {
		st.mu.Unlock()
		return errEvicting
	}
	st.evict = &evictRequest{grace: time.Duration(grace) * time.Second, message: msg, cond: cond, done: done}
	st.mu.Unlock()
	m.queue.Add(pod.UID)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// evicted carries out an eviction request: stop everything, then report the failed status.
// Until the API shows the pod Failed every sync of it comes here (and finds it stopped).
func (m *Manager) evicted(ctx context.Context, pod *core.Pod, st *podState, ev *evictRequest) (time.Duration, error) {
	err := m.stopAll(ctx, pod, st, ev.grace, false)
	if err == nil {
		st.apiStatusJSON(pod) // the API's status, before the copy's is changed
		failed := *pod        // a shallow copy: the status's slices are replaced, not changed
		failed.Status.Phase = core.PodFailed
		failed.Status.Reason = EvictedReason
		failed.Status.Message = ev.message
		if ev.cond != nil {
			c := *ev.cond
			c.LastTransitionTime = meta.Now()
			conds := []core.PodCondition{c}
			for _, old := range pod.Status.Conditions {
				if old.Type != c.Type {
					conds = append(conds, old)
				}
			}
			failed.Status.Conditions = conds
		}
		err = m.reportStatus(ctx, &failed, st)
	}
	st.mu.Lock()
	if ev.done != nil {
		ev.done <- err
		ev.done = nil
	}
	st.mu.Unlock()
	return 0, err
}

// evictRequest is the pod's pending eviction, nil if none.
func (st *podState) evictRequest() *evictRequest {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.evict
}
