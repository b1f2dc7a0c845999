package apiserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/storage"
)

// The ServiceAccount admission plugin's constants, as Kubernetes'
// plugin/pkg/admission/serviceaccount has them.
const (
	// DefaultServiceAccountName is the account a pod runs as when it names none.
	DefaultServiceAccountName = "default"
	// ServiceAccountTokenMountPath is where the token, the CA and the namespace appear in
	// every container: the directory client-go's rest.InClusterConfig reads.
	ServiceAccountTokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// serviceAccountVolumePrefix starts the name of the projected volume ("kube-api-access-xxxxx").
	serviceAccountVolumePrefix = "kube-api-access-"
	// boundTokenExpirationSeconds is the token lifetime asked for: Kubernetes'
	// WarnOnlyBoundTokenExpirationSeconds (an hour and 7 s), the odd value telling the token
	// issuer that the request comes from this plugin's volume.
	boundTokenExpirationSeconds = 3607
	// RootCAConfigMapName is the ConfigMap the root CA publisher keeps in every namespace.
	RootCAConfigMapName = "kube-root-ca.crt"
	// ServiceAccountAdmissionPlugin is the plugin's name in --disable-admission-plugins.
	ServiceAccountAdmissionPlugin = "ServiceAccount"
)

// serviceAccountLookup finds a ServiceAccount; a missing one is storage.ErrNotFound.
type serviceAccountLookup func(ctx context.Context, namespace, name string) (*core.ServiceAccount, error)

// admitServiceAccount is Kubernetes' ServiceAccount admission plugin on pod create: it
// defaults spec.serviceAccountName to "default", refuses a pod whose account does not exist,
// and, unless the pod or its account opts out with automountServiceAccountToken: false,
// mounts a projected volume with a bound token, the cluster CA and the namespace at
// ServiceAccountTokenMountPath in every container. The error is the message of the 403.
func admitServiceAccount(ctx context.Context, p *core.Pod, lookup serviceAccountLookup) error {
	if _, mirror := p.Annotations[core.MirrorPodAnnotationKey]; mirror {
		// A node's copy of a static pod is never changed (the node would see a different
		// spec and delete it), and may not carry credentials the node could not give it.
		return validateMirrorPod(p)
	}
	if p.Spec.ServiceAccountName == "" {
		p.Spec.ServiceAccountName = p.Spec.DeprecatedServiceAccount
	}
	if p.Spec.ServiceAccountName == "" {
		p.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	// The alias always says the same as the field (Kubernetes' v1 conversion does this).
	p.Spec.DeprecatedServiceAccount = p.Spec.ServiceAccountName
	sa, err := lookup(ctx, p.Namespace, p.Spec.ServiceAccountName)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			err = fmt.Errorf("serviceaccount %q not found", p.Spec.ServiceAccountName)
		}
		return fmt.Errorf("error looking up service account %s/%s: %w", p.Namespace, p.Spec.ServiceAccountName, err)
	}
	if automount(p, sa) {
		mountServiceAccountToken(p)
	}
	if len(p.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		p.Spec.ImagePullSecrets = append([]core.LocalObjectReference(nil), sa.ImagePullSecrets...)
	}
	return nil
}

// validateMirrorPod is the plugin's rule for mirror pods, with Kubernetes' messages.
func validateMirrorPod(p *core.Pod) error {
	if p.Spec.ServiceAccountName != "" {
		return errors.New("a mirror pod may not reference service accounts")
	}
	if referencesSecrets(p) {
		return errors.New("a mirror pod may not reference secrets")
	}
	for _, v := range p.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return errors.New("a mirror pod may not use ServiceAccountToken volume projections")
			}
		}
	}
	return nil
}

// referencesSecrets reports whether the pod names a Secret: image pull secrets, secret
// volumes and projections, env and envFrom of any container.
func referencesSecrets(p *core.Pod) bool {
	if len(p.Spec.ImagePullSecrets) > 0 {
		return true
	}
	for _, v := range p.Spec.Volumes {
		if v.Secret != nil {
			return true
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					return true
				}
			}
		}
	}
	containers := append(append([]core.Container{}, p.Spec.InitContainers...), p.Spec.Containers...)
	for _, ec := range p.Spec.EphemeralContainers {
		containers = append(containers, core.Container(ec.EphemeralContainerCommon))
	}
	for _, c := range containers {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				return true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				return true
			}
		}
	}
	return false
}

// automount is the pod's automountServiceAccountToken if set, else the account's, else true.
func automount(p *core.Pod, sa *core.ServiceAccount) bool {
	if p.Spec.AutomountServiceAccountToken != nil {
		return *p.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// mountServiceAccountToken adds the read-only mount to every init and app container that has
// nothing mounted at ServiceAccountTokenMountPath yet, and the volume if one of them needed
// it. A pod that already has a kube-api-access-* volume keeps it (it was made for it).
func mountServiceAccountToken(p *core.Pod) {
	name := ""
	for _, v := range p.Spec.Volumes {
		if strings.HasPrefix(v.Name, serviceAccountVolumePrefix) {
			name = v.Name
			break
		}
	}
	hasVolume := name != ""
	if !hasVolume {
		name = serviceAccountVolumePrefix + randomSuffix()
	}
	mount := core.VolumeMount{Name: name, ReadOnly: true, MountPath: ServiceAccountTokenMountPath}
	needed := false
	for _, cs := range [][]core.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			if !mountsAt(cs[i].VolumeMounts, ServiceAccountTokenMountPath) {
				cs[i].VolumeMounts = append(cs[i].VolumeMounts, mount)
				needed = true
			}
		}
	}
	if needed && !hasVolume {
		p.Spec.Volumes = append(p.Spec.Volumes, core.Volume{Name: name,
			VolumeSource: core.VolumeSource{Projected: ServiceAccountTokenVolumeSource()}})
	}
}

func mountsAt(mounts []core.VolumeMount, path string) bool {
	for _, m := range mounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// ServiceAccountTokenVolumeSource is the projected volume the plugin adds, field for field
// Kubernetes' TokenVolumeSource: token (bound, 3607 s), ca.crt from kube-root-ca.crt, and
// the namespace through the downward API.
func ServiceAccountTokenVolumeSource() *core.ProjectedVolumeSource {
	mode := core.ProjectedVolumeSourceDefaultMode
	exp := int64(boundTokenExpirationSeconds)
	return &core.ProjectedVolumeSource{
		// Set explicitly (kubernetes#104464) so that the pod reads the same before and after
		// defaulting.
		DefaultMode: &mode,
		Sources: []core.VolumeProjection{
			{ServiceAccountToken: &core.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
			{ConfigMap: &core.ConfigMapProjection{
				LocalObjectReference: core.LocalObjectReference{Name: RootCAConfigMapName},
				Items:                []core.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &core.DownwardAPIProjection{Items: []core.DownwardAPIVolumeFile{{
				Path: "namespace", FieldRef: &core.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
}

// lookupServiceAccount reads the account from the watch cache, then from etcd: the cache may
// lag an account created a moment ago. The "default" account is asked for up to ten times
// 100-200 ms apart, as Kubernetes does, because the controller manager creates it right
// after the namespace and a pod created at once would otherwise be refused.
func (s *Server) lookupServiceAccount(ctx context.Context, namespace, name string) (*core.ServiceAccount, error) {
	k, _ := s.reg.Lookup("", "v1", "serviceaccounts")
	key := k.Key(namespace, name)
	if o, ok := s.cache(k).Get(key); ok {
		return o.(*core.ServiceAccount), nil
	}
	attempts := 1
	if name == DefaultServiceAccountName {
		attempts = 10
	}
	interval := time.Duration(100+rand.IntN(100)) * time.Millisecond
	for i := 0; ; i++ {
		sa := &core.ServiceAccount{}
		err := s.store.Get(ctx, key, sa)
		if err == nil {
			return sa, nil
		}
		if !errors.Is(err, storage.ErrNotFound) || i+1 >= attempts {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
	}
}
