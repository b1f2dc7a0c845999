package registry

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apiextensions/schema"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/unstructured"
)

// Custom is what a CustomResourceDefinition adds to a kind it defines: objects of such a kind
// are *unstructured.Unstructured, checked against the version's schema instead of Go types.
type Custom struct {
	// CRD is the name of the defining CustomResourceDefinition.
	CRD string
	// StorageVersion is the apiVersion objects are stored under; with None conversion an
	// object is served in another version by rewriting its apiVersion only.
	StorageVersion string
	// Webhook is the definition's conversion webhook (strategy Webhook); nil for None
	// conversion. The API server calls it wherever an object changes version.
	Webhook *apiextensions.WebhookConversion
	// Schema is the version's compiled structural schema.
	Schema *schema.Schema
	// Scale is the version's scale subresource (nil: none).
	Scale *apiextensions.CustomResourceSubresourceScale
	// PrinterColumns are the version's additionalPrinterColumns.
	PrinterColumns []apiextensions.CustomResourceColumnDefinition
	// SelectableFields are the field selector names of the version's selectableFields, in
	// the definition's order ("spec.color"); Kind.Fields reads their values.
	SelectableFields []string
	// Terminating: the definition is being deleted; no new objects are accepted.
	Terminating bool
}

var unstructuredType = reflect.TypeFor[unstructured.Unstructured]()

// CustomKinds are the kinds a CustomResourceDefinition serves, one per served version, the
// most preferred version first (Kubernetes' version priority: GA > beta > alpha, then by
// number; other names last, alphabetically). names are the accepted names.
func CustomKinds(crd *apiextensions.CustomResourceDefinition, names apiextensions.CustomResourceDefinitionNames, terminating bool) ([]Kind, error) {
	storage := ""
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			storage = v.Name
		}
	}
	var kinds []Kind
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		k := Kind{
			Group: crd.Spec.Group, Version: v.Name, Kind: names.Kind, Resource: names.Plural, Singular: names.Singular,
			Namespaced: crd.Spec.Scope == apiextensions.NamespaceScoped, ShortNames: names.ShortNames, Categories: names.Categories,
			Type: unstructuredType,
			Custom: &Custom{CRD: crd.Name, StorageVersion: crd.Spec.Group + "/" + storage,
				PrinterColumns: v.AdditionalPrinterColumns, Terminating: terminating},
		}
		if c := crd.Spec.Conversion; c != nil && c.Strategy == apiextensions.WebhookConverter && c.Webhook != nil {
			k.Custom.Webhook = c.Webhook
		}
		if len(v.SelectableFields) > 0 {
			k.Fields = selectableFields(v.SelectableFields)
			for _, f := range v.SelectableFields {
				k.Custom.SelectableFields = append(k.Custom.SelectableFields, strings.TrimPrefix(f.JSONPath, "."))
			}
		}
		if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			s, err := schema.Compile(v.Schema.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("version %s: %w", v.Name, err)
			}
			k.Custom.Schema = s
		}
		if sr := v.Subresources; sr != nil {
			k.Status = sr.Status != nil
			k.Scale = sr.Scale != nil
			k.Custom.Scale = sr.Scale
		}
		kinds = append(kinds, k)
	}
	sort.SliceStable(kinds, func(i, j int) bool { return CompareKubeVersions(kinds[i].Version, kinds[j].Version) > 0 })
	return kinds, nil
}

// selectableFields reads a version's selectableFields from an object: a field selector names
// each by its jsonPath without the leading dot (".spec.color" is "spec.color"). A string is
// its value, an integer or boolean its JSON text, and an absent field the empty string, as in
// Kubernetes.
func selectableFields(sf []apiextensions.SelectableField) func(meta.Object) map[string]string {
	type path struct {
		name  string
		steps []string
	}
	paths := make([]path, len(sf))
	for i, f := range sf {
		name := strings.TrimPrefix(f.JSONPath, ".")
		paths[i] = path{name, unstructured.ParsePath(f.JSONPath)}
	}
	return func(obj meta.Object) map[string]string {
		out := make(map[string]string, len(paths)+2)
		u, _ := obj.(*unstructured.Unstructured)
		for _, p := range paths {
			out[p.name] = ""
			if u == nil {
				continue
			}
			switch v, _ := unstructured.NestedField(u.Fields, p.steps...); v := v.(type) {
			case string:
				out[p.name] = v
			case bool:
				out[p.name] = strconv.FormatBool(v)
			case int64:
				out[p.name] = strconv.FormatInt(v, 10)
			case float64:
				out[p.name] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
		return out
	}
}

var kubeVersionRE = regexp.MustCompile(`^v(\d+)(?:(alpha|beta)(\d+))?$`)

// CompareKubeVersions orders version names by Kubernetes' priority: positive when a comes
// before b (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything not kube-like, which sort by
// name).
func CompareKubeVersions(a, b string) int {
	ma, mb := kubeVersionRE.FindStringSubmatch(a), kubeVersionRE.FindStringSubmatch(b)
	switch {
	case ma == nil && mb == nil:
		if a < b {
			return 1
		} else if a > b {
			return -1
		}
		return 0
	case ma == nil:
		return -1
	case mb == nil:
		return 1
	}
	rank := func(s string) int {
		switch s {
		case "":
			return 2
		case "beta":
			return 1
		}
		return 0
	}
	if ra, rb := rank(ma[2]), rank(mb[2]); ra != rb {
		return ra - rb
	}
	na, _ := strconv.Atoi(ma[1])
	nb, _ := strconv.Atoi(mb[1])
	if na != nb {
		return na - nb
	}
	pa, _ := strconv.Atoi(ma[3])
	pb, _ := strconv.Atoi(mb[3])
	return pa - pb
}
