package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-sh/skiff/test/harness"
)

const protobufType = "application/vnd.kubernetes.protobuf"

// contentTypes records the Content-Type of every response client-go receives.
type contentTypes struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string // "GET /path?query -> 200 content-type"
	bad  []string // responses that were not protobuf
}

func (c *contentTypes) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	ct := resp.Header.Get("Content-Type")
	line := fmt.Sprintf("%s %s -> %d %s", req.Method, req.URL.RequestURI(), resp.StatusCode, ct)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, line)
	want := protobufType
	if req.URL.Query().Get("watch") == "true" {
		want += ";stream=watch"
	}
	if ct != want {
		c.bad = append(c.bad, line)
	}
	return resp, nil
}

// protobufClient is client-go configured to send and accept only protobuf (no JSON
// fallback), with every response's Content-Type recorded.
func protobufClient(t *testing.T, s *harness.Server) (*kubernetes.Clientset, *contentTypes) {
	t.Helper()
	cc := s.ClientConfig()
	cfg := &rest.Config{Host: cc.Host, TLSClientConfig: rest.TLSClientConfig{CAData: cc.TLS.CAData, CertData: cc.TLS.CertData, KeyData: cc.TLS.KeyData}}
	cfg.ContentType = protobufType
	cfg.AcceptContentTypes = protobufType
	rec := &contentTypes{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, rec
}

func nextEvent(t *testing.T, w watch.Interface, what string) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatalf("%s: the watch ended", what)
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no event within 30s", what)
	}
	return watch.Event{}
}

// TestProtobufClientGo: client-go asking for protobuf only does every verb on Pods,
// ConfigMaps, Deployments and Services, pages a list, watches (bookmarks, watch-list, an
// ERROR event) and gets typed errors with their details, every response in protobuf.
func TestProtobufClientGo(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{BookmarkInterval: 200 * time.Millisecond, WatchHistory: 5})
	cs, rec := protobufClient(t, s)
	ctx := context.Background()
	const ns = "pb"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// ConfigMaps: create, get, update, patch, delete.
	cms := cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "one", Labels: map[string]string{"a": "b"}},
		Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"bin": {0, 1, 255}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp.IsZero() || cm.Data["k"] != "v" || string(cm.BinaryData["bin"]) != "\x00\x01\xff" {
		t.Fatalf("created: %+v", cm)
	}
	got, err := cms.Get(ctx, "one", metav1.GetOptions{})
	if err != nil || got.UID != cm.UID || got.Labels["a"] != "b" {
		t.Fatalf("get: %v %+v", err, got)
	}
	got.Data["k2"] = "v2"
	upd, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || upd.Data["k2"] != "v2" || upd.ResourceVersion == got.ResourceVersion {
		t.Fatalf("update: %v %+v", err, upd)
	}
	patched, err := cms.Patch(ctx, "one", types.StrategicMergePatchType, []byte(`{"data":{"k3":"v3"}}`), metav1.PatchOptions{})
	if err != nil || patched.Data["k3"] != "v3" || patched.Data["k2"] != "v2" {
		t.Fatalf("patch: %v %+v", err, patched)
	}

	// Typed errors, decoded from protobuf Status bodies.
	_, err = cms.Get(ctx, "missing", metav1.GetOptions{})
	var se *apierrors.StatusError
	if !apierrors.IsNotFound(err) || !asStatus(err, &se) || se.ErrStatus.Details == nil || se.ErrStatus.Details.Name != "missing" {
		t.Fatalf("get missing: %v", err)
	}
	if _, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "one"}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create again: %v", err)
	}
	if _, err = cms.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "the object has been modified") {
		t.Fatalf("stale update: %v", err)
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "Not_Valid"}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !asStatus(err, &se) || se.ErrStatus.Details == nil || len(se.ErrStatus.Details.Causes) == 0 ||
		se.ErrStatus.Details.Causes[0].Field != "metadata.name" || se.ErrStatus.Code != 422 {
		t.Fatalf("invalid name: %v %+v", err, se)
	}

	// A paged list: ListMeta's continue, remainingItemCount and resourceVersion.
	for i := range 4 {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("page-%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Continue == "" || page.RemainingItemCount == nil || *page.RemainingItemCount != 3 || page.ResourceVersion == "" {
		t.Fatalf("first page: %v %+v", err, page.ListMeta)
	}
	names := []string{page.Items[0].Name, page.Items[1].Name}
	for page.Continue != "" {
		if page, err = cms.List(ctx, metav1.ListOptions{Limit: 2, Continue: page.Continue}); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			names = append(names, it.Name)
		}
	}
	if strings.Join(names, ",") != "one,page-0,page-1,page-2,page-3" {
		t.Fatalf("paged through %v", names)
	}
	all, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil || len(all.Items) != 5 || all.Items[0].Data["k3"] != "v3" || all.ResourceVersion == "" {
		t.Fatalf("whole list: %v %d items", err, len(all.Items))
	}

	// Watch: events, then a bookmark (the server sends one every 200ms to watchers that
	// allow them).
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: all.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched"}, Data: map[string]string{"x": "1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "watched", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	sawBookmark := false
	for len(seen) < 2 || !sawBookmark {
		ev := nextEvent(t, w, fmt.Sprintf("watch (seen %v, bookmark %v)", seen, sawBookmark))
		switch ev.Type {
		case watch.Bookmark:
			b, ok := ev.Object.(*corev1.ConfigMap)
			if !ok || b.ResourceVersion == "" {
				t.Fatalf("bookmark: %#v", ev.Object)
			}
			sawBookmark = true
		default:
			c, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				t.Fatalf("event %s: %#v", ev.Type, ev.Object)
			}
			seen = append(seen, string(ev.Type)+" "+c.Name+" "+c.Data["x"])
		}
	}
	if strings.Join(seen, ",") != "ADDED watched 1,DELETED watched 1" {
		t.Fatalf("watch events: %v", seen)
	}

	// Watch-list: the current state as ADDED events, then the bookmark that ends it.
	yes := true
	wl, err := cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Stop()
	added := 0
	for {
		ev := nextEvent(t, wl, fmt.Sprintf("watch-list after %d ADDED", added))
		if ev.Type == watch.Added {
			added++
			continue
		}
		b, _ := ev.Object.(*corev1.ConfigMap)
		if ev.Type != watch.Bookmark || b == nil || b.Annotations["k8s.io/initial-events-end"] != "true" {
			t.Fatalf("watch-list: %s %#v", ev.Type, ev.Object)
		}
		break
	}
	if added != 5 {
		t.Fatalf("watch-list sent %d ADDED events, want 5", added)
	}

	// An ERROR event: a watch from a revision both the watch cache (5 events) and etcd
	// (compacted) have forgotten gets 410 Expired as a Status.
	rev := mustRevision(t, cms, ctx)
	if _, err := s.Etcd.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	we, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: cm.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer we.Stop()
	if ev := nextEvent(t, we, "watch from a compacted revision"); ev.Type != watch.Error || !apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) {
		t.Fatalf("watch from a compacted revision: %s %#v", ev.Type, ev.Object)
	}

	// Delete (with DeleteOptions in a protobuf body).
	zero := int64(0)
	if err := cms.Delete(ctx, "one", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}

	// Pods.
	pods := cs.CoreV1().Pods(ns)
	pod, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "busybox", Command: []string{"sleep", "1d"},
		Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Defaults applied by the server come back through protobuf.
	if c := pod.Spec.Containers[0]; pod.Spec.RestartPolicy != corev1.RestartPolicyAlways || c.TerminationMessagePath == "" || c.ImagePullPolicy == "" ||
		pod.Spec.TerminationGracePeriodSeconds == nil || pod.Status.Phase != corev1.PodPending || pod.Status.QOSClass == "" {
		t.Fatalf("created pod: %+v %+v", pod.Spec, pod.Status)
	}
	pl, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=p"})
	if err != nil || len(pl.Items) != 1 || pl.Items[0].Spec.Containers[0].Ports[0].ContainerPort != 8080 {
		t.Fatalf("pod list: %v %+v", err, pl)
	}
	if err := pods.Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}

	// Deployments, with the scale subresource (autoscaling/v1 Scale).
	deps := cs.AppsV1().Deployments(ns)
	two := int32(2)
	labels := map[string]string{"app": "web"}
	dep, err := deps.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || dep.Spec.Strategy.RollingUpdate == nil ||
		dep.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" || dep.Generation != 1 {
		t.Fatalf("created deployment: %+v", dep.Spec.Strategy)
	}
	sc, err := deps.GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil || sc.Spec.Replicas != 2 {
		t.Fatalf("scale: %v %+v", err, sc)
	}
	sc.Spec.Replicas = 3
	if sc, err = deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil || sc.Spec.Replicas != 3 {
		t.Fatalf("update scale: %v %+v", err, sc)
	}
	dep, err = deps.Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx:2"}]}}}}`), metav1.PatchOptions{})
	if err != nil || dep.Spec.Template.Spec.Containers[0].Image != "nginx:2" || *dep.Spec.Replicas != 3 || dep.Generation != 3 {
		t.Fatalf("patched deployment: %v %+v", err, dep)
	}
	if err := deps.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// Services: the allocated cluster IP and the defaulted target port come back.
	svcs := cs.CoreV1().Services(ns)
	svc, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP == "" || len(svc.Spec.ClusterIPs) != 1 || svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].Protocol != corev1.ProtocolTCP ||
		svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Fatalf("created service: %+v", svc.Spec)
	}
	_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 0}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !asStatus(err, &se) || len(se.ErrStatus.Details.Causes) == 0 {
		t.Fatalf("invalid service: %v", err)
	}
	if err := svcs.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("deleted service: %v", err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bad) > 0 || len(rec.seen) < 35 {
		t.Fatalf("%d responses were not protobuf:\n%s\nall %d:\n%s", len(rec.bad), strings.Join(rec.bad, "\n"), len(rec.seen), strings.Join(rec.seen, "\n"))
	}
}

func asStatus(err error, se **apierrors.StatusError) bool {
	s, ok := err.(*apierrors.StatusError)
	*se = s
	return ok
}

// mustRevision is the current etcd revision, as a list reports it.
func mustRevision(t *testing.T, cms interface {
	List(context.Context, metav1.ListOptions) (*corev1.ConfigMapList, error)
}, ctx context.Context) int64 {
	t.Helper()
	l, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rev int64
	fmt.Sscan(l.ResourceVersion, &rev)
	return rev
}

// TestProtobufNegotiationRaw: the wire, byte for byte where it matters: a custom resource
// asked for protobuf only is 406 (JSON also acceptable: JSON), Tables stay JSON, and a
// protobuf watch frame is a 4-byte length and a WatchEvent without the k8s\0 prefix.
func TestProtobufNegotiationRaw(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	createCRD(t, a, widgetCRD)
	widgets := "/apis/example.com/v1/namespaces/default/widgets"
	a.must(201, "POST", widgets, `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"color":"red"}}`)
	for _, tc := range []struct {
		path, accept string
		code         int
		ct, body     string
	}{
		{widgets + "/w", protobufType, 406, "application/json", "only the following media types are accepted: application/json, application/yaml"},
		{widgets + "/w", protobufType + ", application/json", 200, "application/json", `"kind":"Widget"`},
		{widgets, protobufType + ";q=1, application/json;q=0.5", 200, "application/json", `"kind":"WidgetList"`},
		{widgets + "/missing", protobufType, 404, "application/json", `"reason":"NotFound"`},
		{widgets + "?watch=true&timeoutSeconds=1", protobufType, 406, "application/json", "application/json;stream=watch"},
		{cms, "application/json;as=Table;v=v1;g=meta.k8s.io, " + protobufType, 200, "application/json", `"kind":"Table"`},
		{cms, protobufType + ", application/json;as=Table;v=v1;g=meta.k8s.io", 200, protobufType, "k8s\x00"},
		{cms, "text/html", 406, "application/json", "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"},
		{cms + "/missing", "text/html", 404, "application/json", `"reason":"NotFound"`},
		{cms + "/missing", protobufType, 404, protobufType, "NotFound"},
		{cms, "application/yaml", 200, "application/yaml", "kind: ConfigMapList"},
		{"/api/v1/namespaces/default", "*/*", 200, "application/json", `"kind":"Namespace"`},
	} {
		req, _ := http.NewRequest("GET", a.base+tc.path, nil)
		req.Header.Set("Accept", tc.accept)
		resp, err := a.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.StatusCode != tc.code || resp.Header.Get("Content-Type") != tc.ct || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s Accept %s: %d %s %q, want %d %s with %q", tc.path, tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.code, tc.ct, tc.body)
		}
	}

	// A protobuf watch frame.
	req, _ := http.NewRequest("GET", a.base+cms+"?watch=true&resourceVersion=0&timeoutSeconds=2&fieldSelector=metadata.name%3Dframe", nil)
	req.Header.Set("Accept", protobufType+";stream=watch")
	a.must(201, "POST", cms, cm("frame", "x"))
	resp, err := a.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(readAll(resp))
	if resp.Header.Get("Content-Type") != protobufType+";stream=watch" || len(b) < 4 {
		t.Fatalf("watch: %s %q", resp.Header.Get("Content-Type"), b)
	}
	n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	frame := b[4:]
	if n != len(frame) || strings.HasPrefix(string(frame), "k8s\x00") || !strings.HasPrefix(string(frame), "\x0a\x05ADDED\x12") || !strings.Contains(string(frame), "k8s\x00") {
		t.Fatalf("frame of %d bytes (prefix says %d): %q", len(frame), n, frame)
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}
