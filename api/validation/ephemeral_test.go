package validation

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
)

// Writes through pods/ephemeralcontainers may add debug containers, never remove or
// change one, and never touch a mirror pod; each added one is checked as Kubernetes does.
func TestValidatePodEphemeralContainersUpdate(t *testing.T) {
	debug := func(name string) core.EphemeralContainer {
		return core.EphemeralContainer{EphemeralContainerCommon: core.EphemeralContainerCommon{Name: name, Image: "busybox",
			TerminationMessagePolicy: core.TerminationMessageReadFile, ImagePullPolicy: core.PullIfNotPresent}}
	}
	always := core.ContainerRestartPolicyAlways
	ec := "spec.ephemeralContainers"
	tests := []struct {
		name   string
		old    []core.EphemeralContainer
		mutate func(p *core.Pod)
		mirror bool
		want   []string
	}{
		{name: "add one", mutate: func(p *core.Pod) { p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, debug("dbg")) }},
		{name: "add a second", old: []core.EphemeralContainer{debug("a")}, mutate: func(p *core.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, debug("b"))
		}},
		{name: "remove", old: []core.EphemeralContainer{debug("a")}, mutate: func(p *core.Pod) { p.Spec.EphemeralContainers = nil },
			want: []string{ec + forbidden}},
		{name: "change", old: []core.EphemeralContainer{debug("a")}, mutate: func(p *core.Pod) { p.Spec.EphemeralContainers[0].Image = "alpine" },
			want: []string{ec + forbidden}},
		{name: "name taken by a container", mutate: func(p *core.Pod) { p.Spec.EphemeralContainers = []core.EphemeralContainer{debug("app")} },
			want: []string{ec + "[0].name" + duplicate}},
		{name: "unknown target", mutate: func(p *core.Pod) {
			d := debug("dbg")
			d.TargetContainerName = "nope"
			p.Spec.EphemeralContainers = []core.EphemeralContainer{d}
		}, want: []string{ec + "[0].targetContainerName" + notFound}},
		{name: "ports, probes, restartPolicy and subPath are not for debug containers", mutate: func(p *core.Pod) {
			d := debug("dbg")
			d.Ports = []core.ContainerPort{{ContainerPort: 80, Protocol: core.ProtocolTCP}}
			d.ReadinessProbe = &core.Probe{}
			d.RestartPolicy = &always
			d.VolumeMounts = []core.VolumeMount{{Name: "data", MountPath: "/d", SubPath: "x"}}
			p.Spec.EphemeralContainers = []core.EphemeralContainer{d}
		}, want: []string{ec + "[0].ports" + forbidden, ec + "[0].readinessProbe" + forbidden, ec + "[0].restartPolicy" + forbidden,
			ec + "[0].volumeMounts[0].subPath" + forbidden}},
		{name: "mirror pod", mirror: true, mutate: func(p *core.Pod) { p.Spec.EphemeralContainers = []core.EphemeralContainer{debug("dbg")} },
			want: []string{"[]" + forbidden}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mk := func() *core.Pod {
				p := validPod()
				p.ResourceVersion = "1"
				p.Spec.EphemeralContainers = append([]core.EphemeralContainer(nil), tc.old...)
				if tc.mirror {
					p.Annotations = map[string]string{core.MirrorPodAnnotationKey: "abc"}
				}
				return p
			}
			old, n := mk(), mk()
			tc.mutate(n)
			wantErrs(t, ValidatePodEphemeralContainersUpdate(n, old), tc.want...)
		})
	}
}

// The mirror pod annotation is set at creation (with a node) and never changes after.
func TestMirrorPodAnnotation(t *testing.T) {
	key := "metadata.annotations[" + core.MirrorPodAnnotationKey + "]"
	mirror := func() *core.Pod {
		p := validPod()
		p.ResourceVersion = "1"
		p.Spec.NodeName = "n1"
		p.Annotations = map[string]string{core.MirrorPodAnnotationKey: "h1"}
		return p
	}
	p := mirror()
	p.Spec.NodeName = ""
	wantErrs(t, Validate(p, true), key+invalid)
	wantErrs(t, Validate(mirror(), true))

	changed := mirror()
	changed.Annotations[core.MirrorPodAnnotationKey] = "h2"
	wantErrs(t, ValidateUpdate(changed, mirror(), true), key+forbidden)
	removed := mirror()
	removed.Annotations = nil
	wantErrs(t, ValidateUpdate(removed, mirror(), true), key+forbidden)
	plain := mirror()
	plain.Annotations = nil
	wantErrs(t, ValidateUpdate(mirror(), plain, true), key+forbidden)
}
