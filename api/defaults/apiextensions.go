package defaults

import (
	"strings"

	"github.com/skiff-sh/skiff/api/apiextensions"
)

// CustomResourceDefinition applies SetDefaults_CustomResourceDefinitionSpec: singular and
// listKind from kind, None conversion.
func CustomResourceDefinition(crd *apiextensions.CustomResourceDefinition) {
	n := &crd.Spec.Names
	if n.Singular == "" {
		n.Singular = strings.ToLower(n.Kind)
	}
	if n.ListKind == "" && n.Kind != "" {
		n.ListKind = n.Kind + "List"
	}
	if crd.Spec.Conversion == nil {
		crd.Spec.Conversion = &apiextensions.CustomResourceConversion{Strategy: apiextensions.NoneConverter}
	}
}
