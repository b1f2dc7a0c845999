package schema

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/unstructured"
	"github.com/skiff-sh/skiff/api/validation/field"
)

var knownTypes = []string{"array", "boolean", "integer", "number", "object", "string"}

// ValidateStructural checks that a CRD version's openAPIV3Schema is structural and usable, as
// Kubernetes does when the definition is created or updated: every field has a type (or is
// int-or-string or preserves unknown fields), the root is an object, allOf/anyOf/oneOf/not
// carry value validations only, patterns compile, list types are consistent, defaults are
// valid against their schema, CEL rules compile. p is the schema's path
// (spec.versions[0].schema.openAPIV3Schema).
func ValidateStructural(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Type != "object" {
		if s.Type == "" {
			errs = append(errs, field.Required(p.Child("type"), "must not be empty at the root"))
		} else {
			errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be object at the root"))
		}
	}
	if s.AdditionalProperties != nil {
		errs = append(errs, field.Forbidden(p.Child("additionalProperties"), "must not be used at the root"))
	}
	if md, ok := s.Properties["metadata"]; ok {
		for k := range md.Properties {
			if k != "name" && k != "generateName" {
				errs = append(errs, field.Forbidden(p.Child("properties").Key("metadata"), "must not specify anything other than name and generateName, but metadata is implicitly specified"))
				break
			}
		}
	}
	errs = append(errs, structural(s, p, true, false)...)
	if _, err := compileCEL(s, p); err != nil {
		if fe, ok := err.(celCompileError); ok {
			errs = append(errs, fe.errs...)
		} else {
			errs = append(errs, field.Invalid(p, "", err.Error()))
		}
	}
	return errs
}

// structural checks one node; nested is true below the root (where metadata is forbidden),
// inJunctor below allOf/anyOf/oneOf/not.
func structural(s *apiextensions.JSONSchemaProps, p *field.Path, root, inJunctor bool) field.ErrorList {
	var errs field.ErrorList
	if s.Type != "" && !contains(knownTypes, s.Type) {
		errs = append(errs, field.NotSupported(p.Child("type"), s.Type, knownTypes))
	}
	if inJunctor {
		errs = append(errs, junctorForbidden(s, p)...)
	} else {
		preserve := s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
		if s.Type == "" && !s.XIntOrString && !preserve && !root {
			errs = append(errs, field.Required(p.Child("type"), "must not be empty for specified object fields"))
		}
		if s.XIntOrString && s.Type != "" {
			errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be empty if x-kubernetes-int-or-string is true"))
		}
		if s.XIntOrString && preserve {
			errs = append(errs, field.Invalid(p.Child("x-kubernetes-preserve-unknown-fields"), true, "must be false if x-kubernetes-int-or-string is true"))
		}
		if s.XEmbeddedResource && s.Type != "object" {
			errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be object if x-kubernetes-embedded-resource is true"))
		}
		if s.XEmbeddedResource && len(s.Properties) == 0 && !preserve {
			errs = append(errs, field.Required(p.Child("properties"), "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"))
		}
		if s.Type == "array" && (s.Items == nil || s.Items.Schema == nil) {
			errs = append(errs, field.Required(p.Child("items"), "must be specified"))
		}
		if s.Items != nil && len(s.Items.JSONSchemas) > 0 {
			errs = append(errs, field.Forbidden(p.Child("items"), "items must be a schema object and not an array"))
		}
		if len(s.Properties) > 0 && s.AdditionalProperties != nil {
			errs = append(errs, field.Forbidden(p.Child("additionalProperties"), "additionalProperties and properties are mutual exclusive"))
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema == nil && !s.AdditionalProperties.Allows {
			errs = append(errs, field.Forbidden(p.Child("additionalProperties"), "additionalProperties cannot be set to false"))
		}
		if !root {
			if _, ok := s.Properties["metadata"]; ok && !s.XEmbeddedResource {
				errs = append(errs, field.Forbidden(p.Child("properties").Key("metadata"), "must not be specified in a nested context"))
			}
		}
		errs = append(errs, listType(s, p)...)
		if len(s.Default) > 0 {
			errs = append(errs, checkDefault(s, p)...)
		}
	}
	if s.Ref != nil {
		errs = append(errs, field.Forbidden(p.Child("$ref"), "$ref is not supported"))
	}
	if len(s.Definitions) > 0 {
		errs = append(errs, field.Forbidden(p.Child("definitions"), "definitions are not supported"))
	}
	if len(s.Dependencies) > 0 {
		errs = append(errs, field.Forbidden(p.Child("dependencies"), "dependencies are not supported"))
	}
	if len(s.PatternProperties) > 0 {
		errs = append(errs, field.Forbidden(p.Child("patternProperties"), "patternProperties is not supported"))
	}
	if s.AdditionalItems != nil {
		errs = append(errs, field.Forbidden(p.Child("additionalItems"), "additionalItems is not supported"))
	}
	if s.UniqueItems {
		errs = append(errs, field.Forbidden(p.Child("uniqueItems"), "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
	}
	if s.Pattern != "" {
		if _, err := regexp.Compile(s.Pattern); err != nil {
			errs = append(errs, field.Invalid(p.Child("pattern"), s.Pattern, fmt.Sprintf("must be a valid regular expression, but isn't: %v", err)))
		}
	}
	for _, name := range sortedKeys(s.Properties) {
		ps := s.Properties[name]
		errs = append(errs, structural(&ps, p.Child("properties").Key(name), false, inJunctor)...)
	}
	if s.Items != nil && s.Items.Schema != nil {
		errs = append(errs, structural(s.Items.Schema, p.Child("items"), false, inJunctor)...)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		errs = append(errs, structural(s.AdditionalProperties.Schema, p.Child("additionalProperties"), false, inJunctor)...)
	}
	for i := range s.AllOf {
		errs = append(errs, structural(&s.AllOf[i], p.Child("allOf").Index(i), false, true)...)
	}
	for i := range s.AnyOf {
		errs = append(errs, structural(&s.AnyOf[i], p.Child("anyOf").Index(i), false, true)...)
	}
	for i := range s.OneOf {
		errs = append(errs, structural(&s.OneOf[i], p.Child("oneOf").Index(i), false, true)...)
	}
	if s.Not != nil {
		errs = append(errs, structural(s.Not, p.Child("not"), false, true)...)
	}
	return errs
}

func junctorForbidden(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	forbid := func(cond bool, name, msg string) {
		if cond {
			errs = append(errs, field.Forbidden(p.Child(name), msg))
		}
	}
	forbid(s.Type != "", "type", "must be empty to be structural")
	forbid(s.AdditionalProperties != nil, "additionalProperties", "must be undefined to be structural")
	forbid(len(s.Default) > 0, "default", "must be undefined to be structural")
	forbid(s.Title != "", "title", "must be empty to be structural")
	forbid(s.Description != "", "description", "must be empty to be structural")
	forbid(s.Nullable, "nullable", "must be false to be structural")
	forbid(s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields, "x-kubernetes-preserve-unknown-fields", "must be false to be structural")
	forbid(s.XEmbeddedResource, "x-kubernetes-embedded-resource", "must be false to be structural")
	forbid(s.XIntOrString, "x-kubernetes-int-or-string", "must be false to be structural")
	forbid(len(s.XListMapKeys) > 0, "x-kubernetes-list-map-keys", "must be empty to be structural")
	forbid(s.XListType != nil, "x-kubernetes-list-type", "must be undefined to be structural")
	forbid(s.XMapType != nil, "x-kubernetes-map-type", "must be undefined to be structural")
	forbid(len(s.XValidations) > 0, "x-kubernetes-validations", "must be empty to be structural")
	return errs
}

func listType(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.XListType == nil {
		if len(s.XListMapKeys) > 0 {
			errs = append(errs, field.Forbidden(p.Child("x-kubernetes-list-map-keys"), `must be empty if x-kubernetes-list-type is not "map"`))
		}
		return errs
	}
	lt := *s.XListType
	if s.Type != "array" {
		errs = append(errs, field.Invalid(p.Child("type"), s.Type, "must be array if x-kubernetes-list-type is specified"))
		return errs
	}
	switch lt {
	case "atomic":
	case "set":
		if it := s.Items; it != nil && it.Schema != nil && (it.Schema.Type == "object" || it.Schema.Type == "array") {
			errs = append(errs, field.Invalid(p.Child("items").Child("type"), it.Schema.Type, `must be a scalar type if x-kubernetes-list-type is "set"`))
		}
	case "map":
		if len(s.XListMapKeys) == 0 {
			errs = append(errs, field.Required(p.Child("x-kubernetes-list-map-keys"), `must not be empty if x-kubernetes-list-type is "map"`))
		}
		if it := s.Items; it != nil && it.Schema != nil {
			if it.Schema.Type != "object" {
				errs = append(errs, field.Invalid(p.Child("items").Child("type"), it.Schema.Type, `must be object if parent array's x-kubernetes-list-type is "map"`))
			}
			for i, k := range s.XListMapKeys {
				if _, ok := it.Schema.Properties[k]; !ok {
					errs = append(errs, field.Invalid(p.Child("x-kubernetes-list-map-keys").Index(i), k, "entries must all be names of item properties"))
				}
			}
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("x-kubernetes-list-type"), lt, []string{"atomic", "set", "map"}))
	}
	return errs
}

// checkDefault validates a default against its own schema (pruning must not change it).
func checkDefault(s *apiextensions.JSONSchemaProps, p *field.Path) field.ErrorList {
	d, err := unstructured.DecodeValue(s.Default)
	if err != nil {
		return field.ErrorList{field.Invalid(p.Child("default"), string(s.Default), err.Error())}
	}
	cp := *s
	cp.XValidations = nil
	v := &validator{s: &Schema{Props: &cp}}
	v.value(&cp, d, p.Child("default"), false)
	if m, ok := d.(map[string]any); ok {
		var pruned []string
		prune(&cp, m, p.Child("default"), false, &pruned)
		for _, f := range pruned {
			v.add(field.Invalid(p.Child("default"), string(s.Default), fmt.Sprintf("must not have unknown fields (%s)", f)))
		}
	}
	return v.errs
}

func contains(list []string, s string) bool { return containsString(list, s) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
