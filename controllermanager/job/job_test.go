package job_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/garbagecollector"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/job"
)

func newJob(name string, tweak func(*batch.Job)) *batch.Job {
	j := &batch.Job{TypeMeta: meta.TypeMeta{Kind: "Job", APIVersion: "batch/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: batch.JobSpec{Template: core.PodTemplateSpec{Spec: core.PodSpec{RestartPolicy: core.RestartPolicyNever,
			Containers: []core.Container{{Name: "c", Image: "busybox"}}}}}}
	if tweak != nil {
		tweak(j)
	}
	return j
}

// phases makes pods of a job end as the given phase (by the job's name).
func start(t *testing.T, phase map[string]core.PodPhase) *testenv.Env {
	e := testenv.New(t)
	e.Start(t, job.New(e.CC, job.Options{PodFailureBackoff: 10 * time.Millisecond}), garbagecollector.New(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{Phase: func(p *core.Pod) core.PodPhase {
		if ph, ok := phase[p.Labels[batch.JobNameLabel]]; ok {
			return ph
		}
		return core.PodRunning
	}})
	return e
}

func getJob(t *testing.T, e *testenv.Env, name string) *batch.Job {
	return testenv.Get[batch.Job](t, e, controller.Jobs, "default", name)
}

func conditions(j *batch.Job) string {
	var out []string
	for _, c := range j.Status.Conditions {
		if c.Status == core.ConditionTrue {
			out = append(out, string(c.Type)+"/"+c.Reason)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func status(j *batch.Job) string {
	s := j.Status
	return fmt.Sprintf("active=%d succeeded=%d failed=%d conditions=%s", s.Active, s.Succeeded, s.Failed, conditions(j))
}

func waitJob(t *testing.T, e *testenv.Env, name, want string) *batch.Job {
	t.Helper()
	var j *batch.Job
	testenv.Eventually(t, name+": "+want, func() (bool, string) {
		j = getJob(t, e, name)
		if j == nil {
			return false, "no job"
		}
		got := status(j)
		return got == want, got
	})
	return j
}

func jobPods(t *testing.T, e *testenv.Env, name string) []core.Pod {
	return e.Pods(t, "default", batch.JobNameLabel+"="+name)
}

func TestJobRunsToCompletion(t *testing.T) {
	e := start(t, map[string]core.PodPhase{"calc": core.PodSucceeded})
	testenv.Create(t, e, controller.Jobs, newJob("calc", func(j *batch.Job) {
		j.Spec.Completions, j.Spec.Parallelism = controller.Ptr(int32(3)), controller.Ptr(int32(2))
	}))
	j := waitJob(t, e, "calc", "active=0 succeeded=3 failed=0 conditions=Complete/CompletionsReached,SuccessCriteriaMet/CompletionsReached")
	if j.Status.CompletionTime == nil || j.Status.StartTime == nil {
		t.Errorf("times: start %v completion %v", j.Status.StartTime, j.Status.CompletionTime)
	}
	pods := jobPods(t, e, "calc")
	if len(pods) != 3 {
		t.Errorf("%d pods, want exactly 3", len(pods))
	}
	for _, p := range pods {
		if len(p.Finalizers) != 0 || !strings.HasPrefix(p.Name, "calc-") {
			t.Errorf("pod %s: finalizers %v", p.Name, p.Finalizers)
		}
	}
	if ev := e.Events.List("Completed"); len(ev) != 1 || ev[0].Message != "Job completed" {
		t.Errorf("events: %v", ev)
	}
}

func TestJobBackoffLimit(t *testing.T) {
	e := start(t, map[string]core.PodPhase{"flaky": core.PodFailed})
	testenv.Create(t, e, controller.Jobs, newJob("flaky", func(j *batch.Job) { j.Spec.BackoffLimit = controller.Ptr(int32(2)) }))
	waitJob(t, e, "flaky", "active=0 succeeded=0 failed=3 conditions=Failed/BackoffLimitExceeded,FailureTarget/BackoffLimitExceeded")
	if n := len(jobPods(t, e, "flaky")); n != 3 {
		t.Errorf("%d pods, want 3 (one try and backoffLimit retries)", n)
	}
	if ev := e.Events.List(batch.JobReasonBackoffLimitExceeded); len(ev) != 1 || ev[0].Type != core.EventTypeWarning {
		t.Errorf("events: %v", ev)
	}
}

func TestIndexedJob(t *testing.T) {
	e := start(t, map[string]core.PodPhase{"idx": core.PodSucceeded})
	testenv.Create(t, e, controller.Jobs, newJob("idx", func(j *batch.Job) {
		j.Spec.Completions, j.Spec.Parallelism = controller.Ptr(int32(3)), controller.Ptr(int32(3))
		j.Spec.CompletionMode = controller.Ptr(batch.IndexedCompletion)
	}))
	j := waitJob(t, e, "idx", "active=0 succeeded=3 failed=0 conditions=Complete/CompletionsReached,SuccessCriteriaMet/CompletionsReached")
	if j.Status.CompletedIndexes != "0-2" {
		t.Errorf("completedIndexes %q", j.Status.CompletedIndexes)
	}
	var got []string
	for _, p := range jobPods(t, e, "idx") {
		ix := p.Annotations[batch.JobCompletionIndexAnnotation]
		env := ""
		for _, v := range p.Spec.Containers[0].Env {
			if v.Name == "JOB_COMPLETION_INDEX" && v.ValueFrom != nil && v.ValueFrom.FieldRef != nil {
				env = v.ValueFrom.FieldRef.FieldPath
			}
		}
		got = append(got, fmt.Sprintf("%s:%s:%v", ix, p.Spec.Hostname, strings.HasPrefix(p.Name, "idx-"+ix+"-") && env != ""))
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "0:idx-0:true 1:idx-1:true 2:idx-2:true" {
		t.Errorf("pods: %v", got)
	}
}

func TestActiveDeadline(t *testing.T) {
	e := start(t, nil) // pods run forever
	testenv.Create(t, e, controller.Jobs, newJob("slow", func(j *batch.Job) { j.Spec.ActiveDeadlineSeconds = controller.Ptr(int64(1)) }))
	waitJob(t, e, "slow", "active=0 succeeded=0 failed=1 conditions=Failed/DeadlineExceeded,FailureTarget/DeadlineExceeded")
	testenv.Eventually(t, "the running pod deleted", func() (bool, string) {
		pods := jobPods(t, e, "slow")
		return len(pods) == 0, fmt.Sprint(testenv.PodNames(pods))
	})
}

func TestSuspendResume(t *testing.T) {
	e := start(t, nil)
	testenv.Create(t, e, controller.Jobs, newJob("later", func(j *batch.Job) {
		j.Spec.Suspend = controller.Ptr(true)
		j.Spec.Parallelism = controller.Ptr(int32(2))
		j.Spec.Completions = controller.Ptr(int32(2))
	}))
	waitJob(t, e, "later", "active=0 succeeded=0 failed=0 conditions=Suspended/JobSuspended")
	if n := len(jobPods(t, e, "later")); n != 0 {
		t.Errorf("a suspended job has %d pods", n)
	}
	if _, err := client.For[batch.Job](e.Client, controller.Jobs).Patch(e.Ctx, "default", "later", client.MergePatchType, []byte(`{"spec":{"suspend":false}}`)); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "later", "active=2 succeeded=0 failed=0 conditions=")
	if ev := e.Events.List("Resumed"); len(ev) != 1 {
		t.Errorf("events: %v", ev)
	}
	// Suspended again: its pods go.
	if _, err := client.For[batch.Job](e.Client, controller.Jobs).Patch(e.Ctx, "default", "later", client.MergePatchType, []byte(`{"spec":{"suspend":true}}`)); err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, "later", "active=0 succeeded=0 failed=2 conditions=Suspended/JobSuspended")
}

func TestTTLAfterFinished(t *testing.T) {
	e := start(t, map[string]core.PodPhase{"brief": core.PodSucceeded})
	testenv.Create(t, e, controller.Jobs, newJob("brief", func(j *batch.Job) { j.Spec.TTLSecondsAfterFinished = controller.Ptr(int32(0)) }))
	testenv.Eventually(t, "job and pods deleted after finishing", func() (bool, string) {
		j, pods := getJob(t, e, "brief"), jobPods(t, e, "brief")
		if j != nil {
			return false, status(j)
		}
		return len(pods) == 0, fmt.Sprintf("%d pods", len(pods))
	})
	if ev := e.Events.List("Completed"); len(ev) != 1 {
		t.Errorf("it must have completed first: %v", ev)
	}
}

// Deleting a running Job releases its pods' finalizers so the garbage collector can delete
// them.
func TestDeleteRunningJob(t *testing.T) {
	e := start(t, nil)
	testenv.Create(t, e, controller.Jobs, newJob("gone", func(j *batch.Job) { j.Spec.Parallelism = controller.Ptr(int32(2)) }))
	waitJob(t, e, "gone", "active=2 succeeded=0 failed=0 conditions=")
	if err := client.For[batch.Job](e.Client, controller.Jobs).Delete(e.Ctx, "default", "gone", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "pods gone", func() (bool, string) {
		pods := jobPods(t, e, "gone")
		var s []string
		for _, p := range pods {
			s = append(s, fmt.Sprintf("%s %v", p.Name, p.Finalizers))
		}
		return len(pods) == 0, fmt.Sprint(s)
	})
}

// A running Job re-adopts one of its pods whose owner reference was removed (it still
// matches the selector), and releases it once its labels stop matching.
func TestJobReadoptsOrphan(t *testing.T) {
	e := start(t, nil)
	j := testenv.Create(t, e, controller.Jobs, newJob("adopt", func(j *batch.Job) {
		j.Spec.Completions, j.Spec.Parallelism = controller.Ptr(int32(4)), controller.Ptr(int32(2))
	}))
	waitJob(t, e, "adopt", "active=2 succeeded=0 failed=0 conditions=")
	pods := client.For[core.Pod](e.Client, controller.Pods)
	edit := func(name string, fn func(*core.Pod)) {
		t.Helper()
		for {
			p := testenv.Get[core.Pod](t, e, controller.Pods, "default", name)
			fn(p)
			_, err := pods.Update(e.Ctx, p)
			if err == nil {
				return
			}
			if !client.IsConflict(err) {
				t.Fatal(err)
			}
		}
	}
	name := jobPods(t, e, "adopt")[0].Name
	edit(name, func(p *core.Pod) { p.OwnerReferences = nil })
	testenv.Eventually(t, "orphan re-adopted", func() (bool, string) {
		p := testenv.Get[core.Pod](t, e, controller.Pods, "default", name)
		ref := meta.GetControllerOf(&p.ObjectMeta)
		return ref != nil && ref.UID == j.UID, fmt.Sprint(p.OwnerReferences)
	})
	edit(name, func(p *core.Pod) { p.Labels = nil })
	testenv.Eventually(t, "pod released", func() (bool, string) {
		p := testenv.Get[core.Pod](t, e, controller.Pods, "default", name)
		return meta.GetControllerOf(&p.ObjectMeta) == nil, fmt.Sprint(p.OwnerReferences)
	})
}
