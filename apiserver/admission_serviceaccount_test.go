package apiserver

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
)

func TestAdmitServiceAccount(t *testing.T) {
	no, yes := false, true
	accounts := map[string]*core.ServiceAccount{
		"default": {ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "default"}},
		"robot": {ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "robot"},
			ImagePullSecrets: []core.LocalObjectReference{{Name: "regcred"}}},
		"quiet": {ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "quiet"}, AutomountServiceAccountToken: &no},
	}
	lookup := func(_ context.Context, ns, name string) (*core.ServiceAccount, error) {
		if sa, ok := accounts[name]; ok && ns == "ns" {
			return sa, nil
		}
		return nil, storage.ErrNotFound
	}
	pod := func(tweak func(*core.Pod)) *core.Pod {
		p := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: core.PodSpec{
			InitContainers: []core.Container{{Name: "init"}},
			Containers:     []core.Container{{Name: "a"}, {Name: "b"}},
		}}
		if tweak != nil {
			tweak(p)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		pod     *core.Pod
		account string
		mounted []string // containers (init first) that get the token mount
		volume  bool     // a kube-api-access-* volume is added
		volumes int
		pulls   []string
		err     string
	}{
		{name: "default account, volume in every container", pod: pod(nil), account: "default",
			mounted: []string{"init", "a", "b"}, volume: true, volumes: 1},
		{name: "named account; its image pull secrets", pod: pod(func(p *core.Pod) { p.Spec.ServiceAccountName = "robot" }),
			account: "robot", mounted: []string{"init", "a", "b"}, volume: true, volumes: 1, pulls: []string{"regcred"}},
		{name: "the deprecated alias names the account", pod: pod(func(p *core.Pod) { p.Spec.DeprecatedServiceAccount = "robot" }),
			account: "robot", mounted: []string{"init", "a", "b"}, volume: true, volumes: 1, pulls: []string{"regcred"}},
		{name: "the pod's image pull secrets are kept", pod: pod(func(p *core.Pod) {
			p.Spec.ServiceAccountName = "robot"
			p.Spec.ImagePullSecrets = []core.LocalObjectReference{{Name: "mine"}}
		}), account: "robot", mounted: []string{"init", "a", "b"}, volume: true, volumes: 1, pulls: []string{"mine"}},
		{name: "pod opts out", pod: pod(func(p *core.Pod) { p.Spec.AutomountServiceAccountToken = &no }), account: "default"},
		{name: "account opts out", pod: pod(func(p *core.Pod) { p.Spec.ServiceAccountName = "quiet" }), account: "quiet"},
		{name: "pod opts back in over its account", pod: pod(func(p *core.Pod) {
			p.Spec.ServiceAccountName = "quiet"
			p.Spec.AutomountServiceAccountToken = &yes
		}), account: "quiet", mounted: []string{"init", "a", "b"}, volume: true, volumes: 1},
		{name: "a container with something at the path keeps it", pod: pod(func(p *core.Pod) {
			p.Spec.Volumes = []core.Volume{{Name: "own", VolumeSource: core.VolumeSource{EmptyDir: &core.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []core.VolumeMount{{Name: "own", MountPath: ServiceAccountTokenMountPath}}
		}), account: "default", mounted: []string{"init", "b"}, volume: true, volumes: 2},
		{name: "no volume when every container has its own mount", pod: pod(func(p *core.Pod) {
			p.Spec.Volumes = []core.Volume{{Name: "own", VolumeSource: core.VolumeSource{EmptyDir: &core.EmptyDirVolumeSource{}}}}
			own := []core.VolumeMount{{Name: "own", MountPath: ServiceAccountTokenMountPath}}
			p.Spec.InitContainers[0].VolumeMounts = own
			p.Spec.Containers[0].VolumeMounts = own
			p.Spec.Containers[1].VolumeMounts = own
		}), account: "default", volumes: 1},
		{name: "missing account is refused", pod: pod(func(p *core.Pod) { p.Spec.ServiceAccountName = "ghost" }),
			err: `error looking up service account ns/ghost: serviceaccount "ghost" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pod
			err := admitServiceAccount(context.Background(), p, lookup)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Spec.ServiceAccountName != tc.account || p.Spec.DeprecatedServiceAccount != tc.account {
				t.Errorf("serviceAccountName %q serviceAccount %q, want %q", p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount, tc.account)
			}
			if len(p.Spec.Volumes) != tc.volumes {
				t.Errorf("%d volumes, want %d", len(p.Spec.Volumes), tc.volumes)
			}
			var vol string
			for _, v := range p.Spec.Volumes {
				if regexp.MustCompile(`^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$`).MatchString(v.Name) {
					vol = v.Name
					got, _ := json.Marshal(v.VolumeSource)
					if string(got) != wantTokenVolume {
						t.Errorf("volume source\n got %s\nwant %s", got, wantTokenVolume)
					}
				}
			}
			if (vol != "") != tc.volume {
				t.Fatalf("token volume %q, want one: %v", vol, tc.volume)
			}
			var mounted []string
			for _, c := range append(append([]core.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
				for _, m := range c.VolumeMounts {
					if m.Name == vol && vol != "" {
						if m.MountPath != ServiceAccountTokenMountPath || !m.ReadOnly {
							t.Errorf("container %s mount %+v", c.Name, m)
						}
						mounted = append(mounted, c.Name)
					}
				}
			}
			if !equalStrings(mounted, tc.mounted) {
				t.Errorf("mounted in %v, want %v", mounted, tc.mounted)
			}
			var pulls []string
			for _, s := range p.Spec.ImagePullSecrets {
				pulls = append(pulls, s.Name)
			}
			if !equalStrings(pulls, tc.pulls) {
				t.Errorf("image pull secrets %v, want %v", pulls, tc.pulls)
			}
		})
	}
}

// wantTokenVolume is the volume source a Kubernetes 1.33 API server adds (kubectl get pod -o json).
const wantTokenVolume = `{"projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},` +
	`{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},` +
	`{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}`

// An existing kube-api-access volume (a pod re-created from its own JSON) is reused, not doubled.
func TestAdmitServiceAccountReusesVolume(t *testing.T) {
	p := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns"}, Spec: core.PodSpec{
		Volumes:    []core.Volume{{Name: "kube-api-access-abcde", VolumeSource: core.VolumeSource{Projected: ServiceAccountTokenVolumeSource()}}},
		Containers: []core.Container{{Name: "a"}},
	}}
	lookup := func(context.Context, string, string) (*core.ServiceAccount, error) {
		return &core.ServiceAccount{}, nil
	}
	if err := admitServiceAccount(context.Background(), p, lookup); err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Volumes) != 1 || len(p.Spec.Containers[0].VolumeMounts) != 1 || p.Spec.Containers[0].VolumeMounts[0].Name != "kube-api-access-abcde" {
		t.Errorf("volumes %+v mounts %+v", p.Spec.Volumes, p.Spec.Containers[0].VolumeMounts)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Mirror pods are left as they are and may carry no credentials (Kubernetes' messages).
func TestAdmitServiceAccountMirrorPods(t *testing.T) {
	lookup := func(context.Context, string, string) (*core.ServiceAccount, error) {
		t.Error("a mirror pod's account was looked up")
		return nil, storage.ErrNotFound
	}
	mirror := func(tweak func(*core.Pod)) *core.Pod {
		p := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "static-node1",
			Annotations: map[string]string{core.MirrorPodAnnotationKey: "hash"}},
			Spec: core.PodSpec{Containers: []core.Container{{Name: "c"}}}}
		if tweak != nil {
			tweak(p)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		pod  *core.Pod
		err  string
	}{
		{name: "plain", pod: mirror(nil)},
		{name: "account", pod: mirror(func(p *core.Pod) { p.Spec.ServiceAccountName = "default" }),
			err: "a mirror pod may not reference service accounts"},
		{name: "secret volume", pod: mirror(func(p *core.Pod) {
			p.Spec.Volumes = []core.Volume{{Name: "s", VolumeSource: core.VolumeSource{Secret: &core.SecretVolumeSource{SecretName: "x"}}}}
		}), err: "a mirror pod may not reference secrets"},
		{name: "secret env", pod: mirror(func(p *core.Pod) {
			p.Spec.Containers[0].Env = []core.EnvVar{{Name: "P", ValueFrom: &core.EnvVarSource{SecretKeyRef: &core.SecretKeySelector{Key: "k"}}}}
		}), err: "a mirror pod may not reference secrets"},
		{name: "token projection", pod: mirror(func(p *core.Pod) {
			p.Spec.Volumes = []core.Volume{{Name: "t", VolumeSource: core.VolumeSource{Projected: &core.ProjectedVolumeSource{
				Sources: []core.VolumeProjection{{ServiceAccountToken: &core.ServiceAccountTokenProjection{Path: "token"}}}}}}}
		}), err: "a mirror pod may not use ServiceAccountToken volume projections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := admitServiceAccount(context.Background(), tc.pod, lookup)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if tc.err == "" && (tc.pod.Spec.ServiceAccountName != "" || len(tc.pod.Spec.Volumes) != 0) {
				t.Errorf("mirror pod changed: %+v", tc.pod.Spec)
			}
		})
	}
}
