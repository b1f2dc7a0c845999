package validation

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/validation/field"
)

var supportedAccessModes = []core.PersistentVolumeAccessMode{core.ReadOnlyMany, core.ReadWriteMany, core.ReadWriteOnce, core.ReadWriteOncePod}

// ConfigMaps and Secrets live in etcd and in every watcher's memory, and are mounted
// into pods, so together their values are capped at core.MaxSecretSize (1 MiB).

func validateConfigMap(cm *core.ConfigMap) field.ErrorList {
	errs := ValidateObjectMeta(&cm.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	size := 0
	for _, k := range sortedKeys(cm.Data) {
		for _, msg := range IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, msg))
		}
		// Both maps become files in one directory when mounted.
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, "duplicate of key present in binaryData"))
		}
		size += len(cm.Data[k])
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		for _, msg := range IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(k), k, msg))
		}
		size += len(cm.BinaryData[k])
	}
	if size > core.MaxSecretSize {
		// The empty path means "the object as a whole".
		errs = append(errs, field.TooLong(field.NewPath(""), "", core.MaxSecretSize))
	}
	return errs
}

func validateConfigMapUpdate(cm, old *core.ConfigMap) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&cm.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if old.Immutable != nil && *old.Immutable {
		errs = append(errs, validateImmutableData(cm.Immutable, cm.Data, old.Data, "data")...)
		if !semanticEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	return append(errs, validateConfigMap(cm)...)
}

// validateImmutableData: once marked immutable, an object's data is frozen (so the node
// agent can stop watching it) and the mark cannot be removed.
func validateImmutableData(immutable *bool, data, oldData any, dataField string) field.ErrorList {
	var errs field.ErrorList
	if immutable == nil || !*immutable {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
	}
	if !semanticEqual(data, oldData) {
		errs = append(errs, field.Forbidden(field.NewPath(dataField), "field is immutable when `immutable` is set"))
	}
	return errs
}

func validateSecret(s *core.Secret) field.ErrorList {
	errs := ValidateObjectMeta(&s.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	dataPath := field.NewPath("data")
	size := 0
	for _, k := range sortedKeys(s.Data) {
		for _, msg := range IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(dataPath.Key(k), k, msg))
		}
		size += len(s.Data[k])
	}
	// stringData is write-only sugar merged into data; Kubernetes merges before validating,
	// so its keys and size count the same.
	for _, k := range sortedKeys(s.StringData) {
		for _, msg := range IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(field.NewPath("stringData").Key(k), k, msg))
		}
		if _, dup := s.Data[k]; !dup {
			size += len(s.StringData[k])
		}
	}
	if size > core.MaxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", core.MaxSecretSize))
	}
	has := func(key string) bool {
		_, inData := s.Data[key]
		_, inString := s.StringData[key]
		return inData || inString
	}
	value := func(key string) []byte {
		if v, ok := s.StringData[key]; ok {
			return []byte(v)
		}
		return s.Data[key]
	}
	// Typed secrets promise consumers certain keys.
	switch s.Type {
	case core.SecretTypeServiceAccountToken:
		if s.Annotations[core.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(core.ServiceAccountNameKey), ""))
		}
	case core.SecretTypeDockercfg, core.SecretTypeDockerConfigJson:
		key := core.DockerConfigKey
		if s.Type == core.SecretTypeDockerConfigJson {
			key = core.DockerConfigJsonKey
		}
		if !has(key) {
			errs = append(errs, field.Required(dataPath.Key(key), ""))
		} else if err := json.Unmarshal(value(key), &map[string]any{}); err != nil {
			errs = append(errs, field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error()))
		}
	case core.SecretTypeBasicAuth:
		if !has(core.BasicAuthUsernameKey) && !has(core.BasicAuthPasswordKey) {
			errs = append(errs, field.Required(dataPath.Key(core.BasicAuthUsernameKey), ""),
				field.Required(dataPath.Key(core.BasicAuthPasswordKey), ""))
		}
	case core.SecretTypeSSHAuth:
		if len(value(core.SSHAuthPrivateKey)) == 0 {
			errs = append(errs, field.Required(dataPath.Key(core.SSHAuthPrivateKey), ""))
		}
	case core.SecretTypeTLS:
		for _, key := range []string{core.TLSCertKey, core.TLSPrivateKeyKey} {
			if !has(key) {
				errs = append(errs, field.Required(dataPath.Key(key), ""))
			}
		}
	}
	return errs
}

func validateSecretUpdate(s, old *core.Secret) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, ValidateImmutableField(s.Type, old.Type, field.NewPath("type"))...)
	if old.Immutable != nil && *old.Immutable {
		errs = append(errs, validateImmutableData(s.Immutable, s.Data, old.Data, "data")...)
	}
	return append(errs, validateSecret(s)...)
}

func validateNamespace(ns *core.Namespace) field.ErrorList {
	errs := ValidateObjectMeta(&ns.ObjectMeta, false, NameIsDNSLabel, field.NewPath("metadata"))
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, validateFinalizerName(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return errs
}

func validateNode(n *core.Node) field.ErrorList {
	errs := ValidateObjectMeta(&n.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	specPath := field.NewPath("spec")
	errs = append(errs, validateTaints(n.Spec.Taints, specPath.Child("taints"))...)
	if n.Spec.PodCIDR != "" {
		errs = append(errs, IsValidCIDR(specPath.Child("podCIDR"), n.Spec.PodCIDR)...)
	}
	cidrsPath := specPath.Child("podCIDRs")
	for i, c := range n.Spec.PodCIDRs {
		errs = append(errs, IsValidCIDR(cidrsPath.Index(i), c)...)
		if slices.Contains(n.Spec.PodCIDRs[:i], c) {
			errs = append(errs, field.Duplicate(cidrsPath.Index(i), c))
		}
	}
	if len(n.Spec.PodCIDRs) > 2 {
		errs = append(errs, field.Invalid(cidrsPath, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	for name, q := range n.Status.Capacity {
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(field.NewPath("status", "capacity").Key(string(name)), q.String(), IsNegativeErrorMsg))
		}
	}
	for name, q := range n.Status.Allocatable {
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(field.NewPath("status", "allocatable").Key(string(name)), q.String(), IsNegativeErrorMsg))
		}
	}
	return errs
}

// validateTaints checks node taints; a key may be tainted once per effect.
func validateTaints(taints []core.Taint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, t := range taints {
		idxPath := path.Index(i)
		errs = append(errs, ValidateLabelName(t.Key, idxPath.Child("key"))...)
		if msgs := IsValidLabelValue(t.Value); len(msgs) > 0 {
			errs = append(errs, field.Invalid(idxPath.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		if t.Effect == "" {
			errs = append(errs, field.Required(idxPath.Child("effect"), ""))
		} else {
			errs = append(errs, validateTaintEffect(t.Effect, idxPath.Child("effect"))...)
		}
		key := t.Key + "/" + string(t.Effect)
		if seen[key] {
			dup := field.Duplicate(idxPath, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
		}
		seen[key] = true
	}
	return errs
}

// validateNodeUpdate: a node's pod CIDR and provider ID are set once (by the node agent or
// the node controller) and routes are built from them, so they may not change afterwards.
func validateNodeUpdate(n, old *core.Node) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	const cidrMsg = "node updates may not change podCIDR except from \"\" to valid"
	if old.Spec.PodCIDR != "" && n.Spec.PodCIDR != old.Spec.PodCIDR {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDR"), cidrMsg))
	}
	if len(old.Spec.PodCIDRs) > 0 && !slices.Equal(n.Spec.PodCIDRs, old.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), cidrMsg))
	}
	if old.Spec.ProviderID != "" && n.Spec.ProviderID != old.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return append(errs, validateNode(n)...)
}

func validateServiceAccount(sa *core.ServiceAccount) field.ErrorList {
	errs := ValidateObjectMeta(&sa.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	for i, ref := range sa.ImagePullSecrets {
		errs = append(errs, validateNameField(ref.Name, NameIsDNSSubdomain, field.NewPath("imagePullSecrets").Index(i).Child("name"))...)
	}
	return errs
}

// validateEvent follows Kubernetes' rules for core/v1 events: an event lives in the
// namespace of the object it is about (cluster-scoped objects' events go to "default").
func validateEvent(e *core.Event) field.ErrorList {
	errs := ValidateObjectMeta(&e.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	nsPath := field.NewPath("involvedObject", "namespace")
	involvedNS := e.InvolvedObject.Namespace
	if e.EventTime.IsZero() {
		if involvedNS == "" {
			if e.Namespace != "" && e.Namespace != core.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, involvedNS, "does not match event.namespace"))
			}
		} else if e.Namespace != involvedNS {
			errs = append(errs, field.Invalid(nsPath, involvedNS, "does not match event.namespace"))
		}
		return errs
	}
	// "New" events (with eventTime) must say who reported them and what happened.
	if involvedNS == "" && e.Namespace != core.NamespaceDefault && e.Namespace != "kube-system" {
		errs = append(errs, field.Invalid(nsPath, involvedNS, "does not match event.namespace"))
	}
	if e.ReportingController == "" {
		errs = append(errs, field.Required(field.NewPath("reportingComponent"), ""))
	}
	errs = append(errs, validateQualifiedName(e.ReportingController, field.NewPath("reportingComponent"))...)
	for _, f := range []struct {
		name, value string
		limit       int
	}{{"reportingInstance", e.ReportingInstance, 128}, {"action", e.Action, 128}, {"reason", e.Reason, 128}} {
		if f.value == "" {
			errs = append(errs, field.Required(field.NewPath(f.name), ""))
		}
		if len(f.value) > f.limit {
			errs = append(errs, field.Invalid(field.NewPath(f.name), "", fmt.Sprintf("can have at most %v characters", f.limit)))
		}
	}
	if len(e.Message) > 1024 {
		errs = append(errs, field.Invalid(field.NewPath("message"), "", "can have at most 1024 characters"))
	}
	return errs
}

func validateEndpoints(ep *core.Endpoints) field.ErrorList {
	errs := ValidateObjectMeta(&ep.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	for i, ss := range ep.Subsets {
		sp := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(sp, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(a, sp.Child("addresses").Index(j))...)
		}
		for j, a := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(a, sp.Child("notReadyAddresses").Index(j))...)
		}
		for j, p := range ss.Ports {
			pp := sp.Child("ports").Index(j)
			if len(ss.Ports) > 1 && p.Name == "" {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			} else if p.Name != "" {
				errs = append(errs, validateDNS1123Label(p.Name, pp.Child("name"))...)
			}
			for _, msg := range IsValidPortNum(int(p.Port)) {
				errs = append(errs, field.Invalid(pp.Child("port"), p.Port, msg))
			}
			if p.Protocol != "" && !slices.Contains(supportedPortProtocols, p.Protocol) {
				errs = append(errs, field.NotSupported(pp.Child("protocol"), p.Protocol, supportedPortProtocols))
			}
		}
	}
	return errs
}

func validateEndpointAddress(a core.EndpointAddress, path *field.Path) field.ErrorList {
	errs := IsValidIP(path.Child("ip"), a.IP)
	if a.Hostname != "" {
		errs = append(errs, validateDNS1123Label(a.Hostname, path.Child("hostname"))...)
	}
	if a.NodeName != nil {
		errs = append(errs, validateNameField(*a.NodeName, NameIsDNSSubdomain, path.Child("nodeName"))...)
	}
	return errs
}

func validatePersistentVolume(pv *core.PersistentVolume) field.ErrorList {
	errs := ValidateObjectMeta(&pv.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec := &pv.Spec
	specPath := field.NewPath("spec")
	errs = append(errs, validateAccessModes(spec.AccessModes, specPath.Child("accessModes"))...)
	if _, ok := spec.Capacity[core.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(specPath.Child("capacity"), spec.Capacity, []core.ResourceName{core.ResourceStorage}))
	}
	for _, name := range sortedKeys(spec.Capacity) {
		if q := spec.Capacity[name]; q.Sign() <= 0 {
			errs = append(errs, field.Invalid(specPath.Child("capacity").Key(string(name)), q.String(), "must be greater than zero"))
		}
	}
	valid := []core.PersistentVolumeReclaimPolicy{core.PersistentVolumeReclaimDelete, core.PersistentVolumeReclaimRecycle, core.PersistentVolumeReclaimRetain}
	if p := spec.PersistentVolumeReclaimPolicy; p != "" && !slices.Contains(valid, p) {
		errs = append(errs, field.NotSupported(specPath.Child("persistentVolumeReclaimPolicy"), p, valid))
	}
	errs = append(errs, validateUnion(&spec.PersistentVolumeSource, specPath, "volume type")...)
	if s := spec.HostPath; s != nil {
		errs = append(errs, validateHostPath(s.Path, specPath.Child("hostPath", "path"))...)
	}
	if s := spec.NFS; s != nil {
		errs = append(errs, validateNFS(s.Server, s.Path, specPath.Child("nfs"))...)
	}
	if s := spec.Local; s != nil {
		if s.Path == "" {
			errs = append(errs, field.Required(specPath.Child("local", "path"), ""))
		}
		// A local volume exists on one node; without affinity pods could land elsewhere.
		if spec.NodeAffinity == nil || spec.NodeAffinity.Required == nil {
			errs = append(errs, field.Required(specPath.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
	}
	if s := spec.CSI; s != nil {
		if s.Driver == "" {
			errs = append(errs, field.Required(specPath.Child("csi", "driver"), ""))
		}
		if s.VolumeHandle == "" {
			errs = append(errs, field.Required(specPath.Child("csi", "volumeHandle"), ""))
		}
	}
	if spec.StorageClassName != "" {
		errs = append(errs, validateNameField(spec.StorageClassName, NameIsDNSSubdomain, specPath.Child("storageClassName"))...)
	}
	errs = append(errs, validateVolumeMode(spec.VolumeMode, specPath.Child("volumeMode"))...)
	return errs
}

func validatePersistentVolumeUpdate(pv, old *core.PersistentVolume) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validatePersistentVolume(pv)...)
	// The backing storage of a volume is what it is; a claim bound to it relies on that.
	if !semanticEqual(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is immutable after creation"))
	}
	return append(errs, ValidateImmutableField(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
}

func validateAccessModes(modes []core.PersistentVolumeAccessMode, path *field.Path) field.ErrorList {
	if len(modes) == 0 {
		return field.ErrorList{field.Required(path, "at least 1 access mode is required")}
	}
	var errs field.ErrorList
	for _, m := range modes {
		if !slices.Contains(supportedAccessModes, m) {
			errs = append(errs, field.NotSupported(path, m, supportedAccessModes))
		}
	}
	// ReadWriteOncePod promises a single pod; no other mode can be combined with it.
	if slices.Contains(modes, core.ReadWriteOncePod) && len(modes) > 1 {
		errs = append(errs, field.Forbidden(path, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

func validateVolumeMode(mode *core.PersistentVolumeMode, path *field.Path) field.ErrorList {
	valid := []core.PersistentVolumeMode{core.PersistentVolumeBlock, core.PersistentVolumeFilesystem}
	if mode != nil && !slices.Contains(valid, *mode) {
		return field.ErrorList{field.NotSupported(path, *mode, valid)}
	}
	return nil
}

func validatePersistentVolumeClaim(pvc *core.PersistentVolumeClaim) field.ErrorList {
	errs := ValidateObjectMeta(&pvc.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validatePVCSpec(&pvc.Spec, field.NewPath("spec"))...)
}

func validatePVCSpec(spec *core.PersistentVolumeClaimSpec, path *field.Path) field.ErrorList {
	errs := validateAccessModes(spec.AccessModes, path.Child("accessModes"))
	errs = append(errs, ValidateLabelSelector(spec.Selector, path.Child("selector"))...)
	storagePath := path.Child("resources").Key(string(core.ResourceStorage))
	if q, ok := spec.Resources.Requests[core.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if q.Sign() <= 0 {
		errs = append(errs, field.Invalid(storagePath, q.String(), "must be greater than zero"))
	}
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		errs = append(errs, validateNameField(*spec.StorageClassName, NameIsDNSSubdomain, path.Child("storageClassName"))...)
	}
	return append(errs, validateVolumeMode(spec.VolumeMode, path.Child("volumeMode"))...)
}

// validatePersistentVolumeClaimUpdate: a claim is immutable except that it may grow, and be
// bound once (volumeName set by the binder).
func validatePersistentVolumeClaimUpdate(pvc, old *core.PersistentVolumeClaim) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validatePersistentVolumeClaim(pvc)...)
	newSpec, oldSpec := pvc.Spec, old.Spec
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	newSpec.Resources, oldSpec.Resources = core.VolumeResourceRequirements{}, core.VolumeResourceRequirements{}
	// A class may be set where there was none (retroactive default class assignment), or
	// where the beta annotation named it, as Kubernetes allows; never changed.
	if oldSpec.StorageClassName == nil && newSpec.StorageClassName != nil && *newSpec.StorageClassName != "" {
		beta, annotated := old.Annotations[core.BetaStorageClassAnnotation]
		if !annotated || beta == *newSpec.StorageClassName {
			newSpec.StorageClassName = nil
		}
	}
	if !semanticEqual(newSpec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	newSize, oldSize := pvc.Spec.Resources.Requests[core.ResourceStorage], old.Spec.Resources.Requests[core.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than previous value"))
	}
	return errs
}

func validateResourceQuota(q *core.ResourceQuota) field.ErrorList {
	errs := ValidateObjectMeta(&q.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	hardPath := field.NewPath("spec", "hard")
	for _, name := range sortedKeys(q.Spec.Hard) {
		p := hardPath.Key(string(name))
		errs = append(errs, validateQualifiedName(string(name), p)...)
		if v := q.Spec.Hard[name]; v.Sign() < 0 {
			errs = append(errs, field.Invalid(p, v.String(), IsNegativeErrorMsg))
		}
	}
	return errs
}

func validateLimitRange(lr *core.LimitRange) field.ErrorList {
	errs := ValidateObjectMeta(&lr.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	valid := []core.LimitType{core.LimitTypeContainer, core.LimitTypePersistentVolumeClaim, core.LimitTypePod}
	for i, item := range lr.Spec.Limits {
		ip := field.NewPath("spec", "limits").Index(i)
		if !slices.Contains(valid, item.Type) {
			errs = append(errs, field.NotSupported(ip.Child("type"), item.Type, valid))
		}
		for _, l := range []struct {
			name string
			list core.ResourceList
		}{{"max", item.Max}, {"min", item.Min}, {"default", item.Default}, {"defaultRequest", item.DefaultRequest}, {"maxLimitRequestRatio", item.MaxLimitRequestRatio}} {
			for _, name := range sortedKeys(l.list) {
				if v := l.list[name]; v.Sign() < 0 {
					errs = append(errs, field.Invalid(ip.Child(l.name).Key(string(name)), v.String(), IsNegativeErrorMsg))
				}
			}
		}
		for _, name := range sortedKeys(item.Min) {
			if max, ok := item.Max[name]; ok && item.Min[name].Cmp(max) > 0 {
				minQ := item.Min[name]
				errs = append(errs, field.Invalid(ip.Child("min").Key(string(name)), minQ.String(), fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), max.String())))
			}
		}
	}
	return errs
}
