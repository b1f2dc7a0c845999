package validation

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Limits of pkg/apis/storage/validation.
const (
	maxProvisionerParameterSize   = 256 * (1 << 10)
	maxProvisionerParameterLen    = 512
	maxAttachedVolumeMetadataSize = 256 * (1 << 10)
	maxVolumeErrorMessageSize     = 1024
	csiNodeIDMaxLength            = 192
)

var (
	supportedClassReclaimPolicies = []string{string(core.PersistentVolumeReclaimDelete), string(core.PersistentVolumeReclaimRetain)}
	supportedVolumeBindingModes   = []string{string(storage.VolumeBindingImmediate), string(storage.VolumeBindingWaitForFirstConsumer)}
	supportedFSGroupPolicies      = []string{string(storage.FileFSGroupPolicy), string(storage.NoneFSGroupPolicy), string(storage.ReadWriteOnceWithFSTypeFSGroupPolicy)}
	supportedLifecycleModes       = []string{string(storage.VolumeLifecyclePersistent), string(storage.VolumeLifecycleEphemeral)}
)

func validateStorageClass(c *storage.StorageClass) field.ErrorList {
	errs := ValidateObjectMeta(&c.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateProvisioner(c.Provisioner, field.NewPath("provisioner"))...)
	errs = append(errs, validateProvisionerParameters(c.Parameters, field.NewPath("parameters"))...)
	if p := c.ReclaimPolicy; p != nil && *p != "" && !slices.Contains(supportedClassReclaimPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *p, supportedClassReclaimPolicies))
	}
	if m := c.VolumeBindingMode; m == nil {
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	} else if !slices.Contains(supportedVolumeBindingModes, string(*m)) {
		errs = append(errs, field.NotSupported(field.NewPath("volumeBindingMode"), *m, supportedVolumeBindingModes))
	}
	return append(errs, validateAllowedTopologies(c.AllowedTopologies, field.NewPath("allowedTopologies"))...)
}

// validateStorageClassUpdate: a class's provisioner, parameters, reclaim policy and binding
// mode are fixed, because volumes already provisioned from it were made by them.
func validateStorageClassUpdate(c, old *storage.StorageClass) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateStorageClass(c)...)
	if !semanticEqual(c.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if c.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if !equalPtr(c.ReclaimPolicy, old.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(errs, ValidateImmutableField(c.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

func validateProvisioner(p string, path *field.Path) field.ErrorList {
	if p == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return validateQualifiedName(strings.ToLower(p), path)
}

func validateProvisionerParameters(params map[string]string, path *field.Path) field.ErrorList {
	if len(params) > maxProvisionerParameterLen {
		return field.ErrorList{field.TooLong(path, "", maxProvisionerParameterLen)}
	}
	var errs field.ErrorList
	size := 0
	for _, k := range sortedKeys(params) {
		if k == "" {
			errs = append(errs, field.Invalid(path, k, "field can not be empty."))
		}
		size += len(k) + len(params[k])
	}
	if size > maxProvisionerParameterSize {
		errs = append(errs, field.TooLong(path, "", maxProvisionerParameterSize))
	}
	return errs
}

func validateAllowedTopologies(terms []core.TopologySelectorTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	var seen []string
	for i, term := range terms {
		ip := path.Index(i)
		var keys []string
		for j, req := range term.MatchLabelExpressions {
			rp := ip.Child("matchLabelExpressions").Index(j)
			errs = append(errs, ValidateLabelName(req.Key, rp.Child("key"))...)
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), "must specify as least one value"))
			}
			for k, v := range req.Values {
				for _, msg := range IsValidLabelValue(v) {
					errs = append(errs, field.Invalid(rp.Child("values").Index(k), v, msg))
				}
			}
			vals := slices.Clone(req.Values)
			slices.Sort(vals)
			keys = append(keys, req.Key+"="+strings.Join(vals, ","))
		}
		if len(term.MatchLabelExpressions) == 0 {
			errs = append(errs, field.Required(ip, "must have at least one label requirement"))
		}
		slices.Sort(keys)
		k := strings.Join(keys, ";")
		if slices.Contains(seen, k) {
			errs = append(errs, field.Duplicate(ip.Child("matchLabelExpressions"), ""))
		}
		seen = append(seen, k)
	}
	return errs
}

func validateVolumeAttachment(va *storage.VolumeAttachment) field.ErrorList {
	errs := ValidateObjectMeta(&va.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	sp := field.NewPath("spec")
	if va.Spec.Attacher == "" {
		errs = append(errs, field.Required(sp.Child("attacher"), ""))
	} else {
		errs = append(errs, validateNameField(va.Spec.Attacher, NameIsDNSSubdomain, sp.Child("attacher"))...)
	}
	src, srcPath := va.Spec.Source, sp.Child("source")
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		errs = append(errs, field.Required(srcPath, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		errs = append(errs, field.Forbidden(srcPath, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.PersistentVolumeName != nil:
		if *src.PersistentVolumeName == "" {
			errs = append(errs, field.Required(srcPath.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
		} else {
			errs = append(errs, validateNameField(*src.PersistentVolumeName, NameIsDNSSubdomain, field.NewPath("spec.source.persistentVolumeName"))...)
		}
	}
	if va.Spec.NodeName == "" {
		errs = append(errs, field.Invalid(sp.Child("nodeName"), "", EmptyError()))
	} else {
		errs = append(errs, validateNameField(va.Spec.NodeName, NameIsDNSSubdomain, sp.Child("nodeName"))...)
	}
	st := field.NewPath("status")
	size := 0
	for k, v := range va.Status.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachedVolumeMetadataSize {
		errs = append(errs, field.TooLong(st.Child("attachmentMetadata"), "", maxAttachedVolumeMetadataSize))
	}
	errs = append(errs, validateVolumeError(va.Status.AttachError, st.Child("attachError"))...)
	return append(errs, validateVolumeError(va.Status.DetachError, st.Child("detachError"))...)
}

func validateVolumeError(e *storage.VolumeError, path *field.Path) field.ErrorList {
	if e == nil {
		return nil
	}
	var errs field.ErrorList
	if len(e.Message) > maxVolumeErrorMessageSize {
		errs = append(errs, field.TooLong(path.Child("message"), "", maxAttachedVolumeMetadataSize))
	}
	if e.ErrorCode != nil && *e.ErrorCode < 0 {
		errs = append(errs, field.Invalid(path.Child("errorCode"), *e.ErrorCode, InclusiveRangeError(0, math.MaxInt32)))
	}
	return errs
}

func validateVolumeAttachmentUpdate(va, old *storage.VolumeAttachment) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&va.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateVolumeAttachment(va)...)
	if !semanticEqual(va.Spec, old.Spec) {
		errs = append(errs, field.Invalid(field.NewPath("spec"), va.Spec, FieldImmutableErrorMsg))
	}
	return errs
}

func validateCSIDriver(d *storage.CSIDriver) field.ErrorList {
	errs := ValidateObjectMeta(&d.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	sp := field.NewPath("spec")
	s := &d.Spec
	for _, req := range []struct {
		v    *bool
		name string
	}{{s.AttachRequired, "attachedRequired"}, {s.PodInfoOnMount, "podInfoOnMount"}, {s.StorageCapacity, "storageCapacity"}, {s.SELinuxMount, "seLinuxMount"}} {
		if req.v == nil {
			errs = append(errs, field.Required(sp.Child(req.name), ""))
		}
	}
	if p := s.FSGroupPolicy; p != nil && !slices.Contains(supportedFSGroupPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(sp.Child("fsGroupPolicy"), *p, supportedFSGroupPolicies))
	}
	audiences := map[string]bool{}
	for i, tr := range s.TokenRequests {
		tp := sp.Child("tokenRequests").Index(i)
		if audiences[tr.Audience] {
			errs = append(errs, field.Duplicate(tp.Child("audience"), tr.Audience))
			continue
		}
		audiences[tr.Audience] = true
		if e := tr.ExpirationSeconds; e != nil {
			if *e < int64((10 * time.Minute).Seconds()) {
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *e, "may not specify a duration less than 10 minutes"))
			}
			if *e > 1<<32 {
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *e, "may not specify a duration larger than 2^32 seconds"))
			}
		}
	}
	for _, m := range s.VolumeLifecycleModes {
		if !slices.Contains(supportedLifecycleModes, string(m)) {
			errs = append(errs, field.NotSupported(sp.Child("volumeLifecycleModes"), m, supportedLifecycleModes))
		}
	}
	if p := s.NodeAllocatableUpdatePeriodSeconds; p != nil && *p < 10 {
		errs = append(errs, field.Invalid(sp.Child("nodeAllocatableUpdatePeriodSeconds"), *p, "must be greater than or equal to 10 seconds"))
	}
	return errs
}

func validateCSIDriverUpdate(d, old *storage.CSIDriver) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateCSIDriver(d)...)
	errs = append(errs, ValidateImmutableField(d.Spec.AttachRequired, old.Spec.AttachRequired, field.NewPath("spec", "attachedRequired"))...)
	return append(errs, ValidateImmutableField(d.Spec.VolumeLifecycleModes, old.Spec.VolumeLifecycleModes, field.NewPath("spec", "volumeLifecycleModes"))...)
}

func validateCSINode(n *storage.CSINode) field.ErrorList {
	errs := ValidateObjectMeta(&n.ObjectMeta, false, NameIsDNSSubdomain, field.NewPath("metadata"))
	dp := field.NewPath("spec", "drivers")
	names := map[string]bool{}
	for i, d := range n.Spec.Drivers {
		ip := dp.Index(i)
		errs = append(errs, validateNameField(d.Name, NameIsDNSSubdomain, ip.Child("name"))...)
		if d.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		}
		if d.NodeID == "" {
			errs = append(errs, field.Required(ip.Child("nodeID"), ""))
		}
		if len(d.NodeID) > csiNodeIDMaxLength {
			errs = append(errs, field.Invalid(ip.Child("nodeID"), d.NodeID, fmt.Sprintf("must be %d characters or less", csiNodeIDMaxLength)))
		}
		if a := d.Allocatable; a != nil && a.Count != nil {
			errs = append(errs, ValidateNonnegativeField(int64(*a.Count), ip.Child("allocatable", "count"))...)
		}
		if names[d.Name] {
			errs = append(errs, field.Duplicate(ip.Child("name"), d.Name))
		}
		names[d.Name] = true
		keys := map[string]bool{}
		for _, k := range d.TopologyKeys {
			if k == "" {
				errs = append(errs, field.Required(ip, k))
			}
			if keys[k] {
				errs = append(errs, field.Duplicate(ip, k))
			}
			keys[k] = true
			errs = append(errs, validateQualifiedName(k, ip)...)
		}
	}
	return errs
}

// validateCSINodeUpdate: a driver's registration is fixed except its allocatable count
// (MutableCSINodeAllocatableCount).
func validateCSINodeUpdate(n, old *storage.CSINode) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateCSINode(n)...)
	for _, od := range old.Spec.Drivers {
		for _, nd := range n.Spec.Drivers {
			if od.Name == nd.Name {
				od.Allocatable, nd.Allocatable = nil, nil
				errs = append(errs, ValidateImmutableField(nd, od, field.NewPath("spec").Child("drivers"))...)
			}
		}
	}
	return errs
}

func validateCSIStorageCapacity(c *storage.CSIStorageCapacity) field.ErrorList {
	errs := ValidateObjectMeta(&c.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, ValidateLabelSelector(c.NodeTopology, field.NewPath("nodeTopology"))...)
	for _, msg := range NameIsDNSSubdomain(c.StorageClassName, false) {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, msg))
	}
	if c.Capacity != nil && c.Capacity.Sign() < 0 {
		errs = append(errs, field.Invalid(field.NewPath("capacity"), c.Capacity.String(), IsNegativeErrorMsg))
	}
	return errs
}

func validateCSIStorageCapacityUpdate(c, old *storage.CSIStorageCapacity) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateCSIStorageCapacity(c)...)
	if !semanticEqual(c.NodeTopology, old.NodeTopology) {
		errs = append(errs, field.Invalid(field.NewPath("nodeTopology"), c.NodeTopology, FieldImmutableErrorMsg))
	}
	if c.StorageClassName != old.StorageClassName {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, FieldImmutableErrorMsg))
	}
	return errs
}
