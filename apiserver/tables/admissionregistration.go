package tables

import (
	"time"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
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
