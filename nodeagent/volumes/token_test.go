package volumes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// fakeTokens hands out "token-N", a new one each time next is bumped, and records requests.
type fakeTokens struct {
	next      int
	requests  []string
	forgotten []string
}

func (f *fakeTokens) Token(_ context.Context, ns, name string, tr *authentication.TokenRequest) (*authentication.TokenRequest, error) {
	r := tr.Spec.BoundObjectRef
	f.requests = append(f.requests, fmt.Sprintf("%s/%s aud=%v exp=%d bound=%s/%s/%s/%s",
		ns, name, tr.Spec.Audiences, *tr.Spec.ExpirationSeconds, r.APIVersion, r.Kind, r.Name, r.UID))
	out := *tr
	out.Status.Token = fmt.Sprintf("token-%d", f.next)
	return &out, nil
}

func (f *fakeTokens) ForgetPod(uid string) { f.forgotten = append(f.forgotten, uid) }

// The volume the ServiceAccount admission plugin adds (apiserver.ServiceAccountTokenVolumeSource).
func kubeAPIAccess() core.Volume {
	mode, exp := int32(0o644), int64(3607)
	return core.Volume{Name: "kube-api-access-x2b4z", VolumeSource: core.VolumeSource{Projected: &core.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []core.VolumeProjection{
			{ServiceAccountToken: &core.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
			{ConfigMap: &core.ConfigMapProjection{LocalObjectReference: core.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []core.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &core.DownwardAPIProjection{Items: []core.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &core.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		}}}}
}

func TestServiceAccountTokenVolume(t *testing.T) {
	m, o := newManager(t)
	o.cms["kube-root-ca.crt"] = &core.ConfigMap{Data: map[string]string{"ca.crt": "PEM"}}
	tokens := &fakeTokens{next: 1}
	m.Tokens = tokens
	pod := &core.Pod{
		ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid1"},
		Spec:       core.PodSpec{ServiceAccountName: "robot", Volumes: []core.Volume{kubeAPIAccess()}},
	}
	mounts, err := m.Setup(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	dir := mounts["kube-api-access-x2b4z"].HostPath
	if !mounts["kube-api-access-x2b4z"].ReadOnly {
		t.Error("projected volume not read-only")
	}
	for name, want := range map[string]string{"token": "token-1", "ca.crt": "PEM", "namespace": "ns"} {
		if got := read(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
		// Every name is a symlink through ..data, so one rename switches all of them.
		if target, err := os.Readlink(filepath.Join(dir, name)); err != nil || target != filepath.Join("..data", name) {
			t.Errorf("%s links to %q (%v), want ..data/%s", name, target, err, name)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "token")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("token mode %v (%v), want the volume's defaultMode 0644", fi.Mode(), err)
	}
	want := "ns/robot aud=[] exp=3607 bound=v1/Pod/web/uid1"
	if len(tokens.requests) != 1 || tokens.requests[0] != want {
		t.Errorf("requests %q, want [%q]", tokens.requests, want)
	}

	// A resync with the same token changes nothing; a refreshed token is swapped in whole.
	first, _ := os.Readlink(filepath.Join(dir, "..data"))
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, "..data")); again != first {
		t.Errorf("unchanged token rewrote the volume: ..data %s -> %s", first, again)
	}
	tokens.next = 2
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	second, _ := os.Readlink(filepath.Join(dir, "..data"))
	if second == first || !strings.HasPrefix(second, "..") {
		t.Errorf("..data %q after refresh (was %q)", second, first)
	}
	if got := read(t, filepath.Join(dir, "token")); got != "token-2" {
		t.Errorf("token after refresh %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old data directory %s still there (%v)", first, err)
	}
	if got := read(t, filepath.Join(dir, "ca.crt")); got != "PEM" {
		t.Errorf("ca.crt after refresh %q", got)
	}

	if err := m.Teardown(context.Background(), "uid1"); err != nil {
		t.Fatal(err)
	}
	if len(tokens.forgotten) != 1 || tokens.forgotten[0] != "uid1" {
		t.Errorf("forgotten %v, want [uid1]", tokens.forgotten)
	}
}

func TestServiceAccountTokenAudienceAndErrors(t *testing.T) {
	m, _ := newManager(t)
	exp := int64(600)
	pod := &core.Pod{
		ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid1"},
		Spec: core.PodSpec{ServiceAccountName: "default", Volumes: []core.Volume{{Name: "vault",
			VolumeSource: core.VolumeSource{Projected: &core.ProjectedVolumeSource{Sources: []core.VolumeProjection{
				{ServiceAccountToken: &core.ServiceAccountTokenProjection{Audience: "vault", Path: "vault-token", ExpirationSeconds: &exp}}}}}}}},
	}
	if _, err := m.Setup(context.Background(), pod); err == nil || !strings.Contains(err.Error(), `volume "vault"`) {
		t.Errorf("setup without a token issuer: %v", err)
	}
	tokens := &fakeTokens{}
	m.Tokens = tokens
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if want := "ns/default aud=[vault] exp=600 bound=v1/Pod/web/uid1"; len(tokens.requests) != 1 || tokens.requests[0] != want {
		t.Errorf("requests %q, want [%q]", tokens.requests, want)
	}
}
