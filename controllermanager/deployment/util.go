package deployment

import (
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Annotations the controller keeps on Deployments and their ReplicaSets; kubectl reads
// them (rollout history, rollout undo).
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	// maxRevisionHistoryLength bounds the revision-history annotation (in characters).
	maxRevisionHistoryLength = 2000
)

// Condition reasons, as Kubernetes words them (kubectl rollout status matches on them).
const (
	ReplicaSetUpdatedReason    = "ReplicaSetUpdated"
	FailedRSCreateReason       = "ReplicaSetCreateError"
	NewReplicaSetReason        = "NewReplicaSetCreated"
	FoundNewRSReason           = "FoundNewReplicaSet"
	NewRSAvailableReason       = "NewReplicaSetAvailable"
	TimedOutReason             = "ProgressDeadlineExceeded"
	PausedDeployReason         = "DeploymentPaused"
	ResumedDeployReason        = "DeploymentResumed"
	MinimumReplicasAvailable   = "MinimumReplicasAvailable"
	MinimumReplicasUnavailable = "MinimumReplicasUnavailable"
)

// annotationsNotCopied stay on the Deployment and are not copied to its ReplicaSets.
var annotationsNotCopied = map[string]bool{
	core.LastAppliedConfigAnnotation: true,
	RevisionAnnotation:               true,
	RevisionHistoryAnnotation:        true,
	DesiredReplicasAnnotation:        true,
	MaxReplicasAnnotation:            true,
	apps.DeprecatedRollbackTo:        true,
}

func replicas(d *apps.Deployment) int32 { return controller.Deref(d.Spec.Replicas, 1) }

func rsReplicas(rs *apps.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return controller.Deref(rs.Spec.Replicas, 1)
}

// resolveFenceposts turns maxSurge and maxUnavailable into numbers for desired replicas:
// surge rounds up, unavailable rounds down, and both zero means one unavailable (so a
// rollout can always proceed).
func resolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, desired int32) (int32, int32) {
	zero := intstr.FromInt(0)
	if maxSurge == nil {
		maxSurge = &zero
	}
	if maxUnavailable == nil {
		maxUnavailable = &zero
	}
	surge, err := intstr.ScaledValue(maxSurge, int(desired), true)
	if err != nil {
		surge = 0
	}
	unavailable, err := intstr.ScaledValue(maxUnavailable, int(desired), false)
	if err != nil {
		unavailable = 0
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return int32(surge), int32(unavailable)
}

func isRollingUpdate(d *apps.Deployment) bool {
	return d.Spec.Strategy.Type == apps.RollingUpdateDeploymentStrategyType
}

// maxSurge is the resolved surge of a rolling update (0 otherwise).
func maxSurge(d *apps.Deployment) int32 {
	if !isRollingUpdate(d) || d.Spec.Strategy.RollingUpdate == nil {
		return 0
	}
	ru := d.Spec.Strategy.RollingUpdate
	s, _ := resolveFenceposts(ru.MaxSurge, ru.MaxUnavailable, replicas(d))
	return s
}

// maxUnavailable is the resolved unavailability of a rolling update, at most the replicas.
func maxUnavailable(d *apps.Deployment) int32 {
	if !isRollingUpdate(d) || replicas(d) == 0 || d.Spec.Strategy.RollingUpdate == nil {
		return 0
	}
	ru := d.Spec.Strategy.RollingUpdate
	_, u := resolveFenceposts(ru.MaxSurge, ru.MaxUnavailable, replicas(d))
	return min(u, replicas(d))
}

// newRSNewReplicas is how many replicas the new ReplicaSet may have now: for a rolling
// update, as many as fit under replicas+maxSurge counting every ReplicaSet's spec.replicas;
// for Recreate, all.
func newRSNewReplicas(d *apps.Deployment, all []*apps.ReplicaSet, newRS *apps.ReplicaSet) int32 {
	if !isRollingUpdate(d) {
		return replicas(d)
	}
	current := replicaCount(all)
	maxTotal := replicas(d) + maxSurge(d)
	if current >= maxTotal {
		return rsReplicas(newRS)
	}
	up := min(maxTotal-current, replicas(d)-rsReplicas(newRS))
	return rsReplicas(newRS) + up
}

func replicaCount(sets []*apps.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += rsReplicas(rs)
		}
	}
	return n
}

func actualReplicaCount(sets []*apps.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += rs.Status.Replicas
		}
	}
	return n
}

func readyReplicaCount(sets []*apps.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += rs.Status.ReadyReplicas
		}
	}
	return n
}

func availableReplicaCount(sets []*apps.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += rs.Status.AvailableReplicas
		}
	}
	return n
}

func filterActive(sets []*apps.ReplicaSet) []*apps.ReplicaSet {
	var out []*apps.ReplicaSet
	for _, rs := range sets {
		if rs != nil && rsReplicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// equalIgnoreHash compares two pod templates, ignoring the pod-template-hash label.
func equalIgnoreHash(a, b *core.PodTemplateSpec) bool {
	a, b = controller.DeepCopy(a), controller.DeepCopy(b)
	delete(a.Labels, apps.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, apps.DefaultDeploymentUniqueLabelKey)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return controller.SemanticEqual(a, b)
}

// findNewReplicaSet is the oldest ReplicaSet whose template is the Deployment's.
func findNewReplicaSet(d *apps.Deployment, sets []*apps.ReplicaSet) *apps.ReplicaSet {
	sorted := append([]*apps.ReplicaSet(nil), sets...)
	controller.ByCreation(sorted)
	for _, rs := range sorted {
		if equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

// oldReplicaSets are all the others.
func oldReplicaSets(d *apps.Deployment, sets []*apps.ReplicaSet) []*apps.ReplicaSet {
	newRS := findNewReplicaSet(d, sets)
	var out []*apps.ReplicaSet
	for _, rs := range sets {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		out = append(out, rs)
	}
	return out
}

// revision is a ReplicaSet's revision annotation (0 when absent or invalid).
func revision(m *meta.ObjectMeta) int64 {
	n, err := strconv.ParseInt(m.Annotations[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func maxRevision(sets []*apps.ReplicaSet) int64 {
	var m int64
	for _, rs := range sets {
		m = max(m, revision(&rs.ObjectMeta))
	}
	return m
}

func desiredReplicasAnnotation(rs *apps.ReplicaSet) (int32, bool) {
	return int32Annotation(rs, DesiredReplicasAnnotation)
}

func maxReplicasAnnotation(rs *apps.ReplicaSet) (int32, bool) {
	return int32Annotation(rs, MaxReplicasAnnotation)
}

func int32Annotation(rs *apps.ReplicaSet, key string) (int32, bool) {
	v, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// setReplicasAnnotations records on rs the Deployment size (and size plus surge) it was
// scaled for, which proportional scaling reads back; it reports a change.
func setReplicasAnnotations(rs *apps.ReplicaSet, desired, maxReplicas int32) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	d, m := strconv.Itoa(int(desired)), strconv.Itoa(int(maxReplicas))
	if rs.Annotations[DesiredReplicasAnnotation] == d && rs.Annotations[MaxReplicasAnnotation] == m {
		return false
	}
	rs.Annotations[DesiredReplicasAnnotation] = d
	rs.Annotations[MaxReplicasAnnotation] = m
	return true
}

func replicasAnnotationsNeedUpdate(rs *apps.ReplicaSet, desired, maxReplicas int32) bool {
	return rs.Annotations[DesiredReplicasAnnotation] != strconv.Itoa(int(desired)) ||
		rs.Annotations[MaxReplicasAnnotation] != strconv.Itoa(int(maxReplicas))
}

// copyDeploymentAnnotations copies the Deployment's annotations (change-cause and the like)
// to the ReplicaSet; it reports a change.
func copyDeploymentAnnotations(d *apps.Deployment, rs *apps.ReplicaSet) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if annotationsNotCopied[k] || rs.Annotations[k] == v {
			continue
		}
		rs.Annotations[k] = v
		changed = true
	}
	return changed
}

// setNewReplicaSetAnnotations gives the new ReplicaSet the Deployment's annotations and the
// new revision. A ReplicaSet brought back (rollout undo) keeps its former revisions in the
// revision-history annotation. exists is false for a ReplicaSet about to be created, which
// also gets its replicas annotations.
func setNewReplicaSetAnnotations(d *apps.Deployment, rs *apps.ReplicaSet, newRevision string, exists bool) bool {
	changed := copyDeploymentAnnotations(d, rs)
	oldRevision, had := rs.Annotations[RevisionAnnotation]
	oldN, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			return false
		}
		oldN = 0
	}
	newN, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return false
	}
	if oldN < newN {
		rs.Annotations[RevisionAnnotation] = newRevision
		changed = true
	}
	if had && oldN < newN {
		history := rs.Annotations[RevisionHistoryAnnotation]
		if history == "" {
			rs.Annotations[RevisionHistoryAnnotation] = oldRevision
		} else {
			parts := strings.Split(history, ",")
			total := len(history) + len(oldRevision) + 1
			start := 0
			for total > maxRevisionHistoryLength && start < len(parts) {
				total -= len(parts[start]) + 1
				start++
			}
			if total <= maxRevisionHistoryLength {
				rs.Annotations[RevisionHistoryAnnotation] = strings.Join(append(parts[start:], oldRevision), ",")
			}
		}
	}
	if !exists && setReplicasAnnotations(rs, replicas(d), replicas(d)+maxSurge(d)) {
		changed = true
	}
	return changed
}

// isSaturated: the new ReplicaSet alone runs the whole Deployment, all available.
func isSaturated(d *apps.Deployment, rs *apps.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := desiredReplicasAnnotation(rs)
	return ok && desired == replicas(d) && rsReplicas(rs) == replicas(d) && rs.Status.AvailableReplicas == replicas(d)
}

// findActiveOrLatest is the only ReplicaSet with replicas, or the newest if none has any;
// nil when several have replicas.
func findActiveOrLatest(newRS *apps.ReplicaSet, olds []*apps.ReplicaSet) *apps.ReplicaSet {
	if newRS == nil && len(olds) == 0 {
		return nil
	}
	sorted := append([]*apps.ReplicaSet(nil), olds...)
	controller.ByCreation(sorted)
	slicesReverse(sorted)
	active := filterActive(append(sorted, newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return sorted[0]
	case 1:
		return active[0]
	}
	return nil
}

func slicesReverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// bySize orders ReplicaSets largest first; ties go to the newer (newerFirst) or the older.
func bySize(sets []*apps.ReplicaSet, newerFirst bool) {
	controller.ByCreation(sets)
	if newerFirst {
		slicesReverse(sets)
	}
	sort.SliceStable(sets, func(i, j int) bool { return rsReplicas(sets[i]) > rsReplicas(sets[j]) })
}

// byRevision orders ReplicaSets oldest revision first.
func byRevision(sets []*apps.ReplicaSet) {
	controller.ByCreation(sets)
	sort.SliceStable(sets, func(i, j int) bool { return revision(&sets[i].ObjectMeta) < revision(&sets[j].ObjectMeta) })
}

// proportion is rs's share of toAdd replicas in proportional scaling, capped by what is
// left to add (toAdd - added).
func proportion(rs *apps.ReplicaSet, d *apps.Deployment, toAdd, added int32) int32 {
	if rs == nil || rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := replicaSetFraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// replicaSetFraction is how many replicas rs gains (or loses) when the Deployment goes from
// the size rs was annotated with to its current size.
func replicaSetFraction(rs *apps.ReplicaSet, d *apps.Deployment) int32 {
	if replicas(d) == 0 {
		return -rsReplicas(rs)
	}
	deploymentReplicas := replicas(d) + maxSurge(d)
	annotated, ok := maxReplicasAnnotation(rs)
	if !ok || annotated == 0 {
		annotated = d.Status.Replicas
	}
	if annotated == 0 {
		return 0
	}
	size := float64(rsReplicas(rs)*deploymentReplicas) / float64(annotated)
	return int32(size+0.5) - rsReplicas(rs)
}

// Conditions.

func newCondition(t apps.DeploymentConditionType, status core.ConditionStatus, reason, message string, now time.Time) apps.DeploymentCondition {
	ts := meta.NewTime(now)
	return apps.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: message, LastUpdateTime: ts, LastTransitionTime: ts}
}

func getCondition(st *apps.DeploymentStatus, t apps.DeploymentConditionType) *apps.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// setCondition sets c unless a condition of its type already has its status and reason;
// the transition time is kept when the status does not change.
func setCondition(st *apps.DeploymentStatus, c apps.DeploymentCondition) {
	cur := getCondition(st, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, c.Type)
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *apps.DeploymentStatus, t apps.DeploymentConditionType) {
	out := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
	if len(st.Conditions) == 0 {
		st.Conditions = nil
	}
}

func hasProgressDeadline(d *apps.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

// deploymentComplete: every replica is updated and available, and the status is current.
func deploymentComplete(d *apps.Deployment, st *apps.DeploymentStatus) bool {
	return st.UpdatedReplicas == replicas(d) && st.Replicas == replicas(d) &&
		st.AvailableReplicas == replicas(d) && st.ObservedGeneration >= d.Generation
}

// deploymentProgressing: the new status shows progress over the old one.
func deploymentProgressing(d *apps.Deployment, st *apps.DeploymentStatus) bool {
	old := d.Status
	oldOld := old.Replicas - old.UpdatedReplicas
	newOld := st.Replicas - st.UpdatedReplicas
	return st.UpdatedReplicas > old.UpdatedReplicas || newOld < oldOld ||
		st.ReadyReplicas > old.ReadyReplicas || st.AvailableReplicas > old.AvailableReplicas
}

// deploymentTimedOut: no progress for progressDeadlineSeconds since the Progressing
// condition was last updated.
func deploymentTimedOut(d *apps.Deployment, st *apps.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	c := getCondition(st, apps.DeploymentProgressing)
	if c == nil || c.Reason == NewRSAvailableReason {
		return false
	}
	if c.Reason == TimedOutReason {
		return true
	}
	deadline := time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	return c.LastUpdateTime.Add(deadline).Before(now)
}

func cloneAndAdd(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}
