package defaults

import (
	"maps"
	"math"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
)

// Deployment defaults replicas to 1, the strategy to RollingUpdate 25%/25%, the revision
// history to 10 and the progress deadline to 600s.
func Deployment(d *apps.Deployment) {
	spec := &d.Spec
	if spec.Replicas == nil {
		spec.Replicas = ptr(int32(1))
	}
	if spec.Strategy.Type == "" {
		spec.Strategy.Type = apps.RollingUpdateDeploymentStrategyType
	}
	if spec.Strategy.Type == apps.RollingUpdateDeploymentStrategyType {
		if spec.Strategy.RollingUpdate == nil {
			spec.Strategy.RollingUpdate = &apps.RollingUpdateDeployment{}
		}
		ru := spec.Strategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptr(intstr.FromString("25%"))
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = ptr(intstr.FromString("25%"))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptr(int32(10))
	}
	if spec.ProgressDeadlineSeconds == nil {
		spec.ProgressDeadlineSeconds = ptr(int32(600))
	}
	PodTemplateSpec(&spec.Template)
}

// ReplicaSet defaults replicas to 1.
func ReplicaSet(rs *apps.ReplicaSet) {
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = ptr(int32(1))
	}
	PodTemplateSpec(&rs.Spec.Template)
}

// ReplicationController defaults the selector and the labels to the template's labels and
// replicas to 1 (Kubernetes' SetDefaults_ReplicationController).
func ReplicationController(rc *core.ReplicationController) {
	if t := rc.Spec.Template; t != nil {
		if t.Labels != nil {
			if len(rc.Spec.Selector) == 0 {
				rc.Spec.Selector = maps.Clone(t.Labels)
			}
			if len(rc.Labels) == 0 {
				rc.Labels = maps.Clone(t.Labels)
			}
		}
		PodTemplateSpec(t)
	}
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = ptr(int32(1))
	}
}

// StatefulSet defaults replicas to 1, OrderedReady pod management, a RollingUpdate strategy
// with partition 0, the revision history to 10, a Retain/Retain claim retention policy, and
// its volume claim templates like claims.
func StatefulSet(s *apps.StatefulSet) {
	spec := &s.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = apps.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = apps.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &apps.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := spec.UpdateStrategy.RollingUpdate; spec.UpdateStrategy.Type == apps.RollingUpdateStatefulSetStrategyType &&
		ru != nil && ru.Partition == nil {
		ru.Partition = ptr(int32(0))
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &apps.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = apps.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = apps.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.Replicas == nil {
		spec.Replicas = ptr(int32(1))
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptr(int32(10))
	}
	for i := range spec.VolumeClaimTemplates {
		PersistentVolumeClaim(&spec.VolumeClaimTemplates[i])
	}
	PodTemplateSpec(&spec.Template)
}

// DaemonSet defaults the strategy to RollingUpdate with maxUnavailable 1 and maxSurge 0, and
// the revision history to 10.
func DaemonSet(ds *apps.DaemonSet) {
	us := &ds.Spec.UpdateStrategy
	if us.Type == "" {
		us.Type = apps.RollingUpdateDaemonSetStrategyType
	}
	if us.Type == apps.RollingUpdateDaemonSetStrategyType {
		if us.RollingUpdate == nil {
			us.RollingUpdate = &apps.RollingUpdateDaemonSet{}
		}
		if us.RollingUpdate.MaxUnavailable == nil {
			us.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt(1))
		}
		if us.RollingUpdate.MaxSurge == nil {
			us.RollingUpdate.MaxSurge = ptr(intstr.FromInt(0))
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ds.Spec.RevisionHistoryLimit = ptr(int32(10))
	}
	PodTemplateSpec(&ds.Spec.Template)
}

// Job defaults completions and parallelism (both 1 when both are unset), the backoff limit
// (6, or unlimited when a per-index limit is set), NonIndexed completion, suspend false, the
// pod replacement policy, the job's labels from its template's, and pod failure policy
// condition patterns to status True.
func Job(j *batch.Job) {
	spec := &j.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptr(int32(1))
		spec.Parallelism = ptr(int32(1))
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptr(int32(1))
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptr(int32(math.MaxInt32))
		} else {
			spec.BackoffLimit = ptr(int32(6))
		}
	}
	if len(j.Labels) == 0 && spec.Template.Labels != nil {
		j.Labels = maps.Clone(spec.Template.Labels)
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptr(batch.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr(false)
	}
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptr(batch.Failed)
		} else {
			spec.PodReplacementPolicy = ptr(batch.TerminatingOrFailed)
		}
	}
	if spec.PodFailurePolicy != nil {
		for _, rule := range spec.PodFailurePolicy.Rules {
			for i := range rule.OnPodConditions {
				if rule.OnPodConditions[i].Status == "" {
					rule.OnPodConditions[i].Status = core.ConditionTrue
				}
			}
		}
	}
	PodTemplateSpec(&spec.Template)
}

// CronJob defaults concurrency to Allow, suspend to false and keeps 3 successful and 1
// failed job. The job template's own spec is not defaulted (as in Kubernetes; the Job is
// defaulted when the controller creates it), only its pod template.
func CronJob(cj *batch.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batch.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptr(int32(3))
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptr(int32(1))
	}
	PodTemplateSpec(&spec.JobTemplate.Spec.Template)
}

// EndpointSlice defaults every port's name to "" and protocol to TCP.
func EndpointSlice(s *discovery.EndpointSlice) {
	for i := range s.Ports {
		if s.Ports[i].Name == nil {
			s.Ports[i].Name = ptr("")
		}
		if s.Ports[i].Protocol == nil {
			s.Ports[i].Protocol = ptr(core.ProtocolTCP)
		}
	}
}

// JobSelector gives a job being created (it must already have its name and UID) the selector
// Kubernetes generates unless spec.manualSelector is true: the controller-uid label, put on
// the pod template too along with the job name, in both prefixed and legacy spellings. It is
// create-time registry behaviour, not defaulting, so Object does not call it. Like a
// Kubernetes read-back, the job's own labels then default to the template's.
func JobSelector(j *batch.Job) {
	if j.Spec.ManualSelector != nil && *j.Spec.ManualSelector {
		return
	}
	t := &j.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if _, ok := t.Labels[batch.LegacyJobNameLabel]; !ok {
		t.Labels[batch.LegacyJobNameLabel] = j.Name
	}
	t.Labels[batch.JobNameLabel] = j.Name
	t.Labels[batch.LegacyControllerUidLabel] = j.UID
	t.Labels[batch.ControllerUidLabel] = j.UID
	if j.Spec.Selector == nil {
		j.Spec.Selector = &meta.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[batch.ControllerUidLabel]; !ok {
		j.Spec.Selector.MatchLabels[batch.ControllerUidLabel] = j.UID
	}
	if len(j.Labels) == 0 {
		j.Labels = maps.Clone(t.Labels)
	}
}
