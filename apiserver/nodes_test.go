package apiserver_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/test/harness"
)

var (
	podsRes    = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	secretsRes = client.Resource{Version: "v1", Resource: "secrets", Namespaced: true}
	nodesRes   = client.Resource{Version: "v1", Resource: "nodes"}
)

// A node reads the secrets of its own pods only, and writes only its own Node and its own
// pods' status: the Node authorizer and NodeRestriction over a real TLS server.
func TestNodeIdentity(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	ctx := context.Background()
	admin := s.Client(t)
	nodeClient := func(name string) *client.Client {
		c, err := client.New(s.UserConfig(t, "system:node:"+name, "system:nodes"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	n1 := nodeClient("n1")

	for _, name := range []string{"mine", "theirs"} {
		if _, err := client.For[core.Secret](admin, secretsRes).Create(ctx, &core.Secret{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"}}); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(name, node, secret string) *core.Pod {
		return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"}, Spec: core.PodSpec{NodeName: node, ServiceAccountName: "default",
			Containers: []core.Container{{Name: "c", Image: "busybox"}},
			Volumes:    []core.Volume{{Name: "s", VolumeSource: core.VolumeSource{Secret: &core.SecretVolumeSource{SecretName: secret}}}}}}
	}
	sas := client.For[core.ServiceAccount](admin, client.Resource{Version: "v1", Resource: "serviceaccounts", Namespaced: true})
	if _, err := sas.Create(ctx, &core.ServiceAccount{ObjectMeta: meta.ObjectMeta{Name: "default", Namespace: "default"}}); err != nil && !client.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	pods := client.For[core.Pod](admin, podsRes)
	uids := map[string]string{}
	for _, p := range []*core.Pod{pod("a", "n1", "mine"), pod("b", "n2", "theirs")} {
		created, err := pods.Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		uids[p.Name] = created.UID
	}

	// The graph follows the pod watch: the secret becomes readable shortly after the pod exists.
	harness.Eventually(t, 10*time.Second, "node n1 reads its pod's secret", func() (bool, string) {
		_, err := client.For[core.Secret](n1, secretsRes).Get(ctx, "default", "mine")
		return err == nil, fmt.Sprint(err)
	})
	if _, err := client.For[core.Secret](n1, secretsRes).Get(ctx, "default", "theirs"); !client.IsForbidden(err) {
		t.Errorf("n1 reads n2's pod's secret: %v", err)
	}
	if _, err := client.For[core.Secret](n1, secretsRes).List(ctx, "default", client.ListOptions{}); !client.IsForbidden(err) {
		t.Errorf("n1 lists secrets: %v", err)
	}

	// ServiceAccount tokens: only bound to one of its own pods.
	n1sas := client.For[core.ServiceAccount](n1, client.Resource{Version: "v1", Resource: "serviceaccounts", Namespaced: true})
	nodeToken := func(pod string) error {
		body := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": map[string]any{}}
		if pod != "" {
			body["spec"] = map[string]any{"boundObjectRef": map[string]any{"kind": "Pod", "apiVersion": "v1", "name": pod, "uid": uids[pod]}}
		}
		return n1sas.Client().Do(ctx, "POST", "/api/v1/namespaces/default/serviceaccounts/default/token", body, nil)
	}
	if err := nodeToken("a"); err != nil {
		t.Errorf("n1 token for its pod: %v", err)
	}
	if err := nodeToken("b"); !client.IsForbidden(err) {
		t.Errorf("n1 token bound to n2's pod: %v", err)
	}
	if err := nodeToken(""); !client.IsForbidden(err) {
		t.Errorf("n1 unbound token: %v", err)
	}

	// Its own Node: yes; another node's: no.
	nodes := client.For[core.Node](n1, nodesRes)
	if _, err := nodes.Create(ctx, &core.Node{ObjectMeta: meta.ObjectMeta{Name: "n1", Labels: map[string]string{"kubernetes.io/hostname": "n1"}}}); err != nil {
		t.Fatalf("n1 registers: %v", err)
	}
	if _, err := nodes.Create(ctx, &core.Node{ObjectMeta: meta.ObjectMeta{Name: "n2"}}); !client.IsForbidden(err) {
		t.Errorf("n1 registers n2: %v", err)
	}
	if _, err := nodes.Create(ctx, &core.Node{ObjectMeta: meta.ObjectMeta{Name: "n1x", Labels: map[string]string{"node-restriction.kubernetes.io/trusted": "yes"}}}); !client.IsForbidden(err) {
		t.Errorf("restricted label: %v", err)
	}
	if _, err := client.For[core.Node](admin, nodesRes).Create(ctx, &core.Node{ObjectMeta: meta.ObjectMeta{Name: "n2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.Patch(ctx, "", "n2", client.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`)); !client.IsForbidden(err) {
		t.Errorf("n1 patches n2: %v", err)
	}
	if _, err := nodes.Patch(ctx, "", "n1", client.MergePatchType, []byte(`{"status":{"phase":"Running"}}`), "status"); err != nil {
		t.Errorf("n1 patches its status: %v", err)
	}

	// Pod status: only its own pods.
	np := client.For[core.Pod](n1, podsRes)
	if _, err := np.Patch(ctx, "default", "a", client.MergePatchType, []byte(`{"status":{"message":"hi"}}`), "status"); err != nil {
		t.Errorf("n1 patches its pod's status: %v", err)
	}
	if _, err := np.Patch(ctx, "default", "b", client.MergePatchType, []byte(`{"status":{"message":"hi"}}`), "status"); !client.IsForbidden(err) {
		t.Errorf("n1 patches n2's pod's status: %v", err)
	}
	if err := np.Delete(ctx, "default", "b", nil); !client.IsForbidden(err) {
		t.Errorf("n1 deletes n2's pod: %v", err)
	}
}

// cluster-info is readable without credentials and holds the cluster CA; nothing else in
// kube-public is.
func TestClusterInfoAnonymous(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	ctx := context.Background()
	anon := s.TokenConfig("")
	c, err := client.New(anon)
	if err != nil {
		t.Fatal(err)
	}
	cms := client.For[core.ConfigMap](c, client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true})
	cm, err := cms.Get(ctx, "kube-public", "cluster-info")
	if err != nil {
		t.Fatalf("anonymous get cluster-info: %v", err)
	}
	if !strings.Contains(cm.Data["kubeconfig"], "certificate-authority-data: "+base64.StdEncoding.EncodeToString(s.PKI.CA.CertPEM)) {
		t.Errorf("cluster-info kubeconfig lacks the CA:\n%s", cm.Data["kubeconfig"])
	}
	if _, err := client.For[core.ConfigMap](s.Client(t), client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}).Create(ctx,
		&core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "other", Namespace: "kube-public"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "kube-public", "other"); !client.IsForbidden(err) {
		t.Errorf("anonymous get of another configmap: %v", err)
	}
	if _, err := cms.List(ctx, "kube-public", client.ListOptions{}); !client.IsForbidden(err) {
		t.Errorf("anonymous list: %v", err)
	}
}
