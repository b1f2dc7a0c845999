package volumes

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

const testGroup = 4321

// owner is p's group and mode (setgid included), without following a symlink.
func owner(t *testing.T, p string) (int64, os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int64(fi.Sys().(*syscall.Stat_t).Gid), fi.Mode() & (os.ModePerm | os.ModeSetgid)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to any gid needs root")
	}
}

func podWithGroup(policy *core.PodFSGroupChangePolicy, volumes ...core.Volume) *core.Pod {
	g := int64(testGroup)
	return &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "web", UID: "pod-uid"},
		Spec: core.PodSpec{SecurityContext: &core.PodSecurityContext{FSGroup: &g, FSGroupChangePolicy: policy}, Volumes: volumes}}
}

func TestFSGroupEmptyDir(t *testing.T) {
	requireRoot(t)
	m, _ := newManager(t)
	pod := podWithGroup(nil, core.Volume{Name: "scratch", VolumeSource: core.VolumeSource{EmptyDir: &core.EmptyDirVolumeSource{}}})
	mounts, err := m.Setup(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	dir := mounts["scratch"].HostPath
	if g, mode := owner(t, dir); g != testGroup || mode != 0o777|os.ModeSetgid {
		t.Fatalf("emptyDir group %d mode %v, want %d drwxrwsrwx", g, mode, testGroup)
	}
	// setgid: what the container makes later belongs to the group, whoever makes it.
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if g, _ := owner(t, filepath.Join(dir, "sub")); g != testGroup {
		t.Errorf("new directory group %d, want %d", g, testGroup)
	}
	// Ownership is applied once per pod (as at mount time), and the next sync keeps setgid.
	if err := os.WriteFile(filepath.Join(dir, "private"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "private"), -1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if g, mode := owner(t, filepath.Join(dir, "private")); g != 0 || mode != 0o600 {
		t.Errorf("a later sync walked the volume again: group %d mode %v", g, mode)
	}
	if _, mode := owner(t, dir); mode&os.ModeSetgid == 0 {
		t.Error("a later sync dropped setgid")
	}
}

func TestFSGroupProjectedFiles(t *testing.T) {
	requireRoot(t)
	m, _ := newManager(t)
	mode := int32(0o400)
	pod := podWithGroup(nil,
		core.Volume{Name: "secret", VolumeSource: core.VolumeSource{Secret: &core.SecretVolumeSource{SecretName: "creds", DefaultMode: &mode}}},
		core.Volume{Name: "config", VolumeSource: core.VolumeSource{ConfigMap: &core.ConfigMapVolumeSource{LocalObjectReference: core.LocalObjectReference{Name: "cfg"}}}},
		core.Volume{Name: "info", VolumeSource: core.VolumeSource{DownwardAPI: &core.DownwardAPIVolumeSource{Items: []core.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &core.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
		core.Volume{Name: "proj", VolumeSource: core.VolumeSource{Projected: &core.ProjectedVolumeSource{Sources: []core.VolumeProjection{
			{Secret: &core.SecretProjection{LocalObjectReference: core.LocalObjectReference{Name: "creds"}}}}}}},
	)
	mounts, err := m.Setup(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		mode os.FileMode
	}{
		{filepath.Join(mounts["secret"].HostPath, "password"), 0o440}, // 0400 + group read
		{filepath.Join(mounts["config"].HostPath, "a.conf"), 0o644},
		{filepath.Join(mounts["info"].HostPath, "name"), 0o644},
		{filepath.Join(mounts["proj"].HostPath, "password"), 0o644},
	}
	for _, tc := range tests {
		real, err := filepath.EvalSymlinks(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if g, mode := owner(t, real); g != testGroup || mode != tc.mode {
			t.Errorf("%s: group %d mode %v, want %d %v", tc.file, g, mode, testGroup, tc.mode)
		}
		if g, mode := owner(t, filepath.Dir(real)); g != testGroup || mode&os.ModeSetgid == 0 {
			t.Errorf("%s: directory group %d mode %v, want %d with setgid", tc.file, g, mode, testGroup)
		}
		if g, _ := owner(t, tc.file); g != testGroup {
			t.Errorf("%s: link group %d", tc.file, g)
		}
	}
	// The grouped modes are what the next sync expects: nothing is rewritten.
	before, _ := os.Readlink(filepath.Join(mounts["secret"].HostPath, "..data"))
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Readlink(filepath.Join(mounts["secret"].HostPath, "..data")); after != before {
		t.Errorf("unchanged secret rewritten: %s -> %s", before, after)
	}
}

// claimPod is a pod whose volume "data" is the claim "data" bound to pv.
func claimPod(o *objects, pv *core.PersistentVolume, policy *core.PodFSGroupChangePolicy, readOnly bool) *core.Pod {
	o.pvs = map[string]*core.PersistentVolume{pv.Name: pv}
	o.claims = map[string]*core.PersistentVolumeClaim{"data": {ObjectMeta: meta.ObjectMeta{Name: "data", Namespace: "ns"},
		Spec: core.PersistentVolumeClaimSpec{VolumeName: pv.Name}, Status: core.PersistentVolumeClaimStatus{Phase: core.ClaimBound}}}
	return podWithGroup(policy, core.Volume{Name: "data", VolumeSource: core.VolumeSource{
		PersistentVolumeClaim: &core.PersistentVolumeClaimVolumeSource{ClaimName: "data", ReadOnly: readOnly}}})
}

// populated is a volume directory holding a root-owned private file in a private directory.
func populated(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d", "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d/f", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFSGroupClaimVolumes(t *testing.T) {
	requireRoot(t)
	always, onMismatch := core.FSGroupChangeAlways, core.FSGroupChangeOnRootMismatch
	local := func(p string) core.PersistentVolumeSource {
		return core.PersistentVolumeSource{Local: &core.LocalVolumeSource{Path: p}}
	}
	hostPath := func(p string) core.PersistentVolumeSource {
		return core.PersistentVolumeSource{HostPath: &core.HostPathVolumeSource{Path: p}}
	}
	tests := []struct {
		name     string
		source   func(string) core.PersistentVolumeSource
		policy   *core.PodFSGroupChangePolicy
		readOnly bool
		// rootReady gives the root the group, modes and setgid beforehand.
		rootReady bool
		// want: whether the file and directory inside end up the group's.
		want bool
	}{
		{"local, default policy (Always)", local, nil, false, false, true},
		{"local, Always, root already right", local, &always, false, true, true},
		{"local, OnRootMismatch, root wrong", local, &onMismatch, false, false, true},
		{"local, OnRootMismatch, root right: skipped", local, &onMismatch, false, true, false},
		{"local mounted readOnly: untouched", local, nil, true, false, false},
		{"hostPath: untouched, as in Kubernetes", hostPath, nil, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, o := newManager(t)
			dir := populated(t)
			if tc.rootReady {
				if err := os.Chown(dir, -1, testGroup); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, 0o770|os.ModeSetgid); err != nil {
					t.Fatal(err)
				}
			}
			pv := &core.PersistentVolume{ObjectMeta: meta.ObjectMeta{Name: "pv"}, Spec: core.PersistentVolumeSpec{PersistentVolumeSource: tc.source(dir)}}
			if _, err := m.Setup(context.Background(), claimPod(o, pv, tc.policy, tc.readOnly)); err != nil {
				t.Fatal(err)
			}
			g, mode := owner(t, filepath.Join(dir, "d", "f"))
			gd, dmode := owner(t, filepath.Join(dir, "d"))
			gl, _ := owner(t, filepath.Join(dir, "link"))
			if tc.want {
				if g != testGroup || mode != 0o660 || gd != testGroup || dmode != 0o770|os.ModeSetgid || gl != testGroup {
					t.Errorf("file %d %v, dir %d %v, link %d; want the group's, 0660 and drwxrws---", g, mode, gd, dmode, gl)
				}
				if g, mode := owner(t, dir); g != testGroup || mode&(0o770|os.ModeSetgid) != 0o770|os.ModeSetgid {
					t.Errorf("root %d %v", g, mode)
				}
			} else if g != 0 || mode != 0o600 || gd != 0 || dmode != 0o700 {
				t.Errorf("changed: file %d %v, dir %d %v", g, mode, gd, dmode)
			}
		})
	}
}

// A skiff.dev/local volume made for the pod is the group's from the start.
func TestFSGroupProvisionedLocalVolume(t *testing.T) {
	requireRoot(t)
	m, o := newManager(t)
	dir := filepath.Join(m.LocalDir, "pvc-1")
	pv := &core.PersistentVolume{ObjectMeta: meta.ObjectMeta{Name: "pvc-1", Annotations: map[string]string{core.AnnDynamicallyProvisioned: "skiff.dev/local"}},
		Spec: core.PersistentVolumeSpec{PersistentVolumeSource: core.PersistentVolumeSource{Local: &core.LocalVolumeSource{Path: dir}}}}
	pod := claimPod(o, pv, nil, false)
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if g, mode := owner(t, dir); g != testGroup || mode != 0o777|os.ModeSetgid {
		t.Fatalf("group %d mode %v, want %d drwxrwsrwx", g, mode, testGroup)
	}
	// The next sync (prepareLocal again) keeps the setgid bit.
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if _, mode := owner(t, dir); mode != 0o777|os.ModeSetgid {
		t.Fatalf("after a second sync: %v", mode)
	}
}
