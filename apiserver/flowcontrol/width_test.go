package flowcontrol

import (
	"context"
	"testing"
	"time"

	fc "github.com/skiff-sh/skiff/api/flowcontrol"
)

func TestListSeats(t *testing.T) {
	cases := []struct {
		name                          string
		stored, limit                 int64
		fromStorage, selector, single bool
		want                          int
	}{
		{"unknown count", -1, 0, false, false, false, 1},
		{"empty", 0, 0, false, false, false, 1},
		{"from the cache: every stored object", 1000, 0, false, false, false, 10},
		{"from the cache, 150 objects", 150, 0, false, false, false, 2},
		{"a page from etcd: twice the limit", 5000, 500, true, false, false, 10},
		{"a small page from etcd", 5000, 40, true, false, false, 1},
		{"a filtered page: stored plus the limit", 5000, 500, true, true, false, 55},
		{"one name", 5000, 0, false, false, true, 1},
	}
	for _, tc := range cases {
		if got := ListSeats(tc.stored, tc.limit, tc.fromStorage, tc.selector, tc.single); got != tc.want {
			t.Errorf("%s: %d seats, want %d", tc.name, got, tc.want)
		}
	}
}

// levelsFor is a controller with the given levels, each reached by the user of its name.
func levelsFor(t *testing.T, serverLimit int, levels ...*fc.PriorityLevelConfiguration) *Controller {
	t.Helper()
	var schemas []*fc.FlowSchema
	for i, pl := range levels {
		fs := &fc.FlowSchema{Spec: fc.FlowSchemaSpec{MatchingPrecedence: int32(500 + i), PriorityLevelConfiguration: fc.PriorityLevelConfigurationReference{Name: pl.Name},
			DistinguisherMethod: &fc.FlowDistinguisherMethod{Type: fc.FlowDistinguisherMethodByUserType},
			Rules: []fc.PolicyRulesWithSubjects{{Subjects: []fc.Subject{{Kind: fc.SubjectKindUser, User: &fc.UserSubject{Name: pl.Name}}},
				ResourceRules: []fc.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}, ClusterScope: true}}}}}}
		fs.Name = pl.Name
		schemas = append(schemas, fs)
	}
	c := New(serverLimit, nil)
	c.Update(schemas, levels)
	return c
}

func limitedLevel(name string, shares int32, lendable, borrowing *int32) *fc.PriorityLevelConfiguration {
	pl := &fc.PriorityLevelConfiguration{Spec: fc.PriorityLevelConfigurationSpec{Type: fc.PriorityLevelEnablementLimited,
		Limited: &fc.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: &shares, LendablePercent: lendable, BorrowingLimitPercent: borrowing,
			LimitResponse: fc.LimitResponse{Type: fc.LimitResponseTypeQueue, Queuing: &fc.QueuingConfiguration{Queues: 16, HandSize: 4, QueueLengthLimit: 50}}}}}
	pl.Name = name
	return pl
}

func ptr(n int32) *int32 { return &n }

// state reads a level's executing seats and waiting requests.
func (c *Controller) state(name string) (executing, waiting int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.levels[name].executing, c.levels[name].waiting
}

// soon is a context for a request that must get its seats at once (a failing test is
// told so rather than hanging).
func soon(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// got waits for a waiting request's seats.
func got(t *testing.T, ch chan func()) func() {
	t.Helper()
	select {
	case release := <-ch:
		return release
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting request got no seats within 5s")
		return nil
	}
}

// acquireAsync starts an Acquire that may wait; its release arrives on the channel once
// it got its seats.
func acquireAsync(c *Controller, r Request) chan func() {
	got := make(chan func(), 1)
	go func() {
		_, release, err := c.Acquire(context.Background(), r)
		if err == nil {
			got <- release
		}
	}()
	return got
}

// A list takes seats by its estimate, capped at 15% of its level's: wide requests fill a
// level sooner, and one that does not fit waits while the seats are taken.
func TestWideRequestsTakeSeats(t *testing.T) {
	// 21 seats: "lists" (100 shares) gets ceil(21×100/105) = 20, catch-all (5) 1.
	c := levelsFor(t, 21, limitedLevel("lists", 100, nil, nil))
	list := Request{User: "lists", ResourceRequest: true, Verb: "list", Resource: "configmaps", Seats: ListSeats(5000, 0, false, false, false)}
	var releases []func()
	for range 6 {
		_, release, err := c.Acquire(soon(t), list)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	// 50 seats estimated, capped at ceil(15% of 20) = 3 each.
	if e, w := c.state("lists"); e != 18 || w != 0 {
		t.Fatalf("six wide lists: %d seats executing, %d waiting; want 18 and 0", e, w)
	}
	seventh := acquireAsync(c, list)
	waitFor(t, func() bool { _, w := c.state("lists"); return w == 1 })
	if e, _ := c.state("lists"); e != 18 {
		t.Fatalf("a wide list that does not fit took seats: %d executing", e)
	}
	releases[0]()
	release := got(t, seventh)
	if e, w := c.state("lists"); e != 18 || w != 0 {
		t.Fatalf("after one list finished: %d seats executing, %d waiting; want 18 and 0", e, w)
	}
	release()
	for _, r := range releases[1:] {
		r()
	}
	if e, _ := c.state("lists"); e != 0 {
		t.Fatalf("all released, %d seats still executing", e)
	}
}

// A level borrows what another lends while idle, up to its borrowing limit; the lender
// keeps its unlendable seats, and gets the lent ones back, before the borrower, as the
// borrower's requests finish.
func TestBorrowingBetweenLevels(t *testing.T) {
	one := func(user string) Request {
		return Request{User: user, ResourceRequest: true, Verb: "get", Resource: "configmaps"}
	}
	for _, tc := range []struct {
		name      string
		borrowing *int32
		canHold   int
	}{
		{"no borrowing limit", nil, 15},      // its 10 and the lender's lendable 5
		{"borrowing limit 20%", ptr(20), 12}, // its 10 and 2
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 20 seats: lender and borrower (50 shares each) get ceil(20×50/105) = 10, catch-all 1.
			c := levelsFor(t, 20, limitedLevel("lender", 50, ptr(50), ptr(0)), limitedLevel("borrower", 50, ptr(0), tc.borrowing))
			var held []func()
			for range tc.canHold {
				_, release, err := c.Acquire(soon(t), one("borrower"))
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, release)
			}
			if e, w := c.state("borrower"); e != tc.canHold || w != 0 {
				t.Fatalf("borrower: %d executing, %d waiting; want %d and 0", e, w, tc.canHold)
			}
			extra := acquireAsync(c, one("borrower"))
			waitFor(t, func() bool { _, w := c.state("borrower"); return w == 1 })

			// The lender's own unlendable seats are there at once; with all 5 lent, its
			// sixth request waits for a borrowed seat to come back.
			lent := tc.canHold - 10
			var lenderHeld []func()
			for range 10 - lent {
				_, release, err := c.Acquire(soon(t), one("lender"))
				if err != nil {
					t.Fatal(err)
				}
				lenderHeld = append(lenderHeld, release)
			}
			// The lender's further requests wait for the lent seats; each borrowed seat
			// that comes back goes to the lender, not to the borrower's waiting request.
			var back []chan func()
			for range lent {
				back = append(back, acquireAsync(c, one("lender")))
			}
			waitFor(t, func() bool { _, w := c.state("lender"); return w == lent })
			for i := range lent {
				held[0]()
				held = held[1:]
				waitFor(t, func() bool { e, _ := c.state("lender"); return e == 10-lent+i+1 })
				if _, w := c.state("borrower"); w != 1 {
					t.Fatalf("a borrowed seat that came back went to the borrower, not the lender")
				}
			}
			for _, ch := range back {
				lenderHeld = append(lenderHeld, got(t, ch))
			}
			for _, r := range lenderHeld {
				r()
			}
			// The lender idle again: the borrower's waiting request borrows.
			for _, r := range held {
				r()
			}
			got(t, extra)()
			if e, _ := c.state("borrower"); e != 0 {
				t.Fatalf("all released, borrower still holds %d", e)
			}
		})
	}
}

// With nothing lendable a level never goes past its own seats.
func TestNoLendingNoBorrowing(t *testing.T) {
	c := levelsFor(t, 20, limitedLevel("a", 50, ptr(0), nil), limitedLevel("b", 50, ptr(0), nil))
	for range 10 {
		if _, _, err := c.Acquire(soon(t), Request{User: "a", ResourceRequest: true, Verb: "get", Resource: "pods"}); err != nil {
			t.Fatal(err)
		}
	}
	acquireAsync(c, Request{User: "a", ResourceRequest: true, Verb: "get", Resource: "pods"})
	waitFor(t, func() bool { _, w := c.state("a"); return w == 1 })
	if e, _ := c.state("a"); e != 10 {
		t.Fatalf("a: %d seats executing with 10 of its own and nothing lent", e)
	}
}
