// Package volumes prepares pods' volumes on the node, under <root>/pods/<uid>/volumes:
//
//   - emptyDir: a directory (medium Memory: a tmpfs mounted there, sizeLimit its size);
//   - hostPath: the host's path, checked (or created) by its type;
//   - configMap, secret, downwardAPI, projected: files written atomically, as the kubelet's
//     AtomicWriter does — a timestamped directory, a "..data" symlink to it swapped by
//     rename, and top-level symlinks through ..data — so a container sees either the old
//     or the new set, never a mix, and changes propagate on every refresh;
//   - persistentVolumeClaim and generic ephemeral (the claim <pod>-<volume>, which must be
//     the pod's): the path of the hostPath or local PersistentVolume the claim is bound to;
//     a skiff.dev/local volume's directory is made here, under the node's local volume
//     directory, the first time a pod uses it (see localvolumes.go). A claim not yet bound
//     fails the setup, so the pod waits, with a FailedMount event saying for what.
//
// Setup is idempotent and runs on every pod sync; it is how updates reach the files.
package volumes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/quota"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/fieldpath"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Objects reads what volumes refer to.
type Objects interface {
	ConfigMap(ctx context.Context, namespace, name string) (*core.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*core.Secret, error)
	PersistentVolumeClaim(ctx context.Context, namespace, name string) (*core.PersistentVolumeClaim, error)
	PersistentVolume(ctx context.Context, name string) (*core.PersistentVolume, error)
	// UpdatePersistentVolume writes a volume (the node's only write to volumes: the
	// skiff.dev/local-volume finalizer of its local volumes).
	UpdatePersistentVolume(ctx context.Context, pv *core.PersistentVolume) (*core.PersistentVolume, error)
}

// Manager sets up volumes under root.
type Manager struct {
	root    string
	objects Objects
	nodeIP  string
	// Allocatable is the node's, for resourceFieldRef limits a container does not set.
	Allocatable func() core.ResourceList
	// Tokens issues the ServiceAccount tokens of serviceAccountToken projections; without
	// it such a volume fails to set up.
	Tokens Tokens
	// LocalDir holds the node's skiff.dev/local volumes (LocalVolumeDir(root) by default).
	LocalDir string
}

// Tokens issues bound ServiceAccount tokens (nodeagent/token's Manager, over TokenRequest).
type Tokens interface {
	Token(ctx context.Context, namespace, name string, tr *authentication.TokenRequest) (*authentication.TokenRequest, error)
	// ForgetPod drops what is kept for the pod uid once its volumes are gone.
	ForgetPod(uid string)
}

// New returns a Manager keeping volumes under root/pods.
func New(root string, objects Objects, nodeIP string) *Manager {
	return &Manager{root: root, objects: objects, nodeIP: nodeIP, LocalDir: LocalVolumeDir(root)}
}

func (m *Manager) volumesDir(uid string) string {
	return filepath.Join(m.root, "pods", uid, "volumes")
}

// Setup prepares every volume of pod; the result maps volume names to host paths.
func (m *Manager) Setup(ctx context.Context, pod *core.Pod) (map[string]runtime.Mount, error) {
	out := map[string]runtime.Mount{}
	for _, v := range pod.Spec.Volumes {
		mt, err := m.setup(ctx, pod, &v)
		if err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err)
		}
		out[v.Name] = mt
	}
	return out, nil
}

func (m *Manager) setup(ctx context.Context, pod *core.Pod, v *core.Volume) (runtime.Mount, error) {
	dir := func(kind string) string { return filepath.Join(m.volumesDir(pod.UID), kind, v.Name) }
	switch {
	case v.EmptyDir != nil:
		p := dir("empty-dir")
		if err := makeOpenDir(p); err != nil {
			return runtime.Mount{}, err
		}
		if v.EmptyDir.Medium == core.StorageMediumMemory {
			if err := mountTmpfs(p, m.memoryVolumeSize(pod, v.EmptyDir)); err != nil {
				return runtime.Mount{}, err
			}
		}
		if err := m.ownOnce(pod, v.Name, p, false); err != nil {
			return runtime.Mount{}, err
		}
		return runtime.Mount{HostPath: p}, nil
	case v.HostPath != nil:
		if err := checkHostPath(v.HostPath); err != nil {
			return runtime.Mount{}, err
		}
		return runtime.Mount{HostPath: v.HostPath.Path}, nil
	case v.ConfigMap != nil:
		files, err := m.configMapFiles(ctx, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode(v.ConfigMap.DefaultMode, core.ConfigMapVolumeSourceDefaultMode))
		if err != nil {
			return runtime.Mount{}, err
		}
		return m.writeAtomic(dir("configmap"), files, fsGroupOf(pod))
	case v.Secret != nil:
		files, err := m.secretFiles(ctx, pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode(v.Secret.DefaultMode, core.SecretVolumeSourceDefaultMode))
		if err != nil {
			return runtime.Mount{}, err
		}
		return m.writeAtomic(dir("secret"), files, fsGroupOf(pod))
	case v.DownwardAPI != nil:
		files, err := m.downwardFiles(pod, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode, core.DownwardAPIVolumeSourceDefaultMode))
		if err != nil {
			return runtime.Mount{}, err
		}
		return m.writeAtomic(dir("downward-api"), files, fsGroupOf(pod))
	case v.Projected != nil:
		files, err := m.projectedFiles(ctx, pod, v.Projected)
		if err != nil {
			return runtime.Mount{}, err
		}
		return m.writeAtomic(dir("projected"), files, fsGroupOf(pod))
	case v.PersistentVolumeClaim != nil:
		return m.claimMount(ctx, pod, v.Name, v.PersistentVolumeClaim.ClaimName, false, v.PersistentVolumeClaim.ReadOnly)
	case v.Ephemeral != nil:
		// An ephemeral volume has no readOnly of its own (the field was dropped before
		// GA): volumeMounts[].readOnly makes a container's view read-only.
		return m.claimMount(ctx, pod, v.Name, pod.Name+"-"+v.Name, true, false)
	}
	return runtime.Mount{}, fmt.Errorf("unsupported volume type")
}

// Teardown unmounts and removes a pod's volumes (host paths are left alone).
func (m *Manager) Teardown(_ context.Context, uid string) error {
	if m.Tokens != nil {
		m.Tokens.ForgetPod(uid)
	}
	dir := m.volumesDir(uid)
	entries, _ := filepath.Glob(filepath.Join(dir, "empty-dir", "*"))
	for _, e := range entries {
		_ = syscall.Unmount(e, syscall.MNT_DETACH)
	}
	return os.RemoveAll(dir)
}

// makeOpenDir makes a directory every user of the pod may write to (0777, as the kubelet's
// emptyDir), past the umask. The mode is set only when the directory is made: later, the
// setgid bit an fsGroup added must stay.
func makeOpenDir(p string) error {
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(p, 0o777); err != nil {
		return err
	}
	return os.Chmod(p, 0o777)
}

func mode(m *int32, def int32) os.FileMode {
	if m != nil {
		return os.FileMode(*m) & 0o777
	}
	return os.FileMode(def)
}

// memoryVolumeSize is the size of a memory-backed emptyDir's tmpfs, as the kubelet's
// calculateEmptyDirMemorySize: the node's allocatable memory, or less — the pod's memory
// limit (when every container has one) and the volume's sizeLimit, whichever is smallest.
// Without it a tmpfs gets half the host's RAM, whatever the pod may use. 0: no size known.
func (m *Manager) memoryVolumeSize(pod *core.Pod, ed *core.EmptyDirVolumeSource) int64 {
	var size int64
	if m.Allocatable != nil {
		if q, ok := m.Allocatable()[core.ResourceMemory]; ok {
			size = q.Value()
		}
	}
	smaller := func(v int64) {
		if v > 0 && (size == 0 || v <= size) {
			size = v
		}
	}
	if l, ok := podMemoryLimit(pod); ok {
		smaller(l)
	}
	if ed.SizeLimit != nil {
		smaller(ed.SizeLimit.Value())
	}
	return size
}

// podMemoryLimit is the pod's memory limit: its containers' limits added up (an init
// container's if larger), known only when every container has one — the pod cgroup's.
func podMemoryLimit(pod *core.Pod) (int64, bool) {
	for _, l := range [][]core.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range l {
			if _, ok := c.Resources.Limits[core.ResourceMemory]; !ok {
				return 0, false
			}
		}
	}
	q := quota.PodLimits(pod)[core.ResourceMemory]
	return q.Value(), true
}

// mountTmpfs mounts a tmpfs of size bytes (0: the kernel's default) at p.
func mountTmpfs(p string, size int64) error {
	if mounted(p) {
		return nil
	}
	opts := "mode=0777"
	if size > 0 {
		opts += fmt.Sprintf(",size=%d", size)
	}
	if err := syscall.Mount("tmpfs", p, "tmpfs", 0, opts); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	return nil
}

// mounted reports whether p is a mount point (its device differs from its parent's).
func mounted(p string) bool {
	var st, parent syscall.Stat_t
	if syscall.Stat(p, &st) != nil || syscall.Stat(filepath.Dir(p), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// checkHostPath applies a hostPath volume's type, creating what the *OrCreate types ask for.
func checkHostPath(h *core.HostPathVolumeSource) error {
	t := core.HostPathType("")
	if h.Type != nil {
		t = *h.Type
	}
	fi, err := os.Stat(h.Path)
	exists := err == nil
	switch t {
	case core.HostPathUnset:
		return nil
	case core.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(h.Path, 0o755)
		}
		if !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", h.Path)
		}
	case core.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", h.Path)
		}
	case core.HostPathDirectory:
		if !exists || !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", h.Path)
		}
	case core.HostPathFile:
		if !exists || !fi.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", h.Path)
		}
	case core.HostPathSocket:
		if !exists || fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", h.Path)
		}
	case core.HostPathCharDev:
		if !exists || fi.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", h.Path)
		}
	case core.HostPathBlockDev:
		if !exists || fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", h.Path)
		}
	default:
		return fmt.Errorf("unknown hostPath type %q", t)
	}
	return nil
}

// file is one file of a projected volume.
type file struct {
	data []byte
	mode os.FileMode
}

func project(data map[string][]byte, items []core.KeyToPath, def os.FileMode, what string) (map[string]file, error) {
	out := map[string]file{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = file{v, def}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("configuration of %s has no key %q", what, it.Key)
		}
		out[it.Path] = file{v, mode(it.Mode, int32(def))}
	}
	return out, nil
}

func (m *Manager) configMapFiles(ctx context.Context, ns, name string, items []core.KeyToPath, optional *bool, def os.FileMode) (map[string]file, error) {
	cm, err := m.objects.ConfigMap(ctx, ns, name)
	if err != nil {
		if client.IsNotFound(err) {
			if optional != nil && *optional {
				return map[string]file{}, nil
			}
			return nil, fmt.Errorf("configmap %q not found", name)
		}
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return project(data, items, def, "configmap "+name)
}

func (m *Manager) secretFiles(ctx context.Context, ns, name string, items []core.KeyToPath, optional *bool, def os.FileMode) (map[string]file, error) {
	s, err := m.objects.Secret(ctx, ns, name)
	if err != nil {
		if client.IsNotFound(err) {
			if optional != nil && *optional {
				return map[string]file{}, nil
			}
			return nil, fmt.Errorf("secret %q not found", name)
		}
		return nil, err
	}
	return project(s.Data, items, def, "secret "+name)
}

func (m *Manager) downwardFiles(pod *core.Pod, items []core.DownwardAPIVolumeFile, def os.FileMode) (map[string]file, error) {
	out := map[string]file{}
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = fieldpath.PodField(pod, it.FieldRef.FieldPath, pod.Status.PodIP, m.nodeIP)
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, fmt.Errorf("container %q not found", it.ResourceFieldRef.ContainerName)
			}
			var alloc core.ResourceList
			if m.Allocatable != nil {
				alloc = m.Allocatable()
			}
			v, err = fieldpath.ContainerResource(c, it.ResourceFieldRef, alloc)
		}
		if err != nil {
			return nil, err
		}
		out[it.Path] = file{[]byte(v), mode(it.Mode, int32(def))}
	}
	return out, nil
}

func findContainer(pod *core.Pod, name string) *core.Container {
	for _, l := range [][]core.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range l {
			if l[i].Name == name {
				return &l[i]
			}
		}
	}
	return nil
}

func (m *Manager) projectedFiles(ctx context.Context, pod *core.Pod, p *core.ProjectedVolumeSource) (map[string]file, error) {
	def := mode(p.DefaultMode, core.ProjectedVolumeSourceDefaultMode)
	out := map[string]file{}
	merge := func(files map[string]file, err error) error {
		if err != nil {
			return err
		}
		for k, v := range files {
			out[k] = v
		}
		return nil
	}
	for _, s := range p.Sources {
		var err error
		switch {
		case s.ConfigMap != nil:
			err = merge(m.configMapFiles(ctx, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, def))
		case s.Secret != nil:
			err = merge(m.secretFiles(ctx, pod.Namespace, s.Secret.Name, s.Secret.Items, s.Secret.Optional, def))
		case s.DownwardAPI != nil:
			err = merge(m.downwardFiles(pod, s.DownwardAPI.Items, def))
		case s.ServiceAccountToken != nil:
			err = merge(m.tokenFile(ctx, pod, s.ServiceAccountToken, def))
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tokenFile is a serviceAccountToken projection: a token of the pod's ServiceAccount for the
// projection's audience (none: the API server's own), bound to the pod so that it stops
// working when the pod is deleted, in a file of the volume's default mode. Each setup asks
// Tokens, which answers from its cache until the token is due for refresh; the atomic write
// then swaps the new token in.
func (m *Manager) tokenFile(ctx context.Context, pod *core.Pod, p *core.ServiceAccountTokenProjection, def os.FileMode) (map[string]file, error) {
	if m.Tokens == nil {
		return nil, fmt.Errorf("no ServiceAccount token issuer for the serviceAccountToken projection")
	}
	var auds []string
	if p.Audience != "" {
		auds = []string{p.Audience}
	}
	tr, err := m.Tokens.Token(ctx, pod.Namespace, pod.Spec.ServiceAccountName, &authentication.TokenRequest{
		Spec: authentication.TokenRequestSpec{
			Audiences:         auds,
			ExpirationSeconds: p.ExpirationSeconds,
			BoundObjectRef:    &authentication.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
		},
	})
	if err != nil {
		return nil, err
	}
	return map[string]file{p.Path: {[]byte(tr.Status.Token), def}}, nil
}

// claimMount mounts the volume a claim of pod is bound to. A local volume mounted
// read-write gets the pod's fsGroup (as the kubelet's local plugin does); a hostPath one
// never does.
func (m *Manager) claimMount(ctx context.Context, pod *core.Pod, volume, claim string, ephemeral, readOnly bool) (runtime.Mount, error) {
	p, local, err := m.claimPath(ctx, pod, claim, ephemeral)
	if err != nil {
		return runtime.Mount{}, err
	}
	if local && !readOnly {
		if err := m.ownOnce(pod, volume, p, false); err != nil {
			return runtime.Mount{}, err
		}
	}
	return runtime.Mount{HostPath: p, ReadOnly: readOnly}, nil
}

// claimPath is the host path of the volume a claim of pod is bound to, and whether it is a
// local volume. An ephemeral volume's claim must be the pod's own (a claim of that name made
// by someone else is not).
func (m *Manager) claimPath(ctx context.Context, pod *core.Pod, name string, ephemeral bool) (string, bool, error) {
	pvc, err := m.objects.PersistentVolumeClaim(ctx, pod.Namespace, name)
	if err != nil {
		if client.IsNotFound(err) {
			return "", false, fmt.Errorf("persistentvolumeclaim %q not found", name)
		}
		return "", false, err
	}
	if ephemeral {
		if ref := meta.GetControllerOf(&pvc.ObjectMeta); ref == nil || ref.UID != pod.UID {
			return "", false, fmt.Errorf("PVC %s/%s was not created for pod %s/%s (pod is not owner)", pod.Namespace, name, pod.Namespace, pod.Name)
		}
	}
	if pvc.Spec.VolumeName == "" || pvc.Status.Phase != core.ClaimBound {
		return "", false, fmt.Errorf("persistentvolumeclaim %q is not bound", name)
	}
	pv, err := m.objects.PersistentVolume(ctx, pvc.Spec.VolumeName)
	if err != nil {
		return "", false, err
	}
	switch {
	case pv.Spec.HostPath != nil:
		if err := checkHostPath(pv.Spec.HostPath); err != nil {
			return "", false, err
		}
		return pv.Spec.HostPath.Path, false, nil
	case pv.Spec.Local != nil:
		if pv.Annotations[core.AnnDynamicallyProvisioned] == storage.LocalProvisioner {
			p, err := m.prepareLocal(ctx, pv)
			return p, true, err
		}
		return pv.Spec.Local.Path, true, nil
	}
	return "", false, fmt.Errorf("persistentvolume %q is neither hostPath nor local", pv.Name)
}

// writeAtomic makes dir hold exactly files, switching from the previous set in one rename.
// The volume is read-only to containers. With an fsGroup, every file is the group's and
// group-readable (so a 0400 file is 0440), as the kubelet's ownership step makes it.
func (m *Manager) writeAtomic(dir string, files map[string]file, fsGroup *int64) (runtime.Mount, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return runtime.Mount{}, err
	}
	mt := runtime.Mount{HostPath: dir, ReadOnly: true}
	if fsGroup != nil {
		// The modes the files end with, so that an unchanged set is recognized as such.
		grouped := make(map[string]file, len(files))
		for p, f := range files {
			grouped[p] = file{f.data, f.mode | roMask}
		}
		files = grouped
	}
	dataLink := filepath.Join(dir, "..data")
	if same(dataLink, files) {
		return mt, nil
	}
	ts := filepath.Join(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05.000000000"))
	if err := os.Mkdir(ts, 0o755); err != nil {
		return runtime.Mount{}, err
	}
	for p, f := range files {
		if strings.Contains(filepath.Clean(p), "..") || filepath.IsAbs(p) {
			return runtime.Mount{}, fmt.Errorf("invalid path %q", p)
		}
		full := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return runtime.Mount{}, err
		}
		if err := os.WriteFile(full, f.data, f.mode); err != nil {
			return runtime.Mount{}, err
		}
		_ = os.Chmod(full, f.mode)
	}
	old, _ := os.Readlink(dataLink)
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return runtime.Mount{}, err
	}
	if err := os.Rename(tmp, dataLink); err != nil {
		return runtime.Mount{}, err
	}
	// Top-level names point through ..data; drop the ones no longer projected.
	want := map[string]bool{}
	for p := range files {
		top := strings.SplitN(filepath.Clean(p), string(filepath.Separator), 2)[0]
		want[top] = true
		link := filepath.Join(dir, top)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", top), link); err != nil {
				return runtime.Mount{}, err
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !want[e.Name()] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	if old != "" {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	if err := setOwnership(dir, fsGroup, nil, true); err != nil {
		return runtime.Mount{}, err
	}
	return mt, nil
}

// same reports whether the files behind link are exactly files.
func same(link string, files map[string]file) bool {
	target, err := filepath.EvalSymlinks(link)
	if err != nil {
		return false
	}
	var have []string
	_ = filepath.Walk(target, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(target, p)
			have = append(have, rel)
		}
		return nil
	})
	if len(have) != len(files) {
		return false
	}
	sort.Strings(have)
	for _, rel := range have {
		f, ok := files[rel]
		if !ok {
			return false
		}
		fi, err := os.Stat(filepath.Join(target, rel))
		if err != nil || fi.Mode().Perm() != f.mode.Perm() {
			return false
		}
		data, err := os.ReadFile(filepath.Join(target, rel))
		if err != nil || string(data) != string(f.data) {
			return false
		}
	}
	return true
}
