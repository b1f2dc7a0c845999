package validation

import (
	"testing"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/pki"
)

// validCRD is a two-version definition converted by a webhook behind a Service, with one
// selectable field per version.
func validCRD() *apiextensions.CustomResourceDefinition {
	ca, _ := pki.NewCA("crd-test")
	schema := func() *apiextensions.CustomResourceValidation {
		return &apiextensions.CustomResourceValidation{OpenAPIV3Schema: &apiextensions.JSONSchemaProps{
			Type: "object",
			Properties: map[string]apiextensions.JSONSchemaProps{
				"spec": {Type: "object", Properties: map[string]apiextensions.JSONSchemaProps{
					"color":    {Type: "string"},
					"size":     {Type: "integer"},
					"on":       {Type: "boolean"},
					"ratio":    {Type: "number"},
					"tags":     {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &apiextensions.JSONSchemaProps{Type: "string"}}},
					"labelMap": {Type: "object", AdditionalProperties: &apiextensions.JSONSchemaPropsOrBool{Allows: true, Schema: &apiextensions.JSONSchemaProps{Type: "string"}}},
				}},
			},
		}}
	}
	return &apiextensions.CustomResourceDefinition{
		ObjectMeta: objectMeta("widgets.example.com", ""),
		Spec: apiextensions.CustomResourceDefinitionSpec{
			Group: "example.com", Scope: apiextensions.NamespaceScoped,
			Names: apiextensions.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensions.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: schema(), SelectableFields: []apiextensions.SelectableField{{JSONPath: ".spec.color"}}},
				{Name: "v2", Served: true, Schema: schema(), SelectableFields: []apiextensions.SelectableField{{JSONPath: ".spec.size"}}},
			},
			Conversion: &apiextensions.CustomResourceConversion{Strategy: apiextensions.WebhookConverter, Webhook: &apiextensions.WebhookConversion{
				ClientConfig: &apiextensions.WebhookClientConfig{
					Service:  &apiextensions.ServiceReference{Namespace: "system", Name: "convert", Path: ptr("/convert"), Port: ptr(int32(443))},
					CABundle: ca.CertPEM,
				},
				ConversionReviewVersions: []string{"v1", "v1beta1"},
			}},
		},
		Status: apiextensions.CustomResourceDefinitionStatus{StoredVersions: []string{"v1"}},
	}
}

func TestCRDConversion(t *testing.T) {
	hook := func(c *apiextensions.CustomResourceDefinition) *apiextensions.WebhookConversion {
		return c.Spec.Conversion.Webhook
	}
	runCreateCases(t, validCRD, false, []objectCase[apiextensions.CustomResourceDefinition]{
		{name: "valid"},
		{name: "url instead of service", mutate: func(c *apiextensions.CustomResourceDefinition) {
			hook(c).ClientConfig.Service = nil
			hook(c).ClientConfig.URL = ptr("https://convert.example.com:8443/convert")
		}},
		{name: "webhook required", mutate: func(c *apiextensions.CustomResourceDefinition) { c.Spec.Conversion.Webhook = nil },
			want: []string{"spec.conversion.webhookClientConfig" + required, "spec.conversion.conversionReviewVersions" + required}},
		{name: "conversionReviewVersions required", mutate: func(c *apiextensions.CustomResourceDefinition) { hook(c).ConversionReviewVersions = nil },
			want: []string{"spec.conversion.conversionReviewVersions" + required}},
		{name: "no known review version", mutate: func(c *apiextensions.CustomResourceDefinition) {
			hook(c).ConversionReviewVersions = []string{"v2", "v2"}
		},
			want: []string{"spec.conversion.conversionReviewVersions" + invalid, "spec.conversion.conversionReviewVersions[1]" + invalid}},
		{name: "url and service", mutate: func(c *apiextensions.CustomResourceDefinition) {
			hook(c).ClientConfig.URL = ptr("https://x.example.com")
		},
			want: []string{"spec.conversion.webhookClientConfig" + required}},
		{name: "http url", mutate: func(c *apiextensions.CustomResourceDefinition) {
			hook(c).ClientConfig.Service = nil
			hook(c).ClientConfig.URL = ptr("http://x.example.com")
		}, want: []string{"spec.conversion.webhookClientConfig.url" + invalid}},
		{name: "service without name, bad port", mutate: func(c *apiextensions.CustomResourceDefinition) {
			hook(c).ClientConfig.Service.Name = ""
			hook(c).ClientConfig.Service.Port = ptr(int32(70000))
		}, want: []string{"spec.conversion.webhookClientConfig.service.name" + required, "spec.conversion.webhookClientConfig.service.port" + invalid}},
		{name: "caBundle not PEM", mutate: func(c *apiextensions.CustomResourceDefinition) { hook(c).ClientConfig.CABundle = []byte("\n") },
			want: []string{"spec.conversion.webhookClientConfig.caBundle" + invalid}},
		{name: "None with a webhook", mutate: func(c *apiextensions.CustomResourceDefinition) {
			c.Spec.Conversion.Strategy = apiextensions.NoneConverter
		},
			want: []string{"spec.conversion.webhookClientConfig" + forbidden, "spec.conversion.conversionReviewVersions" + forbidden}},
		{name: "None alone", mutate: func(c *apiextensions.CustomResourceDefinition) {
			c.Spec.Conversion = &apiextensions.CustomResourceConversion{Strategy: apiextensions.NoneConverter}
		}},
		{name: "unknown strategy", mutate: func(c *apiextensions.CustomResourceDefinition) {
			c.Spec.Conversion = &apiextensions.CustomResourceConversion{Strategy: "Magic"}
		}, want: []string{"spec.conversion.strategy" + notSupported}},
	})
	errs := Validate(func() *apiextensions.CustomResourceDefinition {
		c := validCRD()
		hook(c).ClientConfig.CABundle = []byte("\n")
		return c
	}(), false)
	if !hasMessage(errs, "unable to load root certificates: unable to parse bytes as PEM block") {
		t.Errorf("caBundle error: %v", errs)
	}
	if errs := Validate(func() *apiextensions.CustomResourceDefinition {
		c := validCRD()
		c.Spec.Conversion.Webhook = nil
		return c
	}(), false); !hasMessage(errs, "required when strategy is set to Webhook") {
		t.Errorf("webhook required: %v", errs)
	}

	// A stored definition whose caBundle does not parse may still be updated (ratcheting);
	// a new bad bundle may not.
	bad := func() *apiextensions.CustomResourceDefinition {
		c := validCRD()
		hook(c).ClientConfig.CABundle = []byte("not pem")
		return c
	}
	old, n := bad(), bad()
	n.Spec.Versions[1].Served = false
	wantErrs(t, ValidateUpdate(n, old, false))
	wantErrs(t, ValidateUpdate(bad(), validCRD(), false), "spec.conversion.webhookClientConfig.caBundle"+invalid)
}

func TestCRDSelectableFields(t *testing.T) {
	set := func(paths ...string) func(*apiextensions.CustomResourceDefinition) {
		return func(c *apiextensions.CustomResourceDefinition) {
			c.Spec.Versions[0].SelectableFields = nil
			for _, p := range paths {
				c.Spec.Versions[0].SelectableFields = append(c.Spec.Versions[0].SelectableFields, apiextensions.SelectableField{JSONPath: p})
			}
		}
	}
	const sf = "spec.versions[0].selectableFields"
	runCreateCases(t, validCRD, false, []objectCase[apiextensions.CustomResourceDefinition]{
		{name: "string, integer, boolean, map value", mutate: set(".spec.color", ".spec.size", ".spec.on", ".spec.labelMap.team")},
		{name: "empty path", mutate: set(""), want: []string{sf + "[0].jsonPath" + required}},
		{name: "unknown field", mutate: set(".spec.shape"), want: []string{sf + "[0].jsonPath" + invalid}},
		{name: "no leading dot", mutate: set("spec.color"), want: []string{sf + "[0].jsonPath" + invalid}},
		{name: "array", mutate: set(".spec.tags"), want: []string{sf + "[0].jsonPath" + invalid}},
		{name: "array notation", mutate: set(".spec.tags[0]"), want: []string{sf + "[0].jsonPath" + invalid}},
		{name: "number", mutate: set(".spec.ratio"), want: []string{sf + "[0].jsonPath" + invalid}},
		{name: "object", mutate: set(".spec"), want: []string{sf + "[0].jsonPath" + invalid}},
		{name: "metadata", mutate: set(".metadata.name"), want: []string{sf + "[0].jsonPath" + invalid}},
		{name: "duplicate", mutate: set(".spec.color", ".spec.color"), want: []string{sf + "[1].jsonPath" + duplicate}},
		{name: "more than 8", mutate: set(".spec.color", ".spec.size", ".spec.on", ".spec.labelMap.a", ".spec.labelMap.b",
			".spec.labelMap.c", ".spec.labelMap.d", ".spec.labelMap.e", ".spec.labelMap.f"), want: []string{sf + tooMany}},
		{name: "without a schema", mutate: func(c *apiextensions.CustomResourceDefinition) { c.Spec.Versions[1].Schema = nil },
			want: []string{"spec.versions[1].schema.openAPIV3Schema" + required, "spec.versions[1].selectableFields" + invalid}},
	})
	errs := Validate(func() *apiextensions.CustomResourceDefinition { c := validCRD(); set(".spec.ratio")(c); return c }(), false)
	if !hasMessage(errs, "must point to a field of type string, boolean or integer") {
		t.Errorf("type error: %v", errs)
	}
}
