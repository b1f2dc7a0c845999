package cronjob

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/skiff-sh/skiff/api/batch"
)

// nextScheduleDelta is added to a requeue so that it lands just after the schedule time,
// not a hair before it (Kubernetes' value).
const nextScheduleDelta = 100 * time.Millisecond

// parseSchedule parses spec.schedule (5 fields or a @macro), in spec.timeZone when set, with
// the cron library Kubernetes uses.
func parseSchedule(cj *batch.CronJob) (cron.Schedule, error) {
	s := cj.Spec.Schedule
	if tz := cj.Spec.TimeZone; tz != nil && !strings.HasPrefix(s, "TZ=") && !strings.HasPrefix(s, "CRON_TZ=") {
		s = "TZ=" + *tz + " " + s
	}
	return cron.ParseStandard(s)
}

var errBadSchedule = errors.New("time difference between two schedules is less than 1 second")

// mostRecentScheduleTime returns the earliest time the controller still considers, the most
// recent schedule time at or before now that has not been acted on (nil if none), and how
// many were missed, as Kubernetes' function of that name: schedules before the last one (or
// before creation) are done, and with a starting deadline those older than it are given up.
func mostRecentScheduleTime(cj *batch.CronJob, now time.Time, sched cron.Schedule, withDeadline bool) (time.Time, *time.Time, int64, error) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if withDeadline && cj.Spec.StartingDeadlineSeconds != nil {
		if d := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second); d.After(earliest) {
			earliest = d
		}
	}
	t1 := sched.Next(earliest)
	t2 := sched.Next(t1)
	if now.Before(t1) {
		return earliest, nil, 0, nil
	}
	if now.Before(t2) {
		return earliest, &t1, 1, nil
	}
	between := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if between < 1 {
		return earliest, nil, 0, errBadSchedule
	}
	missed := int64(now.Sub(t1).Seconds())/between + 1
	// Start a little before the estimate and let the schedule find the real last time: the
	// estimate assumes evenly spaced times, which "30 6-16/4 * * 1-5" is not.
	from := t1.Add(time.Duration((missed-2)*between) * time.Second)
	var last time.Time
	for t := sched.Next(from); !t.After(now); t = sched.Next(t) {
		last = t
	}
	return earliest, &last, missed, nil
}

// nextIn is how long until the next schedule time after now (or after the last acted on).
func nextIn(cj *batch.CronJob, now time.Time, sched cron.Schedule) time.Duration {
	earliest, recent, _, err := mostRecentScheduleTime(cj, now, sched, false)
	if err != nil {
		return nextScheduleDelta
	}
	from := earliest
	if recent != nil {
		from = *recent
	}
	if from.IsZero() {
		from = now
	}
	return sched.Next(from).Add(nextScheduleDelta).Sub(now)
}

// jobName is deterministic per schedule time, so that one time never makes two Jobs.
func jobName(cj *batch.CronJob, scheduled time.Time) string {
	return cj.Name + "-" + strconv.FormatInt(scheduled.Unix()/60, 10)
}
