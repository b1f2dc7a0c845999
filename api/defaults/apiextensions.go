package defaults

import (
	"strings"

	"github.com/skiff-sh/skiff/api/apiextensions"
)

// CustomResourceDefinition applies SetDefaults_CustomResourceDefinitionSpec: singular and
// listKind from kind, None conversion, port 443 for a conversion webhook's service.
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
	if w := crd.Spec.Conversion.Webhook; w != nil && w.ClientConfig != nil && w.ClientConfig.Service != nil && w.ClientConfig.Service.Port == nil {
		port := int32(443)
		w.ClientConfig.Service.Port = &port
	}
}
