package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/google/uuid"
	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/storage"
)

// What a node joining with a bootstrap token needs from the cluster, as kubeadm sets it up:
//
//   - the cluster-info ConfigMap in kube-public, a kubeconfig with the server address and
//     the cluster CA, readable anonymously (Role kubeadm:bootstrap-signer-clusterinfo bound
//     to system:anonymous): the joining node reads it before it trusts anything, and accepts
//     the CA only if its public key matches the --discovery-token-ca-cert-hash it was given;
//   - ClusterRoleBindings letting bootstrap tokens (group system:bootstrappers) create
//     CertificateSigningRequests and have their node client certificates auto-approved,
//     and letting nodes (system:nodes) have their renewals auto-approved.

// Names kubeadm uses.
const (
	ClusterInfoName      = "cluster-info"
	ClusterInfoNamespace = "kube-public"
	ClusterInfoRole      = "kubeadm:bootstrap-signer-clusterinfo"
	// The roles below are written by the RBAC bootstrap (the system: defaults).
	NodeBootstrapperRole       = "system:node-bootstrapper"
	NodeClientApproverRole     = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
	SelfNodeClientApproverRole = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
	BootstrapTokenGroup        = "system:bootstrappers:kubeadm:default-node-token"
)

// bootstrapClusterInfo publishes cluster-info and the join bindings; idempotent. Without a
// cluster CA (an --insecure server) there is nothing to publish.
func (s *Server) bootstrapClusterInfo(ctx context.Context) error {
	if s.cfg.ClientCAFile == "" {
		return nil
	}
	caPEM, err := os.ReadFile(s.cfg.ClientCAFile)
	if err != nil {
		return fmt.Errorf("cluster-info: %w", err)
	}
	kubeconfig, err := ClusterInfoKubeconfig(s.advertisedURL(), caPEM)
	if err != nil {
		return err
	}
	cm := &core.ConfigMap{TypeMeta: meta.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: ClusterInfoName, Namespace: ClusterInfoNamespace},
		Data:       map[string]string{"kubeconfig": string(kubeconfig)}}
	cmKind, _ := s.reg.Lookup("", "v1", "configmaps")
	key := cmKind.Key(ClusterInfoNamespace, ClusterInfoName)
	_, err = s.store.GuaranteedUpdate(ctx, key, cmKind.New, func(cur meta.Object) (meta.Object, error) {
		c := cur.(*core.ConfigMap)
		if c.Data == nil {
			c.Data = map[string]string{}
		}
		c.Data["kubeconfig"] = cm.Data["kubeconfig"] // the CA and address of now
		return c, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		err = s.createSystemObject(ctx, key, cm)
	}
	if err != nil {
		return fmt.Errorf("cluster-info: %w", err)
	}
	for _, o := range joinRBAC() {
		k, ok := s.reg.LookupKind(rbac.GroupName, "v1", o.GetTypeMeta().Kind)
		if !ok {
			return nil // RBAC kinds not served: nothing to bind
		}
		m := o.GetObjectMeta()
		if err := s.createSystemObject(ctx, k.Key(m.Namespace, m.Name), o); err != nil {
			return fmt.Errorf("%s %s: %w", k.Kind, m.Name, err)
		}
	}
	return nil
}

// createSystemObject creates obj under key unless something is there already (an operator
// may have changed it: it is left alone).
func (s *Server) createSystemObject(ctx context.Context, key string, obj meta.Object) error {
	defaults.Object(obj)
	m := obj.GetObjectMeta()
	m.UID, m.CreationTimestamp = uuid.NewString(), meta.Now()
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	err := s.store.Create(ctx, key, obj)
	if errors.Is(err, storage.ErrAlreadyExists) {
		return nil
	}
	return err
}

// advertisedURL is the API server's address in cluster-info: the first --listen address,
// with a wildcard host replaced by this machine's first non-loopback address.
func (s *Server) advertisedURL() string {
	first, _, _ := strings.Cut(s.cfg.Listen, ",")
	host, port, err := net.SplitHostPort(strings.TrimSpace(first))
	if err != nil {
		host, port = "", "6443"
	}
	if s.cfg.AdvertiseAddress != "" {
		host = s.cfg.AdvertiseAddress
	} else if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = firstHostIP()
	}
	return "https://" + net.JoinHostPort(host, port)
}

func firstHostIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

// ClusterInfoKubeconfig is the kubeconfig cluster-info holds: one cluster, no user.
func ClusterInfoKubeconfig(server string, caPEM []byte) ([]byte, error) {
	return yaml.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Config", "preferences": map[string]any{},
		"clusters": []any{map[string]any{"name": "", "cluster": map[string]any{
			"server": server, "certificate-authority-data": caPEM}}},
		"contexts": []any{}, "users": []any{}, "current-context": "",
	})
}

func joinRBAC() []meta.Object {
	tm := func(kind string) meta.TypeMeta { return meta.TypeMeta{Kind: kind, APIVersion: rbac.GroupName + "/v1"} }
	group := func(name string) []rbac.Subject {
		return []rbac.Subject{{Kind: "Group", APIGroup: rbac.GroupName, Name: name}}
	}
	clusterBinding := func(name, role, subject string) *rbac.ClusterRoleBinding {
		return &rbac.ClusterRoleBinding{TypeMeta: tm("ClusterRoleBinding"), ObjectMeta: meta.ObjectMeta{Name: name},
			Subjects: group(subject), RoleRef: rbac.RoleRef{APIGroup: rbac.GroupName, Kind: "ClusterRole", Name: role}}
	}
	return []meta.Object{
		&rbac.Role{TypeMeta: tm("Role"), ObjectMeta: meta.ObjectMeta{Name: ClusterInfoRole, Namespace: ClusterInfoNamespace},
			Rules: []rbac.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{ClusterInfoName}}}},
		&rbac.RoleBinding{TypeMeta: tm("RoleBinding"), ObjectMeta: meta.ObjectMeta{Name: ClusterInfoRole, Namespace: ClusterInfoNamespace},
			Subjects: []rbac.Subject{{Kind: "User", APIGroup: rbac.GroupName, Name: "system:anonymous"}},
			RoleRef:  rbac.RoleRef{APIGroup: rbac.GroupName, Kind: "Role", Name: ClusterInfoRole}},
		clusterBinding("kubeadm:kubelet-bootstrap", NodeBootstrapperRole, "system:bootstrappers"),
		clusterBinding("kubeadm:node-autoapprove-bootstrap", NodeClientApproverRole, "system:bootstrappers"),
		clusterBinding("kubeadm:node-autoapprove-certificate-rotation", SelfNodeClientApproverRole, "system:nodes"),
	}
}
