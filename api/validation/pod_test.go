package validation

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/resource"
)

func validPod() *core.Pod {
	return &core.Pod{
		ObjectMeta: objectMeta("web", "default"),
		Spec: core.PodSpec{
			Volumes: []core.Volume{
				{Name: "data", VolumeSource: core.VolumeSource{EmptyDir: &core.EmptyDirVolumeSource{}}},
				{Name: "config", VolumeSource: core.VolumeSource{ConfigMap: &core.ConfigMapVolumeSource{LocalObjectReference: core.LocalObjectReference{Name: "web-config"}}}},
			},
			InitContainers: []core.Container{{Name: "init", Image: "busybox", Command: []string{"true"}}},
			Containers: []core.Container{{
				Name:            "app",
				Image:           "nginx:1.27",
				ImagePullPolicy: core.PullIfNotPresent,
				Ports:           []core.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: core.ProtocolTCP}},
				Env: []core.EnvVar{
					{Name: "MODE", Value: "prod"},
					{Name: "POD_NAME", ValueFrom: &core.EnvVarSource{FieldRef: &core.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
					{Name: "APP", ValueFrom: &core.EnvVarSource{FieldRef: &core.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
				},
				Resources: core.ResourceRequirements{
					Requests: core.ResourceList{core.ResourceCPU: resource.MustParse("100m"), core.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   core.ResourceList{core.ResourceCPU: resource.MustParse("500m"), core.ResourceMemory: resource.MustParse("64Mi")},
				},
				VolumeMounts:   []core.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "config", MountPath: "/etc/web"}},
				LivenessProbe:  &core.Probe{ProbeHandler: core.ProbeHandler{HTTPGet: &core.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
				ReadinessProbe: &core.Probe{ProbeHandler: core.ProbeHandler{TCPSocket: &core.TCPSocketAction{Port: intstr.FromInt(80)}}, PeriodSeconds: 5},
				Lifecycle:      &core.Lifecycle{PreStop: &core.LifecycleHandler{Sleep: &core.SleepAction{Seconds: 5}}},
			}},
			RestartPolicy:                 core.RestartPolicyAlways,
			DNSPolicy:                     core.DNSClusterFirst,
			TerminationGracePeriodSeconds: ptr[int64](30),
			NodeSelector:                  map[string]string{"kubernetes.io/os": "linux"},
			Tolerations: []core.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute, TolerationSeconds: ptr[int64](300)},
				{Operator: core.TolerationOpExists},
			},
		},
	}
}

func container(p *core.Pod) *core.Container { return &p.Spec.Containers[0] }

func TestValidatePod(t *testing.T) {
	const c0 = "spec.containers[0]"
	runCreateCases(t, validPod, true, []objectCase[core.Pod]{
		{name: "valid"},
		{name: "defaults left empty are accepted", mutate: func(p *core.Pod) {
			p.Spec.RestartPolicy, p.Spec.DNSPolicy, p.Spec.TerminationGracePeriodSeconds = "", "", nil
			container(p).ImagePullPolicy, container(p).Ports[0].Protocol = "", ""
		}},
		{name: "no containers", mutate: func(p *core.Pod) { p.Spec.Containers = nil }, want: []string{"spec.containers" + required}},
		{name: "container name required", mutate: func(p *core.Pod) { container(p).Name = "" }, want: []string{c0 + ".name" + required}},
		{name: "container name is a DNS label", mutate: func(p *core.Pod) { container(p).Name = "App_1" }, want: []string{c0 + ".name" + invalid}},
		{name: "duplicate container names", mutate: func(p *core.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, core.Container{Name: "app", Image: "x"})
		}, want: []string{"spec.containers[1].name" + duplicate}},
		{name: "init container name collides", mutate: func(p *core.Pod) { p.Spec.InitContainers[0].Name = "app" }, want: []string{"spec.initContainers[0].name" + duplicate}},
		{name: "image required", mutate: func(p *core.Pod) { container(p).Image = "" }, want: []string{c0 + ".image" + required}},
		{name: "padded image", mutate: func(p *core.Pod) { container(p).Image = " nginx" }, want: []string{c0 + ".image" + invalid}},
		{name: "pull policy", mutate: func(p *core.Pod) { container(p).ImagePullPolicy = "Sometimes" }, want: []string{c0 + ".imagePullPolicy" + notSupported}},
		{name: "restart policy", mutate: func(p *core.Pod) { p.Spec.RestartPolicy = "Sometimes" }, want: []string{"spec.restartPolicy" + notSupported}},
		{name: "dns policy", mutate: func(p *core.Pod) { p.Spec.DNSPolicy = "Google" }, want: []string{"spec.dnsPolicy" + notSupported}},
		{name: "dns policy None needs config", mutate: func(p *core.Pod) { p.Spec.DNSPolicy = core.DNSNone }, want: []string{"spec.dnsConfig" + required}},
		{name: "container port range", mutate: func(p *core.Pod) { container(p).Ports[0].ContainerPort = 70000 }, want: []string{c0 + ".ports[0].containerPort" + invalid}},
		{name: "container port required", mutate: func(p *core.Pod) { container(p).Ports[0].ContainerPort = 0 }, want: []string{c0 + ".ports[0].containerPort" + required}},
		{name: "host port range", mutate: func(p *core.Pod) { container(p).Ports[0].HostPort = -1 }, want: []string{c0 + ".ports[0].hostPort" + invalid}},
		{name: "protocol", mutate: func(p *core.Pod) { container(p).Ports[0].Protocol = "ICMP" }, want: []string{c0 + ".ports[0].protocol" + notSupported}},
		{name: "port name syntax", mutate: func(p *core.Pod) { container(p).Ports[0].Name = "web_port" }, want: []string{c0 + ".ports[0].name" + invalid}},
		{name: "duplicate port names", mutate: func(p *core.Pod) {
			container(p).Ports = append(container(p).Ports, core.ContainerPort{Name: "http", ContainerPort: 81})
		}, want: []string{c0 + ".ports[1].name" + duplicate}},
		{name: "host port conflict", mutate: func(p *core.Pod) {
			container(p).Ports[0].HostPort = 8080
			p.Spec.Containers = append(p.Spec.Containers, core.Container{Name: "b", Image: "x", Ports: []core.ContainerPort{{ContainerPort: 81, HostPort: 8080}}})
		}, want: []string{"spec.containers[1].ports[0].hostPort" + duplicate}},
		{name: "host network needs matching host port", mutate: func(p *core.Pod) {
			p.Spec.HostNetwork = true
			container(p).Ports[0].HostPort = 8080
		}, want: []string{c0 + ".ports[0].hostPort" + invalid}},
		{name: "negative request", mutate: func(p *core.Pod) {
			container(p).Resources.Requests[core.ResourceCPU] = resource.MustParse("-1")
		}, want: []string{c0 + ".resources.requests[cpu]" + invalid}},
		{name: "negative limit", mutate: func(p *core.Pod) {
			container(p).Resources.Limits[core.ResourceMemory] = resource.MustParse("-64Mi")
		}, want: []string{c0 + ".resources.limits[memory]" + invalid, c0 + ".resources.requests" + invalid}},
		{name: "request above limit", mutate: func(p *core.Pod) {
			container(p).Resources.Requests[core.ResourceCPU] = resource.MustParse("1")
		}, want: []string{c0 + ".resources.requests" + invalid}},
		{name: "unknown resource", mutate: func(p *core.Pod) {
			container(p).Resources.Requests["gpus"] = resource.MustParse("1")
		}, want: []string{c0 + ".resources.requests[gpus]" + invalid}},
		{name: "extended resource needs equal limit", mutate: func(p *core.Pod) {
			container(p).Resources.Requests["example.com/gpu"] = resource.MustParse("1")
		}, want: []string{c0 + ".resources.limits" + required}},
		{name: "extended resource", mutate: func(p *core.Pod) {
			container(p).Resources.Requests["example.com/gpu"] = resource.MustParse("1")
			container(p).Resources.Limits["example.com/gpu"] = resource.MustParse("1")
		}},
		{name: "volume name required", mutate: func(p *core.Pod) { p.Spec.Volumes[0].Name = "" }, want: []string{
			"spec.volumes[0].name" + required, c0 + ".volumeMounts[0].name" + notFound}},
		{name: "duplicate volume", mutate: func(p *core.Pod) { p.Spec.Volumes[1].Name = "data" }, want: []string{
			"spec.volumes[1].name" + duplicate, c0 + ".volumeMounts[1].name" + notFound}},
		{name: "volume without source", mutate: func(p *core.Pod) { p.Spec.Volumes[0].EmptyDir = nil }, want: []string{
			"spec.volumes[0]" + required, c0 + ".volumeMounts[0].name" + notFound}},
		{name: "volume with two sources", mutate: func(p *core.Pod) {
			p.Spec.Volumes[0].HostPath = &core.HostPathVolumeSource{Path: "/tmp"}
		}, want: []string{"spec.volumes[0].emptyDir" + forbidden, c0 + ".volumeMounts[0].name" + notFound}},
		{name: "configMap volume needs a name", mutate: func(p *core.Pod) { p.Spec.Volumes[1].ConfigMap.Name = "" }, want: []string{
			"spec.volumes[1].configMap.name" + required, c0 + ".volumeMounts[1].name" + notFound}},
		{name: "mount of unknown volume", mutate: func(p *core.Pod) { container(p).VolumeMounts[0].Name = "cache" }, want: []string{c0 + ".volumeMounts[0].name" + notFound}},
		{name: "mount path required", mutate: func(p *core.Pod) { container(p).VolumeMounts[0].MountPath = "" }, want: []string{c0 + ".volumeMounts[0].mountPath" + required}},
		{name: "mount paths unique", mutate: func(p *core.Pod) { container(p).VolumeMounts[1].MountPath = "/data" }, want: []string{c0 + ".volumeMounts[1].mountPath" + invalid}},
		{name: "subPath escapes", mutate: func(p *core.Pod) { container(p).VolumeMounts[0].SubPath = "../etc" }, want: []string{c0 + ".volumeMounts[0].subPath" + invalid}},
		{name: "env name required", mutate: func(p *core.Pod) { container(p).Env[0].Name = "" }, want: []string{c0 + ".env[0].name" + required}},
		{name: "env name with '='", mutate: func(p *core.Pod) { container(p).Env[0].Name = "A=B" }, want: []string{c0 + ".env[0].name" + invalid}},
		{name: "env value and valueFrom", mutate: func(p *core.Pod) { container(p).Env[1].Value = "x" }, want: []string{c0 + ".env[1].valueFrom" + invalid}},
		{name: "env field path", mutate: func(p *core.Pod) {
			container(p).Env[1].ValueFrom.FieldRef.FieldPath = "spec.containers"
		}, want: []string{c0 + ".env[1].valueFrom.fieldRef.fieldPath" + notSupported}},
		{name: "env secret key", mutate: func(p *core.Pod) {
			container(p).Env[1].ValueFrom = &core.EnvVarSource{SecretKeyRef: &core.SecretKeySelector{LocalObjectReference: core.LocalObjectReference{Name: "s"}, Key: "a/b"}}
		}, want: []string{c0 + ".env[1].valueFrom.secretKeyRef.key" + invalid}},
		{name: "envFrom without source", mutate: func(p *core.Pod) { container(p).EnvFrom = []core.EnvFromSource{{Prefix: "X_"}} }, want: []string{c0 + ".envFrom" + invalid}},
		{name: "probe without handler", mutate: func(p *core.Pod) { container(p).LivenessProbe.HTTPGet = nil }, want: []string{c0 + ".livenessProbe" + required}},
		{name: "probe with two handlers", mutate: func(p *core.Pod) {
			container(p).LivenessProbe.Exec = &core.ExecAction{Command: []string{"true"}}
		}, want: []string{c0 + ".livenessProbe.httpGet" + forbidden}},
		{name: "probe exec needs command", mutate: func(p *core.Pod) {
			container(p).ReadinessProbe.ProbeHandler = core.ProbeHandler{Exec: &core.ExecAction{}}
		}, want: []string{c0 + ".readinessProbe.exec.command" + required}},
		{name: "probe port name", mutate: func(p *core.Pod) {
			container(p).LivenessProbe.HTTPGet.Port = intstr.FromString("Web_Port")
		}, want: []string{c0 + ".livenessProbe.httpGet.port" + invalid}},
		{name: "probe negative period", mutate: func(p *core.Pod) { container(p).ReadinessProbe.PeriodSeconds = -1 }, want: []string{c0 + ".readinessProbe.periodSeconds" + invalid}},
		{name: "liveness success threshold", mutate: func(p *core.Pod) { container(p).LivenessProbe.SuccessThreshold = 3 }, want: []string{c0 + ".livenessProbe.successThreshold" + invalid}},
		{name: "lifecycle sleep too long", mutate: func(p *core.Pod) { container(p).Lifecycle.PreStop.Sleep.Seconds = 31 }, want: []string{c0 + ".lifecycle.preStop.sleep" + invalid}},
		{name: "init container probe", mutate: func(p *core.Pod) {
			p.Spec.InitContainers[0].ReadinessProbe = container(p).ReadinessProbe
		}, want: []string{"spec.initContainers[0].readinessProbe" + forbidden}},
		{name: "sidecar may have probes", mutate: func(p *core.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = ptr(core.ContainerRestartPolicyAlways)
			p.Spec.InitContainers[0].ReadinessProbe = container(p).ReadinessProbe
		}},
		{name: "regular container restart policy", mutate: func(p *core.Pod) {
			container(p).RestartPolicy = ptr(core.ContainerRestartPolicyAlways)
		}, want: []string{c0 + ".restartPolicy" + forbidden}},
		{name: "toleration effect", mutate: func(p *core.Pod) { p.Spec.Tolerations[0].Effect = "NoWay" }, want: []string{
			"spec.tolerations[0].effect" + invalid, "spec.tolerations[0].effect" + notSupported}},
		{name: "toleration operator", mutate: func(p *core.Pod) { p.Spec.Tolerations[1].Operator = "Like" }, want: []string{
			"spec.tolerations[1].operator" + invalid, "spec.tolerations[1].operator" + notSupported}},
		{name: "toleration seconds need NoExecute", mutate: func(p *core.Pod) { p.Spec.Tolerations[0].Effect = core.TaintEffectNoSchedule }, want: []string{"spec.tolerations[0].effect" + invalid}},
		{name: "toleration key", mutate: func(p *core.Pod) { p.Spec.Tolerations[0].Key = "bad key" }, want: []string{"spec.tolerations[0].key" + invalid}},
		{name: "node selector", mutate: func(p *core.Pod) { p.Spec.NodeSelector["disk"] = "fast ssd" }, want: []string{"spec.nodeSelector" + invalid}},
		{name: "node name", mutate: func(p *core.Pod) { p.Spec.NodeName = "Node_1" }, want: []string{"spec.nodeName" + invalid}},
		{name: "hostname", mutate: func(p *core.Pod) { p.Spec.Hostname = "a.b" }, want: []string{"spec.hostname" + invalid}},
		{name: "activeDeadlineSeconds", mutate: func(p *core.Pod) { p.Spec.ActiveDeadlineSeconds = ptr[int64](0) }, want: []string{"spec.activeDeadlineSeconds" + invalid}},
		{name: "runAsUser", mutate: func(p *core.Pod) {
			p.Spec.SecurityContext = &core.PodSecurityContext{RunAsUser: ptr[int64](-1)}
		}, want: []string{"spec.securityContext.runAsUser" + invalid}},
		{name: "sysctls: the conformance suite's invalid names, a duplicate, host namespaces", mutate: func(p *core.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.SecurityContext = &core.PodSecurityContext{Sysctls: []core.Sysctl{
				{Name: "kernel.shm_rmid_forced", Value: "1"}, {Name: "foo-", Value: "bar"}, {Name: "kernel.shmmax", Value: "1"},
				{Name: "safe-and-unsafe", Value: "1"}, {Name: "bar..", Value: "42"}, {Name: "kernel/shm_rmid_forced", Value: "1"},
				{Name: "kernel.shmmax", Value: "2"}, {Name: "net.ipv4.tcp_syncookies", Value: "1"}}}
		}, want: []string{"spec.securityContext.sysctls[1].name" + invalid, "spec.securityContext.sysctls[4].name" + invalid,
			"spec.securityContext.sysctls[6].name" + duplicate, "spec.securityContext.sysctls[7].name" + invalid}},
		{name: "affinity term without topology key", mutate: func(p *core.Pod) {
			p.Spec.Affinity = &core.Affinity{PodAntiAffinity: &core.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []core.PodAffinityTerm{{}}}}
		}, want: []string{"spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey" + required}},
		{name: "ephemeral containers only through the subresource", mutate: func(p *core.Pod) {
			p.Spec.EphemeralContainers = []core.EphemeralContainer{{EphemeralContainerCommon: core.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
		}, want: []string{"spec.ephemeralContainers" + forbidden}},
		{name: "metadata is checked", mutate: func(p *core.Pod) { p.Namespace = "" }, want: []string{"metadata.namespace" + required}},
	})
}

func TestValidatePodMessages(t *testing.T) {
	p := validPod()
	container(p).Name = ""
	container(p).Resources.Requests[core.ResourceCPU] = resource.MustParse("1")
	got := Validate(p, true).ToAggregate().Error()
	for _, want := range []string{
		`spec.containers[0].name: Required value`,
		`spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("%s\ndoes not contain\n%s", got, want)
		}
	}
}

func TestValidatePodUpdate(t *testing.T) {
	runUpdateCases(t, validPod, true, []updateCase[core.Pod]{
		{name: "unchanged"},
		{name: "image", mutate: func(p *core.Pod) { container(p).Image = "nginx:1.28" }},
		{name: "init image", mutate: func(p *core.Pod) { p.Spec.InitContainers[0].Image = "busybox:2" }},
		{name: "labels", mutate: func(p *core.Pod) { p.Labels = map[string]string{"app": "web"} }},
		{name: "set activeDeadlineSeconds", mutate: func(p *core.Pod) { p.Spec.ActiveDeadlineSeconds = ptr[int64](600) }},
		{name: "add toleration", mutate: func(p *core.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, core.Toleration{Key: "gpu", Operator: core.TolerationOpExists})
		}},
		{name: "change tolerationSeconds", mutate: func(p *core.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr[int64](60) }},
		{name: "remove toleration", mutate: func(p *core.Pod) { p.Spec.Tolerations = p.Spec.Tolerations[:1] }, want: []string{"spec.tolerations" + forbidden}},
		{name: "restart policy", mutate: func(p *core.Pod) { p.Spec.RestartPolicy = core.RestartPolicyNever }, want: []string{"spec" + forbidden}},
		{name: "container ports", mutate: func(p *core.Pod) { container(p).Ports[0].ContainerPort = 8080 }, want: []string{"spec" + forbidden}},
		{name: "add container", mutate: func(p *core.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, core.Container{Name: "b", Image: "x"})
		}, want: []string{"spec.containers" + forbidden}},
		{name: "empty image", mutate: func(p *core.Pod) { container(p).Image = "" }, want: []string{"spec.containers[0].image" + required}},
		{name: "name", mutate: func(p *core.Pod) { p.Name = "other" }, want: []string{"metadata.name" + invalid}},
	})
}

func TestValidatePodUpdateDeadline(t *testing.T) {
	tests := []struct {
		name     string
		old, new *int64
		want     []string
	}{
		{"lowered", ptr[int64](100), ptr[int64](50), nil},
		{"raised", ptr[int64](100), ptr[int64](200), []string{"spec.activeDeadlineSeconds" + invalid}},
		{"removed", ptr[int64](100), nil, []string{"spec.activeDeadlineSeconds" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, p := validPod(), validPod()
			old.Spec.ActiveDeadlineSeconds, p.Spec.ActiveDeadlineSeconds = tt.old, tt.new
			wantErrs(t, ValidateUpdate(p, old, true), tt.want...)
		})
	}

	old, p := validPod(), validPod()
	p.Spec.NodeName = "node-2"
	msg := ValidateUpdate(p, old, true).ToAggregate().Error()
	want := "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\nchanged: spec.nodeName"
	if msg != want {
		t.Errorf("got  %s\nwant %s", msg, want)
	}
}
