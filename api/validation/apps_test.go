package validation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

func podTemplate() core.PodTemplateSpec {
	return core.PodTemplateSpec{
		ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: core.PodSpec{
			Containers:    []core.Container{{Name: "app", Image: "nginx:1.27", Ports: []core.ContainerPort{{ContainerPort: 80}}}},
			RestartPolicy: core.RestartPolicyAlways,
		},
	}
}

func webSelector() *meta.LabelSelector {
	return &meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

func validDeployment() *apps.Deployment {
	return &apps.Deployment{
		ObjectMeta: objectMeta("web", "default"),
		Spec: apps.DeploymentSpec{
			Replicas: ptr[int32](3),
			Selector: webSelector(),
			Template: podTemplate(),
			Strategy: apps.DeploymentStrategy{Type: apps.RollingUpdateDeploymentStrategyType, RollingUpdate: &apps.RollingUpdateDeployment{
				MaxUnavailable: ptr(intstr.FromString("25%")), MaxSurge: ptr(intstr.FromInt(1)),
			}},
			RevisionHistoryLimit: ptr[int32](10),
		},
	}
}

func TestValidateDeployment(t *testing.T) {
	const tmpl = "spec.template"
	runCreateCases(t, validDeployment, true, []objectCase[apps.Deployment]{
		{name: "valid"},
		{name: "defaulted strategy left out", mutate: func(d *apps.Deployment) { d.Spec.Strategy = apps.DeploymentStrategy{} }},
		{name: "recreate", mutate: func(d *apps.Deployment) {
			d.Spec.Strategy = apps.DeploymentStrategy{Type: apps.RecreateDeploymentStrategyType}
		}},
		{name: "selector by expression", mutate: func(d *apps.Deployment) {
			d.Spec.Selector = &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "app", Operator: "In", Values: []string{"web", "api"}}}}
		}},
		{name: "negative replicas", mutate: func(d *apps.Deployment) { d.Spec.Replicas = ptr[int32](-1) }, want: []string{"spec.replicas" + invalid}},
		{name: "selector required", mutate: func(d *apps.Deployment) { d.Spec.Selector = nil }, want: []string{"spec.selector" + required}},
		{name: "empty selector", mutate: func(d *apps.Deployment) { d.Spec.Selector = &meta.LabelSelector{} }, want: []string{"spec.selector" + invalid}},
		{name: "selector does not match", mutate: func(d *apps.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "api"} }, want: []string{tmpl + ".metadata.labels" + invalid}},
		{name: "invalid selector", mutate: func(d *apps.Deployment) { d.Spec.Selector.MatchLabels["app"] = "a b" }, want: []string{"spec.selector.matchLabels" + invalid}},
		{name: "template restart policy", mutate: func(d *apps.Deployment) { d.Spec.Template.Spec.RestartPolicy = core.RestartPolicyOnFailure }, want: []string{tmpl + ".spec.restartPolicy" + notSupported}},
		{name: "template pod spec", mutate: func(d *apps.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }, want: []string{tmpl + ".spec.containers[0].image" + required}},
		{name: "template labels", mutate: func(d *apps.Deployment) { d.Spec.Template.Labels["tier"] = "front end" }, want: []string{tmpl + ".labels" + invalid}},
		{name: "template deadline", mutate: func(d *apps.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr[int64](10) }, want: []string{tmpl + ".spec.activeDeadlineSeconds" + invalid}},
		{name: "strategy type", mutate: func(d *apps.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, want: []string{"spec.strategy.type" + notSupported}},
		{name: "recreate with rolling params", mutate: func(d *apps.Deployment) { d.Spec.Strategy.Type = apps.RecreateDeploymentStrategyType }, want: []string{"spec.strategy.rollingUpdate" + forbidden}},
		{name: "surge and unavailable both 0", mutate: func(d *apps.Deployment) {
			d.Spec.Strategy.RollingUpdate = &apps.RollingUpdateDeployment{MaxUnavailable: ptr(intstr.FromInt(0)), MaxSurge: ptr(intstr.FromString("0%"))}
		}, want: []string{"spec.strategy.rollingUpdate.maxUnavailable" + invalid}},
		{name: "bad percentage", mutate: func(d *apps.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptr(intstr.FromString("lots"))
		}, want: []string{"spec.strategy.rollingUpdate.maxSurge" + invalid}},
		{name: "over 100%", mutate: func(d *apps.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromString("150%"))
		}, want: []string{"spec.strategy.rollingUpdate.maxUnavailable" + invalid}},
		{name: "progress deadline", mutate: func(d *apps.Deployment) {
			d.Spec.MinReadySeconds, d.Spec.ProgressDeadlineSeconds = 30, ptr[int32](30)
		}, want: []string{"spec.progressDeadlineSeconds" + invalid}},
		{name: "revision history", mutate: func(d *apps.Deployment) { d.Spec.RevisionHistoryLimit = ptr[int32](-1) }, want: []string{"spec.revisionHistoryLimit" + invalid}},
	})

	d := validDeployment()
	d.Spec.Template.Labels = map[string]string{"app": "api"}
	got := Validate(d, true).ToAggregate().Error()
	if want := "spec.template.metadata.labels: Invalid value: {\"app\":\"api\"}: `selector` does not match template `labels`"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestValidateDeploymentUpdate(t *testing.T) {
	runUpdateCases(t, validDeployment, true, []updateCase[apps.Deployment]{
		{name: "scale", mutate: func(d *apps.Deployment) { d.Spec.Replicas = ptr[int32](5) }},
		{name: "new image", mutate: func(d *apps.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" }},
		{name: "selector is immutable", mutate: func(d *apps.Deployment) {
			d.Spec.Selector.MatchLabels["tier"] = "front"
			d.Spec.Template.Labels["tier"] = "front"
		}, want: []string{"spec.selector" + invalid}},
	})
}

func validReplicaSet() *apps.ReplicaSet {
	return &apps.ReplicaSet{ObjectMeta: objectMeta("web-5d4f", "default"), Spec: apps.ReplicaSetSpec{
		Replicas: ptr[int32](2), Selector: webSelector(), Template: podTemplate(),
	}}
}

func TestValidateReplicaSet(t *testing.T) {
	runCreateCases(t, validReplicaSet, true, []objectCase[apps.ReplicaSet]{
		{name: "valid"},
		{name: "replicas", mutate: func(r *apps.ReplicaSet) { r.Spec.Replicas = ptr[int32](-2) }, want: []string{"spec.replicas" + invalid}},
		{name: "selector", mutate: func(r *apps.ReplicaSet) { r.Spec.Selector = nil }, want: []string{"spec.selector" + required}},
		{name: "mismatch", mutate: func(r *apps.ReplicaSet) { r.Spec.Template.Labels = nil }, want: []string{"spec.template.metadata.labels" + invalid}},
		{name: "restart policy", mutate: func(r *apps.ReplicaSet) { r.Spec.Template.Spec.RestartPolicy = core.RestartPolicyNever }, want: []string{"spec.template.spec.restartPolicy" + notSupported}},
	})
	runUpdateCases(t, validReplicaSet, true, []updateCase[apps.ReplicaSet]{
		{name: "scale", mutate: func(r *apps.ReplicaSet) { r.Spec.Replicas = ptr[int32](0) }},
		{name: "selector", mutate: func(r *apps.ReplicaSet) {
			r.Spec.Selector = &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "app", Operator: "Exists"}}}
		}, want: []string{"spec.selector" + invalid}},
	})
}

func validDaemonSet() *apps.DaemonSet {
	return &apps.DaemonSet{ObjectMeta: objectMeta("agent", "kube-system"), Spec: apps.DaemonSetSpec{
		Selector: webSelector(), Template: podTemplate(),
		UpdateStrategy: apps.DaemonSetUpdateStrategy{Type: apps.RollingUpdateDaemonSetStrategyType, RollingUpdate: &apps.RollingUpdateDaemonSet{
			MaxUnavailable: ptr(intstr.FromInt(1)), MaxSurge: ptr(intstr.FromInt(0)),
		}},
	}}
}

func TestValidateDaemonSet(t *testing.T) {
	runCreateCases(t, validDaemonSet, true, []objectCase[apps.DaemonSet]{
		{name: "valid"},
		{name: "surge instead", mutate: func(d *apps.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate = &apps.RollingUpdateDaemonSet{MaxUnavailable: ptr(intstr.FromInt(0)), MaxSurge: ptr(intstr.FromString("10%"))}
		}},
		{name: "selector", mutate: func(d *apps.DaemonSet) { d.Spec.Selector = nil }, want: []string{"spec.selector" + required}},
		{name: "empty selector", mutate: func(d *apps.DaemonSet) { d.Spec.Selector = &meta.LabelSelector{} }, want: []string{"spec.selector" + invalid}},
		{name: "mismatch", mutate: func(d *apps.DaemonSet) { d.Spec.Template.Labels = map[string]string{"app": "other"} }, want: []string{"spec.template.metadata.labels" + invalid}},
		{name: "strategy type", mutate: func(d *apps.DaemonSet) { d.Spec.UpdateStrategy.Type = "Canary" }, want: []string{"spec.updateStrategy.type" + notSupported}},
		{name: "surge and unavailable", mutate: func(d *apps.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromInt(1))
		}, want: []string{"spec.updateStrategy.rollingUpdate.maxSurge" + invalid}},
		{name: "neither", mutate: func(d *apps.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt(0))
		}, want: []string{"spec.updateStrategy.rollingUpdate.maxUnavailable" + required}},
	})
	runUpdateCases(t, validDaemonSet, true, []updateCase[apps.DaemonSet]{
		{name: "image", mutate: func(d *apps.DaemonSet) { d.Spec.Template.Spec.Containers[0].Image = "agent:2" }},
		{name: "selector", mutate: func(d *apps.DaemonSet) {
			d.Spec.Selector.MatchLabels["x"] = "y"
			d.Spec.Template.Labels["x"] = "y"
		}, want: []string{"spec.selector" + invalid}},
	})
}

func validStatefulSet() *apps.StatefulSet {
	return &apps.StatefulSet{ObjectMeta: objectMeta("db", "default"), Spec: apps.StatefulSetSpec{
		Replicas: ptr[int32](3), Selector: webSelector(), Template: podTemplate(), ServiceName: "db",
		PodManagementPolicy: apps.OrderedReadyPodManagement,
		UpdateStrategy:      apps.StatefulSetUpdateStrategy{Type: apps.RollingUpdateStatefulSetStrategyType},
		VolumeClaimTemplates: []core.PersistentVolumeClaim{{
			ObjectMeta: meta.ObjectMeta{Name: "data"},
			Spec: core.PersistentVolumeClaimSpec{
				AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce},
				Resources:   core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}},
	}}
}

func TestValidateStatefulSet(t *testing.T) {
	runCreateCases(t, validStatefulSet, true, []objectCase[apps.StatefulSet]{
		{name: "valid"},
		{name: "name is a DNS label", mutate: func(s *apps.StatefulSet) { s.Name = "db.main" }, want: []string{"metadata.name" + invalid}},
		{name: "replicas", mutate: func(s *apps.StatefulSet) { s.Spec.Replicas = ptr[int32](-1) }, want: []string{"spec.replicas" + invalid}},
		{name: "selector", mutate: func(s *apps.StatefulSet) { s.Spec.Selector = nil }, want: []string{"spec.selector" + required}},
		{name: "mismatch", mutate: func(s *apps.StatefulSet) { s.Spec.Template.Labels = nil }, want: []string{"spec.template.metadata.labels" + invalid}},
		{name: "pod management", mutate: func(s *apps.StatefulSet) { s.Spec.PodManagementPolicy = "Random" }, want: []string{"spec.podManagementPolicy" + invalid}},
		{name: "update strategy", mutate: func(s *apps.StatefulSet) { s.Spec.UpdateStrategy.Type = "Manual" }, want: []string{"spec.updateStrategy" + invalid}},
		{name: "ordinals", mutate: func(s *apps.StatefulSet) { s.Spec.Ordinals = &apps.StatefulSetOrdinals{Start: -1} }, want: []string{"spec.ordinals.start" + invalid}},
		{name: "claim template", mutate: func(s *apps.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil }, want: []string{"spec.volumeClaimTemplates[0].spec.accessModes" + required}},
		{name: "mount of a claim template", mutate: func(s *apps.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].VolumeMounts = []core.VolumeMount{{Name: "data", MountPath: "/var/db"}}
		}},
		{name: "mount of nothing", mutate: func(s *apps.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].VolumeMounts = []core.VolumeMount{{Name: "cache", MountPath: "/cache"}}
		}, want: []string{"spec.template.spec.containers[0].volumeMounts[0].name" + notFound}},
	})
	runUpdateCases(t, validStatefulSet, true, []updateCase[apps.StatefulSet]{
		{name: "scale", mutate: func(s *apps.StatefulSet) { s.Spec.Replicas = ptr[int32](5) }},
		{name: "template", mutate: func(s *apps.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "postgres:17" }},
		{name: "strategy and retention", mutate: func(s *apps.StatefulSet) {
			s.Spec.UpdateStrategy.Type = apps.OnDeleteStatefulSetStrategyType
			s.Spec.PersistentVolumeClaimRetentionPolicy = &apps.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: apps.DeletePersistentVolumeClaimRetentionPolicyType}
			s.Spec.MinReadySeconds = 10
		}},
		{name: "service name", mutate: func(s *apps.StatefulSet) { s.Spec.ServiceName = "db2" }, want: []string{"spec" + forbidden}},
		{name: "claim templates", mutate: func(s *apps.StatefulSet) { s.Spec.VolumeClaimTemplates = nil }, want: []string{"spec" + forbidden}},
	})
}

func TestValidateControllerRevision(t *testing.T) {
	valid := func() *apps.ControllerRevision {
		return &apps.ControllerRevision{ObjectMeta: objectMeta("web-5d4f", "default"), Data: json.RawMessage(`{"spec":{}}`), Revision: 1}
	}
	runCreateCases(t, valid, true, []objectCase[apps.ControllerRevision]{
		{name: "valid"},
		{name: "data", mutate: func(c *apps.ControllerRevision) { c.Data = nil }, want: []string{"data" + required}},
		{name: "revision", mutate: func(c *apps.ControllerRevision) { c.Revision = -1 }, want: []string{"revision" + invalid}},
	})
	runUpdateCases(t, valid, true, []updateCase[apps.ControllerRevision]{
		{name: "renumber", mutate: func(c *apps.ControllerRevision) { c.Revision = 7 }},
		{name: "data", mutate: func(c *apps.ControllerRevision) { c.Data = json.RawMessage(`{"spec":{"x":1}}`) }, want: []string{"data" + invalid}},
	})
}

func TestValidateStatefulSetUpdateMessage(t *testing.T) {
	s, old := validStatefulSet(), validStatefulSet()
	s.Spec.ServiceName = "other"
	got := ValidateUpdate(s, old, true).ToAggregate().Error()
	if !strings.HasPrefix(got, "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template'") {
		t.Errorf("got %s", got)
	}
}
