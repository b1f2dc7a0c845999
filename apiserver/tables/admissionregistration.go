package tables

import (
	"time"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
)

// webhooksColumn is Kubernetes' WEBHOOKS column of both webhook configuration kinds.
var webhooksColumn = column("Webhooks", "integer", "Webhooks indicates the number of webhooks in this configuration.")

var mutatingWebhookConfigurationPrinter = printer([]meta.TableColumnDefinition{nameColumn, webhooksColumn, ageColumn},
	func(c *ar.MutatingWebhookConfiguration, now time.Time) meta.TableRow {
		return meta.TableRow{Cells: []any{c.Name, int64(len(c.Webhooks)), age(c.CreationTimestamp, now)}}
	})

var validatingWebhookConfigurationPrinter = printer([]meta.TableColumnDefinition{nameColumn, webhooksColumn, ageColumn},
	func(c *ar.ValidatingWebhookConfiguration, now time.Time) meta.TableRow {
		return meta.TableRow{Cells: []any{c.Name, int64(len(c.Webhooks)), age(c.CreationTimestamp, now)}}
	})

var validatingAdmissionPolicyPrinter = printer([]meta.TableColumnDefinition{nameColumn,
	column("Validations", "integer", "Validations indicates the number of validation rules defined in this configuration"),
	column("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy"), ageColumn},
	func(p *ar.ValidatingAdmissionPolicy, now time.Time) meta.TableRow {
		paramKind := "<unset>"
		if k := p.Spec.ParamKind; k != nil {
			paramKind = k.APIVersion + "/" + k.Kind
		}
		return meta.TableRow{Cells: []any{p.Name, int64(len(p.Spec.Validations)), paramKind, age(p.CreationTimestamp, now)}}
	})

var validatingAdmissionPolicyBindingPrinter = printer([]meta.TableColumnDefinition{nameColumn,
	column("PolicyName", "string", "PolicyName indicates the policy definition which the policy binding binded to"),
	column("ParamRef", "string", "ParamRef indicates the param resource which sets the configration param"), ageColumn},
	func(b *ar.ValidatingAdmissionPolicyBinding, now time.Time) meta.TableRow {
		param := "<unset>"
		if pr := b.Spec.ParamRef; pr != nil {
			switch {
			case pr.Name != "" && pr.Namespace != "":
				param = pr.Namespace + "/" + pr.Name
			case pr.Name != "":
				// the param's scope is not known here: Kubernetes shows "*" for the namespace
				param = "*/" + pr.Name
			case pr.Selector != nil:
				param = labels.FormatLabelSelector(pr.Selector)
			}
		}
		return meta.TableRow{Cells: []any{b.Name, b.Spec.PolicyName, param, age(b.CreationTimestamp, now)}}
	})
