package validation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// TotalAnnotationSizeLimitB is the most bytes (keys plus values) an object's annotations may hold.
const TotalAnnotationSizeLimitB = 256 * (1 << 10)

// FieldImmutableErrorMsg is the detail of an error about a changed immutable field.
const FieldImmutableErrorMsg = "field is immutable"

// IsNegativeErrorMsg is the detail of an error about a negative number.
const IsNegativeErrorMsg = "must be greater than or equal to 0"

// The finalizers Kubernetes defines without a domain prefix; any other finalizer must be
// fully qualified ("example.com/cleanup") so that controllers cannot collide.
var standardFinalizers = []string{"kubernetes", "orphan", "foregroundDeletion"}

// ValidateObjectMeta checks the metadata of an object being created. nameFn is the kind's
// name rule; namespaced says whether the kind lives in a namespace.
func ValidateObjectMeta(m *meta.ObjectMeta, namespaced bool, nameFn NameFunc, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.GenerateName != "" {
		for _, msg := range nameFn(m.GenerateName, true) {
			errs = append(errs, field.Invalid(path.Child("generateName"), m.GenerateName, msg))
		}
	}
	// The API server generates the name before validating, so an empty name here means the
	// client supplied neither.
	if m.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), "name or generateName is required"))
	} else {
		for _, msg := range nameFn(m.Name, false) {
			errs = append(errs, field.Invalid(path.Child("name"), m.Name, msg))
		}
	}
	if namespaced {
		if m.Namespace == "" {
			errs = append(errs, field.Required(path.Child("namespace"), ""))
		} else {
			for _, msg := range NameIsDNSLabel(m.Namespace, false) {
				errs = append(errs, field.Invalid(path.Child("namespace"), m.Namespace, msg))
			}
		}
	} else if m.Namespace != "" {
		errs = append(errs, field.Forbidden(path.Child("namespace"), "not allowed on this type"))
	}
	errs = append(errs, ValidateNonnegativeField(m.Generation, path.Child("generation"))...)
	return append(errs, validateMetaContents(m, path)...)
}

// validateMetaContents checks what both create and update check: labels, annotations,
// owner references and finalizers.
func validateMetaContents(m *meta.ObjectMeta, path *field.Path) field.ErrorList {
	errs := ValidateLabels(m.Labels, path.Child("labels"))
	errs = append(errs, ValidateAnnotations(m.Annotations, path.Child("annotations"))...)
	errs = append(errs, ValidateOwnerReferences(m.OwnerReferences, path.Child("ownerReferences"))...)
	return append(errs, ValidateFinalizers(m.Finalizers, path.Child("finalizers"))...)
}

// ValidateObjectMetaUpdate checks the metadata of an update against the stored object.
//
// Identity (name, namespace, uid) and timestamps may not change. A uid or timestamp the
// client left out counts as unchanged: Kubernetes copies those from the stored object
// before validating, so clients that PUT a manifest back without them succeed there.
func ValidateObjectMetaUpdate(newMeta, oldMeta *meta.ObjectMeta, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	// Once deletion has started, finalizers may only be removed: adding one could keep the
	// object alive forever after its owner asked for it to go.
	if oldMeta.DeletionTimestamp != nil {
		var added []string
		for _, f := range newMeta.Finalizers {
			if !slices.Contains(oldMeta.Finalizers, f) && !slices.Contains(added, f) {
				added = append(added, f)
			}
		}
		if len(added) > 0 {
			slices.Sort(added)
			errs = append(errs, field.Forbidden(path.Child("finalizers"),
				fmt.Sprintf("no new finalizers can be added if the object is being deleted, found new finalizers %s", goStringSlice(added))))
		}
	}
	errs = append(errs, ValidateImmutableField(newMeta.Name, oldMeta.Name, path.Child("name"))...)
	errs = append(errs, ValidateImmutableField(newMeta.Namespace, oldMeta.Namespace, path.Child("namespace"))...)
	if newMeta.UID != "" {
		errs = append(errs, ValidateImmutableField(newMeta.UID, oldMeta.UID, path.Child("uid"))...)
	}
	if !newMeta.CreationTimestamp.IsZero() && !newMeta.CreationTimestamp.Equal(oldMeta.CreationTimestamp.Time) {
		errs = append(errs, field.Invalid(path.Child("creationTimestamp"), newMeta.CreationTimestamp, FieldImmutableErrorMsg))
	}
	// Deletion is started by DELETE, never by an update.
	if newMeta.DeletionTimestamp != nil && (oldMeta.DeletionTimestamp == nil || !newMeta.DeletionTimestamp.Equal(oldMeta.DeletionTimestamp.Time)) {
		errs = append(errs, field.Invalid(path.Child("deletionTimestamp"), newMeta.DeletionTimestamp, FieldImmutableErrorMsg))
	}
	if newMeta.DeletionGracePeriodSeconds != nil && !equalPtr(newMeta.DeletionGracePeriodSeconds, oldMeta.DeletionGracePeriodSeconds) {
		errs = append(errs, field.Invalid(path.Child("deletionGracePeriodSeconds"), newMeta.DeletionGracePeriodSeconds, FieldImmutableErrorMsg))
	}
	return append(errs, validateMetaContents(newMeta, path)...)
}

// goStringSlice renders a []string as Go's %#v does, which is what Kubernetes prints.
func goStringSlice(s []string) string { return fmt.Sprintf("%#v", s) }

// ValidateLabels checks label keys (qualified names) and values.
func ValidateLabels(labels map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(labels) {
		errs = append(errs, ValidateLabelName(k, path)...)
		for _, msg := range IsValidLabelValue(labels[k]) {
			errs = append(errs, field.Invalid(path, labels[k], msg))
		}
	}
	return errs
}

// ValidateLabelName checks one label key.
func ValidateLabelName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsQualifiedName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

// ValidateAnnotations checks annotation keys (qualified names, case-insensitively) and that
// all annotations together stay under TotalAnnotationSizeLimitB.
func ValidateAnnotations(annotations map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	size := 0
	for _, k := range sortedKeys(annotations) {
		for _, msg := range IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, field.Invalid(path, k, msg))
		}
		size += len(k) + len(annotations[k])
	}
	if size > TotalAnnotationSizeLimitB {
		errs = append(errs, field.TooLong(path, "", TotalAnnotationSizeLimitB))
	}
	return errs
}

// ValidateOwnerReferences checks each reference is complete and at most one is the controller.
func ValidateOwnerReferences(refs []meta.OwnerReference, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	controller := ""
	for _, ref := range refs {
		errs = append(errs, validateOwnerReference(ref, path)...)
		if ref.Controller != nil && *ref.Controller {
			name := ref.Kind + "/" + ref.Name
			if controller != "" {
				errs = append(errs, field.Invalid(path, refs,
					fmt.Sprintf("Only one reference can have Controller set to true. Found \"true\" in references for %v and %v", controller, name)))
			} else {
				controller = name
			}
		}
	}
	return errs
}

func validateOwnerReference(ref meta.OwnerReference, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	group, version := splitAPIVersion(ref.APIVersion)
	if version == "" {
		errs = append(errs, field.Invalid(path.Child("apiVersion"), ref.APIVersion, "version must not be empty"))
	}
	if ref.Kind == "" {
		errs = append(errs, field.Invalid(path.Child("kind"), ref.Kind, "must not be empty"))
	}
	if ref.Name == "" {
		errs = append(errs, field.Invalid(path.Child("name"), ref.Name, "must not be empty"))
	}
	if ref.UID == "" {
		errs = append(errs, field.Invalid(path.Child("uid"), ref.UID, "must not be empty"))
	}
	// Events are garbage-collected by TTL, so anything they owned would vanish with them.
	if group == "" && version == "v1" && ref.Kind == "Event" {
		errs = append(errs, field.Invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
	}
	return errs
}

// splitAPIVersion splits "group/version" (or a bare core "version"); a malformed value
// yields an empty version.
func splitAPIVersion(apiVersion string) (group, version string) {
	switch parts := strings.Split(apiVersion, "/"); len(parts) {
	case 1:
		return "", parts[0]
	case 2:
		return parts[0], parts[1]
	}
	return "", ""
}

// ValidateFinalizers checks finalizer names: qualified names, and either one of Kubernetes'
// standard names or prefixed with a domain; orphan and foregroundDeletion are exclusive.
func ValidateFinalizers(finalizers []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		errs = append(errs, validateFinalizerName(f, path.Index(i))...)
	}
	if slices.Contains(finalizers, "orphan") && slices.Contains(finalizers, "foregroundDeletion") {
		errs = append(errs, field.Invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set"))
	}
	return errs
}

func validateFinalizerName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsQualifiedName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	if len(errs) == 0 && !strings.Contains(name, "/") && !slices.Contains(standardFinalizers, name) {
		errs = append(errs, field.Invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return errs
}

// ValidateLabelSelector checks a structured selector's keys, operators and values.
func ValidateLabelSelector(sel *meta.LabelSelector, path *field.Path) field.ErrorList {
	if sel == nil {
		return nil
	}
	var errs field.ErrorList
	for i, req := range sel.MatchExpressions {
		errs = append(errs, validateSelectorRequirement(req, path.Child("matchExpressions").Index(i))...)
	}
	return append(errs, ValidateLabels(sel.MatchLabels, path.Child("matchLabels"))...)
}

func validateSelectorRequirement(req meta.LabelSelectorRequirement, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch req.Operator {
	case meta.LabelSelectorOpIn, meta.LabelSelectorOpNotIn:
		if len(req.Values) == 0 {
			errs = append(errs, field.Required(path.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case meta.LabelSelectorOpExists, meta.LabelSelectorOpDoesNotExist:
		if len(req.Values) > 0 {
			errs = append(errs, field.Forbidden(path.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	default:
		errs = append(errs, field.Invalid(path.Child("operator"), req.Operator, "not a valid selector operator"))
	}
	errs = append(errs, ValidateLabelName(req.Key, path.Child("key"))...)
	for j, v := range req.Values {
		for _, msg := range IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(path.Child("values").Index(j), v, msg))
		}
	}
	return errs
}

// selectorMatches reports whether a selector selects the given labels, with the same
// semantics the controllers use (api/labels): nil selects nothing, empty selects everything.
func selectorMatches(sel *meta.LabelSelector, set map[string]string) bool {
	s, err := labels.SelectorFromLabelSelector(sel)
	return err == nil && s.Matches(labels.Set(set))
}

// ValidateNonnegativeField checks value >= 0.
func ValidateNonnegativeField(value int64, path *field.Path) field.ErrorList {
	if value < 0 {
		return field.ErrorList{field.Invalid(path, value, IsNegativeErrorMsg)}
	}
	return nil
}

// ValidateImmutableField reports an Invalid "field is immutable" error when newVal differs
// from oldVal (compared by their JSON form, so nil and empty lists are the same).
func ValidateImmutableField(newVal, oldVal any, path *field.Path) field.ErrorList {
	if !semanticEqual(newVal, oldVal) {
		return field.ErrorList{field.Invalid(path, newVal, FieldImmutableErrorMsg)}
	}
	return nil
}
