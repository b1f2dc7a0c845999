package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// objects serves ConfigMaps and Secrets from maps; anything else is NotFound.
type objects struct {
	cms     map[string]*core.ConfigMap
	secrets map[string]*core.Secret
	claims  map[string]*core.PersistentVolumeClaim
	pvs     map[string]*core.PersistentVolume
	updates []string // volume updates, as "name: finalizers"
}

func notFound(name string) error {
	return &client.StatusError{Status: meta.Status{Reason: meta.ReasonNotFound, Code: 404, Message: name + " not found"}}
}

func (o *objects) ConfigMap(_ context.Context, _, name string) (*core.ConfigMap, error) {
	if cm, ok := o.cms[name]; ok {
		return cm, nil
	}
	return nil, notFound(name)
}

func (o *objects) Secret(_ context.Context, _, name string) (*core.Secret, error) {
	if s, ok := o.secrets[name]; ok {
		return s, nil
	}
	return nil, notFound(name)
}

func (o *objects) PersistentVolumeClaim(_ context.Context, _, name string) (*core.PersistentVolumeClaim, error) {
	if c, ok := o.claims[name]; ok {
		return c, nil
	}
	return nil, notFound("claim")
}

func (o *objects) PersistentVolume(_ context.Context, name string) (*core.PersistentVolume, error) {
	if pv, ok := o.pvs[name]; ok {
		return pv, nil
	}
	return nil, notFound("pv")
}

func (o *objects) UpdatePersistentVolume(_ context.Context, pv *core.PersistentVolume) (*core.PersistentVolume, error) {
	o.updates = append(o.updates, pv.Name+": "+strings.Join(pv.Finalizers, ","))
	o.pvs[pv.Name] = pv
	return pv, nil
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newManager(t *testing.T) (*Manager, *objects) {
	o := &objects{
		cms:     map[string]*core.ConfigMap{"cfg": {Data: map[string]string{"a.conf": "one", "b.conf": "two"}}},
		secrets: map[string]*core.Secret{"creds": {Data: map[string][]byte{"password": []byte("s3cret")}}},
	}
	return New(t.TempDir(), o, "10.0.0.1"), o
}

func TestSetupProjectsFilesAndTearsDown(t *testing.T) {
	m, o := newManager(t)
	yes := true
	mode := int32(0o400)
	pod := &core.Pod{
		ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid1", Labels: map[string]string{"app": "web"}},
		Spec: core.PodSpec{Volumes: []core.Volume{
			{Name: "scratch", VolumeSource: core.VolumeSource{EmptyDir: &core.EmptyDirVolumeSource{}}},
			{Name: "config", VolumeSource: core.VolumeSource{ConfigMap: &core.ConfigMapVolumeSource{
				LocalObjectReference: core.LocalObjectReference{Name: "cfg"},
				Items:                []core.KeyToPath{{Key: "a.conf", Path: "sub/a"}}}}},
			{Name: "secret", VolumeSource: core.VolumeSource{Secret: &core.SecretVolumeSource{SecretName: "creds", DefaultMode: &mode}}},
			{Name: "missing-ok", VolumeSource: core.VolumeSource{ConfigMap: &core.ConfigMapVolumeSource{
				LocalObjectReference: core.LocalObjectReference{Name: "absent"}, Optional: &yes}}},
			{Name: "info", VolumeSource: core.VolumeSource{DownwardAPI: &core.DownwardAPIVolumeSource{Items: []core.DownwardAPIVolumeFile{
				{Path: "name", FieldRef: &core.ObjectFieldSelector{FieldPath: "metadata.name"}},
				{Path: "labels", FieldRef: &core.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			}}}},
		}},
	}
	mounts, err := m.Setup(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(mounts["scratch"].HostPath); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir: %v %v", fi, err)
	}
	if got := read(t, filepath.Join(mounts["config"].HostPath, "sub", "a")); got != "one" {
		t.Errorf("configmap item = %q", got)
	}
	if _, err := os.Stat(filepath.Join(mounts["config"].HostPath, "b.conf")); err == nil {
		t.Error("configmap key not listed in items was projected")
	}
	if !mounts["config"].ReadOnly {
		t.Error("configmap volume not read-only")
	}
	sec := filepath.Join(mounts["secret"].HostPath, "password")
	if got := read(t, sec); got != "s3cret" {
		t.Errorf("secret = %q", got)
	}
	if fi, _ := os.Stat(sec); fi.Mode().Perm() != 0o400 {
		t.Errorf("secret mode %v, want 0400", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(mounts["missing-ok"].HostPath)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") {
			t.Errorf("optional missing configmap projected %s", e.Name())
		}
	}
	if err != nil {
		t.Errorf("optional missing configmap: no volume dir: %v", err)
	}
	if got := read(t, filepath.Join(mounts["info"].HostPath, "name")); got != "web" {
		t.Errorf("downward name = %q", got)
	}
	if got := read(t, filepath.Join(mounts["info"].HostPath, "labels")); got != `app="web"` {
		t.Errorf("downward labels = %q", got)
	}

	// An update is swapped in atomically through ..data; a key gone from the source goes.
	o.cms["cfg"] = &core.ConfigMap{Data: map[string]string{"a.conf": "uno"}}
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(mounts["config"].HostPath, "sub", "a")); got != "uno" {
		t.Errorf("configmap after update = %q", got)
	}
	olds, _ := filepath.Glob(filepath.Join(mounts["config"].HostPath, "..2*"))
	if len(olds) != 1 {
		t.Errorf("%d timestamped dirs after an update, want 1 (the old one removed)", len(olds))
	}

	if err := m.Teardown(context.Background(), "uid1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.volumesDir("uid1")); !os.IsNotExist(err) {
		t.Errorf("volumes dir left after Teardown: %v", err)
	}
}

func TestSetupErrors(t *testing.T) {
	m, _ := newManager(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	typ := func(h core.HostPathType) *core.HostPathType { return &h }
	tests := []struct {
		name string
		vol  core.VolumeSource
		want string // in the error; "" for success
	}{
		{"missing configmap", core.VolumeSource{ConfigMap: &core.ConfigMapVolumeSource{LocalObjectReference: core.LocalObjectReference{Name: "absent"}}}, `configmap "absent" not found`},
		{"missing secret", core.VolumeSource{Secret: &core.SecretVolumeSource{SecretName: "absent"}}, `secret "absent" not found`},
		{"missing item key", core.VolumeSource{ConfigMap: &core.ConfigMapVolumeSource{LocalObjectReference: core.LocalObjectReference{Name: "cfg"}, Items: []core.KeyToPath{{Key: "zzz", Path: "z"}}}}, `no key "zzz"`},
		{"path escaping the volume", core.VolumeSource{ConfigMap: &core.ConfigMapVolumeSource{LocalObjectReference: core.LocalObjectReference{Name: "cfg"}, Items: []core.KeyToPath{{Key: "a.conf", Path: "../evil"}}}}, "invalid path"},
		{"hostPath Directory that is a file", core.VolumeSource{HostPath: &core.HostPathVolumeSource{Path: file, Type: typ(core.HostPathDirectory)}}, "is not a directory"},
		{"hostPath File", core.VolumeSource{HostPath: &core.HostPathVolumeSource{Path: file, Type: typ(core.HostPathFile)}}, ""},
		{"hostPath DirectoryOrCreate makes it", core.VolumeSource{HostPath: &core.HostPathVolumeSource{Path: filepath.Join(dir, "new"), Type: typ(core.HostPathDirectoryOrCreate)}}, ""},
		{"hostPath Socket that is a file", core.VolumeSource{HostPath: &core.HostPathVolumeSource{Path: file, Type: typ(core.HostPathSocket)}}, "is not a socket"},
		{"no source", core.VolumeSource{}, "unsupported volume type"},
	}
	for _, tc := range tests {
		pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", UID: "u"}, Spec: core.PodSpec{Volumes: []core.Volume{{Name: "v", VolumeSource: tc.vol}}}}
		_, err := m.Setup(context.Background(), pod)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "new")); err != nil || !fi.IsDir() {
		t.Errorf("DirectoryOrCreate did not create: %v", err)
	}
}
