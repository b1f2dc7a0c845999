package tables

import (
	"time"

	"github.com/skiff-sh/skiff/api/flowcontrol"
	"github.com/skiff-sh/skiff/api/meta"
)

// FlowSchema and PriorityLevelConfiguration columns, as Kubernetes' printers define them.
var flowSchemaPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("PriorityLevel", "string", "The name of the priority level that this flow schema applies to"),
	column("MatchingPrecedence", "string", "The matching precedence of this flow schema"),
	column("DistinguisherMethod", "string", "The distinguisher method of this flow schema"),
	ageColumn,
	column("MissingPL", "string", "Whether the priority level this flow schema references is missing"),
}, func(fs *flowcontrol.FlowSchema, now time.Time) meta.TableRow {
	method := "<none>"
	if d := fs.Spec.DistinguisherMethod; d != nil {
		method = string(d.Type)
	}
	missing := "?"
	for _, c := range fs.Status.Conditions {
		if c.Type == flowcontrol.FlowSchemaConditionDangling {
			missing = string(c.Status)
		}
	}
	return meta.TableRow{Cells: []any{fs.Name, fs.Spec.PriorityLevelConfiguration.Name, int64(fs.Spec.MatchingPrecedence), method, age(fs.CreationTimestamp, now), missing}}
})

var priorityLevelPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Type", "string", "The type of the priority level, Exempt or Limited"),
	column("NominalConcurrencyShares", "string", "The nominal concurrency shares of this priority level"),
	column("Queues", "string", "The number of queues of this priority level"),
	column("HandSize", "string", "The hand size of this priority level"),
	column("QueueLengthLimit", "string", "The queue length limit of this priority level"),
	ageColumn,
}, func(pl *flowcontrol.PriorityLevelConfiguration, now time.Time) meta.TableRow {
	shares, queues, hand, length := any("<none>"), any("<none>"), any("<none>"), any("<none>")
	if l := pl.Spec.Limited; l != nil {
		if l.NominalConcurrencyShares != nil {
			shares = int64(*l.NominalConcurrencyShares)
		}
		if q := l.LimitResponse.Queuing; q != nil {
			queues, hand, length = int64(q.Queues), int64(q.HandSize), int64(q.QueueLengthLimit)
		}
	} else if e := pl.Spec.Exempt; e != nil && e.NominalConcurrencyShares != nil {
		shares = int64(*e.NominalConcurrencyShares)
	}
	return meta.TableRow{Cells: []any{pl.Name, string(pl.Spec.Type), shares, queues, hand, length, age(pl.CreationTimestamp, now)}}
})
