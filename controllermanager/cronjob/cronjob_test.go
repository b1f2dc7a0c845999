package cronjob

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
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMostRecentScheduleTime(t *testing.T) {
	created := mustTime("2026-01-01T10:00:30Z")
	for _, tc := range []struct {
		name, schedule, tz, last, now string
		want                          string // "" for none
		missed                        int64
		deadline                      int64 // startingDeadlineSeconds, 0 for none
	}{
		{"not yet", "*/5 * * * *", "", "", "2026-01-01T10:04:59Z", "", 0, 0},
		{"first time", "*/5 * * * *", "", "", "2026-01-01T10:05:10Z", "2026-01-01T10:05:00Z", 1, 0},
		{"several missed: the latest", "*/5 * * * *", "", "", "2026-01-01T10:31:00Z", "2026-01-01T10:30:00Z", 6, 0},
		{"after the last one", "*/5 * * * *", "", "2026-01-01T10:30:00Z", "2026-01-01T10:31:00Z", "", 0, 0},
		{"hourly macro", "@hourly", "", "", "2026-01-01T12:10:00Z", "2026-01-01T12:00:00Z", 2, 0},
		{"uneven schedule", "30 6-16/4 * * 1-5", "", "", "2026-01-02T15:00:00Z", "2026-01-02T14:30:00Z", 8, 0}, // the count is Kubernetes' estimate
		{"time zone", "0 9 * * *", "Europe/Paris", "", "2026-01-02T08:30:00Z", "2026-01-02T08:00:00Z", 1, 0},
		{"deadline hides the old ones", "*/5 * * * *", "", "", "2026-01-01T10:31:00Z", "2026-01-01T10:30:00Z", 1, 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cj := &batch.CronJob{ObjectMeta: meta.ObjectMeta{CreationTimestamp: meta.NewTime(created)}, Spec: batch.CronJobSpec{Schedule: tc.schedule}}
			if tc.tz != "" {
				cj.Spec.TimeZone = &tc.tz
			}
			if tc.last != "" {
				cj.Status.LastScheduleTime = controller.Ptr(meta.NewTime(mustTime(tc.last)))
			}
			if tc.deadline > 0 {
				cj.Spec.StartingDeadlineSeconds = &tc.deadline
			}
			sched, err := parseSchedule(cj)
			if err != nil {
				t.Fatal(err)
			}
			_, got, missed, err := mostRecentScheduleTime(cj, mustTime(tc.now), sched, true)
			if err != nil {
				t.Fatal(err)
			}
			gs := ""
			if got != nil {
				gs = got.UTC().Format(time.RFC3339)
			}
			if gs != tc.want || missed != tc.missed {
				t.Errorf("got %q (missed %d), want %q (missed %d)", gs, missed, tc.want, tc.missed)
			}
		})
	}
}

// env runs the controller's sync by hand on a clock the test moves.
type env struct {
	*testenv.Env
	c   *Controller
	now time.Time
}

func newEnv(t *testing.T) *env {
	e := testenv.New(t)
	c := New(e.CC)
	e.Start(t) // the informers only: syncs are called below
	v := &env{Env: e, c: c}
	c.now = func() time.Time { return v.now }
	return v
}

func (v *env) create(t *testing.T, name string, tweak func(*batch.CronJob)) *batch.CronJob {
	cj := &batch.CronJob{TypeMeta: meta.TypeMeta{Kind: "CronJob", APIVersion: "batch/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: batch.CronJobSpec{Schedule: "* * * * *", JobTemplate: batch.JobTemplateSpec{
			ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"from": name}},
			Spec: batch.JobSpec{Template: core.PodTemplateSpec{Spec: core.PodSpec{RestartPolicy: core.RestartPolicyNever,
				Containers: []core.Container{{Name: "c", Image: "busybox"}}}}}}}}
	if tweak != nil {
		tweak(cj)
	}
	out := testenv.Create(t, v.Env, controller.CronJobs, cj)
	// The clock starts at the creation minute.
	v.now = out.CreationTimestamp.Truncate(time.Minute)
	v.waitCache(t, name, out.ResourceVersion)
	return out
}

// waitCache waits until the informers show the CronJob at rv or later and its jobs.
func (v *env) waitCache(t *testing.T, name, rv string) {
	t.Helper()
	testenv.Eventually(t, "cache caught up", func() (bool, string) {
		cj, ok := v.c.cronjobs.Indexer().GetByName("default", name)
		if !ok {
			return false, "not cached"
		}
		live := testenv.Get[batch.CronJob](t, v.Env, controller.CronJobs, "default", name)
		jobs, _ := client.For[batch.Job](v.Client, controller.Jobs).List(v.Ctx, "default", client.ListOptions{})
		// Every Job at its live version too: a finished Job only counts once it is seen finished.
		jobsCaught := len(jobs.Items) == len(v.c.jobs.Indexer().List())
		for _, j := range jobs.Items {
			if cached, ok := v.c.jobs.Indexer().GetByName("default", j.Name); !ok || cached.ResourceVersion != j.ResourceVersion {
				jobsCaught = false
			}
		}
		return cj.ResourceVersion == live.ResourceVersion && jobsCaught,
			fmt.Sprintf("cached %s live %s, jobs caught up %v", cj.ResourceVersion, live.ResourceVersion, jobsCaught)
	})
}

// tick moves the clock and syncs once.
func (v *env) tick(t *testing.T, name string, d time.Duration) {
	t.Helper()
	v.now = v.now.Add(d)
	if err := v.c.sync(v.Ctx, "default/"+name); err != nil {
		t.Fatalf("sync: %v", err)
	}
	v.waitCache(t, name, "")
}

func (v *env) jobs(t *testing.T) string {
	list, err := client.For[batch.Job](v.Client, controller.Jobs).List(v.Ctx, "default", client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range list.Items {
		if j.DeletionTimestamp == nil {
			names = append(names, j.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

func (v *env) finish(t *testing.T, name string) {
	j := testenv.Get[batch.Job](t, v.Env, controller.Jobs, "default", name)
	now := meta.NewTime(v.now)
	j.Status.StartTime = &now
	j.Status.CompletionTime = &now
	j.Status.Conditions = []batch.JobCondition{{Type: batch.JobComplete, Status: core.ConditionTrue}}
	if _, err := client.For[batch.Job](v.Client, controller.Jobs).UpdateStatus(v.Ctx, j); err != nil {
		t.Fatal(err)
	}
}

func minuteName(cj string, at time.Time) string {
	return jobName(&batch.CronJob{ObjectMeta: meta.ObjectMeta{Name: cj}}, at)
}

func TestConcurrencyPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy batch.ConcurrencyPolicy
		want   func(first, second string) string
		event  string
	}{
		{batch.AllowConcurrent, func(a, b string) string { return a + " " + b }, ""},
		{batch.ForbidConcurrent, func(a, b string) string { return a }, "JobAlreadyActive"},
		{batch.ReplaceConcurrent, func(a, b string) string { return b }, controller.SuccessfulDelete},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			v := newEnv(t)
			v.create(t, "tick", func(cj *batch.CronJob) { cj.Spec.ConcurrencyPolicy = tc.policy })
			start := v.now
			v.tick(t, "tick", 61*time.Second)
			first := minuteName("tick", start.Add(time.Minute))
			if got := v.jobs(t); got != first {
				t.Fatalf("after the first minute: %q, want %q", got, first)
			}
			cj := testenv.Get[batch.CronJob](t, v.Env, controller.CronJobs, "default", "tick")
			if len(cj.Status.Active) != 1 || !cj.Status.LastScheduleTime.Equal(start.Add(time.Minute)) {
				t.Errorf("status: active %v last %v", cj.Status.Active, cj.Status.LastScheduleTime)
			}
			j := testenv.Get[batch.Job](t, v.Env, controller.Jobs, "default", first)
			if j.Labels["from"] != "tick" || j.Annotations[batch.CronJobScheduledTimestampAnnotation] != start.Add(time.Minute).UTC().Format(time.RFC3339) ||
				!meta.IsControlledBy(&j.ObjectMeta, cj) {
				t.Errorf("job metadata: labels %v annotations %v owners %v", j.Labels, j.Annotations, j.OwnerReferences)
			}
			v.tick(t, "tick", time.Minute)
			second := minuteName("tick", start.Add(2*time.Minute))
			if got := v.jobs(t); got != tc.want(first, second) {
				t.Errorf("after the second minute: %q, want %q", got, tc.want(first, second))
			}
			if tc.event != "" && len(v.Events.List(tc.event)) == 0 {
				t.Errorf("no %s event: %v", tc.event, v.Events.List(""))
			}
		})
	}
}

func TestStartingDeadlineSuspendAndHistory(t *testing.T) {
	v := newEnv(t)
	v.create(t, "late", func(cj *batch.CronJob) { cj.Spec.StartingDeadlineSeconds = controller.Ptr(int64(10)) })
	v.tick(t, "late", 90*time.Second) // 30s after the schedule time: past the 10s deadline
	if got := v.jobs(t); got != "" {
		t.Errorf("a missed start created %q", got)
	}
	v.tick(t, "late", 35*time.Second) // 5s after the next one: in time
	if got, want := v.jobs(t), minuteName("late", v.now.Truncate(time.Minute)); got != want {
		t.Errorf("in time: %q, want %q", got, want)
	}

	v2 := newEnv(t)
	v2.create(t, "off", func(cj *batch.CronJob) { cj.Spec.Suspend = controller.Ptr(true) })
	v2.tick(t, "off", 5*time.Minute)
	if got := v2.jobs(t); got != "" {
		t.Errorf("a suspended cronjob created %q", got)
	}

	v3 := newEnv(t)
	v3.create(t, "hist", func(cj *batch.CronJob) { cj.Spec.SuccessfulJobsHistoryLimit = controller.Ptr(int32(1)) })
	var made []string
	for i := range 3 {
		v3.tick(t, "hist", time.Minute)
		name := minuteName("hist", v3.now.Truncate(time.Minute))
		made = append(made, name)
		v3.finish(t, name)
		v3.waitCache(t, "hist", "")
		_ = i
	}
	v3.tick(t, "hist", time.Second) // sees the last one finish; keeps one successful job
	if got, want := v3.jobs(t), made[2]; got != want {
		t.Errorf("history: %q, want %q", got, want)
	}
	cj := testenv.Get[batch.CronJob](t, v3.Env, controller.CronJobs, "default", "hist")
	if cj.Status.LastSuccessfulTime == nil || len(cj.Status.Active) != 0 {
		t.Errorf("status: %+v", cj.Status)
	}
	if ev := v3.Events.List("SawCompletedJob"); len(ev) == 0 {
		t.Errorf("no SawCompletedJob event")
	}
}

// With the real clock, through Run: a CronJob fires on its own schedule.
func TestFires(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, New(e.CC))
	cj := &batch.CronJob{TypeMeta: meta.TypeMeta{Kind: "CronJob", APIVersion: "batch/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "often"},
		Spec: batch.CronJobSpec{Schedule: "@every 1s", JobTemplate: batch.JobTemplateSpec{
			Spec: batch.JobSpec{Template: core.PodTemplateSpec{Spec: core.PodSpec{RestartPolicy: core.RestartPolicyNever,
				Containers: []core.Container{{Name: "c", Image: "busybox"}}}}}}}}
	testenv.Create(t, e, controller.CronJobs, cj)
	testenv.Eventually(t, "a job created and recorded", func() (bool, string) {
		got := testenv.Get[batch.CronJob](t, e, controller.CronJobs, "default", "often")
		jobs, _ := client.For[batch.Job](e.Client, controller.Jobs).List(e.Ctx, "default", client.ListOptions{})
		return len(jobs.Items) >= 1 && got.Status.LastScheduleTime != nil && len(got.Status.Active) >= 1,
			fmt.Sprintf("%d jobs, status %+v", len(jobs.Items), got.Status)
	})
	if ev := e.Events.List(controller.SuccessfulCreate); len(ev) == 0 || !strings.HasPrefix(ev[0].Message, "Created job often-") {
		t.Errorf("events: %v", ev)
	}
}

// A sync on a cache that has not yet seen the status write listing the job just created
// does not take that job for a stranger (no UnexpectedJob): the API server is asked first.
func TestNoUnexpectedJobFromStaleCache(t *testing.T) {
	v := newEnv(t)
	cj := v.create(t, "stale", nil)
	v.tick(t, "stale", time.Minute)
	if got := v.jobs(t); got == "" {
		t.Fatal("no job created")
	}
	stale := controller.DeepCopy(cj) // as created: status.active empty
	v.c.cronjobs.Indexer().Add(stale)
	if err := v.c.sync(v.Ctx, "default/stale"); err != nil {
		t.Fatal(err)
	}
	if ev := v.Events.List("UnexpectedJob"); len(ev) > 0 {
		t.Errorf("UnexpectedJob from a stale cache: %v", ev[0].Message)
	}
	if live := testenv.Get[batch.CronJob](t, v.Env, controller.CronJobs, "default", "stale"); len(live.Status.Active) != 1 {
		t.Errorf("status.active after the sync: %v", live.Status.Active)
	}
}
