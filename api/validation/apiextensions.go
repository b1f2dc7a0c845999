package validation

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apiextensions/schema"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// CustomResourceDefinition rules, after k8s.io/apiextensions-apiserver's validation.go: the
// name is plural.group, names are DNS labels, exactly one storage version, a structural
// schema for every version, printer columns of known types, selectable fields of scalar type,
// and a conversion webhook configured when (and only when) the strategy is Webhook.

var printerColumnTypes = []string{"boolean", "date", "integer", "number", "string"}
var printerColumnFormats = []string{"byte", "date", "date-time", "double", "float", "int32", "int64", "password"}

func validateCustomResourceDefinition(crd *apiextensions.CustomResourceDefinition) field.ErrorList {
	nameFn := func(name string, prefix bool) []string {
		ret := NameIsDNSSubdomain(name, prefix)
		if name != crd.Spec.Names.Plural+"."+crd.Spec.Group {
			ret = append(ret, `must be spec.names.plural+"."+spec.group`)
		}
		return ret
	}
	errs := ValidateObjectMeta(&crd.ObjectMeta, false, nameFn, field.NewPath("metadata"))
	errs = append(errs, validateCRD(crd)...)
	errs = append(errs, validateCRDConversion(crd.Spec.Conversion, nil, field.NewPath("spec", "conversion"))...)
	return errs
}

// validateCRD is what creates and updates share, metadata and conversion aside.
func validateCRD(crd *apiextensions.CustomResourceDefinition) field.ErrorList {
	errs := validateCRDSpec(&crd.Spec, field.NewPath("spec"))
	errs = append(errs, validateCRDNames(&crd.Status.AcceptedNames, field.NewPath("status", "acceptedNames"))...)
	errs = append(errs, validateStoredVersions(crd.Status.StoredVersions, crd.Spec.Versions, field.NewPath("status", "storedVersions"))...)
	return errs
}

func validateCustomResourceDefinitionUpdate(crd, old *apiextensions.CustomResourceDefinition) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&crd.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateCRD(crd)...)
	errs = append(errs, validateCRDConversion(crd.Spec.Conversion, old.Spec.Conversion, field.NewPath("spec", "conversion"))...)
	p := field.NewPath("spec")
	if crd.Spec.Group != old.Spec.Group {
		errs = append(errs, field.Invalid(p.Child("group"), crd.Spec.Group, "field is immutable"))
	}
	if crd.Spec.Scope != old.Spec.Scope {
		errs = append(errs, field.Invalid(p.Child("scope"), crd.Spec.Scope, "field is immutable"))
	}
	if isEstablished(old) && crd.Spec.Names.Plural != old.Spec.Names.Plural {
		errs = append(errs, field.Invalid(p.Child("names", "plural"), crd.Spec.Names.Plural, "field is immutable"))
	}
	return errs
}

func isEstablished(crd *apiextensions.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensions.Established && c.Status == apiextensions.ConditionTrue {
			return true
		}
	}
	return false
}

func validateCRDSpec(spec *apiextensions.CustomResourceDefinitionSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case spec.Group == "":
		errs = append(errs, field.Required(p.Child("group"), ""))
	case len(IsDNS1123Subdomain(spec.Group)) > 0:
		errs = append(errs, field.Invalid(p.Child("group"), spec.Group, strings.Join(IsDNS1123Subdomain(spec.Group), ",")))
	case len(strings.Split(spec.Group, ".")) < 2:
		errs = append(errs, field.Invalid(p.Child("group"), spec.Group, "should be a domain with at least one dot"))
	}
	switch spec.Scope {
	case "":
		errs = append(errs, field.Required(p.Child("scope"), ""))
	case apiextensions.ClusterScoped, apiextensions.NamespaceScoped:
	default:
		errs = append(errs, field.NotSupported(p.Child("scope"), spec.Scope, []string{"Cluster", "Namespaced"}))
	}
	if len(spec.Versions) == 0 {
		errs = append(errs, field.Invalid(p.Child("versions"), spec.Versions, "must have exactly one version marked as storage version"))
	}
	storage, seen := 0, map[string]bool{}
	for i := range spec.Versions {
		v := &spec.Versions[i]
		vp := p.Child("versions").Index(i)
		if v.Storage {
			storage++
		}
		if seen[v.Name] {
			errs = append(errs, field.Invalid(p.Child("versions"), spec.Versions, "must contain unique version names"))
		}
		seen[v.Name] = true
		if e := IsDNS1035Label(v.Name); len(e) > 0 {
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, strings.Join(e, ",")))
		}
		errs = append(errs, validateCRDVersion(v, spec, vp)...)
	}
	if len(spec.Versions) > 0 && storage != 1 {
		errs = append(errs, field.Invalid(p.Child("versions"), spec.Versions, "must have exactly one version marked as storage version"))
	}
	if spec.Names.Plural == "" {
		errs = append(errs, field.Required(p.Child("names", "plural"), ""))
	}
	if spec.Names.Singular == "" {
		errs = append(errs, field.Required(p.Child("names", "singular"), ""))
	}
	if spec.Names.Kind == "" {
		errs = append(errs, field.Required(p.Child("names", "kind"), ""))
	}
	if spec.Names.ListKind == "" {
		errs = append(errs, field.Required(p.Child("names", "listKind"), ""))
	}
	errs = append(errs, validateCRDNames(&spec.Names, p.Child("names"))...)
	if spec.PreserveUnknownFields {
		errs = append(errs, field.Invalid(p.Child("preserveUnknownFields"), true, "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"))
	}
	return errs
}

// acceptedConversionReviewVersions are the ConversionReview versions the API server speaks.
var acceptedConversionReviewVersions = []string{"v1", "v1beta1"}

// validateCRDConversion checks spec.conversion as Kubernetes' validateCustomResourceConversion
// does (its messages name the fields as the internal type does: webhookClientConfig,
// conversionReviewVersions). old is the stored definition's, on update: a caBundle that does
// not parse is refused only when it is new (Kubernetes ratchets this check).
func validateCRDConversion(c, old *apiextensions.CustomResourceConversion, p *field.Path) field.ErrorList {
	if c == nil {
		return nil
	}
	var errs field.ErrorList
	var cc *apiextensions.WebhookClientConfig
	var reviewVersions []string
	if c.Webhook != nil {
		cc, reviewVersions = c.Webhook.ClientConfig, c.Webhook.ConversionReviewVersions
	}
	ccPath := p.Child("webhookClientConfig")
	switch c.Strategy {
	case apiextensions.WebhookConverter:
		if cc == nil {
			errs = append(errs, field.Required(ccPath, "required when strategy is set to Webhook"))
		} else {
			arc := ar.WebhookClientConfig{URL: cc.URL, CABundle: cc.CABundle}
			if sr := cc.Service; sr != nil {
				arc.Service = &ar.ServiceReference{Namespace: sr.Namespace, Name: sr.Name, Path: sr.Path, Port: sr.Port}
			}
			errs = append(errs, validateClientConfig(arc, ccPath)...)
			if len(cc.CABundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(cc.CABundle) && !sameCABundle(old, cc.CABundle) {
				errs = append(errs, field.Invalid(ccPath.Child("caBundle"), cc.CABundle, "unable to load root certificates: unable to parse bytes as PEM block"))
			}
		}
		errs = append(errs, validateConversionReviewVersions(reviewVersions, p.Child("conversionReviewVersions"))...)
	case apiextensions.NoneConverter:
		if cc != nil {
			errs = append(errs, field.Forbidden(ccPath, "should not be set when strategy is not set to Webhook"))
		}
		if len(reviewVersions) > 0 {
			errs = append(errs, field.Forbidden(p.Child("conversionReviewVersions"), "should not be set when strategy is not set to Webhook"))
		}
	case "":
		errs = append(errs, field.Required(p.Child("strategy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("strategy"), c.Strategy, []string{"None", "Webhook"}))
	}
	return errs
}

func sameCABundle(old *apiextensions.CustomResourceConversion, b []byte) bool {
	return old != nil && old.Webhook != nil && old.Webhook.ClientConfig != nil && bytes.Equal(old.Webhook.ClientConfig.CABundle, b)
}

func validateConversionReviewVersions(versions []string, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, "")}
	}
	return validateReviewVersions(versions, acceptedConversionReviewVersions, p)
}

// maxSelectableFields is how many selectableFields a version may have.
const maxSelectableFields = 8

// validateSelectableFields checks a version's selectableFields as Kubernetes'
// ValidateSelectableFields does: each a simple path (no arrays) to a string, boolean or
// integer field of the schema outside metadata, no duplicates, at most 8.
func validateSelectableFields(sf []apiextensions.SelectableField, s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, f := range sf {
		fp := p.Index(i).Child("jsonPath")
		if f.JSONPath == "" {
			errs = append(errs, field.Required(fp, ""))
			continue
		}
		if strings.HasPrefix(f.JSONPath, ".metadata.") || f.JSONPath == ".metadata" {
			errs = append(errs, field.Invalid(fp, f.JSONPath, "must not point to fields in metadata"))
			continue
		}
		leaf, err := schemaAt(s, f.JSONPath)
		if err != nil {
			errs = append(errs, field.Invalid(fp, f.JSONPath, "is an invalid path: "+err.Error()))
			continue
		}
		if !slices.Contains([]string{"string", "boolean", "integer"}, leaf.Type) {
			errs = append(errs, field.Invalid(fp, f.JSONPath, "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."))
		}
		if seen[f.JSONPath] {
			errs = append(errs, field.Duplicate(fp, f.JSONPath))
		}
		seen[f.JSONPath] = true
	}
	if len(seen) > maxSelectableFields {
		errs = append(errs, field.TooMany(p, len(seen), maxSelectableFields))
	}
	return errs
}

// schemaAt follows a simple JSON path (".spec.color") through a schema's properties (and
// additionalProperties, for maps).
func schemaAt(s *apiextensions.JSONSchemaProps, path string) (*apiextensions.JSONSchemaProps, error) {
	if !strings.HasPrefix(path, ".") || path == "." {
		return nil, fmt.Errorf("must be a simple json path starting with .")
	}
	if strings.ContainsAny(path, "[]*") {
		return nil, fmt.Errorf("array notation is not allowed")
	}
	cur := s
	for _, step := range strings.Split(path[1:], ".") {
		if step == "" {
			return nil, fmt.Errorf("must be a simple json path in the dot notation")
		}
		if next, ok := cur.Properties[step]; ok {
			cur = &next
			continue
		}
		if ap := cur.AdditionalProperties; ap != nil && ap.Schema != nil {
			cur = ap.Schema
			continue
		}
		return nil, fmt.Errorf("does not refer to a valid field")
	}
	return cur, nil
}

func validateCRDVersion(v *apiextensions.CustomResourceDefinitionVersion, spec *apiextensions.CustomResourceDefinitionSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		errs = append(errs, field.Required(p.Child("schema", "openAPIV3Schema"), "schemas are required"))
	} else {
		s := v.Schema.OpenAPIV3Schema
		sp := p.Child("schema", "openAPIV3Schema")
		if s.Nullable {
			errs = append(errs, field.Forbidden(sp.Child("nullable"), "nullable cannot be true at the root"))
		}
		errs = append(errs, schema.ValidateStructural(s, sp)...)
	}
	if len(v.SelectableFields) > 0 {
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			errs = append(errs, field.Invalid(p.Child("selectableFields"), "", "selectableFields may only be set when version.schema.openAPIV3Schema is not included"))
		} else {
			errs = append(errs, validateSelectableFields(v.SelectableFields, v.Schema.OpenAPIV3Schema, p.Child("selectableFields"))...)
		}
	}
	if sc := v.Subresources; sc != nil && sc.Scale != nil {
		sp := p.Child("subresources", "scale")
		if !strings.HasPrefix(sc.Scale.SpecReplicasPath, ".spec.") {
			errs = append(errs, field.Invalid(sp.Child("specReplicasPath"), sc.Scale.SpecReplicasPath, "should be a json path under .spec"))
		}
		if !strings.HasPrefix(sc.Scale.StatusReplicasPath, ".status.") {
			errs = append(errs, field.Invalid(sp.Child("statusReplicasPath"), sc.Scale.StatusReplicasPath, "should be a json path under .status"))
		}
		if lp := sc.Scale.LabelSelectorPath; lp != nil && !strings.HasPrefix(*lp, ".spec.") && !strings.HasPrefix(*lp, ".status.") {
			errs = append(errs, field.Invalid(sp.Child("labelSelectorPath"), *lp, "should be a json path under either .spec or .status"))
		}
	}
	for i, c := range v.AdditionalPrinterColumns {
		cp := p.Child("additionalPrinterColumns").Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		}
		switch {
		case c.Type == "":
			errs = append(errs, field.Required(cp.Child("type"), fmt.Sprintf("must be one of %s", strings.Join(printerColumnTypes, ","))))
		case !slices.Contains(printerColumnTypes, c.Type):
			errs = append(errs, field.Invalid(cp.Child("type"), c.Type, fmt.Sprintf("must be one of %s", strings.Join(printerColumnTypes, ","))))
		}
		if c.Format != "" && !slices.Contains(printerColumnFormats, c.Format) {
			errs = append(errs, field.Invalid(cp.Child("format"), c.Format, fmt.Sprintf("must be one of %s", strings.Join(printerColumnFormats, ","))))
		}
		if c.JSONPath == "" {
			errs = append(errs, field.Required(cp.Child("JSONPath"), ""))
		}
	}
	return errs
}

func validateCRDNames(n *apiextensions.CustomResourceDefinitionNames, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if e := IsDNS1035Label(n.Plural); n.Plural != "" && len(e) > 0 {
		errs = append(errs, field.Invalid(p.Child("plural"), n.Plural, strings.Join(e, ",")))
	}
	if e := IsDNS1035Label(n.Singular); n.Singular != "" && len(e) > 0 {
		errs = append(errs, field.Invalid(p.Child("singular"), n.Singular, strings.Join(e, ",")))
	}
	if e := IsDNS1035Label(strings.ToLower(n.Kind)); n.Kind != "" && len(e) > 0 {
		errs = append(errs, field.Invalid(p.Child("kind"), n.Kind, "may have mixed case, but should otherwise match: "+strings.Join(e, ",")))
	}
	if e := IsDNS1035Label(strings.ToLower(n.ListKind)); n.ListKind != "" && len(e) > 0 {
		errs = append(errs, field.Invalid(p.Child("listKind"), n.ListKind, "may have mixed case, but should otherwise match: "+strings.Join(e, ",")))
	}
	for i, s := range n.ShortNames {
		if e := IsDNS1035Label(s); len(e) > 0 {
			errs = append(errs, field.Invalid(p.Child("shortNames").Index(i), s, strings.Join(e, ",")))
		}
	}
	if n.Kind != "" && n.Kind == n.ListKind {
		errs = append(errs, field.Invalid(p.Child("listKind"), n.ListKind, "kind and listKind may not be the same"))
	}
	for i, c := range n.Categories {
		if e := IsDNS1035Label(c); len(e) > 0 {
			errs = append(errs, field.Invalid(p.Child("categories").Index(i), c, strings.Join(e, ",")))
		}
	}
	return errs
}

func validateStoredVersions(stored []string, versions []apiextensions.CustomResourceDefinitionVersion, p *field.Path) field.ErrorList {
	if len(stored) == 0 {
		return field.ErrorList{field.Invalid(p, stored, "must have at least one stored version")}
	}
	var errs field.ErrorList
	for _, v := range versions {
		if v.Storage && !slices.Contains(stored, v.Name) {
			errs = append(errs, field.Invalid(p, stored, "must have the storage version "+v.Name))
		}
	}
	for i, s := range stored {
		found := false
		for _, v := range versions {
			found = found || v.Name == s
		}
		if !found {
			errs = append(errs, field.Invalid(p.Index(i), s, fmt.Sprintf("missing from spec.versions; %[1]s was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in %[1]s and removes %[1]s from status.storedVersions", s)))
		}
	}
	return errs
}
