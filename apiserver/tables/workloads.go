package tables

import (
	"fmt"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
)

// replicas is spec.replicas; defaulting sets 1 when a manifest leaves it out.
func replicas(p *int32) int64 {
	if p == nil {
		return 1
	}
	return int64(*p)
}

var deploymentPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Ready", "string", "Number of the pod with ready state"),
	column("Up-to-date", "string", "Total number of non-terminating pods targeted by this deployment that have the desired template spec."),
	column("Available", "string", "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment."),
	ageColumn,
	containersColumn,
	imagesColumn,
	wide("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
}, func(d *apps.Deployment, now time.Time) meta.TableRow {
	names, images := containerCells(d.Spec.Template.Spec.Containers)
	selector := "<invalid>"
	if sel, err := labels.SelectorFromLabelSelector(d.Spec.Selector); err == nil {
		selector = sel.String()
	}
	return meta.TableRow{Cells: []any{
		d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas), age(d.CreationTimestamp, now),
		names, images, selector,
	}}
})

var replicaSetPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Desired", "integer", "Replicas is the number of desired pods."),
	column("Current", "integer", "Replicas is the most recently observed number of non-terminating pods."),
	column("Ready", "integer", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition."),
	ageColumn,
	containersColumn,
	imagesColumn,
	wide("Selector", "string", "Selector is a label query over pods that should match the replica count."),
}, func(rs *apps.ReplicaSet, now time.Time) meta.TableRow {
	names, images := containerCells(rs.Spec.Template.Spec.Containers)
	return meta.TableRow{Cells: []any{
		rs.Name, replicas(rs.Spec.Replicas), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas), age(rs.CreationTimestamp, now),
		names, images, labels.FormatLabelSelector(rs.Spec.Selector),
	}}
})

var replicationControllerPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Desired", "integer", "Replicas is the number of desired replicas."),
	column("Current", "integer", "Replicas is the most recently observed number of replicas."),
	column("Ready", "integer", "The number of ready replicas for this replication controller."),
	ageColumn,
	containersColumn,
	imagesColumn,
	wide("Selector", "string", "Selector is a label query over pods that should match the Replicas count."),
}, func(rc *core.ReplicationController, now time.Time) meta.TableRow {
	var names, images string
	if rc.Spec.Template != nil {
		names, images = containerCells(rc.Spec.Template.Spec.Containers)
	}
	return meta.TableRow{Cells: []any{
		rc.Name, replicas(rc.Spec.Replicas), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas), age(rc.CreationTimestamp, now),
		names, images, labels.SelectorFromSet(rc.Spec.Selector).String(),
	}}
})

var statefulSetPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Ready", "string", "Number of the pod with ready state"),
	ageColumn,
	containersColumn,
	imagesColumn,
}, func(ss *apps.StatefulSet, now time.Time) meta.TableRow {
	names, images := containerCells(ss.Spec.Template.Spec.Containers)
	return meta.TableRow{Cells: []any{
		ss.Name, fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, replicas(ss.Spec.Replicas)), age(ss.CreationTimestamp, now),
		names, images,
	}}
})

var daemonSetPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Desired", "integer", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod)."),
	column("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
	column("Ready", "integer", "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition."),
	column("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod"),
	column("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
	column("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a node."),
	ageColumn,
	containersColumn,
	imagesColumn,
	wide("Selector", "string", "A label query over pods that are managed by the daemon set."),
}, func(ds *apps.DaemonSet, now time.Time) meta.TableRow {
	names, images := containerCells(ds.Spec.Template.Spec.Containers)
	s := ds.Status
	return meta.TableRow{Cells: []any{
		ds.Name, int64(s.DesiredNumberScheduled), int64(s.CurrentNumberScheduled), int64(s.NumberReady),
		int64(s.UpdatedNumberScheduled), int64(s.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
		age(ds.CreationTimestamp, now), names, images, labels.FormatLabelSelector(ds.Spec.Selector),
	}}
})

var controllerRevisionPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Controller", "string", "Controller of the object"),
	column("Revision", "string", "Revision indicates the revision of the state represented by Data."),
	ageColumn,
}, func(cr *apps.ControllerRevision, now time.Time) meta.TableRow {
	// CONTROLLER is "kind.group/name" of the controlling owner: "daemonset.apps/fluentd".
	controller := "<none>"
	for _, ref := range cr.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		kind := ref.Kind
		if group, _, ok := strings.Cut(ref.APIVersion, "/"); ok {
			kind += "." + group
		}
		controller = strings.ToLower(kind) + "/" + ref.Name
		break
	}
	return meta.TableRow{Cells: []any{cr.Name, controller, cr.Revision, age(cr.CreationTimestamp, now)}}
})

var jobPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Status", "string", "Status of the job."),
	column("Completions", "string", "The number of pods which reached phase Succeeded."),
	column("Duration", "string", "Time required to complete the job."),
	ageColumn,
	containersColumn,
	imagesColumn,
	wide("Selector", "string", "A label query over pods that should match the pod count."),
}, func(j *batch.Job, now time.Time) meta.TableRow {
	// COMPLETIONS is succeeded/completions, or for a work queue (no completions)
	// succeeded/1, "of N" when N pods run in parallel.
	var completions string
	switch {
	case j.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
	}
	var duration string
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		duration = HumanDuration(now.Sub(j.Status.StartTime.Time))
	default:
		duration = HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
	var status string
	switch {
	case jobCondition(j, batch.JobComplete):
		status = "Complete"
	case jobCondition(j, batch.JobFailed):
		status = "Failed"
	case j.DeletionTimestamp != nil:
		status = "Terminating"
	case jobCondition(j, batch.JobSuspended):
		status = "Suspended"
	case jobCondition(j, batch.JobFailureTarget):
		status = "FailureTarget"
	default:
		status = "Running"
	}
	names, images := containerCells(j.Spec.Template.Spec.Containers)
	return meta.TableRow{Cells: []any{
		j.Name, status, completions, duration, age(j.CreationTimestamp, now),
		names, images, labels.FormatLabelSelector(j.Spec.Selector),
	}}
})

// jobCondition reports whether the job's first condition of type t is true.
func jobCondition(j *batch.Job, t batch.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t {
			return c.Status == core.ConditionTrue
		}
	}
	return false
}

var cronJobPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Schedule", "string", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
	column("Timezone", "string", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
	column("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions."),
	column("Active", "integer", "A list of pointers to currently running jobs."),
	column("Last Schedule", "string", "Information when was the last time the job was successfully scheduled."),
	ageColumn,
	containersColumn,
	imagesColumn,
	wide("Selector", "string", "A label query over pods that should match the pod count."),
}, func(cj *batch.CronJob, now time.Time) meta.TableRow {
	last := "<none>"
	if t := cj.Status.LastScheduleTime; t != nil {
		last = age(*t, now)
	}
	suspend := "<unset>"
	if cj.Spec.Suspend != nil {
		suspend = "False"
		if *cj.Spec.Suspend {
			suspend = "True"
		}
	}
	tmpl := cj.Spec.JobTemplate.Spec
	names, images := containerCells(tmpl.Template.Spec.Containers)
	return meta.TableRow{Cells: []any{
		cj.Name, cj.Spec.Schedule, derefOr(cj.Spec.TimeZone, "<none>"), suspend, int64(len(cj.Status.Active)), last,
		age(cj.CreationTimestamp, now), names, images, labels.FormatLabelSelector(tmpl.Selector),
	}}
})
