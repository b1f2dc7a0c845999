package validation

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	// Time zones are checked against the zone database compiled into the binary, so the
	// answer does not depend on whether the host has /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// maxParallelismForIndexedJob bounds the pods an Indexed job runs at once: each index is
// tracked in the job's status, which must fit in one etcd value.
const maxParallelismForIndexedJob = 100000

// cronJobNameMaxLength leaves room for the 11-character suffix the controller appends to
// name each Job, so Job names (and the label values derived from them) stay within 63.
const cronJobNameMaxLength = DNS1035LabelMaxLength - 11

var (
	supportedConcurrencyPolicies = []batch.ConcurrencyPolicy{batch.AllowConcurrent, batch.ForbidConcurrent, batch.ReplaceConcurrent}
	supportedCompletionModes     = []batch.CompletionMode{batch.NonIndexedCompletion, batch.IndexedCompletion}
	validTimeZoneCharacters      = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)
)

func validateJob(j *batch.Job) field.ErrorList {
	errs := ValidateObjectMeta(&j.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateJobSpec(&j.Spec, field.NewPath("spec"))...)
}

func validateJobSpec(spec *batch.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateOptionalNonnegative(spec.Parallelism, path.Child("parallelism"))...)
	errs = append(errs, validateOptionalNonnegative(spec.Completions, path.Child("completions"))...)
	errs = append(errs, validateOptionalNonnegative(spec.BackoffLimit, path.Child("backoffLimit"))...)
	errs = append(errs, validateOptionalNonnegative(spec.TTLSecondsAfterFinished, path.Child("ttlSecondsAfterFinished"))...)
	if ads := spec.ActiveDeadlineSeconds; ads != nil {
		errs = append(errs, ValidateNonnegativeField(*ads, path.Child("activeDeadlineSeconds"))...)
	}
	if m := spec.CompletionMode; m != nil {
		switch *m {
		case batch.NonIndexedCompletion:
		case batch.IndexedCompletion:
			if spec.Completions == nil {
				errs = append(errs, field.Required(path.Child("completions"), "when completion mode is Indexed"))
			}
			if p := spec.Parallelism; p != nil && *p > maxParallelismForIndexedJob {
				errs = append(errs, field.Invalid(path.Child("parallelism"), *p, fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed", maxParallelismForIndexedJob)))
			}
		default:
			errs = append(errs, field.NotSupported(path.Child("completionMode"), *m, supportedCompletionModes))
		}
	}
	// The server generates the selector (from the job's uid) unless manualSelector is set,
	// so a job arriving without one is fine; one that has a selector must select its pods.
	if spec.Selector == nil && spec.ManualSelector != nil && *spec.ManualSelector {
		errs = append(errs, field.Required(path.Child("selector"), ""))
	}
	if spec.Selector != nil {
		selErrs := ValidateLabelSelector(spec.Selector, path.Child("selector"))
		errs = append(errs, selErrs...)
		if len(selErrs) == 0 && !selectorMatches(spec.Selector, spec.Template.Labels) {
			errs = append(errs, field.Invalid(path.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
		}
	}
	errs = append(errs, ValidatePodTemplateSpec(&spec.Template, path.Child("template"))...)
	// A job's pods must end: "Always" would restart a finished pod forever.
	if rp := spec.Template.Spec.RestartPolicy; rp != core.RestartPolicyOnFailure && rp != core.RestartPolicyNever {
		errs = append(errs, field.NotSupported(path.Child("template", "spec", "restartPolicy"), rp, []core.RestartPolicy{core.RestartPolicyOnFailure, core.RestartPolicyNever}))
	}
	return errs
}

// validateJobUpdate: the selector and completion mode define which pods belong to the job
// and how they are counted, so they stay fixed. A selector may still be filled in once, if
// the job was stored without one.
func validateJobUpdate(j, old *batch.Job) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&j.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateJobSpec(&j.Spec, field.NewPath("spec"))...)
	if old.Spec.Selector != nil {
		errs = append(errs, ValidateImmutableField(j.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
	}
	if old.Spec.CompletionMode != nil || j.Spec.CompletionMode != nil {
		errs = append(errs, ValidateImmutableField(j.Spec.CompletionMode, old.Spec.CompletionMode, field.NewPath("spec", "completionMode"))...)
	}
	return errs
}

func validateCronJob(cj *batch.CronJob) field.ErrorList {
	errs := ValidateObjectMeta(&cj.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	if len(cj.Name) > cronJobNameMaxLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, fmt.Sprintf("must be no more than %d characters", cronJobNameMaxLength)))
	}
	return append(errs, validateCronJobSpec(&cj.Spec, nil, field.NewPath("spec"))...)
}

func validateCronJobSpec(spec, oldSpec *batch.CronJobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Schedule == "" {
		errs = append(errs, field.Required(path.Child("schedule"), ""))
	} else {
		// A TZ prefix in the schedule is tolerated only on objects that already had one.
		allowTZ := oldSpec != nil && strings.Contains(oldSpec.Schedule, "TZ")
		errs = append(errs, validateSchedule(spec.Schedule, allowTZ, spec.TimeZone, path.Child("schedule"))...)
	}
	if s := spec.StartingDeadlineSeconds; s != nil {
		errs = append(errs, ValidateNonnegativeField(*s, path.Child("startingDeadlineSeconds"))...)
	}
	if oldSpec == nil || !equalPtr(spec.TimeZone, oldSpec.TimeZone) {
		errs = append(errs, validateTimeZone(spec.TimeZone, path.Child("timeZone"))...)
	}
	if p := spec.ConcurrencyPolicy; p != "" && !slices.Contains(supportedConcurrencyPolicies, p) {
		errs = append(errs, field.NotSupported(path.Child("concurrencyPolicy"), p, supportedConcurrencyPolicies))
	}
	jt := path.Child("jobTemplate")
	errs = append(errs, ValidateLabels(spec.JobTemplate.Labels, jt.Child("metadata", "labels"))...)
	errs = append(errs, ValidateAnnotations(spec.JobTemplate.Annotations, jt.Child("metadata", "annotations"))...)
	errs = append(errs, validateJobSpec(&spec.JobTemplate.Spec, jt.Child("spec"))...)
	// Each Job the CronJob creates gets its own generated selector.
	if spec.JobTemplate.Spec.Selector != nil {
		errs = append(errs, field.Invalid(jt.Child("spec", "selector"), spec.JobTemplate.Spec.Selector, "`selector` will be auto-generated"))
	}
	errs = append(errs, validateOptionalNonnegative(spec.SuccessfulJobsHistoryLimit, path.Child("successfulJobsHistoryLimit"))...)
	return append(errs, validateOptionalNonnegative(spec.FailedJobsHistoryLimit, path.Child("failedJobsHistoryLimit"))...)
}

func validateSchedule(schedule string, allowTZ bool, timeZone *string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if err := ParseCronSchedule(schedule); err != nil {
		errs = append(errs, field.Invalid(path, schedule, err.Error()))
	}
	switch {
	case allowTZ && strings.Contains(schedule, "TZ") && timeZone != nil:
		errs = append(errs, field.Invalid(path, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && strings.Contains(schedule, "TZ"):
		errs = append(errs, field.Invalid(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// validateTimeZone checks an IANA zone name. The character check comes first so that a
// name like "../../etc/passwd" never reaches the zoneinfo loader.
func validateTimeZone(tz *string, path *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(path, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return field.ErrorList{field.Invalid(path, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	// "Local" would mean whatever zone the controller manager happens to run in.
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(path, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(path, tz, err.Error()))
	}
	return errs
}

func validateCronJobUpdate(cj, old *batch.CronJob) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&cj.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateCronJobSpec(&cj.Spec, &old.Spec, field.NewPath("spec"))...)
}
