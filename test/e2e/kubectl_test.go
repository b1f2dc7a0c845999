// End-to-end tests: the real binaries started by `skiff up`, driven by the real kubectl,
// exactly as a user would.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: busybox:1.36
        ports:
        - containerPort: 8080
          name: http
        env:
        - name: GREETING
          value: hello
        - name: KEEP
          value: kept
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: http
`

func TestKubectlAgainstSkiffUp(t *testing.T) {
	c := harness.Up(t, "", apiServerOnly...)
	k := c.Kubectl
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("version and api-resources", func(t *testing.T) {
		out := k.Run(t, "version", "-o", "json")
		if !strings.Contains(out, `"gitVersion": "v1.33`) {
			t.Fatalf("server version not v1.33: %s", out)
		}
		res := k.Run(t, "api-resources")
		for _, want := range []string{"pods", "po", "deployments", "deploy", "services", "svc", "namespaces", "configmaps", "cm", "leases", "endpointslices"} {
			if !containsWord(res, want) {
				t.Errorf("api-resources lacks %q:\n%s", want, res)
			}
		}
	})

	t.Run("apply multi-document yaml", func(t *testing.T) {
		out := k.Run(t, "apply", "-f", file)
		if !strings.Contains(out, "deployment.apps/web created") || !strings.Contains(out, "service/web created") {
			t.Fatalf("apply output: %s", out)
		}
	})

	t.Run("get in every form", func(t *testing.T) {
		table := k.Run(t, "get", "deployments")
		if !strings.Contains(table, "NAME") || !strings.Contains(table, "READY") || !strings.Contains(table, "UP-TO-DATE") || !strings.Contains(table, "web") {
			t.Errorf("deployments table:\n%s", table)
		}
		wide := k.Run(t, "get", "deploy", "web", "-o", "wide")
		if !strings.Contains(wide, "busybox:1.36") || !strings.Contains(wide, "app=web") {
			t.Errorf("wide:\n%s", wide)
		}
		svc := k.Run(t, "get", "svc", "web")
		if !strings.Contains(svc, "CLUSTER-IP") || !strings.Contains(svc, "80/TCP") || !strings.Contains(svc, " 10.") {
			t.Errorf("services table:\n%s", svc)
		}
		y := k.Run(t, "get", "deployment", "web", "-o", "yaml")
		for _, want := range []string{"kind: Deployment", "replicas: 2", "revisionHistoryLimit: 10", "maxSurge: 25%", "imagePullPolicy: IfNotPresent", "uid:", "resourceVersion:"} {
			if !strings.Contains(y, want) {
				t.Errorf("yaml lacks %q:\n%s", want, y)
			}
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(k.Run(t, "get", "svc", "web", "-o", "json")), &obj); err != nil {
			t.Fatalf("json output: %v", err)
		}
		if obj["kind"] != "Service" {
			t.Errorf("json kind = %v", obj["kind"])
		}
		jp := k.Run(t, "get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].env[0].value}")
		if jp != "hello" {
			t.Errorf("jsonpath = %q", jp)
		}
		all := k.Run(t, "get", "all", "-A")
		if !strings.Contains(all, "NAMESPACE") || !strings.Contains(all, "deployment.apps/web") || !strings.Contains(all, "service/web") {
			t.Errorf("get all -A:\n%s", all)
		}
	})

	t.Run("label and field selectors", func(t *testing.T) {
		k.Run(t, "create", "configmap", "sel-a", "--from-literal=k=v")
		k.Run(t, "create", "configmap", "sel-b", "--from-literal=k=v")
		k.Run(t, "label", "configmap", "sel-a", "tier=front")
		k.Run(t, "label", "configmap", "sel-b", "tier=back")
		got := k.Run(t, "get", "cm", "-l", "tier=front", "-o", "name")
		if strings.TrimSpace(got) != "configmap/sel-a" {
			t.Errorf("-l tier=front: %q", got)
		}
		got = k.Run(t, "get", "cm", "-l", "tier in (front,back),tier!=back", "-o", "name")
		if strings.TrimSpace(got) != "configmap/sel-a" {
			t.Errorf("set-based selector: %q", got)
		}
		got = k.Run(t, "get", "cm", "--field-selector", "metadata.name=sel-b", "-o", "name")
		if strings.TrimSpace(got) != "configmap/sel-b" {
			t.Errorf("field selector: %q", got)
		}
		_, errOut, err := k.Exec([]string{"get", "cm", "--field-selector", "spec.nope=x"}, "")
		if err == nil || !strings.Contains(errOut, "field label not supported") {
			t.Errorf("unsupported field selector: err=%v stderr=%s", err, errOut)
		}
		got = k.Run(t, "get", "ns", "-l", "kubernetes.io/metadata.name=kube-system", "-o", "name")
		if strings.TrimSpace(got) != "namespace/kube-system" {
			t.Errorf("namespace name label: %q", got)
		}
	})

	t.Run("label annotate patch", func(t *testing.T) {
		k.Run(t, "annotate", "deployment", "web", "team=blue")
		k.Run(t, "label", "deployment", "web", "env=test")
		k.Run(t, "patch", "deployment", "web", "--type=merge", "-p", `{"spec":{"minReadySeconds":5}}`)
		k.Run(t, "patch", "deployment", "web", "--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"busybox:1.37"}]`)
		k.Run(t, "patch", "deployment", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"EXTRA","value":"x"}]}]}}}}`)
		out := k.Run(t, "get", "deploy", "web", "-o", "jsonpath={.metadata.annotations.team} {.metadata.labels.env} {.spec.minReadySeconds} {.spec.template.spec.containers[0].image}")
		if out != "blue test 5 busybox:1.37" {
			t.Errorf("after label/annotate/patch: %q", out)
		}
		// The strategic patch merged EXTRA into env by name; the order follows Kubernetes'
		// rules, so compare as a set.
		if env := envNames(t, k); env != "EXTRA,GREETING,KEEP" {
			t.Errorf("env after strategic patch: %s", env)
		}
		gen := k.Run(t, "get", "deploy", "web", "-o", "jsonpath={.metadata.generation}")
		if gen != "4" {
			t.Errorf("generation after 3 spec patches = %s, want 4", gen)
		}
	})

	t.Run("edit with a scripted editor", func(t *testing.T) {
		editor := filepath.Join(dir, "editor.sh")
		script := "#!/bin/sh\nsed -i 's/team: blue/team: green/' \"$1\"\n"
		if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		ke := &harness.Kubectl{Kubeconfig: k.Kubeconfig, Env: []string{"KUBE_EDITOR=" + editor, "EDITOR=" + editor}}
		out := ke.Run(t, "edit", "deployment", "web")
		if !strings.Contains(out, "edited") {
			t.Errorf("edit output: %s", out)
		}
		if got := k.Run(t, "get", "deploy", "web", "-o", "jsonpath={.metadata.annotations.team}"); got != "green" {
			t.Errorf("after edit team = %q", got)
		}
	})

	t.Run("scale", func(t *testing.T) {
		k.Run(t, "scale", "deployment", "web", "--replicas=5")
		if got := k.Run(t, "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
			t.Errorf("replicas after scale = %q", got)
		}
	})

	t.Run("get -w sees a change", func(t *testing.T) {
		cmd := exec.Command("kubectl", "--kubeconfig", k.Kubeconfig, "get", "configmaps", "-w", "--output-watch-events")
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the initial listing (sel-a is there), then make a change.
		waitLine(t, lines, "sel-a", 30*time.Second)
		k.Run(t, "create", "configmap", "watched", "--from-literal=a=b")
		l := waitLine(t, lines, "watched", 30*time.Second)
		if !strings.Contains(l, "ADDED") {
			t.Errorf("watch line for new configmap: %q", l)
		}
		k.Run(t, "delete", "configmap", "watched")
		l = waitLine(t, lines, "watched", 30*time.Second)
		if !strings.Contains(l, "DELETED") {
			t.Errorf("watch line for deleted configmap: %q", l)
		}
	})

	t.Run("create namespace configmap secret", func(t *testing.T) {
		k.Run(t, "create", "namespace", "team-a")
		k.Run(t, "-n", "team-a", "create", "configmap", "cfg", "--from-literal=color=red")
		k.Run(t, "-n", "team-a", "create", "secret", "generic", "pw", "--from-literal=password=s3cret")
		if got := k.Run(t, "-n", "team-a", "get", "secret", "pw", "-o", "jsonpath={.data.password}"); got != "czNjcmV0" {
			t.Errorf("secret data = %q", got)
		}
		if got := k.Run(t, "get", "ns", "team-a", "-o", "jsonpath={.status.phase}"); got != "Active" {
			t.Errorf("namespace phase = %q", got)
		}
		_, errOut, err := k.Exec([]string{"-n", "nope", "create", "configmap", "x"}, "")
		if err == nil || !strings.Contains(errOut, `namespaces "nope" not found`) {
			t.Errorf("create in missing namespace: err=%v %s", err, errOut)
		}
	})

	t.Run("validation errors", func(t *testing.T) {
		bad := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n"
		_, errOut, err := k.Exec([]string{"apply", "-f", "-"}, bad)
		if err == nil || !strings.Contains(errOut, "is invalid") || !strings.Contains(errOut, "metadata.name") {
			t.Errorf("invalid name: err=%v %s", err, errOut)
		}
		unknown := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndatta:\n  a: b\n"
		_, errOut, err = k.Exec([]string{"apply", "-f", "-"}, unknown)
		if err == nil || !strings.Contains(errOut, "datta") {
			t.Errorf("unknown field with default (strict) validation: err=%v %s", err, errOut)
		}
	})

	t.Run("explain", func(t *testing.T) {
		out := k.Run(t, "explain", "pod.spec")
		if !strings.Contains(out, "containers") || !strings.Contains(out, "FIELDS") {
			t.Errorf("explain pod.spec:\n%s", out)
		}
	})

	t.Run("replace --force", func(t *testing.T) {
		uid := k.Run(t, "get", "svc", "web", "-o", "jsonpath={.metadata.uid}")
		y := k.Run(t, "get", "svc", "web", "-o", "yaml")
		out := k.RunStdin(t, y, "replace", "--force", "-f", "-")
		if !strings.Contains(out, "replaced") {
			t.Errorf("replace --force: %s", out)
		}
		if nuid := k.Run(t, "get", "svc", "web", "-o", "jsonpath={.metadata.uid}"); nuid == uid || nuid == "" {
			t.Errorf("replace --force kept uid %s (new %s)", uid, nuid)
		}
	})

	t.Run("re-apply an edited file", func(t *testing.T) {
		edited := strings.Replace(manifest, "replicas: 2", "replicas: 3", 1)
		edited = strings.Replace(edited, "        - name: GREETING\n          value: hello\n", "", 1)
		if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		out := k.Run(t, "apply", "-f", file)
		if !strings.Contains(out, "deployment.apps/web configured") {
			t.Errorf("re-apply: %s", out)
		}
		if got := k.Run(t, "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "3" {
			t.Errorf("replicas after re-apply: %q", got)
		}
		// GREETING was removed from the file, so apply removes it; EXTRA was added by kubectl
		// patch and is not managed by apply, so it stays (the three-way merge).
		if env := envNames(t, k); env != "EXTRA,KEEP" {
			t.Errorf("env after re-apply: %s", env)
		}
	})

	t.Run("delete", func(t *testing.T) {
		k.Run(t, "delete", "-f", file)
		_, errOut, err := k.Exec([]string{"get", "deploy", "web"}, "")
		if err == nil || !strings.Contains(errOut, "NotFound") {
			t.Errorf("after delete: err=%v %s", err, errOut)
		}
	})
}

// TestSkiffUpKeepsData: a second `skiff up` on the same data dir sees the objects created before.
func TestSkiffUpKeepsData(t *testing.T) {
	c := harness.Up(t, "", apiServerOnly...)
	c.Kubectl.Run(t, "create", "configmap", "survivor", "--from-literal=a=1")
	// Ctrl-C (SIGINT) stops skiff up and every process it started: the API server's port
	// no longer answers.
	if err := c.Stop(t); err != nil {
		t.Fatal(err)
	}
	if code, err := c.Get(context.Background(), "/healthz"); err == nil {
		t.Fatalf("the API server still answers (%d) after skiff up stopped", code)
	}
	c.Start(t)
	if got := c.Kubectl.Run(t, "get", "configmap", "survivor", "-o", "jsonpath={.data.a}"); got != "1" {
		t.Fatalf("after restart: %q", got)
	}
}

func envNames(t *testing.T, k *harness.Kubectl) string {
	t.Helper()
	names := strings.Fields(k.Run(t, "get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].env[*].name}"))
	sort.Strings(names)
	return strings.Join(names, ",")
}

func containsWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

func waitLine(t *testing.T, lines <-chan string, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("watch ended before a line with %q; saw %q", substr, seen)
			}
			if strings.Contains(l, substr) {
				return l
			}
			seen = append(seen, l)
		case <-deadline:
			t.Fatalf("no line with %q within %s; saw %q", substr, timeout, seen)
		}
	}
}

// apiServerOnly are the `skiff up` flags of tests that start the other components
// themselves (or need none): no nodes, no scheduler, no controller manager.
var apiServerOnly = []string{"--nodes", "0", "--disable", "scheduler,controller-manager"}
