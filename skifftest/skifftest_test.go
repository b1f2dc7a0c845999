package skifftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var (
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	pods        = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	widgets     = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
)

// The default cluster, used through client-go with RESTConfig as it is: a Deployment
// becomes Running pods on the simulated nodes (controllers, scheduler, node agents), and
// the CRD given by path is served, with its schema's default, as soon as Start returns.
func TestStartRunsWorkloadsAndCRDs(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	c := Start(t, Options{Nodes: 2, CRDs: []string{"testdata"}})
	t.Logf("started in %v", time.Since(begin))
	if len(c.Nodes) != 2 {
		t.Fatalf("Nodes = %v, want two", c.Nodes)
	}
	dc, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := dc.Resource(widgets).Namespace("default").Create(ctx, obj("example.com/v1", "Widget", "w", map[string]any{}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create a Widget right after Start: %v", err)
	}
	if size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size"); size != 1 {
		t.Errorf("widget spec.size = %d, want the schema's default 1", size)
	}
	d := obj("apps/v1", "Deployment", "web", map[string]any{
		"replicas": int64(3),
		"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
		"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx"}}},
		},
	})
	if _, err := dc.Resource(deployments).Namespace("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "3 Running pods on the simulated nodes", func() (bool, string) {
		list, err := dc.Resource(pods).Namespace("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		var seen []string
		for _, p := range list.Items {
			phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
			node, _, _ := unstructured.NestedString(p.Object, "spec", "nodeName")
			if phase == "Running" && strings.HasPrefix(node, "sim-") {
				running++
			}
			seen = append(seen, p.GetName()+" "+phase+" on "+node)
		}
		return running == 3, strings.Join(seen, ", ")
	})
	// The kubeconfig file is the real kubectl's.
	if _, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "get", "widgets", "-o", "name").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "widget.example.com/w" {
			t.Errorf("kubectl get widgets: %v: %s", err, out)
		}
	}
}

// Parallel tests get clusters of their own; a stopped cluster leaves no files.
func TestParallelClustersLeaveNoFiles(t *testing.T) {
	t.Parallel()
	dirs := make(chan string, 2)
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"a", "b"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := Start(t, Options{Nodes: NoNodes, NoScheduler: true, NoControllers: true,
					CRDManifests: []string{strings.ReplaceAll(widgetsCRD(t), "example.com", name+".example.com")}})
				dirs <- c.dir
				// Each has only its own CRD.
				dc, err := dynamic.NewForConfig(c.RESTConfig())
				if err != nil {
					t.Fatal(err)
				}
				crds, err := dc.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}).List(context.Background(), metav1.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(crds.Items) != 1 || crds.Items[0].GetName() != "widgets."+name+".example.com" {
					t.Errorf("cluster %s has CRDs %v", name, crds.Items)
				}
			})
		}
	})
	close(dirs)
	for d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s is still there after the test (stat: %v)", d, err)
		}
	}
}

// Options the cluster cannot honour fail Start with the reason, at once.
func TestStartRefusesBadOptions(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	notCRD := filepath.Join(t.TempDir(), "cm.yaml")
	if err := os.WriteFile(notCRD, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bare := Options{Nodes: NoNodes, NoScheduler: true, NoControllers: true}
	with := func(f func(*Options)) Options { o := bare; f(&o); return o }
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown API server flag", with(func(o *Options) { o.APIServerArgs = []string{"--no-such-flag"} }), "flag provided but not defined: -no-such-flag"},
		{"bad API server flag value", with(func(o *Options) { o.APIServerArgs = []string{"--service-node-port-range", "9-1"} }), `--service-node-port-range "9-1": want MIN-MAX`},
		{"unknown runtime", with(func(o *Options) { o.Runtime = "docker" }), `Options.Runtime "docker": want sim or containerd`},
		{"negative nodes", with(func(o *Options) { o.Nodes = -2 }), "Options.Nodes -2"},
		{"missing CRD file", with(func(o *Options) { o.CRDs = []string{missing} }), "no such file or directory"},
		{"not a CRD", with(func(o *Options) { o.CRDs = []string{notCRD} }), `document 1 is a "ConfigMap", not a CustomResourceDefinition`},
		{"invalid CRD", with(func(o *Options) {
			o.CRDManifests = []string{strings.Replace(widgetsCRD(t), "scope: Namespaced", "scope: Sideways", 1)}
		}), "spec.scope: Unsupported value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := start(t, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("start: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Without what containerd nodes need, Start says what is missing rather than trying.
func TestContainerdPrerequisitesNameWhatIsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := containerdPrerequisites()
	if err == nil {
		t.Fatal("no error with an empty PATH")
	}
	for _, want := range []string{"containerd in $PATH", "runc in $PATH", "nsenter in $PATH"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
}

func widgetsCRD(t *testing.T) string {
	b, err := os.ReadFile("testdata/widgets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func obj(apiVersion, kind, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name}}}
	if spec != nil {
		u.Object["spec"] = spec
	}
	return u
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
