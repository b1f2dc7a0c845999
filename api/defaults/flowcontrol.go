package defaults

import "github.com/skiff-sh/skiff/api/flowcontrol"

// FlowSchema defaults as Kubernetes' SetDefaults_FlowSchemaSpec: matchingPrecedence 1000.
func FlowSchema(fs *flowcontrol.FlowSchema) {
	if fs.Spec.MatchingPrecedence == 0 {
		fs.Spec.MatchingPrecedence = 1000
	}
}

// PriorityLevelConfiguration defaults as Kubernetes' flowcontrol/v1 defaults: 30
// nominal concurrency shares for a limited level (0 for exempt), nothing lendable, and
// 64 queues, hands of 8 and queues of 50 requests for a queuing one.
func PriorityLevelConfiguration(pl *flowcontrol.PriorityLevelConfiguration) {
	if e := pl.Spec.Exempt; e != nil {
		if e.NominalConcurrencyShares == nil {
			e.NominalConcurrencyShares = ptr(int32(0))
		}
		if e.LendablePercent == nil {
			e.LendablePercent = ptr(int32(0))
		}
	}
	l := pl.Spec.Limited
	if l == nil {
		return
	}
	if l.NominalConcurrencyShares == nil {
		l.NominalConcurrencyShares = ptr(int32(30))
	}
	if l.LendablePercent == nil {
		l.LendablePercent = ptr(int32(0))
	}
	if q := l.LimitResponse.Queuing; q != nil {
		if q.HandSize == 0 {
			q.HandSize = 8
		}
		if q.Queues == 0 {
			q.Queues = 64
		}
		if q.QueueLengthLimit == 0 {
			q.QueueLengthLimit = 50
		}
	}
}
