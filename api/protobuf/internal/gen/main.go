// Command gen writes the protobuf test vectors of skiff's api/protobuf package: for every
// object below it writes NAME.pb, the object as the real Kubernetes protobuf serializer
// (k8s.io/apimachinery/pkg/runtime/serializer/protobuf) encodes it, magic and runtime.Unknown
// envelope included, and NAME.json, the same object as encoding/json writes it from the
// k8s.io/api types. The skiff test decodes each .pb into skiff's own type and compares its
// JSON with the .json.
//
// It is a module of its own so that skiff's go.mod never depends on k8s.io/api. Run it with
//
//	cd api/protobuf/internal/gen && go run . -out ../../testdata
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func main() {
	out := flag.String("out", "../../testdata", "directory the vectors are written to")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	s := protobuf.NewSerializer(nil, nil)
	for _, v := range vectors() {
		gvk := v.gv.WithKind(v.kind)
		v.obj.GetObjectKind().SetGroupVersionKind(gvk)
		var pb bytes.Buffer
		if err := s.Encode(v.obj, &pb); err != nil {
			fail(fmt.Errorf("%s: %w", v.name, err))
		}
		js, err := json.MarshalIndent(v.obj, "", "  ")
		if err != nil {
			fail(fmt.Errorf("%s: %w", v.name, err))
		}
		write(filepath.Join(*out, v.name+".pb"), pb.Bytes())
		write(filepath.Join(*out, v.name+".json"), append(js, '\n'))
	}
}

func write(path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

type vector struct {
	name string
	gv   schema.GroupVersion
	kind string
	obj  runtime.Object
}

var (
	v1      = schema.GroupVersion{Version: "v1"}
	apps    = schema.GroupVersion{Group: "apps", Version: "v1"}
	batch   = schema.GroupVersion{Group: "batch", Version: "v1"}
	coord   = schema.GroupVersion{Group: "coordination.k8s.io", Version: "v1"}
	certs   = schema.GroupVersion{Group: "certificates.k8s.io", Version: "v1"}
	disc    = schema.GroupVersion{Group: "discovery.k8s.io", Version: "v1"}
	sched   = schema.GroupVersion{Group: "scheduling.k8s.io", Version: "v1"}
	netw    = schema.GroupVersion{Group: "networking.k8s.io", Version: "v1"}
	policy  = schema.GroupVersion{Group: "policy", Version: "v1"}
	autosc  = schema.GroupVersion{Group: "autoscaling", Version: "v1"}
	authn   = schema.GroupVersion{Group: "authentication.k8s.io", Version: "v1"}
	created = metav1.NewTime(time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC))
	later   = metav1.NewTime(time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC))
	epoch   = metav1.NewTime(time.Unix(0, 0))
)

func ptr[T any](v T) *T { return &v }

func vectors() []vector {
	return []vector{
		{"configmap", v1, "ConfigMap", configMap()},
		{"configmap-minimal", v1, "ConfigMap", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "default"},
			Data: map[string]string{"a": "b"}}},
		{"secret", v1, "Secret", secret()},
		{"namespace", v1, "Namespace", &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"team": "a"}},
			Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		}},
		{"pod", v1, "Pod", pod()},
		{"deployment", apps, "Deployment", deployment()},
		{"service", v1, "Service", service()},
		{"job", batch, "Job", job()},
		{"cronjob", batch, "CronJob", cronJob()},
		{"lease", coord, "Lease", lease()},
		{"certificatesigningrequest", certs, "CertificateSigningRequest", csr()},
		{"endpointslice", disc, "EndpointSlice", endpointSlice()},
		{"ingress", netw, "Ingress", ingress()},
		{"ingressclass", netw, "IngressClass", &networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: "skiff", Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}},
			Spec: networkingv1.IngressClassSpec{Controller: "skiff.dev/ingress", Parameters: &networkingv1.IngressClassParametersReference{
				APIGroup: ptr("k8s.example.com"), Kind: "IngressParameters", Name: "p", Scope: ptr("Namespace"), Namespace: ptr("team")}},
		}},
		{"priorityclass", sched, "PriorityClass", &schedulingv1.PriorityClass{
			ObjectMeta:       metav1.ObjectMeta{Name: "low"},
			Value:            -100,
			GlobalDefault:    false,
			Description:      "below the default",
			PreemptionPolicy: ptr(corev1.PreemptNever),
		}},
		{"serviceaccount", v1, "ServiceAccount", &corev1.ServiceAccount{
			ObjectMeta:                   metav1.ObjectMeta{Name: "robot", Namespace: "default"},
			Secrets:                      []corev1.ObjectReference{{Name: "robot-token"}},
			ImagePullSecrets:             []corev1.LocalObjectReference{{Name: "regcred"}},
			AutomountServiceAccountToken: ptr(false),
		}},
		{"resourcequota", v1, "ResourceQuota", &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "default"},
			Spec: corev1.ResourceQuotaSpec{
				Hard: corev1.ResourceList{
					corev1.ResourcePods:           resource.MustParse("10"),
					corev1.ResourceRequestsCPU:    resource.MustParse("1500m"),
					corev1.ResourceRequestsMemory: resource.MustParse("1Gi"),
					"count/configmaps":            resource.MustParse("1e3"),
				},
				Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating},
			},
		}},
		{"controllerrevision", apps, "ControllerRevision", &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: "ds-1", Namespace: "default"},
			Data:       runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"metadata":{"labels":{"a":"b"}}}}}`)},
			Revision:   3,
		}},
		{"poddisruptionbudget", policy, "PodDisruptionBudget", &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: "pdb", Namespace: "default"},
			Spec: policyv1.PodDisruptionBudgetSpec{
				MinAvailable:               ptr(intstr.FromString("50%")),
				Selector:                   &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				UnhealthyPodEvictionPolicy: ptr(policyv1.AlwaysAllow),
			},
		}},
		{"eviction", policy, "Eviction", &policyv1.Eviction{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
			DeleteOptions: &metav1.DeleteOptions{
				GracePeriodSeconds: ptr(int64(30)),
				Preconditions:      &metav1.Preconditions{UID: ptr(types.UID("1234"))},
				PropagationPolicy:  ptr(metav1.DeletePropagationForeground),
				DryRun:             []string{"All"},
			},
		}},
		{"scale", autosc, "Scale", &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "default", ResourceVersion: "42"},
			Spec:       autoscalingv1.ScaleSpec{Replicas: 5},
			Status:     autoscalingv1.ScaleStatus{Replicas: 3, Selector: "app=web"},
		}},
		{"binding", v1, "Binding", &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
			Target:     corev1.ObjectReference{Kind: "Node", Name: "node-1"},
		}},
		{"tokenrequest", authn, "TokenRequest", &authenticationv1.TokenRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: "default"},
			Spec: authenticationv1.TokenRequestSpec{
				Audiences:         []string{"https://kubernetes.default.svc.cluster.local", "vault"},
				ExpirationSeconds: ptr(int64(600)),
				BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web", UID: "4f1c"},
			},
			Status: authenticationv1.TokenRequestStatus{Token: "eyJ.x.y", ExpirationTimestamp: later},
		}},
		{"tokenreview", authn, "TokenReview", &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: "abcdef.0123456789abcdef", Audiences: []string{"api"}},
			Status: authenticationv1.TokenReviewStatus{
				Authenticated: true,
				User: authenticationv1.UserInfo{Username: "system:serviceaccount:default:robot", UID: "u-1",
					Groups: []string{"system:serviceaccounts", "system:authenticated"},
					Extra: map[string]authenticationv1.ExtraValue{
						"authentication.kubernetes.io/pod-name": {"web"},
						"authentication.kubernetes.io/pod-uid":  {"4f1c"},
						"empty":                                 {},
					}},
				Audiences: []string{"api"},
			},
		}},
		{"selfsubjectreview", authn, "SelfSubjectReview", &authenticationv1.SelfSubjectReview{}},
	}
}

func configMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:              "settings",
			Namespace:         "default",
			UID:               "6a0e2b8c-3f39-4d7f-9b3a-0d8f1c2e4a5b",
			ResourceVersion:   "12345",
			Generation:        2,
			CreationTimestamp: created,
			Labels:            map[string]string{"app": "web", "tier": "frontend", "empty": ""},
			Annotations:       map[string]string{"note": "héllo, wörld ✓"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "0b1c",
				Controller: ptr(true), BlockOwnerDeletion: ptr(false),
			}},
			Finalizers: []string{"example.com/one", "example.com/two"},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: "kubectl-create", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
				Time: &later, FieldsType: "FieldsV1",
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{".":{},"f:a":{}}}`)},
			}},
		},
		Data:       map[string]string{"a": "b", "multi": "line one\nline two\n", "": "empty key"},
		BinaryData: map[string][]byte{"bin": {0, 1, 2, 0xff, 0xfe}},
		Immutable:  ptr(true),
	}
}

func secret() *corev1.Secret {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default", DeletionTimestamp: &later,
			DeletionGracePeriodSeconds: ptr(int64(0))},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"p": []byte("q"), "all-bytes": all, "empty": {}},
		StringData: map[string]string{"plain": "text"},
	}
}

func probe(port intstr.IntOrString) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/healthz", Port: port, Scheme: corev1.URISchemeHTTP,
			HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "1"}},
		}},
		InitialDelaySeconds: 5, PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
		TerminationGracePeriodSeconds: ptr(int64(7)),
	}
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{
		InitContainers: []corev1.Container{{
			Name: "init", Image: "busybox", Command: []string{"sh", "-c", "true"},
			RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
		}},
		Containers: []corev1.Container{{
			Name:       "app",
			Image:      "nginx:1.27",
			Args:       []string{"--port", "8080"},
			WorkingDir: "/srv",
			Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
				{Name: "dns", ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP, HostIP: "0.0.0.0"},
			},
			EnvFrom: []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Optional: ptr(true)}}},
			Env: []corev1.EnvVar{
				{Name: "A", Value: "1"},
				{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}},
				{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
					ContainerName: "app", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
				{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "p"}}},
			},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.5"), corev1.ResourceMemory: resource.MustParse("128974848")},
			},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "data", MountPath: "/data"},
				{Name: "cfg", MountPath: "/etc/cfg", ReadOnly: true, SubPath: "app.conf"},
			},
			LivenessProbe:  probe(intstr.FromInt32(8080)),
			ReadinessProbe: probe(intstr.FromString("http")),
			StartupProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}}, FailureThreshold: 30},
			Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
				Sleep: &corev1.SleepAction{Seconds: 3}}},
			TerminationMessagePath:   "/dev/termination-log",
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy:          corev1.PullIfNotPresent,
			SecurityContext: &corev1.SecurityContext{
				Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}},
				Privileged:               ptr(false),
				RunAsUser:                ptr(int64(1000)),
				RunAsGroup:               ptr(int64(0)),
				RunAsNonRoot:             ptr(true),
				ReadOnlyRootFilesystem:   ptr(true),
				AllowPrivilegeEscalation: ptr(false),
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Stdin: true, TTY: true,
		}},
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
				Medium: corev1.StorageMediumMemory, SizeLimit: ptr(resource.MustParse("64Mi"))}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"},
				Items:                []corev1.KeyToPath{{Key: "a", Path: "app.conf", Mode: ptr(int32(0o400))}},
				DefaultMode:          ptr(int32(0o644)),
			}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: "/var/log", Type: ptr(corev1.HostPathDirectory)}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
					Audience: "api", ExpirationSeconds: ptr(int64(3600)), Path: "token"}}}}}},
		},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptr(int64(30)),
		ActiveDeadlineSeconds:         ptr(int64(-1)),
		DNSPolicy:                     corev1.DNSClusterFirst,
		NodeSelector:                  map[string]string{"kubernetes.io/os": "linux"},
		ServiceAccountName:            "robot",
		AutomountServiceAccountToken:  ptr(false),
		HostNetwork:                   false,
		ShareProcessNamespace:         ptr(true),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsUser: ptr(int64(1000)), FSGroup: ptr(int64(2000)), SupplementalGroups: []int64{1, 2, 300000, -4},
			Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}},
		},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		Hostname:         "web-0",
		Subdomain:        "web",
		Affinity: &corev1.Affinity{
			NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}},
				}}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 10,
					Preference: corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"n9"}}}}}},
			},
			PodAntiAffinity: &corev1.PodAntiAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{
					LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}},
					TopologyKey:   "kubernetes.io/hostname",
					Namespaces:    []string{"default"},
				}}},
			},
		},
		SchedulerName: "default-scheduler",
		Tolerations: []corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
			{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		},
		HostAliases:       []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"foo.local", "bar.local"}}},
		PriorityClassName: "low",
		Priority:          ptr(int32(-100)),
		DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}}},
		ReadinessGates:     []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}},
		EnableServiceLinks: ptr(false),
		PreemptionPolicy:   ptr(corev1.PreemptLowerPriority),
		Overhead:           corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			MinDomains:    ptr(int32(2)),
		}},
	}
}

func pod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", GenerateName: "web-",
			CreationTimestamp: created, Labels: map[string]string{"app": "web"}},
		Spec: podSpec(),
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: later},
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastProbeTime: epoch, LastTransitionTime: created},
			},
			HostIP: "192.168.1.10", HostIPs: []corev1.HostIP{{IP: "192.168.1.10"}},
			PodIP: "10.244.1.5", PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}, {IP: "fd00::5"}},
			StartTime: &created,
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", Ready: true, RestartCount: 2, Image: "nginx:1.27", ImageID: "sha256:abc", ContainerID: "containerd://123",
				Started: ptr(true),
				State:   corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: later}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: -1, Signal: 9, Reason: "OOMKilled", StartedAt: created, FinishedAt: later}},
			}},
			QOSClass: corev1.PodQOSBurstable,
		},
	}
}

func deployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "default", Labels: map[string]string{"app": "d"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{
				MatchLabels:      map[string]string{"app": "d"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}}},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "d"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "busybox", Image: "busybox",
					Resources: corev1.ResourceRequirements{}}}},
			},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptr(intstr.FromString("25%")), MaxUnavailable: ptr(intstr.FromInt32(0))}},
			MinReadySeconds:         5,
			RevisionHistoryLimit:    ptr(int32(10)),
			Paused:                  true,
			ProgressDeadlineSeconds: ptr(int32(600)),
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, UnavailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse,
				LastUpdateTime: later, LastTransitionTime: created, Reason: "MinimumReplicasUnavailable", Message: "Deployment does not have minimum availability."}},
			CollisionCount: ptr(int32(1)),
		},
	}
}

func service() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "svc1", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{
				{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080},
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: intstr.FromString("dns"), AppProtocol: ptr("dns")},
			},
			Selector:                      map[string]string{"app": "web"},
			ClusterIP:                     "10.96.0.20",
			ClusterIPs:                    []string{"10.96.0.20", "fd00::20"},
			ExternalIPs:                   []string{"1.2.3.4"},
			SessionAffinity:               corev1.ServiceAffinityClientIP,
			SessionAffinityConfig:         &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(int32(10800))}},
			LoadBalancerSourceRanges:      []string{"0.0.0.0/0"},
			ExternalTrafficPolicy:         corev1.ServiceExternalTrafficPolicyLocal,
			HealthCheckNodePort:           31000,
			PublishNotReadyAddresses:      true,
			IPFamilies:                    []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			IPFamilyPolicy:                ptr(corev1.IPFamilyPolicyPreferDualStack),
			AllocateLoadBalancerNodePorts: ptr(true),
			InternalTrafficPolicy:         ptr(corev1.ServiceInternalTrafficPolicyCluster),
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{
			IP: "5.6.7.8", IPMode: ptr(corev1.LoadBalancerIPModeVIP),
			Ports: []corev1.PortStatus{{Port: 80, Protocol: corev1.ProtocolTCP, Error: ptr("none")}},
		}}}},
	}
}

func jobSpec() batchv1.JobSpec {
	return batchv1.JobSpec{
		Parallelism:             ptr(int32(2)),
		Completions:             ptr(int32(4)),
		ActiveDeadlineSeconds:   ptr(int64(600)),
		BackoffLimit:            ptr(int32(6)),
		TTLSecondsAfterFinished: ptr(int32(100)),
		CompletionMode:          ptr(batchv1.IndexedCompletion),
		Suspend:                 ptr(false),
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:          batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes:     &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1, 2, 42}},
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{},
		}}},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers:    []corev1.Container{{Name: "j", Image: "busybox", Command: []string{"echo", "hi"}}},
			RestartPolicy: corev1.RestartPolicyNever,
		}},
	}
}

func job() *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default"},
		Spec:       jobSpec(),
		Status: batchv1.JobStatus{
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastProbeTime: later, LastTransitionTime: later}},
			StartTime:  &created, CompletionTime: &later, Succeeded: 4, Active: 0, Failed: 1,
			CompletedIndexes: "0-3", Ready: ptr(int32(0)),
			UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a", "b"}},
		},
	}
}

func cronJob() *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "cj", Namespace: "default"},
		Spec: batchv1.CronJobSpec{
			Schedule:                   "*/5 * * * *",
			TimeZone:                   ptr("Etc/UTC"),
			StartingDeadlineSeconds:    ptr(int64(200)),
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			Suspend:                    ptr(true),
			SuccessfulJobsHistoryLimit: ptr(int32(3)),
			FailedJobsHistoryLimit:     ptr(int32(1)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"cron": "cj"}},
				Spec:       jobSpec(),
			},
		},
		Status: batchv1.CronJobStatus{
			Active:             []corev1.ObjectReference{{Kind: "Job", Namespace: "default", Name: "cj-1", UID: "u1", APIVersion: "batch/v1", ResourceVersion: "7"}},
			LastScheduleTime:   &created,
			LastSuccessfulTime: &later,
		},
	}
}

func lease() *coordinationv1.Lease {
	acquire := metav1.NewMicroTime(time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC))
	renew := metav1.NewMicroTime(time.Date(2025, 3, 14, 15, 9, 36, 1000, time.UTC))
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr("node-1"),
			LeaseDurationSeconds: ptr(int32(40)),
			AcquireTime:          &acquire,
			RenewTime:            &renew,
			LeaseTransitions:     ptr(int32(3)),
			Strategy:             ptr(coordinationv1.OldestEmulationVersion),
			PreferredHolder:      ptr("node-2"),
		},
	}
}

// ingress is what `kubectl create ingress web --rule=...` sends, and more.
func ingress() *networkingv1.Ingress {
	prefix, exact := networkingv1.PathTypePrefix, networkingv1.PathTypeExact
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: created},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("skiff"),
			DefaultBackend:   &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "fallback", Port: networkingv1.ServiceBackendPort{Name: "http"}}},
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"a.example.com", "*.b.example.com"}, SecretName: "tls"}},
			Rules: []networkingv1.IngressRule{
				{Host: "a.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					{Path: "/api", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "api", Port: networkingv1.ServiceBackendPort{Number: 8080}}}},
					{Path: "/static", PathType: &exact, Backend: networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{APIGroup: ptr("k8s.example.com"), Kind: "Bucket", Name: "static"}}},
				}}}},
			},
		},
		Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
			{IP: "10.250.0.11", Ports: []networkingv1.IngressPortStatus{{Port: 443, Protocol: corev1.ProtocolTCP, Error: ptr("Pending")}}}}}},
	}
}

func endpointSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "svc1-abc", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "svc1"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{
				Addresses:  []string{"10.244.1.5"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr(true), Serving: ptr(true), Terminating: ptr(false)},
				Hostname:   ptr("web-0"),
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0", UID: "p1"},
				NodeName:   ptr("node-1"),
				Zone:       ptr("a"),
				Hints:      &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "a"}}},
			},
			{Addresses: []string{"10.244.2.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}},
		},
		Ports: []discoveryv1.EndpointPort{
			{Name: ptr("http"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(int32(8080)), AppProtocol: ptr("http")},
			{Name: ptr(""), Port: ptr(int32(53))},
		},
	}
}

func csr() *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-abc12", CreationTimestamp: created},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           []byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"),
			SignerName:        certificatesv1.KubeAPIServerClientKubeletSignerName,
			ExpirationSeconds: ptr(int32(86400)),
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			Username:          "system:bootstrap:abcdef",
			UID:               "u-1",
			Groups:            []string{"system:bootstrappers", "system:authenticated"},
			Extra: map[string]certificatesv1.ExtraValue{
				"authentication.kubernetes.io/pod-name": {"p1"},
				"scopes":                                {"a", "b"},
			},
		},
		Status: certificatesv1.CertificateSigningRequestStatus{
			Conditions: []certificatesv1.CertificateSigningRequestCondition{{
				Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved",
				Message: "Auto approving kubelet client certificate after SubjectAccessReview.", LastUpdateTime: later, LastTransitionTime: later,
			}},
			Certificate: []byte("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"),
		},
	}
}
