package defaults

import (
	"strings"

	"github.com/skiff-sh/skiff/api/core"
)

// Pod defaults a pod: everything PodSpec gets, plus the pod-only rules (requests from
// limits, enableServiceLinks, host ports under hostNetwork) that Kubernetes deliberately
// keeps out of pod templates so that defaulting a template never changes its hash.
func Pod(pod *core.Pod) {
	PodSpec(&pod.Spec)
	spec := &pod.Spec
	for _, cs := range [][]core.Container{spec.Containers, spec.InitContainers} {
		for i := range cs {
			requestsFromLimits(&cs[i].Resources)
		}
	}
	if spec.EnableServiceLinks == nil {
		spec.EnableServiceLinks = ptr(core.DefaultEnableServiceLinks)
	}
	if spec.HostNetwork {
		for _, cs := range [][]core.Container{spec.Containers, spec.InitContainers} {
			for i := range cs {
				for j := range cs[i].Ports {
					if cs[i].Ports[j].HostPort == 0 {
						cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
					}
				}
			}
		}
	}
}

// requestsFromLimits sets a request equal to the limit for every resource that has a limit
// but no request (a container that says only "limit 1 cpu" is asking for 1 cpu).
func requestsFromLimits(r *core.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = core.ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q
		}
	}
}

// PodTemplateSpec defaults the pod spec of a template (Deployment, Job, ... templates).
func PodTemplateSpec(t *core.PodTemplateSpec) { PodSpec(&t.Spec) }

// PodSpec defaults a pod spec, its containers and its volumes.
func PodSpec(spec *core.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = core.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = core.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &core.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptr(int64(core.DefaultTerminationGracePeriodSeconds))
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = core.DefaultSchedulerName
	}
	// serviceAccount is the old name of serviceAccountName: the new one wins, and both read
	// the same afterwards (Kubernetes' v1 conversion).
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName
	for i := range spec.Volumes {
		volume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		container(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		container(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		c := core.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		container(&c)
		spec.EphemeralContainers[i].EphemeralContainerCommon = core.EphemeralContainerCommon(c)
	}
}

func container(c *core.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = pullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = core.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = core.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = core.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil {
			fieldSelector(vf.FieldRef)
		}
	}
	for _, p := range []*core.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			probe(p)
		}
	}
	if c.Lifecycle != nil {
		for _, h := range []*core.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h != nil && h.HTTPGet != nil {
				httpGet(h.HTTPGet)
			}
		}
	}
}

// pullPolicy is Always for an image whose tag is "latest" or that has neither tag nor digest
// (which means latest), IfNotPresent otherwise (a pinned tag or a digest).
func pullPolicy(image string) core.PullPolicy {
	if imageTag(image) == "latest" {
		return core.PullAlways
	}
	return core.PullIfNotPresent
}

// imageTag returns the tag of an image reference, "latest" when it has neither a tag nor a
// digest, and "" when it has only a digest. A colon before the last slash belongs to the
// registry host ("localhost:5000/app"), not to the tag.
func imageTag(image string) string {
	name, _, hasDigest := strings.Cut(image, "@")
	last := name[strings.LastIndex(name, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[i+1:]
	}
	if hasDigest {
		return ""
	}
	return "latest"
}

func probe(p *core.Probe) {
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HTTPGet != nil {
		httpGet(p.HTTPGet)
	}
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptr("")
	}
}

func httpGet(h *core.HTTPGetAction) {
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = core.URISchemeHTTP
	}
}

func fieldSelector(f *core.ObjectFieldSelector) {
	if f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

func volume(v *core.Volume) {
	src := &v.VolumeSource
	if *src == (core.VolumeSource{}) {
		src.EmptyDir = &core.EmptyDirVolumeSource{}
	}
	if src.HostPath != nil && src.HostPath.Type == nil {
		src.HostPath.Type = ptr(core.HostPathUnset)
	}
	if src.Secret != nil && src.Secret.DefaultMode == nil {
		src.Secret.DefaultMode = ptr(core.SecretVolumeSourceDefaultMode)
	}
	if src.ConfigMap != nil && src.ConfigMap.DefaultMode == nil {
		src.ConfigMap.DefaultMode = ptr(core.ConfigMapVolumeSourceDefaultMode)
	}
	if d := src.DownwardAPI; d != nil {
		if d.DefaultMode == nil {
			d.DefaultMode = ptr(core.DownwardAPIVolumeSourceDefaultMode)
		}
		downwardAPIItems(d.Items)
	}
	if p := src.Projected; p != nil {
		if p.DefaultMode == nil {
			p.DefaultMode = ptr(core.ProjectedVolumeSourceDefaultMode)
		}
		for i := range p.Sources {
			s := &p.Sources[i]
			if s.ServiceAccountToken != nil && s.ServiceAccountToken.ExpirationSeconds == nil {
				s.ServiceAccountToken.ExpirationSeconds = ptr(int64(3600))
			}
			if s.DownwardAPI != nil {
				downwardAPIItems(s.DownwardAPI.Items)
			}
		}
	}
	if e := src.Ephemeral; e != nil && e.VolumeClaimTemplate != nil {
		claimSpec(&e.VolumeClaimTemplate.Spec)
	}
	if img := src.Image; img != nil && img.PullPolicy == "" {
		img.PullPolicy = pullPolicy(img.Reference)
	}
}

func downwardAPIItems(items []core.DownwardAPIVolumeFile) {
	for i := range items {
		if items[i].FieldRef != nil {
			fieldSelector(items[i].FieldRef)
		}
	}
}
