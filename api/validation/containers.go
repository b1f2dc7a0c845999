package validation

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// validateContainers checks the regular containers of a pod spec.
func validateContainers(containers []core.Container, vols map[string]core.VolumeSource, gracePeriod int64, path *field.Path) field.ErrorList {
	if len(containers) == 0 {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range containers {
		c := &containers[i]
		idxPath := path.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, idxPath)...)
		// Collisions with init containers are reported on the init container.
		if names[c.Name] {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), c.Name))
		}
		names[c.Name] = true
		if c.Lifecycle != nil {
			errs = append(errs, validateLifecycle(c.Lifecycle, gracePeriod, idxPath.Child("lifecycle"))...)
		}
		errs = append(errs, validateProbes(c, idxPath)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	// All regular containers run at once, so none may claim a host port another claims.
	return append(errs, checkHostPortConflicts(containers, path)...)
}

// validateInitContainers checks init containers, including "sidecars" (restartPolicy Always),
// which run for the pod's whole life and so may have probes and lifecycle hooks.
func validateInitContainers(inits, regular []core.Container, vols map[string]core.VolumeSource, gracePeriod int64, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range regular {
		names[c.Name] = true
	}
	for i := range inits {
		c := &inits[i]
		idxPath := path.Index(i)
		errs = append(errs, validateContainerCommon(c, vols, idxPath)...)
		sidecar := false
		if rp := c.RestartPolicy; rp != nil {
			if *rp != core.ContainerRestartPolicyAlways {
				errs = append(errs, field.NotSupported(idxPath.Child("restartPolicy"), *rp, []core.ContainerRestartPolicy{core.ContainerRestartPolicyAlways}))
			}
			sidecar = *rp == core.ContainerRestartPolicyAlways
		}
		if names[c.Name] {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), c.Name))
		} else if c.Name != "" {
			names[c.Name] = true
		}
		// Init containers run one at a time, so their host ports are checked one by one.
		errs = append(errs, checkHostPortConflicts([]core.Container{*c}, path)...)
		if sidecar {
			if c.Lifecycle != nil {
				errs = append(errs, validateLifecycle(c.Lifecycle, gracePeriod, idxPath.Child("lifecycle"))...)
			}
			errs = append(errs, validateProbes(c, idxPath)...)
			continue
		}
		const msg = "may not be set for init containers without restartPolicy=Always"
		if c.Lifecycle != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("lifecycle"), msg))
		}
		if c.LivenessProbe != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("livenessProbe"), msg))
		}
		if c.ReadinessProbe != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("readinessProbe"), msg))
		}
		if c.StartupProbe != nil {
			errs = append(errs, field.Forbidden(idxPath.Child("startupProbe"), msg))
		}
	}
	return errs
}

func validateEphemeralContainers(ephemeral []core.EphemeralContainer, regular, inits []core.Container, vols map[string]core.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	others := map[string]bool{}
	for _, c := range slices.Concat(regular, inits) {
		others[c.Name] = true
	}
	all := maps.Clone(others)
	for i, ec := range ephemeral {
		idxPath := path.Index(i)
		c := core.Container(ec.EphemeralContainerCommon)
		errs = append(errs, validateContainerCommon(&c, vols, idxPath)...)
		if all[ec.Name] {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), ec.Name))
		}
		all[ec.Name] = true
		if ec.TargetContainerName != "" && !others[ec.TargetContainerName] {
			errs = append(errs, field.NotFound(idxPath.Child("targetContainerName"), ec.TargetContainerName))
		}
		// Debug containers must not become part of the pod's service: no ports, probes,
		// lifecycle hooks or resources.
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"ports", len(c.Ports) > 0},
			{"resources", !semanticEqual(c.Resources, core.ResourceRequirements{})},
			{"livenessProbe", c.LivenessProbe != nil},
			{"readinessProbe", c.ReadinessProbe != nil},
			{"startupProbe", c.StartupProbe != nil},
			{"lifecycle", c.Lifecycle != nil},
			{"resizePolicy", len(c.ResizePolicy) > 0},
			{"restartPolicy", c.RestartPolicy != nil},
		} {
			if f.set {
				errs = append(errs, field.Forbidden(idxPath.Child(f.name), "cannot be set for an Ephemeral Container"))
			}
		}
		// subPaths are bind mounts that outlive the container: not for debug containers.
		for j, vm := range c.VolumeMounts {
			if vm.SubPath != "" {
				errs = append(errs, field.Forbidden(idxPath.Child("volumeMounts").Index(j).Child("subPath"), "cannot be set for an Ephemeral Container"))
			}
			if vm.SubPathExpr != "" {
				errs = append(errs, field.Forbidden(idxPath.Child("volumeMounts").Index(j).Child("subPathExpr"), "cannot be set for an Ephemeral Container"))
			}
		}
	}
	return errs
}

// validateContainerCommon checks what every kind of container has.
func validateContainerCommon(c *core.Container, vols map[string]core.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else {
		errs = append(errs, validateDNS1123Label(c.Name, path.Child("name"))...)
	}
	if c.Image == "" {
		errs = append(errs, field.Required(path.Child("image"), ""))
	}
	if p := c.TerminationMessagePolicy; p != "" && !slices.Contains(supportedTermMsgPolicies, p) {
		errs = append(errs, field.NotSupported(path.Child("terminationMessagePolicy"), p, supportedTermMsgPolicies))
	}
	if p := c.ImagePullPolicy; p != "" && !slices.Contains(supportedPullPolicies, p) {
		errs = append(errs, field.NotSupported(path.Child("imagePullPolicy"), p, supportedPullPolicies))
	}
	errs = append(errs, validateContainerPorts(c.Ports, path.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, path.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, path.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, vols, path.Child("volumeMounts"))...)
	errs = append(errs, validateVolumeDevices(c.VolumeDevices, c.VolumeMounts, vols, path.Child("volumeDevices"))...)
	errs = append(errs, validateResourceRequirements(&c.Resources, path.Child("resources"))...)
	return append(errs, validateSecurityContext(c.SecurityContext, path.Child("securityContext"))...)
}

func validateContainerPorts(ports []core.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		idxPath := path.Index(i)
		if p.Name != "" {
			if msgs := IsValidPortName(p.Name); len(msgs) > 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(idxPath.Child("name"), p.Name, msg))
				}
			} else if names[p.Name] {
				errs = append(errs, field.Duplicate(idxPath.Child("name"), p.Name))
			} else {
				names[p.Name] = true
			}
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(idxPath.Child("containerPort"), ""))
		} else {
			for _, msg := range IsValidPortNum(int(p.ContainerPort)) {
				errs = append(errs, field.Invalid(idxPath.Child("containerPort"), p.ContainerPort, msg))
			}
		}
		if p.HostPort != 0 {
			for _, msg := range IsValidPortNum(int(p.HostPort)) {
				errs = append(errs, field.Invalid(idxPath.Child("hostPort"), p.HostPort, msg))
			}
		}
		if p.Protocol != "" && !slices.Contains(supportedPortProtocols, p.Protocol) {
			errs = append(errs, field.NotSupported(idxPath.Child("protocol"), p.Protocol, supportedPortProtocols))
		}
		if p.HostIP != "" {
			errs = append(errs, IsValidIP(idxPath.Child("hostIP"), p.HostIP)...)
		}
	}
	return errs
}

// checkHostPortConflicts reports two ports that claim the same host port, IP and protocol.
func checkHostPortConflicts(containers []core.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for ci, c := range containers {
		for pi, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := p.Protocol
			if proto == "" {
				proto = core.ProtocolTCP
			}
			key := fmt.Sprintf("%s/%s/%d", proto, p.HostIP, p.HostPort)
			if seen[key] {
				errs = append(errs, field.Duplicate(path.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen[key] = true
		}
	}
	return errs
}

// validateHostNetworkPorts: a host-network pod has no port mapping, so a host port other
// than the container port could never work. (An unset host port is filled in from the
// container port by defaulting.)
func validateHostNetworkPorts(containers []core.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range containers {
		for j, p := range c.Ports {
			if p.HostPort != 0 && p.HostPort != p.ContainerPort {
				errs = append(errs, field.Invalid(path.Index(i).Child("ports").Index(j).Child("hostPort"), p.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

func validateEnv(vars []core.EnvVar, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		idxPath := path.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(idxPath.Child("name"), ""))
		} else {
			for _, msg := range IsRelaxedEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(idxPath.Child("name"), ev.Name, msg))
			}
		}
		errs = append(errs, validateEnvVarValueFrom(ev, idxPath.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvVarValueFrom(ev core.EnvVar, path *field.Path) field.ErrorList {
	src := ev.ValueFrom
	if src == nil {
		return nil
	}
	var errs field.ErrorList
	if r := src.FieldRef; r != nil {
		errs = append(errs, validateObjectFieldSelector(r, path.Child("fieldRef"))...)
	}
	if r := src.ResourceFieldRef; r != nil {
		rp := path.Child("resourceFieldRef")
		switch {
		case r.Resource == "":
			errs = append(errs, field.Required(rp.Child("resource"), ""))
		case !slices.Contains(envResourceFields, r.Resource) && !strings.HasPrefix(r.Resource, "requests.hugepages-") && !strings.HasPrefix(r.Resource, "limits.hugepages-"):
			errs = append(errs, field.NotSupported(rp.Child("resource"), r.Resource, envResourceFields))
		}
	}
	if r := src.ConfigMapKeyRef; r != nil {
		errs = append(errs, validateKeySelector(r.Name, r.Key, path.Child("configMapKeyRef"))...)
	}
	if r := src.SecretKeyRef; r != nil {
		errs = append(errs, validateKeySelector(r.Name, r.Key, path.Child("secretKeyRef"))...)
	}
	switch n := len(oneOf(src)); {
	case n == 0:
		errs = append(errs, field.Invalid(path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(path, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(path, "", "may not have more than one field specified at a time"))
	}
	return errs
}

func validateObjectFieldSelector(fs *core.ObjectFieldSelector, path *field.Path) field.ErrorList {
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(path.Child("fieldPath"), "")}
	}
	if m := subscriptedPath.FindStringSubmatch(fs.FieldPath); m != nil {
		key := m[2]
		if m[1] == "metadata.annotations" {
			key = strings.ToLower(key)
		}
		return validateQualifiedName(key, path)
	}
	if !slices.Contains(envFieldPaths, fs.FieldPath) || fs.FieldPath == "metadata.labels" || fs.FieldPath == "metadata.annotations" {
		return field.ErrorList{field.NotSupported(path.Child("fieldPath"), fs.FieldPath, envFieldPaths)}
	}
	return nil
}

func validateKeySelector(name, key string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(path.Child("name"), name, msg))
	}
	if key == "" {
		errs = append(errs, field.Required(path.Child("key"), ""))
	} else {
		for _, msg := range IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(path.Child("key"), key, msg))
		}
	}
	return errs
}

func validateEnvFrom(sources []core.EnvFromSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, src := range sources {
		idxPath := path.Index(i)
		if src.Prefix != "" {
			for _, msg := range IsRelaxedEnvVarName(src.Prefix) {
				errs = append(errs, field.Invalid(idxPath.Child("prefix"), src.Prefix, msg))
			}
		}
		if r := src.ConfigMapRef; r != nil {
			errs = append(errs, validateRefName(r.Name, idxPath.Child("configMapRef", "name"))...)
		}
		if r := src.SecretRef; r != nil {
			errs = append(errs, validateRefName(r.Name, idxPath.Child("secretRef", "name"))...)
		}
		switch n := len(oneOf(src)); {
		case n == 0:
			errs = append(errs, field.Invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(path, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func validateRefName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range NameIsDNSSubdomain(name, true) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

func validateVolumeMounts(mounts []core.VolumeMount, vols map[string]core.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	mountPoints := map[string]bool{}
	for i, m := range mounts {
		idxPath := path.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(idxPath.Child("name"), ""))
		}
		if _, ok := vols[m.Name]; !ok {
			errs = append(errs, field.NotFound(idxPath.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(idxPath.Child("mountPath"), ""))
		}
		if mountPoints[m.MountPath] {
			errs = append(errs, field.Invalid(idxPath.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountPoints[m.MountPath] = true
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, idxPath.Child("subPath"))...)
		}
		if m.SubPathExpr != "" {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(idxPath.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, validateLocalDescendingPath(m.SubPathExpr, idxPath.Child("subPathExpr"))...)
		}
		if mp := m.MountPropagation; mp != nil && !slices.Contains(supportedPropagation, *mp) {
			errs = append(errs, field.NotSupported(idxPath.Child("mountPropagation"), *mp, supportedPropagation))
		}
	}
	return errs
}

func validateVolumeDevices(devices []core.VolumeDevice, mounts []core.VolumeMount, vols map[string]core.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths, names := map[string]bool{}, map[string]bool{}
	for i, d := range devices {
		idxPath := path.Index(i)
		if d.Name == "" {
			errs = append(errs, field.Required(idxPath.Child("name"), ""))
		}
		if names[d.Name] {
			errs = append(errs, field.Invalid(idxPath.Child("name"), d.Name, "must be unique"))
		}
		if src, ok := vols[d.Name]; !ok {
			errs = append(errs, field.NotFound(idxPath.Child("name"), d.Name))
		} else if src.PersistentVolumeClaim == nil && src.Ephemeral == nil {
			errs = append(errs, field.Invalid(idxPath.Child("name"), d.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if d.DevicePath == "" {
			errs = append(errs, field.Required(idxPath.Child("devicePath"), ""))
		}
		if paths[d.DevicePath] {
			errs = append(errs, field.Invalid(idxPath.Child("devicePath"), d.DevicePath, "must be unique"))
		}
		for _, m := range mounts {
			if m.Name == d.Name {
				errs = append(errs, field.Invalid(idxPath.Child("name"), d.Name, "must not already exist in volumeMounts"))
			}
			if m.MountPath == d.DevicePath {
				errs = append(errs, field.Invalid(idxPath.Child("devicePath"), d.DevicePath, "must not already exist as a path in volumeMounts"))
			}
		}
		paths[d.DevicePath], names[d.Name] = true, true
	}
	return errs
}

// validateResourceRequirements checks resource names, that quantities are not negative, and
// that a request does not exceed its limit (or, for extended resources such as GPUs, which
// cannot be overcommitted, equals it).
func validateResourceRequirements(req *core.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := path.Child("limits"), path.Child("requests")
	for _, name := range sortedKeys(req.Limits) {
		q := req.Limits[name]
		p := limPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(string(name), p)...)
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p, q.String(), IsNegativeErrorMsg))
		}
	}
	for _, name := range sortedKeys(req.Requests) {
		q := req.Requests[name]
		p := reqPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(string(name), p)...)
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p, q.String(), IsNegativeErrorMsg))
		}
		limit, hasLimit := req.Limits[name]
		switch {
		case hasLimit && !overcommitAllowed(string(name)) && q.Cmp(limit) != 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case hasLimit && q.Cmp(limit) > 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		case !hasLimit && !overcommitAllowed(string(name)):
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

// nativeResource: unprefixed names and kubernetes.io/ ones are Kubernetes' own.
func nativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.HasPrefix(name, "kubernetes.io/")
}

// overcommitAllowed: only native, non-hugepage resources may be requested below their limit.
func overcommitAllowed(name string) bool {
	return nativeResource(name) && !strings.HasPrefix(name, core.ResourceHugePagesPrefix)
}

func validateContainerResourceName(name string, path *field.Path) field.ErrorList {
	errs := validateQualifiedName(name, path)
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(name, "/") {
		switch core.ResourceName(name) {
		case core.ResourceCPU, core.ResourceMemory, core.ResourceEphemeralStorage:
		default:
			if !strings.HasPrefix(name, core.ResourceHugePagesPrefix) {
				errs = append(errs, field.Invalid(path, name, "must be a standard resource for containers"))
			}
		}
	}
	return errs
}

// validateProbes checks a container's liveness, readiness and startup probes.
func validateProbes(c *core.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, p := range []struct {
		name  string
		probe *core.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if p.probe == nil {
			continue
		}
		pp := path.Child(p.name)
		errs = append(errs, validateProbe(p.probe, pp)...)
		// Liveness and startup only ask "has it failed?", so one success is all there is.
		// Zero means unset (defaulted to 1).
		if p.name != "readinessProbe" && p.probe.SuccessThreshold != 0 && p.probe.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(pp.Child("successThreshold"), p.probe.SuccessThreshold, "must be 1"))
		}
		if p.name == "readinessProbe" && p.probe.TerminationGracePeriodSeconds != nil {
			errs = append(errs, field.Invalid(pp.Child("terminationGracePeriodSeconds"), p.probe.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		}
	}
	return errs
}

func validateProbe(p *core.Probe, path *field.Path) field.ErrorList {
	errs := validateUnion(&p.ProbeHandler, path, "handler type")
	errs = append(errs, validateHandlerActions(p.Exec, p.HTTPGet, p.TCPSocket, path)...)
	if g := p.GRPC; g != nil {
		for _, msg := range IsValidPortNum(int(g.Port)) {
			errs = append(errs, field.Invalid(path.Child("grpc", "port"), int(g.Port), msg))
		}
	}
	errs = append(errs, ValidateNonnegativeField(int64(p.InitialDelaySeconds), path.Child("initialDelaySeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(p.TimeoutSeconds), path.Child("timeoutSeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(p.PeriodSeconds), path.Child("periodSeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(p.SuccessThreshold), path.Child("successThreshold"))...)
	errs = append(errs, ValidateNonnegativeField(int64(p.FailureThreshold), path.Child("failureThreshold"))...)
	if t := p.TerminationGracePeriodSeconds; t != nil && *t <= 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *t, "must be greater than 0"))
	}
	return errs
}

func validateLifecycle(l *core.Lifecycle, gracePeriod int64, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, h := range []struct {
		name    string
		handler *core.LifecycleHandler
	}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
		if h.handler == nil {
			continue
		}
		hp := path.Child(h.name)
		errs = append(errs, validateUnion(h.handler, hp, "handler type")...)
		errs = append(errs, validateHandlerActions(h.handler.Exec, h.handler.HTTPGet, h.handler.TCPSocket, hp)...)
		// A hook that sleeps past the grace period would be killed mid-sleep.
		if s := h.handler.Sleep; s != nil && (s.Seconds < 0 || s.Seconds > gracePeriod) {
			errs = append(errs, field.Invalid(hp.Child("sleep"), s.Seconds, fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", gracePeriod)))
		}
	}
	return errs
}

// validateHandlerActions checks the actions probes and lifecycle hooks share.
func validateHandlerActions(exec *core.ExecAction, httpGet *core.HTTPGetAction, tcp *core.TCPSocketAction, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if exec != nil && len(exec.Command) == 0 {
		errs = append(errs, field.Required(path.Child("exec", "command"), ""))
	}
	if h := httpGet; h != nil {
		hp := path.Child("httpGet")
		errs = append(errs, validatePortNumOrName(h.Port, hp.Child("port"))...)
		if h.Scheme != "" && !slices.Contains(supportedHTTPSchemes, h.Scheme) {
			errs = append(errs, field.NotSupported(hp.Child("scheme"), h.Scheme, supportedHTTPSchemes))
		}
		for _, hdr := range h.HTTPHeaders {
			if !httpHeaderNameRegexp.MatchString(hdr.Name) {
				errs = append(errs, field.Invalid(hp.Child("httpHeaders"), hdr.Name, RegexError("a valid HTTP header must consist of alphanumeric characters or '-'", "[-A-Za-z0-9]+", "X-Header-Name")))
			}
		}
	}
	if tcp != nil {
		errs = append(errs, validatePortNumOrName(tcp.Port, path.Child("tcpSocket", "port"))...)
	}
	return errs
}

// validatePortNumOrName checks a port given as a number or as a container port's name.
func validatePortNumOrName(port intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.String {
		for _, msg := range IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(path, port.StrVal, msg))
		}
		return errs
	}
	for _, msg := range IsValidPortNum(port.IntValue()) {
		errs = append(errs, field.Invalid(path, port.IntValue(), msg))
	}
	return errs
}

func validateSecurityContext(sc *core.SecurityContext, path *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := validateIDs(sc.RunAsUser, sc.RunAsGroup, path)
	// Privilege escalation cannot be denied to a process that is privileged or may add
	// CAP_SYS_ADMIN: it already has everything escalation would give it.
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil && slices.Contains(sc.Capabilities.Add, "CAP_SYS_ADMIN") {
			errs = append(errs, field.Invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
		}
	}
	return errs
}

func validateIDs(user, group *int64, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if user != nil {
		errs = append(errs, validateID(*user, path.Child("runAsUser"))...)
	}
	if group != nil {
		errs = append(errs, validateID(*group, path.Child("runAsGroup"))...)
	}
	return errs
}

// validateID checks a Unix user or group ID.
func validateID(id int64, path *field.Path) field.ErrorList {
	if id < 0 || id > maxUserID {
		return field.ErrorList{field.Invalid(path, id, InclusiveRangeError(0, maxUserID))}
	}
	return nil
}
