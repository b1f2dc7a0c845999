package flowcontrol

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	fc "github.com/skiff-sh/skiff/api/flowcontrol"
)

// The defaults classify skiff's own components as Kubernetes classifies its own.
func TestDefaultClassification(t *testing.T) {
	c := New(600, nil)
	auth := []string{"system:authenticated"}
	cases := []struct {
		name          string
		r             Request
		schema, level string
	}{
		{"admin", Request{User: "admin", Groups: []string{"system:masters", "system:authenticated"}, ResourceRequest: true, Verb: "list", Resource: "pods", Namespace: "default"}, "exempt", "exempt"},
		{"node heartbeat", Request{User: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}, ResourceRequest: true, Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease"}, "system-node-high", "node-high"},
		{"node status", Request{User: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}, ResourceRequest: true, Verb: "patch", Resource: "nodes", Subresource: "status"}, "system-node-high", "node-high"},
		{"node pod list", Request{User: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}, ResourceRequest: true, Verb: "list", Resource: "pods"}, "system-nodes", "system"},
		{"controller manager", Request{User: "system:kube-controller-manager", Groups: auth, ResourceRequest: true, Verb: "create", APIGroup: "apps", Resource: "replicasets", Namespace: "default"}, "kube-controller-manager", "workload-high"},
		{"scheduler binding", Request{User: "system:kube-scheduler", Groups: auth, ResourceRequest: true, Verb: "create", Resource: "pods", Subresource: "binding", Namespace: "default"}, "kube-scheduler", "workload-high"},
		{"scheduler leader election", Request{User: "system:kube-scheduler", Groups: auth, ResourceRequest: true, Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"}, "system-leader-election", "leader-election"},
		{"service account", Request{User: "system:serviceaccount:default:app", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}, ResourceRequest: true, Verb: "get", Resource: "configmaps", Namespace: "default"}, "service-accounts", "workload-low"},
		{"user", Request{User: "alice", Groups: auth, ResourceRequest: true, Verb: "create", Resource: "configmaps", Namespace: "default"}, "global-default", "global-default"},
		{"health probe", Request{User: "system:anonymous", Groups: []string{"system:unauthenticated"}, Verb: "get", Path: "/readyz"}, "probes", "exempt"},
		{"anonymous", Request{User: "system:anonymous", Groups: []string{"system:unauthenticated"}, Verb: "get", Path: "/version"}, "global-default", "global-default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Classify(tc.r)
			if got.FlowSchema != tc.schema || got.PriorityLevel != tc.level {
				t.Fatalf("classified as %s/%s, want %s/%s", got.FlowSchema, got.PriorityLevel, tc.schema, tc.level)
			}
		})
	}
}

func TestDealGivesDistinctQueues(t *testing.T) {
	for h := uint64(0); h < 5000; h += 7 {
		hand := deal(h*0x9e3779b97f4a7c15, 64, 8)
		if len(hand) != 8 {
			t.Fatalf("hand of %d", len(hand))
		}
		seen := map[int]bool{}
		for _, q := range hand {
			if q < 0 || q >= 64 || seen[q] {
				t.Fatalf("hand %v: out of range or repeated", hand)
			}
			seen[q] = true
		}
	}
}

// oneSeat is a queuing level with a single seat, and a schema per user.
func oneSeat(t *testing.T, queues, handSize, queueLength int32, reject bool) *Controller {
	t.Helper()
	shares := int32(1)
	pl := &fc.PriorityLevelConfiguration{Spec: fc.PriorityLevelConfigurationSpec{Type: fc.PriorityLevelEnablementLimited,
		Limited: &fc.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: &shares,
			LimitResponse: fc.LimitResponse{Type: fc.LimitResponseTypeQueue, Queuing: &fc.QueuingConfiguration{Queues: queues, HandSize: handSize, QueueLengthLimit: queueLength}}}}}
	if reject {
		pl.Spec.Limited.LimitResponse = fc.LimitResponse{Type: fc.LimitResponseTypeReject}
	}
	pl.Name = "tight"
	fs := &fc.FlowSchema{Spec: fc.FlowSchemaSpec{MatchingPrecedence: 500, PriorityLevelConfiguration: fc.PriorityLevelConfigurationReference{Name: "tight"},
		DistinguisherMethod: &fc.FlowDistinguisherMethod{Type: fc.FlowDistinguisherMethodByUserType},
		Rules: []fc.PolicyRulesWithSubjects{{Subjects: []fc.Subject{{Kind: fc.SubjectKindGroup, Group: &fc.GroupSubject{Name: "system:authenticated"}}},
			ResourceRules: []fc.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}, ClusterScope: true}}}}}}
	fs.Name = "everyone"
	// With only the mandatory levels' shares (catch-all 5, exempt 0) besides this one, a
	// server limit of 1 still gives every limited level its minimum of one seat.
	c := New(1, nil)
	c.Update([]*fc.FlowSchema{fs}, []*fc.PriorityLevelConfiguration{pl})
	return c
}

func req(user string) Request {
	return Request{User: user, Groups: []string{"system:authenticated"}, ResourceRequest: true, Verb: "get", Resource: "configmaps", Namespace: "default"}
}

// A flow with many waiting requests does not delay another flow by more than one turn.
func TestFairQueuingServesFlowsInTurn(t *testing.T) {
	c := oneSeat(t, 64, 1, 100, false)
	ctx := context.Background()
	_, release, err := c.Acquire(ctx, req("holder"))
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 20)
	started := make(chan struct{}, 20)
	enqueue := func(user string) {
		go func() {
			started <- struct{}{}
			_, rel, err := c.Acquire(ctx, req(user))
			if err != nil {
				order <- "error: " + err.Error()
				return
			}
			order <- user
			rel()
		}()
		<-started
		waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.levels["tight"].waiting > 0 })
	}
	for range 10 {
		n := c.levels["tight"].waiting
		enqueue("noisy")
		waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.levels["tight"].waiting == n+1 })
	}
	enqueue("quiet")
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.levels["tight"].waiting == 11 })
	release()
	var got []string
	for range 11 {
		got = append(got, <-order)
	}
	if i := slices.Index(got, "quiet"); i < 0 || i > 1 {
		t.Fatalf("the quiet flow was served at position %d behind a noisy flow of 10: %v", i, got)
	}
}

func TestQueueFullAndRejectAndTimeout(t *testing.T) {
	ctx := context.Background()
	t.Run("reject level", func(t *testing.T) {
		c := oneSeat(t, 0, 0, 0, true)
		_, release, err := c.Acquire(ctx, req("a"))
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if _, _, err := c.Acquire(ctx, req("b")); !errors.Is(err, ErrRejected) {
			t.Fatalf("second request on a one-seat reject level: %v", err)
		}
	})
	t.Run("queue full", func(t *testing.T) {
		c := oneSeat(t, 1, 1, 1, false)
		_, release, _ := c.Acquire(ctx, req("a"))
		defer release()
		go c.Acquire(ctx, req("a")) //nolint:errcheck // waits in the only queue slot
		waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.levels["tight"].waiting == 1 })
		if _, _, err := c.Acquire(ctx, req("a")); !errors.Is(err, ErrRejected) {
			t.Fatalf("request beyond a full queue: %v", err)
		}
	})
	t.Run("wait limit", func(t *testing.T) {
		c := oneSeat(t, 4, 2, 10, false)
		_, release, _ := c.Acquire(ctx, req("a"))
		defer release()
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, _, err := c.Acquire(tctx, req("b")); !errors.Is(err, ErrRejected) {
			t.Fatalf("request whose wait passed its limit: %v", err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if w := c.levels["tight"].waiting; w != 0 {
			t.Fatalf("%d requests still counted as waiting after giving up", w)
		}
	})
}

// A schema naming a level that does not exist is ignored; removing a level lets its
// waiting requests run.
func TestDanglingSchemaAndRemovedLevel(t *testing.T) {
	c := oneSeat(t, 4, 2, 10, false)
	_, release, _ := c.Acquire(context.Background(), req("a"))
	done := make(chan error, 1)
	go func() {
		_, rel, err := c.Acquire(context.Background(), req("b"))
		if rel != nil {
			rel()
		}
		done <- err
	}()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.levels["tight"].waiting == 1 })
	fs := &fc.FlowSchema{Spec: fc.FlowSchemaSpec{MatchingPrecedence: 500, PriorityLevelConfiguration: fc.PriorityLevelConfigurationReference{Name: "gone"}}}
	fs.Name = "everyone"
	c.Update([]*fc.FlowSchema{fs}, nil)
	if err := <-done; err != nil {
		t.Fatalf("a request waiting on a removed level: %v", err)
	}
	release()
	if !c.Dangling(fs) {
		t.Fatal("a schema naming a missing level is not dangling")
	}
	if got := c.Classify(req("a")); got.FlowSchema != "catch-all" {
		t.Fatalf("with only a dangling schema, classified as %s", got.FlowSchema)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
