package podsecurity

import (
	"context"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

type objects struct {
	ns   *core.Namespace
	pods []meta.Object
}

func (o objects) Get(context.Context, string, string, string, string) (meta.Object, error) {
	return o.ns, nil
}
func (o objects) List(_, res, _ string) []meta.Object {
	if res == "pods" {
		return o.pods
	}
	return nil
}

func namespace(labels map[string]string) *core.Namespace {
	return &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "ns", Labels: labels}}
}

func kind(t *testing.T, group, res string) *registry.Kind {
	for _, k := range registry.Default().Kinds() {
		if k.Group == group && k.Resource == res {
			return k
		}
	}
	t.Fatalf("no kind %s", res)
	return nil
}

func plainPod() *core.Pod {
	return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "x", Namespace: "ns"}, Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "nginx"}}}}
}

func restrictedPod() *core.Pod {
	f, t := false, true
	p := plainPod()
	p.Spec.SecurityContext = &core.PodSecurityContext{RunAsNonRoot: &t, SeccompProfile: &core.SeccompProfile{Type: core.SeccompProfileTypeRuntimeDefault}}
	p.Spec.Containers[0].SecurityContext = &core.SecurityContext{AllowPrivilegeEscalation: &f, Capabilities: &core.Capabilities{Drop: []core.Capability{"ALL"}}}
	return p
}

func TestEnforce(t *testing.T) {
	tr := true
	privileged := plainPod()
	privileged.Spec.HostNetwork = true
	privileged.Spec.Containers[0].SecurityContext = &core.SecurityContext{Privileged: &tr}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		pod    *core.Pod
		want   string
	}{
		{"restricted refuses a plain pod", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, plainPod(),
			`pods "x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ` +
				`unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ` +
				`runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ` +
				`seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
		{"restricted admits a restricted pod", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, restrictedPod(), ""},
		{"baseline admits a plain pod", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}, plainPod(), ""},
		{"baseline refuses host namespaces and privileged", map[string]string{"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.33"}, privileged,
			`violates PodSecurity "baseline:v1.33": host namespaces (hostNetwork=true), privileged (container "c" must not set securityContext.privileged=true)`},
		{"privileged admits anything", map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}, privileged, ""},
		{"no labels admit anything", nil, privileged, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &admission.Attributes{Operation: admission.Create, Kind: kind(t, "", "pods"), Namespace: "ns", Name: "x", Object: tc.pod}
			err := New(objects{ns: namespace(tc.labels)}).Validate(context.Background(), a)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ae, ok := err.(*admission.Error)
			if !ok || ae.Status.Code != 403 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant a 403 containing %s", err, tc.want)
			}
		})
	}
}

func TestWarnAndAudit(t *testing.T) {
	labels := map[string]string{"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted"}
	a := &admission.Attributes{Operation: admission.Create, Kind: kind(t, "", "pods"), Namespace: "ns", Name: "x", Object: plainPod()}
	if err := New(objects{ns: namespace(labels)}).Validate(context.Background(), a); err != nil {
		t.Fatalf("refused: %v", err)
	}
	if w := a.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], `would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false`) {
		t.Errorf("warnings %q", w)
	}
	if v := a.Annotations()[AuditAnnotation]; !strings.HasPrefix(v, `would violate PodSecurity "restricted:latest": `) {
		t.Errorf("audit annotation %q", v)
	}
}

// A Deployment is never refused: its template is warned about at the enforce level.
func TestTemplatesWarn(t *testing.T) {
	d := &apps.Deployment{ObjectMeta: meta.ObjectMeta{Name: "d", Namespace: "ns"}}
	d.Spec.Template.Spec = plainPod().Spec
	a := &admission.Attributes{Operation: admission.Create, Kind: kind(t, "apps", "deployments"), Namespace: "ns", Name: "d", Object: d}
	err := New(objects{ns: namespace(map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})}).Validate(context.Background(), a)
	if err != nil {
		t.Fatalf("a Deployment was refused: %v", err)
	}
	if w := a.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], `would violate PodSecurity "restricted:latest": `) {
		t.Errorf("warnings %q", w)
	}
}

func TestNamespaceLabelChangeWarnsAboutExistingPods(t *testing.T) {
	old := namespace(nil)
	n := namespace(map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	p := plainPod()
	a := &admission.Attributes{Operation: admission.Update, Kind: kind(t, "", "namespaces"), Name: "ns", Object: n, OldObject: old}
	if err := New(objects{pods: []meta.Object{p, restrictedPod()}}).Validate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	want := []string{`existing pods in namespace "ns" violate the new PodSecurity enforce level "restricted:latest"`,
		`x: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile`}
	if w := a.Warnings(); strings.Join(w, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings\n%q\nwant\n%q", w, want)
	}
}

func TestBaselineChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*core.PodSpec)
		want string
	}{
		{"hostPath", func(s *core.PodSpec) {
			s.Volumes = []core.Volume{{Name: "h", VolumeSource: core.VolumeSource{HostPath: &core.HostPathVolumeSource{Path: "/"}}}}
		}, `hostPath volumes (volume "h")`},
		{"capabilities", func(s *core.PodSpec) {
			s.Containers[0].SecurityContext = &core.SecurityContext{Capabilities: &core.Capabilities{Add: []core.Capability{"SYS_ADMIN", "CHOWN"}}}
		}, `non-default capabilities (container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add)`},
		{"hostPort", func(s *core.PodSpec) {
			s.Containers[0].Ports = []core.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		},
			`hostPort (container "c" uses hostPort 8080)`},
		{"sysctls", func(s *core.PodSpec) {
			s.SecurityContext = &core.PodSecurityContext{Sysctls: []core.Sysctl{{Name: "kernel.msgmax", Value: "1"}}}
		}, `forbidden sysctls (kernel.msgmax)`},
		{"seccomp unconfined", func(s *core.PodSpec) {
			s.SecurityContext = &core.PodSecurityContext{SeccompProfile: &core.SeccompProfile{Type: core.SeccompProfileTypeUnconfined}}
		}, `seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`},
	} {
		p := plainPod()
		tc.mut(&p.Spec)
		if got := strings.Join(Violations(Baseline, &p.Spec), ", "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
