package ephemeral_test

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/controllermanager/ephemeral"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

func TestClaimMadeForThePod(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, ephemeral.New(e.CC))
	// A claim of the name the pod's volume would get, not the pod's: never taken over.
	foreign := &core.PersistentVolumeClaim{TypeMeta: meta.TypeMeta{Kind: "PersistentVolumeClaim", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: "web-other", Namespace: "default"},
		Spec: core.PersistentVolumeClaimSpec{AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce},
			Resources: core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse("1Gi")}}}}
	testenv.Create(t, e, controller.PersistentVolumeClaims, foreign)
	tmpl := &core.PersistentVolumeClaimTemplate{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"kind": "scratch"}}, Spec: foreign.Spec}
	pod := &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "img"}}, Volumes: []core.Volume{
			{Name: "scratch", VolumeSource: core.VolumeSource{Ephemeral: &core.EphemeralVolumeSource{VolumeClaimTemplate: tmpl}}},
			{Name: "other", VolumeSource: core.VolumeSource{Ephemeral: &core.EphemeralVolumeSource{VolumeClaimTemplate: tmpl}}},
		}}}
	pod = testenv.Create(t, e, controller.Pods, pod)
	testenv.Eventually(t, "claim web-scratch owned by the pod", func() (bool, string) {
		c := testenv.Get[core.PersistentVolumeClaim](t, e, controller.PersistentVolumeClaims, "default", "web-scratch")
		if c == nil {
			return false, "missing"
		}
		ref := meta.GetControllerOf(&c.ObjectMeta)
		return ref != nil && ref.UID == pod.UID && c.Labels["kind"] == "scratch", ""
	})
	testenv.Eventually(t, "event for the foreign claim", func() (bool, string) {
		for _, ev := range e.Events.List("FailedBinding") {
			if ev.Message == "PVC default/web-other was not created for pod default/web (pod is not owner)" {
				return true, ""
			}
		}
		return false, ""
	})
	if c := testenv.Get[core.PersistentVolumeClaim](t, e, controller.PersistentVolumeClaims, "default", "web-other"); len(c.OwnerReferences) != 0 {
		t.Fatalf("foreign claim taken over: %v", c.OwnerReferences)
	}
}
