package node

import "github.com/skiff-sh/skiff/api/core"

// Kinds of objects a pod refers to, which its node may read.
const (
	Secret         = "secrets"
	ConfigMap      = "configmaps"
	PVC            = "persistentvolumeclaims"
	ServiceAccount = "serviceaccounts"
	// RuntimeClass is cluster-scoped: its Ref has no namespace.
	RuntimeClass = "runtimeclasses"
)

// Ref names one object a pod refers to (in the pod's namespace; cluster-scoped: none).
type Ref struct {
	Kind, Namespace, Name string
}

// PodRefs lists what a pod refers to: its ServiceAccount, image pull secrets, the Secrets,
// ConfigMaps and PersistentVolumeClaims of its volumes (projected and generic ephemeral ones
// included), and the Secrets and ConfigMaps its containers' environment reads (init and
// ephemeral containers included). Duplicates are removed.
func PodRefs(p *core.Pod) []Ref {
	seen := map[Ref]bool{}
	var out []Ref
	add := func(kind, name string) {
		if name == "" {
			return
		}
		r := Ref{kind, p.Namespace, name}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sa := p.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	add(ServiceAccount, sa)
	if rc := p.Spec.RuntimeClassName; rc != nil && *rc != "" {
		r := Ref{RuntimeClass, "", *rc}
		seen[r] = true
		out = append(out, r)
	}
	for _, s := range p.Spec.ImagePullSecrets {
		add(Secret, s.Name)
	}
	for _, v := range p.Spec.Volumes {
		switch {
		case v.Secret != nil:
			add(Secret, v.Secret.SecretName)
		case v.ConfigMap != nil:
			add(ConfigMap, v.ConfigMap.Name)
		case v.PersistentVolumeClaim != nil:
			add(PVC, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			// A generic ephemeral volume's claim is named after the pod and the volume.
			add(PVC, p.Name+"-"+v.Name)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					add(Secret, s.Secret.Name)
				}
				if s.ConfigMap != nil {
					add(ConfigMap, s.ConfigMap.Name)
				}
			}
		}
	}
	env := func(envFrom []core.EnvFromSource, envs []core.EnvVar) {
		for _, e := range envFrom {
			if e.SecretRef != nil {
				add(Secret, e.SecretRef.Name)
			}
			if e.ConfigMapRef != nil {
				add(ConfigMap, e.ConfigMapRef.Name)
			}
		}
		for _, e := range envs {
			if e.ValueFrom == nil {
				continue
			}
			if e.ValueFrom.SecretKeyRef != nil {
				add(Secret, e.ValueFrom.SecretKeyRef.Name)
			}
			if e.ValueFrom.ConfigMapKeyRef != nil {
				add(ConfigMap, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	}
	for _, c := range p.Spec.InitContainers {
		env(c.EnvFrom, c.Env)
	}
	for _, c := range p.Spec.Containers {
		env(c.EnvFrom, c.Env)
	}
	for _, c := range p.Spec.EphemeralContainers {
		env(c.EnvFrom, c.Env)
	}
	return out
}
