package deployment

import (
	"fmt"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// rolloutRolling takes one step of a rolling update: scale the new ReplicaSet up as far as
// maxSurge allows, else scale old ones down as far as maxUnavailable allows; once complete,
// clean up history.
func (r *rollout) rolloutRolling() error {
	newRS, olds, err := r.newAndOld(true)
	if err != nil {
		return err
	}
	all := append(append([]*apps.ReplicaSet(nil), olds...), newRS)
	up, err := r.reconcileNewReplicaSet(all, newRS)
	if err != nil {
		return err
	}
	if up {
		return r.syncRolloutStatus(all, newRS)
	}
	down, err := r.reconcileOldReplicaSets(all, filterActive(olds), newRS)
	if err != nil {
		return err
	}
	if down {
		return r.syncRolloutStatus(all, newRS)
	}
	if deploymentComplete(r.d, &r.d.Status) {
		if err := r.cleanup(olds); err != nil {
			return err
		}
	}
	return r.syncRolloutStatus(all, newRS)
}

func (r *rollout) reconcileNewReplicaSet(all []*apps.ReplicaSet, newRS *apps.ReplicaSet) (bool, error) {
	want := replicas(r.d)
	switch {
	case rsReplicas(newRS) == want:
		return false, nil
	case rsReplicas(newRS) > want:
		return r.scaleReplicaSet(newRS, want)
	}
	return r.scaleReplicaSet(newRS, newRSNewReplicas(r.d, all, newRS))
}

// reconcileOldReplicaSets scales old ReplicaSets down without going below
// replicas-maxUnavailable available pods: first the unhealthy replicas (they serve nothing),
// then the oldest ReplicaSets first.
func (r *rollout) reconcileOldReplicaSets(all, olds []*apps.ReplicaSet, newRS *apps.ReplicaSet) (bool, error) {
	if replicaCount(olds) == 0 {
		return false, nil
	}
	minAvailable := replicas(r.d) - maxUnavailable(r.d)
	newUnavailable := rsReplicas(newRS) - boundedAvailable([]*apps.ReplicaSet{newRS})
	maxScaledDown := replicaCount(all) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	cleaned, err := r.cleanupUnhealthyReplicas(olds, maxScaledDown)
	if err != nil {
		return false, err
	}
	scaled, err := r.scaleDownOldForRollingUpdate(all, olds)
	if err != nil {
		return false, err
	}
	return cleaned+scaled > 0, nil
}

func (r *rollout) cleanupUnhealthyReplicas(olds []*apps.ReplicaSet, maxCleanup int32) (int32, error) {
	sorted := append([]*apps.ReplicaSet(nil), olds...)
	controller.ByCreation(sorted)
	var total int32
	for _, rs := range sorted {
		if total >= maxCleanup {
			break
		}
		// Status can still count more available pods than a just-lowered spec allows: then
		// nothing in it is unhealthy.
		if rsReplicas(rs) == 0 || rs.Status.AvailableReplicas >= rsReplicas(rs) {
			continue
		}
		n := min(maxCleanup-total, rsReplicas(rs)-rs.Status.AvailableReplicas)
		if _, err := r.scaleReplicaSet(rs, rsReplicas(rs)-n); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (r *rollout) scaleDownOldForRollingUpdate(all, olds []*apps.ReplicaSet) (int32, error) {
	minAvailable := replicas(r.d) - maxUnavailable(r.d)
	available := boundedAvailable(all)
	if available <= minAvailable {
		return 0, nil
	}
	toScale := available - minAvailable
	sorted := append([]*apps.ReplicaSet(nil), olds...)
	controller.ByCreation(sorted)
	var total int32
	for _, rs := range sorted {
		if total >= toScale {
			break
		}
		if rsReplicas(rs) == 0 {
			continue
		}
		n := min(rsReplicas(rs), toScale-total)
		if _, err := r.scaleReplicaSet(rs, rsReplicas(rs)-n); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// boundedAvailable counts the available replicas of the ReplicaSets, each at most its
// spec.replicas: a ReplicaSet just scaled down still reports the pods it is about to delete
// as available until its controller catches up, and counting them would let a second step
// scale down below replicas-maxUnavailable.
func boundedAvailable(sets []*apps.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += min(rs.Status.AvailableReplicas, rsReplicas(rs))
		}
	}
	return n
}

// rolloutRecreate scales every old ReplicaSet to zero, waits until their pods are gone,
// then scales the new one up.
func (r *rollout) rolloutRecreate() error {
	newRS, olds, err := r.newAndOld(false)
	if err != nil {
		return err
	}
	all := append(append([]*apps.ReplicaSet(nil), olds...), newRS)
	scaledDown := false
	for _, rs := range filterActive(olds) {
		s, err := r.scaleReplicaSet(rs, 0)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || s
	}
	if scaledDown {
		return r.syncRolloutStatus(all, newRS)
	}
	if r.oldPodsRunning(newRS, olds) {
		return r.syncRolloutStatus(all, newRS)
	}
	if newRS == nil {
		if newRS, olds, err = r.newAndOld(true); err != nil {
			return err
		}
		all = append(append([]*apps.ReplicaSet(nil), olds...), newRS)
	}
	if _, err := r.scaleReplicaSet(newRS, replicas(r.d)); err != nil {
		return err
	}
	if deploymentComplete(r.d, &r.d.Status) {
		if err := r.cleanup(olds); err != nil {
			return err
		}
	}
	return r.syncRolloutStatus(all, newRS)
}

// oldPodsRunning: an old ReplicaSet still reports pods, or one of its pods (even
// terminating) has not finished.
func (r *rollout) oldPodsRunning(newRS *apps.ReplicaSet, olds []*apps.ReplicaSet) bool {
	if actualReplicaCount(olds) > 0 {
		return true
	}
	for _, rs := range olds {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		for _, p := range controller.Controlled(r.c.pods.Indexer(), rs.UID) {
			if p.Status.Phase != core.PodSucceeded && p.Status.Phase != core.PodFailed {
				return true
			}
		}
	}
	return false
}

// syncRolloutStatus reports status with the Progressing condition: progress refreshes it,
// completion sets NewReplicaSetAvailable, and no progress for progressDeadlineSeconds sets
// ProgressDeadlineExceeded. A rollout that can still time out is looked at again when it
// would.
func (r *rollout) syncRolloutStatus(all []*apps.ReplicaSet, newRS *apps.ReplicaSet) error {
	d := r.d
	st := r.calculateStatus(all, newRS)
	now := r.c.now()
	if !hasProgressDeadline(d) {
		removeCondition(&st, apps.DeploymentProgressing)
	}
	cur := getCondition(&d.Status, apps.DeploymentProgressing)
	complete := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == NewRSAvailableReason
	if hasProgressDeadline(d) && !complete {
		switch {
		case deploymentComplete(d, &st):
			msg := fmt.Sprintf("Deployment %q has successfully progressed.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name)
			}
			setCondition(&st, newCondition(apps.DeploymentProgressing, core.ConditionTrue, NewRSAvailableReason, msg, now))
		case deploymentProgressing(d, &st):
			msg := fmt.Sprintf("Deployment %q is progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name)
			}
			c := newCondition(apps.DeploymentProgressing, core.ConditionTrue, ReplicaSetUpdatedReason, msg, now)
			if cur != nil && cur.Status == core.ConditionTrue {
				c.LastTransitionTime = cur.LastTransitionTime
			}
			// Removed first so that the update time moves: progress restarts the deadline.
			removeCondition(&st, apps.DeploymentProgressing)
			setCondition(&st, c)
		case deploymentTimedOut(d, &st, now):
			msg := fmt.Sprintf("Deployment %q has timed out progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.Name)
			}
			setCondition(&st, newCondition(apps.DeploymentProgressing, core.ConditionFalse, TimedOutReason, msg, now))
		}
	}
	if failure := replicaFailure(all, newRS); failure != nil {
		setCondition(&st, *failure)
	} else {
		removeCondition(&st, apps.DeploymentReplicaFailure)
	}
	if controller.SemanticEqual(d.Status, st) {
		r.requeueStuck(&st, now)
		return nil
	}
	d.Status = st
	if err := r.updateStatus(); err != nil {
		return err
	}
	r.requeueStuck(&r.d.Status, now)
	return nil
}

// replicaFailure surfaces the new ReplicaSet's ReplicaFailure condition (pods it cannot
// create) on the Deployment.
func replicaFailure(all []*apps.ReplicaSet, newRS *apps.ReplicaSet) *apps.DeploymentCondition {
	for _, rs := range append([]*apps.ReplicaSet{newRS}, all...) {
		if rs == nil {
			continue
		}
		for _, c := range rs.Status.Conditions {
			if c.Type == apps.ReplicaSetReplicaFailure {
				return &apps.DeploymentCondition{Type: apps.DeploymentReplicaFailure, Status: c.Status, Reason: c.Reason,
					Message: c.Message, LastUpdateTime: c.LastTransitionTime, LastTransitionTime: c.LastTransitionTime}
			}
		}
	}
	return nil
}

// requeueStuck looks at a rollout in progress again when its deadline would pass, so that
// a stalled rollout is reported without any event to wake the controller.
func (r *rollout) requeueStuck(st *apps.DeploymentStatus, now time.Time) {
	cur := getCondition(st, apps.DeploymentProgressing)
	if !hasProgressDeadline(r.d) || cur == nil || cur.Reason == TimedOutReason || deploymentComplete(r.d, st) ||
		cur.Reason == PausedDeployReason || cur.Reason == NewRSAvailableReason {
		return
	}
	after := cur.LastUpdateTime.Add(time.Duration(*r.d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(now)
	key := informer.Key(r.d)
	if after < time.Second {
		r.c.queue.AddAfter(key, time.Second)
		return
	}
	r.c.queue.AddAfter(key, after+time.Second)
}
