// Package rootcacertpublisher keeps a ConfigMap kube-root-ca.crt holding the cluster CA in
// every namespace, as Kubernetes' root-ca-cert-publisher does: the ServiceAccount volume
// every pod gets projects its ca.crt, which is how a program in a pod verifies the API
// server (client-go's rest.InClusterConfig reads it). A deleted or edited ConfigMap is put
// back.
package rootcacertpublisher

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "root-ca-cert-publisher"

const (
	// ConfigMapName is the ConfigMap published in every namespace.
	ConfigMapName = "kube-root-ca.crt"
	// Key is the ConfigMap key of the CA bundle.
	Key = "ca.crt"
	// DescriptionAnnotation and Description say what the ConfigMap is for, word for word
	// Kubernetes'.
	DescriptionAnnotation = "kubernetes.io/description"
	Description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// ConfigMaps is the resource the controller writes.
var ConfigMaps = client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}

// Options configure the publisher.
type Options struct {
	// RootCA is the PEM bundle to publish: --root-ca-file, or else the CA the controller
	// manager's own kubeconfig trusts (Kubernetes' fallback; the command does it). Empty
	// publishes an empty ca.crt, as Kubernetes does, so that pods' volumes still mount.
	RootCA []byte
}

// ReadRootCA reads a --root-ca-file: PEM that must hold at least one certificate.
func ReadRootCA(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("root CA file: %w", err)
	}
	if err := checkPEM(data); err != nil {
		return nil, fmt.Errorf("root CA file %s: %w", path, err)
	}
	return data, nil
}

func checkPEM(data []byte) error {
	found := false
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("bad certificate: %w", err)
		}
		found = true
	}
	if !found {
		return errors.New("no PEM certificate found")
	}
	return nil
}

// Controller publishes the root CA.
type Controller struct {
	rootCA     string
	namespaces *informer.Informer[core.Namespace, *core.Namespace]
	// configMaps watches only the kube-root-ca.crt ConfigMaps (a field selector), not every
	// ConfigMap of the cluster.
	configMaps *informer.Informer[core.ConfigMap, *core.ConfigMap]
	client     *client.Typed[core.ConfigMap, *core.ConfigMap]
	queue      *controller.Queue
	workers    int
	log        *slog.Logger
}

// New makes the controller.
func New(cc *controller.Context, o Options) *Controller {
	cms := client.For[core.ConfigMap](cc.Client, ConfigMaps)
	c := &Controller{
		rootCA:     string(o.RootCA),
		namespaces: controller.NamespaceInformer(cc),
		configMaps: informer.NewInformer[core.ConfigMap](cms, "", client.ListOptions{FieldSelector: "metadata.name=" + ConfigMapName}, 0),
		client:     cms,
		queue:      controller.NewQueue(cc, Name),
		workers:    cc.WorkerCount(),
		log:        cc.Logger(Name),
	}
	c.namespaces.AddEventHandler(informer.Handler[*core.Namespace]{
		AddFunc:    func(ns *core.Namespace) { c.queue.Add(ns.Name) },
		UpdateFunc: func(_, ns *core.Namespace) { c.queue.Add(ns.Name) },
	})
	c.configMaps.AddEventHandler(informer.Handler[*core.ConfigMap]{
		UpdateFunc: func(_, cm *core.ConfigMap) { c.queue.Add(cm.Namespace) },
		DeleteFunc: func(cm *core.ConfigMap) { c.queue.Add(cm.Namespace) },
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	go c.configMaps.Run(ctx)
	if !controller.WaitForSync(ctx, c.log, c.namespaces.HasSynced, c.configMaps.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, ns string) error {
	n, ok := c.namespaces.Indexer().Get(ns)
	if !ok || n.DeletionTimestamp != nil || n.Status.Phase == core.NamespaceTerminating {
		return nil
	}
	data := map[string]string{Key: c.rootCA}
	cm, ok := c.configMaps.Indexer().GetByName(ns, ConfigMapName)
	if !ok {
		_, err := c.client.Create(ctx, &core.ConfigMap{
			TypeMeta: meta.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
			ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: ConfigMapName,
				Annotations: map[string]string{DescriptionAnnotation: Description}},
			Data: data,
		})
		switch {
		case err == nil, client.IsAlreadyExists(err):
			// Already there: the informer will show it, and an update event brings us back.
			return nil
		case client.IsNotFound(err) || controller.IsNamespaceTerminating(err):
			return nil // the namespace is going away; don't retry
		}
		return fmt.Errorf("create %s/%s: %w", ns, ConfigMapName, err)
	}
	// The data and the one annotation are ours (an edited ca.crt or an added key is put
	// back); other labels and annotations someone added stay.
	if maps.Equal(cm.Data, data) && cm.Annotations[DescriptionAnnotation] != "" {
		return nil
	}
	cm = controller.DeepCopy(cm)
	cm.Data = data
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DescriptionAnnotation] = Description
	if _, err := c.client.Update(ctx, cm); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("update %s/%s: %w", ns, ConfigMapName, err)
	}
	return nil
}
