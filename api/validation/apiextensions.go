package validation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apiextensions/schema"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// CustomResourceDefinition rules, after k8s.io/apiextensions-apiserver's validation.go: the
// name is plural.group, names are DNS labels, exactly one storage version, a structural
// schema for every version, printer columns of known types, and None conversion (webhook
// conversion is not served).

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
	errs = append(errs, validateCRDSpec(&crd.Spec, field.NewPath("spec"))...)
	errs = append(errs, validateCRDNames(&crd.Status.AcceptedNames, field.NewPath("status", "acceptedNames"))...)
	errs = append(errs, validateStoredVersions(crd.Status.StoredVersions, crd.Spec.Versions, field.NewPath("status", "storedVersions"))...)
	return errs
}

func validateCustomResourceDefinitionUpdate(crd, old *apiextensions.CustomResourceDefinition) field.ErrorList {
	errs := ValidateObjectMetaUpdate(&crd.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateCustomResourceDefinition(crd)...)
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
	if c := spec.Conversion; c != nil {
		switch c.Strategy {
		case apiextensions.NoneConverter:
			if c.Webhook != nil {
				errs = append(errs, field.Forbidden(p.Child("conversion", "webhookClientConfig"), "should not be set when strategy is not set to Webhook"))
			}
		case apiextensions.WebhookConverter:
			errs = append(errs, field.NotSupported(p.Child("conversion", "strategy"), c.Strategy, []string{"None"}))
		default:
			errs = append(errs, field.NotSupported(p.Child("conversion", "strategy"), c.Strategy, []string{"None", "Webhook"}))
		}
	}
	if spec.PreserveUnknownFields {
		errs = append(errs, field.Invalid(p.Child("preserveUnknownFields"), true, "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"))
	}
	return errs
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
