package volume

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

func pv(name, size, class string, modes ...core.PersistentVolumeAccessMode) *core.PersistentVolume {
	if len(modes) == 0 {
		modes = []core.PersistentVolumeAccessMode{core.ReadWriteOnce}
	}
	return &core.PersistentVolume{ObjectMeta: meta.ObjectMeta{Name: name},
		Spec: core.PersistentVolumeSpec{Capacity: core.ResourceList{core.ResourceStorage: resource.MustParse(size)},
			AccessModes: modes, StorageClassName: class},
		Status: core.PersistentVolumeStatus{Phase: core.VolumeAvailable}}
}

func pvc(size, class string, modes ...core.PersistentVolumeAccessMode) *core.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []core.PersistentVolumeAccessMode{core.ReadWriteOnce}
	}
	return &core.PersistentVolumeClaim{ObjectMeta: meta.ObjectMeta{Name: "data", Namespace: "ns", UID: "claim-uid"},
		Spec: core.PersistentVolumeClaimSpec{AccessModes: modes, StorageClassName: &class,
			Resources: core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse(size)}}}}
}

func with[T any](v *T, f func(*T)) *T { f(v); return v }

func onNode(v *core.PersistentVolume, node string) *core.PersistentVolume {
	v.Spec.NodeAffinity = &core.VolumeNodeAffinity{Required: &core.NodeSelector{NodeSelectorTerms: []core.NodeSelectorTerm{{
		MatchExpressions: []core.NodeSelectorRequirement{{Key: core.LabelHostname, Operator: core.NodeSelectorOpIn, Values: []string{node}}}}}}}
	return v
}

func node(name string) *core.Node {
	return &core.Node{ObjectMeta: meta.ObjectMeta{Name: name, Labels: map[string]string{core.LabelHostname: name}}}
}

func TestFindMatching(t *testing.T) {
	block := core.PersistentVolumeBlock
	tests := []struct {
		name    string
		claim   *core.PersistentVolumeClaim
		volumes []*core.PersistentVolume
		node    *core.Node
		delay   bool
		exclude map[string]bool
		want    string
	}{
		{"smallest that fits", pvc("5Gi", "local"), []*core.PersistentVolume{pv("big", "100Gi", "local"), pv("fit", "10Gi", "local"), pv("small", "1Gi", "local")}, nil, false, nil, "fit"},
		{"exact size", pvc("1Gi", "local"), []*core.PersistentVolume{pv("a", "1024Mi", "local")}, nil, false, nil, "a"},
		{"none large enough", pvc("5Gi", "local"), []*core.PersistentVolume{pv("small", "1Gi", "local")}, nil, false, nil, ""},
		{"class must match", pvc("1Gi", "fast"), []*core.PersistentVolume{pv("slow", "1Gi", "slow")}, nil, false, nil, ""},
		{"no class only with no class", pvc("1Gi", ""), []*core.PersistentVolume{pv("classy", "1Gi", "slow"), pv("plain", "2Gi", "")}, nil, false, nil, "plain"},
		{"access modes", pvc("1Gi", "", core.ReadWriteMany), []*core.PersistentVolume{pv("rwo", "1Gi", ""), pv("rwx", "2Gi", "", core.ReadWriteOnce, core.ReadWriteMany)}, nil, false, nil, "rwx"},
		{"volume mode", with(pvc("1Gi", ""), func(c *core.PersistentVolumeClaim) { c.Spec.VolumeMode = &block }),
			[]*core.PersistentVolume{pv("fs", "1Gi", ""), with(pv("blk", "2Gi", ""), func(v *core.PersistentVolume) { v.Spec.VolumeMode = &block })}, nil, false, nil, "blk"},
		{"selector", with(pvc("1Gi", ""), func(c *core.PersistentVolumeClaim) {
			c.Spec.Selector = &meta.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
		}), []*core.PersistentVolume{pv("plain", "1Gi", ""), with(pv("gold", "5Gi", ""), func(v *core.PersistentVolume) { v.Labels = map[string]string{"tier": "gold"} })}, nil, false, nil, "gold"},
		{"bound elsewhere skipped", pvc("1Gi", ""), []*core.PersistentVolume{with(pv("taken", "1Gi", ""), func(v *core.PersistentVolume) {
			v.Spec.ClaimRef = &core.ObjectReference{Namespace: "ns", Name: "other"}
		})}, nil, false, nil, ""},
		{"pre-bound wins whatever its class", pvc("1Gi", "fast"), []*core.PersistentVolume{pv("free", "1Gi", "fast"), with(pv("mine", "50Gi", "slow"), func(v *core.PersistentVolume) {
			v.Spec.ClaimRef = &core.ObjectReference{Namespace: "ns", Name: "data"}
		})}, nil, false, nil, "mine"},
		{"pre-bound to an earlier claim of the name", pvc("1Gi", ""), []*core.PersistentVolume{with(pv("old", "1Gi", ""), func(v *core.PersistentVolume) {
			v.Spec.ClaimRef = &core.ObjectReference{Namespace: "ns", Name: "data", UID: "earlier"}
		})}, nil, false, nil, ""},
		{"excluded", pvc("1Gi", ""), []*core.PersistentVolume{pv("a", "1Gi", ""), pv("b", "2Gi", "")}, nil, false, map[string]bool{"a": true}, "b"},
		{"delayed binding waits for a node", pvc("1Gi", "local"), []*core.PersistentVolume{pv("a", "1Gi", "local")}, nil, true, nil, ""},
		{"node affinity", pvc("1Gi", "local"), []*core.PersistentVolume{onNode(pv("n1", "1Gi", "local"), "n1"), onNode(pv("n2", "5Gi", "local"), "n2")}, node("n2"), true, nil, "n2"},
		{"released volumes not offered to the scheduler", pvc("1Gi", "local"), []*core.PersistentVolume{with(onNode(pv("r", "1Gi", "local"), "n1"), func(v *core.PersistentVolume) {
			v.Status.Phase = core.VolumeReleased
		})}, node("n1"), true, nil, ""},
		{"pre-bound but unreachable", pvc("1Gi", "local"), []*core.PersistentVolume{with(onNode(pv("mine", "1Gi", "local"), "n1"), func(v *core.PersistentVolume) {
			v.Spec.ClaimRef = &core.ObjectReference{Namespace: "ns", Name: "data"}
		})}, node("n2"), true, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindMatching(tc.claim, tc.volumes, tc.node, tc.exclude, tc.delay)
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tc.want {
				t.Fatalf("matched %q, want %q", name, tc.want)
			}
		})
	}
}

func TestNodeOf(t *testing.T) {
	if got := NodeOf(onNode(pv("a", "1Gi", ""), "n1")); got != "n1" {
		t.Fatalf("NodeOf = %q", got)
	}
	if got := NodeOf(pv("a", "1Gi", "")); got != "" {
		t.Fatalf("NodeOf without affinity = %q", got)
	}
}
