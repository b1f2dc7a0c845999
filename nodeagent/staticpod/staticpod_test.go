package staticpod

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

const manifest = `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - {name: c, image: busybox, command: ["sleep", "3600"]}
`

// A manifest becomes the pod the node runs: named for the node, in default, bound to it,
// annotated, tolerating NoExecute taints, with a UID that follows the manifest's content.
func TestDecode(t *testing.T) {
	now := time.Unix(1000, 0)
	p, err := Decode([]byte(manifest), "/m/web.yaml", "node-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "web-node-1" || p.Namespace != "default" || p.Spec.NodeName != "node-1" || p.UID == "" {
		t.Errorf("pod %s/%s on %q uid %q", p.Namespace, p.Name, p.Spec.NodeName, p.UID)
	}
	if p.Annotations[AnnotationHash] != p.UID || p.Annotations[AnnotationSource] != "file" || p.Annotations[AnnotationSeen] == "" {
		t.Errorf("annotations %v", p.Annotations)
	}
	if !slices.ContainsFunc(p.Spec.Tolerations, func(t core.Toleration) bool {
		return t.Operator == core.TolerationOpExists && t.Effect == core.TaintEffectNoExecute
	}) {
		t.Errorf("tolerations %v", p.Spec.Tolerations)
	}
	again, _ := Decode([]byte(manifest), "/m/web.yaml", "node-1", now.Add(time.Hour))
	edited, _ := Decode([]byte(manifest+"  restartPolicy: Never\n"), "/m/web.yaml", "node-1", now)
	other, _ := Decode([]byte(manifest), "/m/web.yaml", "node-2", now)
	if again.UID != p.UID || edited.UID == p.UID || other.UID == p.UID {
		t.Errorf("uids: same %s %s, edited %s, other node %s", p.UID, again.UID, edited.UID, other.UID)
	}
	m := Mirror(p, &meta.OwnerReference{Kind: "Node", Name: "node-1"})
	if m.UID != "" || m.Annotations[AnnotationMirror] != p.UID || len(m.OwnerReferences) != 1 || p.Annotations[AnnotationMirror] != "" {
		t.Errorf("mirror %+v", m.ObjectMeta)
	}
	for _, bad := range []string{"kind: Service\napiVersion: v1\nmetadata: {name: x}\n", "kind: Pod\napiVersion: v1\nmetadata: {name: x}\nspec: {}\n", ":"} {
		if _, err := Decode([]byte(bad), "f", "n", now); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

type recorder struct {
	mu     sync.Mutex
	events []string
	pods   map[string]*core.Pod // by UID: what the workers run
}

func (r *recorder) Upsert(p *core.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "upsert "+p.Name)
	r.pods[p.UID] = p
}

func (r *recorder) Delete(p *core.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "delete "+p.Name)
	delete(r.pods, p.UID)
}

type fakeAPI struct {
	mu      sync.Mutex
	created []*core.Pod
	deleted []string
}

func (f *fakeAPI) CreateMirror(_ context.Context, p *core.Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, p)
	return nil
}

func (f *fakeAPI) DeleteMirror(_ context.Context, _, name, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, name+"/"+uid)
	return nil
}

// The Manager starts, replaces and stops static pods as their manifests come, change and
// go, keeps one current mirror per static pod, and passes other pods on untouched.
func TestManager(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(manifest)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a manifest"), 0o644)
	next := &recorder{pods: map[string]*core.Pod{}}
	api := &fakeAPI{}
	m := New(Config{Dir: dir, Node: "n1", Next: next, API: api, Owner: &meta.OwnerReference{Kind: "Node", Name: "n1"}})
	ctx := context.Background()
	if m.Synced() {
		t.Fatal("synced before reading")
	}
	m.sync(ctx)
	if !m.Synced() || len(next.pods) != 1 || len(api.created) != 1 {
		t.Fatalf("after the first read: workers %v, mirrors created %d", next.events, len(api.created))
	}
	var uid string
	for uid = range next.pods {
	}
	mirror := api.created[0]
	if mirror.Name != "web-n1" || mirror.Annotations[AnnotationMirror] != uid {
		t.Errorf("mirror %s %v", mirror.Name, mirror.Annotations)
	}

	// The mirror arrives from the API: its status goes to the worker's copy.
	mirror.UID, mirror.ResourceVersion = "api-uid", "7"
	mirror.Status.Phase = core.PodRunning
	m.Upsert(mirror)
	if p := next.pods[uid]; p.ResourceVersion != "7" || p.Status.Phase != core.PodRunning {
		t.Errorf("worker's pod rv %q phase %q", p.ResourceVersion, p.Status.Phase)
	}
	m.sync(ctx)
	if len(api.created) != 1 || len(api.deleted) != 0 {
		t.Errorf("steady state: created %d deleted %v", len(api.created), api.deleted)
	}

	// Deleted by a user: made again; the pod keeps running.
	m.Delete(mirror)
	m.sync(ctx)
	if len(api.created) != 2 || len(next.pods) != 1 {
		t.Errorf("mirror deleted: created %d, workers %v", len(api.created), next.events)
	}
	m.Upsert(mirror)

	// Edited: the old pod stops, the new one starts, the old mirror goes.
	write(manifest + "  restartPolicy: Never\n")
	m.sync(ctx)
	if _, ok := next.pods[uid]; ok || len(next.pods) != 1 {
		t.Errorf("after the edit: %v", next.events)
	}
	if !slices.Contains(api.deleted, "web-n1/api-uid") {
		t.Errorf("stale mirror not deleted: %v", api.deleted)
	}

	// Removed: stopped.
	os.Remove(filepath.Join(dir, "web.yaml"))
	m.sync(ctx)
	if len(next.pods) != 0 {
		t.Errorf("after removal: %v", next.events)
	}

	// Pods that are not mirrors pass through.
	other := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "other", UID: "o"}}
	m.Upsert(other)
	m.Delete(other)
	if got := next.events[len(next.events)-2:]; !slices.Equal(got, []string{"upsert other", "delete other"}) {
		t.Errorf("plain pod: %v", got)
	}
}
