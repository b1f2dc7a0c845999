package apiserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-sh/skiff/test/harness"
)

// BenchmarkResponseEncoding compares JSON and protobuf responses in one run, against one
// server holding N pods shaped like a Deployment's: a list of every pod and a get of one,
// through client-go (request, server encoding, transfer over TLS, client decoding; server
// and client in this one process), for docs/PERFORMANCE.md:
//
//	go test -run '^$' -bench ResponseEncoding -benchtime 2s ./apiserver/
func BenchmarkResponseEncoding(b *testing.B) {
	const n = 1000
	s := harness.StartServer(b, harness.ServerOptions{})
	clients := map[string]*kubernetes.Clientset{}
	sizes := map[string]*countingTransport{}
	for _, ct := range []string{"application/json", protobufType} {
		cc := s.ClientConfig()
		cfg := &rest.Config{Host: cc.Host, QPS: -1, TLSClientConfig: rest.TLSClientConfig{CAData: cc.TLS.CAData, CertData: cc.TLS.CertData, KeyData: cc.TLS.KeyData}}
		cfg.ContentType, cfg.AcceptContentTypes = ct, ct
		counter := &countingTransport{}
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter })
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			b.Fatal(err)
		}
		name := "json"
		if ct == protobufType {
			name = "protobuf"
		}
		clients[name], sizes[name] = cs, counter
	}
	ctx := context.Background()
	pods := clients["protobuf"].CoreV1().Pods("default")
	for i := range n {
		if _, err := pods.Create(ctx, benchPod(i), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, op := range []string{"list", "get"} {
		for _, enc := range []string{"json", "protobuf"} {
			b.Run(fmt.Sprintf("%s/pods=%d/%s", op, n, enc), func(b *testing.B) {
				pods := clients[enc].CoreV1().Pods("default")
				counter := sizes[enc]
				counter.bytes, counter.responses = 0, 0
				b.ReportAllocs()
				cpu0 := processCPU()
				for b.Loop() {
					switch op {
					case "list":
						l, err := pods.List(ctx, metav1.ListOptions{})
						if err != nil || len(l.Items) != n {
							b.Fatalf("list: %v", err)
						}
					case "get":
						if _, err := pods.Get(ctx, "web-500", metav1.GetOptions{}); err != nil {
							b.Fatal(err)
						}
					}
				}
				// CPU time of the process (server and client both run in it) is what a
				// loaded machine cannot hide; ns/op also counts waiting for a CPU.
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
				b.ReportMetric(float64(counter.bytes)/float64(counter.responses), "resp-bytes")
			})
		}
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingTransport counts response body bytes.
type countingTransport struct {
	next             http.RoundTripper
	bytes, responses int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err == nil {
		c.responses++
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.bytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	*b.n += int64(n)
	return n, err
}

// benchPod is a pod as a Deployment's ReplicaSet makes it: labels, an owner, one container
// with ports, env, resources and probes.
func benchPod(i int) *corev1.Pod {
	yes := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f9c7b6d"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f9c7b6d", UID: "0b7c9c1e-6d6a-4b59-9f0e-3c9a1f1f2a11", Controller: &yes, BlockOwnerDeletion: &yes}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "registry.example.com/web:1.2.3", Args: []string{"--port=8080", "--log-level=info"},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
			Env:   []corev1.EnvVar{{Name: "MODE", Value: "production"}, {Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}, PeriodSeconds: 5},
			LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}, InitialDelaySeconds: 10},
		}}},
	}
}
