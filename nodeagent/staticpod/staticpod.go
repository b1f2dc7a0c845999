// Package staticpod runs the pods of a node's manifest directory (--pod-manifest-path), as
// the kubelet's file source and mirror-pod manager do:
//
//   - every *.yaml, *.yml or *.json file of the directory holds one pod; it runs on this
//     node as <name>-<node> (namespace default unless it says otherwise), with a UID
//     that is the hash of the manifest and the node, so an edit is a new pod: the old one
//     is stopped and the new one started; a removed file's pod is stopped;
//   - each runs through the node's pod workers, which never see it deleted from the API;
//   - the API shows it as a mirror pod: the same pod with kubernetes.io/config.mirror,
//     config.source, config.hash annotations and the Node as its owner. Deleting the mirror
//     pod does not stop the pod: the mirror is made again. A mirror whose hash is not the
//     manifest's (an edit, a stale one) is replaced. The pod workers report status to it.
//
// Mirror pods arrive with the node's other pods; the Manager stands in front of the pod
// workers (a PodHandler) and keeps them for itself.
package staticpod

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation"
)

// Annotations of static and mirror pods (Kubernetes' keys).
const (
	AnnotationMirror = core.MirrorPodAnnotationKey   // on the mirror: the static pod's hash
	AnnotationHash   = "kubernetes.io/config.hash"   // the static pod's UID
	AnnotationSource = "kubernetes.io/config.source" // "file"
	AnnotationSeen   = "kubernetes.io/config.seen"   // when the agent first read it
)

// IsMirror reports whether p is a mirror pod.
func IsMirror(p *core.Pod) bool {
	_, ok := p.Annotations[AnnotationMirror]
	return ok
}

// Read reads the pods of dir's manifests for node. A manifest that cannot be read,
// decoded or validated is reported in errs and left out; the others still run.
func Read(dir, node string, now time.Time) (pods []*core.Pod, errs []error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, []error{err}
	}
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pod, err := Decode(data, path, node, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		pods = append(pods, pod)
	}
	return pods, errs
}

// Decode turns one manifest into the pod the node runs (the kubelet's applyDefaults).
func Decode(data []byte, source, node string, now time.Time) (*core.Pod, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var pod core.Pod
	if err := json.Unmarshal(js, &pod); err != nil {
		return nil, err
	}
	if pod.Kind != "Pod" || (pod.APIVersion != "v1" && pod.APIVersion != "") {
		return nil, fmt.Errorf("not a v1 Pod (kind %q, apiVersion %q)", pod.Kind, pod.APIVersion)
	}
	if pod.Name == "" {
		return nil, fmt.Errorf("metadata.name is empty")
	}
	// The UID is the hash of what the manifest says and where it runs: editing the file
	// makes a new pod.
	h := sha256.New()
	h.Write(js)
	fmt.Fprintf(h, "host:%s\nfile:%s", node, source)
	uid := hex.EncodeToString(h.Sum(nil))[:32]

	pod.Name = pod.Name + "-" + strings.ToLower(node)
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	pod.UID = uid
	pod.ResourceVersion = ""
	pod.Spec.NodeName = node
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationHash] = uid
	pod.Annotations[AnnotationSource] = "file"
	pod.Annotations[AnnotationSeen] = now.UTC().Format(time.RFC3339Nano)
	// Static pods tolerate every NoExecute taint: node problems do not evict them.
	if !slices.ContainsFunc(pod.Spec.Tolerations, func(t core.Toleration) bool {
		return t.Key == "" && t.Operator == core.TolerationOpExists && t.Effect == core.TaintEffectNoExecute
	}) {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, core.Toleration{Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute})
	}
	pod.Status = core.PodStatus{Phase: core.PodPending}
	defaults.Object(&pod)
	if errs := validation.Validate(&pod, true); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &pod, nil
}

// Mirror is the API object that shows static pod p: its copy with the mirror annotation,
// owned by the node.
func Mirror(p *core.Pod, node *meta.OwnerReference) *core.Pod {
	m := *p
	m.UID, m.ResourceVersion = "", ""
	m.Annotations = map[string]string{}
	for k, v := range p.Annotations {
		m.Annotations[k] = v
	}
	m.Annotations[AnnotationMirror] = p.UID
	if node != nil {
		m.OwnerReferences = []meta.OwnerReference{*node}
	}
	m.Status = core.PodStatus{}
	return &m
}

// PodHandler is what pods are delivered to (the pod workers).
type PodHandler interface {
	Upsert(pod *core.Pod)
	Delete(pod *core.Pod)
}

// API is what the Manager does with mirror pods.
type API interface {
	CreateMirror(ctx context.Context, pod *core.Pod) error
	// DeleteMirror deletes a mirror pod at once (grace 0), if its UID is still uid.
	DeleteMirror(ctx context.Context, namespace, name, uid string) error
}

// Config of a Manager.
type Config struct {
	Dir    string
	Node   string
	Owner  *meta.OwnerReference // the Node, the mirror pods' owner
	Next   PodHandler           // the pod workers
	API    API
	Period time.Duration // how often the directory is read (default 5s)
	Log    *slog.Logger
}

// Manager runs a node's static pods and keeps their mirror pods.
type Manager struct {
	cfg Config

	mu      sync.Mutex
	static  map[string]*core.Pod // by full name (namespace/name): what the manifests say
	mirrors map[string]*core.Pod // by full name: the mirror pods the API has
	synced  bool
	kick    chan struct{}
}

// New returns a Manager; Run starts it.
func New(cfg Config) *Manager {
	if cfg.Period <= 0 {
		cfg.Period = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Manager{cfg: cfg, static: map[string]*core.Pod{}, mirrors: map[string]*core.Pod{}, kick: make(chan struct{}, 1)}
}

func fullName(p *core.Pod) string { return p.Namespace + "/" + p.Name }

// Synced reports whether the manifests have been read once (before, the pod workers must
// not take the static pods' containers for orphans).
func (m *Manager) Synced() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.synced
}

// Run reads the manifests every period and keeps the mirrors until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Period)
	defer t.Stop()
	for {
		m.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.kick:
		}
	}
}

// sync reads the manifests, starts, replaces and stops static pods, and makes their
// mirrors match.
func (m *Manager) sync(ctx context.Context) {
	pods, errs := Read(m.cfg.Dir, m.cfg.Node, time.Now())
	for _, err := range errs {
		m.cfg.Log.Warn("static pod manifest", "err", err)
	}
	want := map[string]*core.Pod{}
	for _, p := range pods {
		want[fullName(p)] = p
	}
	m.mu.Lock()
	var stop, start []*core.Pod
	for name, old := range m.static {
		if p, ok := want[name]; !ok || p.UID != old.UID {
			stop = append(stop, old)
			delete(m.static, name)
		}
	}
	for name, p := range want {
		if _, ok := m.static[name]; !ok {
			m.static[name] = p
			start = append(start, m.withMirrorStatus(p))
		}
	}
	m.synced = true
	m.mu.Unlock()
	for _, p := range stop {
		m.cfg.Log.Info("static pod stopped", "pod", fullName(p), "uid", p.UID)
		m.cfg.Next.Delete(p)
	}
	for _, p := range start {
		m.cfg.Log.Info("static pod started", "pod", fullName(p), "uid", p.UID)
		m.cfg.Next.Upsert(p)
	}
	m.reconcileMirrors(ctx)
}

// withMirrorStatus is the static pod as the workers see it: with its mirror's status and
// resourceVersion (they compare the status they compute with what the API has). Called
// with mu held.
func (m *Manager) withMirrorStatus(p *core.Pod) *core.Pod {
	mirror, ok := m.mirrors[fullName(p)]
	if !ok || mirror.Annotations[AnnotationMirror] != p.UID {
		return p
	}
	c := *p
	c.Status, c.ResourceVersion = mirror.Status, mirror.ResourceVersion
	return &c
}

// reconcileMirrors deletes mirrors of no static pod (or of an older manifest) and
// creates those missing.
func (m *Manager) reconcileMirrors(ctx context.Context) {
	m.mu.Lock()
	var del []*core.Pod
	var create []*core.Pod
	for name, mirror := range m.mirrors {
		p, ok := m.static[name]
		if !ok || mirror.Annotations[AnnotationMirror] != p.UID || mirror.DeletionTimestamp != nil {
			del = append(del, mirror)
		}
	}
	for name, p := range m.static {
		if _, ok := m.mirrors[name]; !ok {
			create = append(create, Mirror(p, m.cfg.Owner))
		}
	}
	m.mu.Unlock()
	for _, mirror := range del {
		if err := m.cfg.API.DeleteMirror(ctx, mirror.Namespace, mirror.Name, mirror.UID); err != nil {
			m.cfg.Log.Warn("delete mirror pod", "pod", fullName(mirror), "err", err)
		}
	}
	for _, mirror := range create {
		if err := m.cfg.API.CreateMirror(ctx, mirror); err != nil {
			m.cfg.Log.Warn("create mirror pod", "pod", fullName(mirror), "err", err)
		}
	}
}

// poke asks for a sync soon.
func (m *Manager) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Upsert receives a pod bound to the node: mirror pods are kept here (their status goes
// to the static pod's worker), others pass on.
func (m *Manager) Upsert(pod *core.Pod) {
	if !IsMirror(pod) {
		m.cfg.Next.Upsert(pod)
		return
	}
	m.mu.Lock()
	m.mirrors[fullName(pod)] = pod
	p, ok := m.static[fullName(pod)]
	current := ok && pod.Annotations[AnnotationMirror] == p.UID && pod.DeletionTimestamp == nil
	if current {
		p = m.withMirrorStatus(p)
	}
	m.mu.Unlock()
	if current {
		m.cfg.Next.Upsert(p)
		return
	}
	m.poke() // stale or being deleted: replaced by the next sync
}

// Delete receives a pod gone from the API: a mirror of a running static pod is made again.
func (m *Manager) Delete(pod *core.Pod) {
	if !IsMirror(pod) {
		m.cfg.Next.Delete(pod)
		return
	}
	m.mu.Lock()
	if cur, ok := m.mirrors[fullName(pod)]; ok && cur.UID == pod.UID {
		delete(m.mirrors, fullName(pod))
	}
	m.mu.Unlock()
	m.poke()
}
