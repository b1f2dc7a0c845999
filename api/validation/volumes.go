package validation

import (
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// validateVolumes checks pod volumes and returns the valid ones by name, for the mounts.
func validateVolumes(volumes []core.Volume, path *field.Path) (map[string]core.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	vols := map[string]core.VolumeSource{}
	seen := map[string]bool{}
	for i, v := range volumes {
		idxPath := path.Index(i)
		namePath := idxPath.Child("name")
		el := validateVolumeSource(&v.VolumeSource, idxPath)
		if v.Name == "" {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, validateDNS1123Label(v.Name, namePath)...)
		}
		if seen[v.Name] {
			el = append(el, field.Duplicate(namePath, v.Name))
		}
		if len(el) == 0 {
			seen[v.Name] = true
			vols[v.Name] = v.VolumeSource
		}
		errs = append(errs, el...)
	}
	return vols, errs
}

// validateVolumeSource checks that exactly one volume type is set, and the common ones' fields.
func validateVolumeSource(src *core.VolumeSource, path *field.Path) field.ErrorList {
	errs := validateUnion(src, path, "volume type")
	if s := src.HostPath; s != nil {
		errs = append(errs, validateHostPath(s.Path, path.Child("hostPath", "path"))...)
	}
	if s := src.EmptyDir; s != nil && s.SizeLimit != nil && s.SizeLimit.Sign() < 0 {
		errs = append(errs, field.Forbidden(path.Child("emptyDir", "sizeLimit"), "SizeLimit field must be a valid resource quantity"))
	}
	if s := src.Secret; s != nil {
		if s.SecretName == "" {
			errs = append(errs, field.Required(path.Child("secret", "secretName"), ""))
		}
		errs = append(errs, validateFileMode(s.DefaultMode, path.Child("secret", "defaultMode"))...)
		errs = append(errs, validateKeyToPaths(s.Items, path.Child("secret", "items"))...)
	}
	if s := src.ConfigMap; s != nil {
		if s.Name == "" {
			errs = append(errs, field.Required(path.Child("configMap", "name"), ""))
		}
		errs = append(errs, validateFileMode(s.DefaultMode, path.Child("configMap", "defaultMode"))...)
		errs = append(errs, validateKeyToPaths(s.Items, path.Child("configMap", "items"))...)
	}
	if s := src.PersistentVolumeClaim; s != nil && s.ClaimName == "" {
		errs = append(errs, field.Required(path.Child("persistentVolumeClaim", "claimName"), ""))
	}
	if s := src.NFS; s != nil {
		errs = append(errs, validateNFS(s.Server, s.Path, path.Child("nfs"))...)
	}
	return errs
}

// validateUnion reports a union struct with no member set, or with more than one.
func validateUnion(union any, path *field.Path, what string) field.ErrorList {
	set := oneOf(union)
	if len(set) == 0 {
		return field.ErrorList{field.Required(path, "must specify a "+what)}
	}
	var errs field.ErrorList
	for _, name := range set[1:] {
		errs = append(errs, field.Forbidden(path.Child(name), "may not specify more than 1 "+what))
	}
	return errs
}

func validateHostPath(p string, path *field.Path) field.ErrorList {
	if p == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return validatePathNoBacksteps(p, path)
}

func validateNFS(server, p string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if server == "" {
		errs = append(errs, field.Required(path.Child("server"), ""))
	}
	if p == "" {
		errs = append(errs, field.Required(path.Child("path"), ""))
	} else if !strings.HasPrefix(p, "/") {
		errs = append(errs, field.Invalid(path.Child("path"), p, "must be an absolute path"))
	}
	return errs
}

func validateFileMode(mode *int32, path *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0o777 || *mode < 0) {
		return field.ErrorList{field.Invalid(path, *mode, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

func validateKeyToPaths(items []core.KeyToPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, kp := range items {
		itemPath := path.Index(i)
		if kp.Key == "" {
			errs = append(errs, field.Required(itemPath.Child("key"), ""))
		}
		if kp.Path == "" {
			errs = append(errs, field.Required(itemPath.Child("path"), ""))
		}
		errs = append(errs, validateLocalNonReservedPath(kp.Path, itemPath.Child("path"))...)
		errs = append(errs, validateFileMode(kp.Mode, itemPath.Child("mode"))...)
	}
	return errs
}

// validatePathNoBacksteps refuses ".." elements, which would escape the intended directory.
func validatePathNoBacksteps(p string, path *field.Path) field.ErrorList {
	if slices.Contains(strings.Split(p, "/"), "..") {
		return field.ErrorList{field.Invalid(path, p, "must not contain '..'")}
	}
	return nil
}

// validateLocalDescendingPath requires a relative path that stays below its base directory.
func validateLocalDescendingPath(p string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.HasPrefix(p, "/") {
		errs = append(errs, field.Invalid(path, p, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(p, path)...)
}

func validateLocalNonReservedPath(p string, path *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(p, path)
	// The atomic writer that projects keys into a volume keeps its own state in "..<name>".
	if strings.HasPrefix(p, "..") && !strings.HasPrefix(p, "../") {
		errs = append(errs, field.Invalid(path, p, "must not start with '..'"))
	}
	return errs
}
