package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// Event reasons users know from Kubernetes.
const (
	SuccessfulCreate = "SuccessfulCreate"
	FailedCreate     = "FailedCreate"
	SuccessfulDelete = "SuccessfulDelete"
	FailedDelete     = "FailedDelete"
)

// SlowStartInitialBatchSize is the first batch of pod creations; each successful batch
// doubles the next, so a controller that cannot create pods (quota, bad template) fails
// once instead of hundreds of times.
const SlowStartInitialBatchSize = 1

// PodControl creates and deletes pods for controllers and records the Events that go with
// it on the owner.
type PodControl struct {
	Pods     *client.Typed[core.Pod, *core.Pod]
	Recorder EventRecorder
}

// NewPodControl returns a PodControl writing through c.
func NewPodControl(c *client.Client, rec EventRecorder) *PodControl {
	return &PodControl{Pods: client.For[core.Pod](c, Pods), Recorder: rec}
}

// PodFromTemplate builds the pod a controller creates from its template: the template's
// labels, annotations, finalizers and spec, a generated name after the owner's, and the
// controller reference.
func PodFromTemplate(t *core.PodTemplateSpec, namespace, generateName string, ref *meta.OwnerReference) *core.Pod {
	t = DeepCopy(t)
	pod := &core.Pod{
		TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{
			Namespace:    namespace,
			GenerateName: generateName,
			Labels:       maps.Clone(t.Labels),
			Annotations:  maps.Clone(t.Annotations),
			Finalizers:   slices.Clone(t.Finalizers),
		},
		Spec: t.Spec,
	}
	if ref != nil {
		pod.OwnerReferences = []meta.OwnerReference{*ref}
	}
	return pod
}

// GeneratePrefix is the generateName of an owner's dependents: "<owner>-", shortened so the
// generated name (5 more characters) stays a valid name.
func GeneratePrefix(owner string) string {
	const maxName = 63 - 5
	p := owner + "-"
	if len(p) > maxName {
		p = p[:maxName]
	}
	return p
}

// Create creates pod and records SuccessfulCreate or FailedCreate on owner.
func (pc *PodControl) Create(ctx context.Context, pod *core.Pod, owner meta.Object) (*core.Pod, error) {
	created, err := pc.Pods.Create(ctx, pod)
	if err != nil {
		// A namespace being deleted refuses new pods: expected, not worth a warning event.
		if !IsNamespaceTerminating(err) {
			pc.Recorder.Eventf(owner, core.EventTypeWarning, FailedCreate, "Error creating: %v", err)
		}
		return nil, err
	}
	pc.Recorder.Eventf(owner, core.EventTypeNormal, SuccessfulCreate, "Created pod: %s", created.Name)
	return created, nil
}

// Delete deletes a pod and records SuccessfulDelete or FailedDelete on owner. A pod already
// gone is not an error.
func (pc *PodControl) Delete(ctx context.Context, pod *core.Pod, owner meta.Object) error {
	err := pc.Pods.Delete(ctx, pod.Namespace, pod.Name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &pod.UID}})
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		pc.Recorder.Eventf(owner, core.EventTypeWarning, FailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s: %w", pod.Name, err)
	}
	pc.Recorder.Eventf(owner, core.EventTypeNormal, SuccessfulDelete, "Deleted pod: %s", pod.Name)
	return nil
}

// SlowStartBatch calls fn count times, in batches that start at initial and double after
// each batch that fully succeeded; it stops at the first batch with a failure and returns
// how many calls succeeded and the first error. Calls within a batch run concurrently.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errs := make(chan error, batch)
		for range batch {
			go func() { errs <- fn() }()
		}
		var firstErr error
		for range batch {
			if err := <-errs; err != nil {
				if firstErr == nil {
					firstErr = err
				}
			} else {
				successes++
			}
		}
		if firstErr != nil {
			return successes, firstErr
		}
		remaining -= batch
	}
	return successes, nil
}

// IsNamespaceTerminating reports whether a create failed because its namespace is being
// deleted: retrying is pointless, the namespace controller is about to delete the owner too.
// Kubernetes marks this error with the NamespaceTerminating cause; the message is checked
// as well for servers that do not set the cause.
func IsNamespaceTerminating(err error) bool {
	st, ok := client.StatusFor(err)
	if !ok || !client.IsForbidden(err) {
		return false
	}
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Type == core.NamespaceTerminatingCause {
				return true
			}
		}
	}
	return strings.Contains(st.Message, "because it is being terminated")
}
