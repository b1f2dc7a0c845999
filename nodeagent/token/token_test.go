package token

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/internal/clock"
)

// fakeIssuer issues "token-N" tokens that expire ttl (the request's expirationSeconds, or
// capped by max) after the fake clock's now, and can be told to fail.
type fakeIssuer struct {
	clock *clock.Fake
	max   time.Duration
	fail  bool
	calls int
}

func (f *fakeIssuer) request(_ context.Context, ns, name string, tr *authentication.TokenRequest) (*authentication.TokenRequest, error) {
	if f.fail {
		return nil, errors.New("connection refused")
	}
	f.calls++
	out := *tr
	ttl := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	if f.max > 0 && ttl > f.max {
		ttl = f.max
		secs := int64(ttl / time.Second)
		out.Spec.ExpirationSeconds = &secs
	}
	out.Status = authentication.TokenRequestStatus{Token: fmt.Sprintf("%s/%s/token-%d", ns, name, f.calls),
		ExpirationTimestamp: meta.NewTime(f.clock.Now().Add(ttl))}
	return &out, nil
}

func request(exp int64, podUID string) *authentication.TokenRequest {
	return &authentication.TokenRequest{Spec: authentication.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authentication.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "p", UID: podUID},
	}}
}

// Steps through a token's life on a fake clock: cached until 80% of its lifetime, refreshed
// after; a 48-hour token refreshed at 24 hours; a failed refresh serves the old token until
// it expires, then errors.
func TestRefreshTiming(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		exp   int64         // requested expirationSeconds
		max   time.Duration // server cap (0: none)
		steps []struct {
			after time.Duration // clock step before the call
			token int           // which issued token the call returns
		}
	}{
		{name: "an hour (3607 s): refreshed past 80%", exp: 3607, steps: []struct {
			after time.Duration
			token int
		}{{0, 1}, {time.Minute, 1}, {2825 * time.Second, 1}, {time.Second, 2}, {time.Minute, 2}}},
		// 80% of 3607 s is 2885.6 s: the call at 2885 s is served from the cache, the one at
		// 2886 s refreshes, and the new token is cached again.
		{name: "two days: refreshed at 24 hours, before 80%", exp: 48 * 3600, steps: []struct {
			after time.Duration
			token int
		}{{0, 1}, {24 * time.Hour, 1}, {time.Second, 2}}},
		{name: "server shortened the token: its lifetime counts", exp: 48 * 3600, max: time.Hour, steps: []struct {
			after time.Duration
			token int
		}{{0, 1}, {48 * time.Minute, 1}, {time.Second, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clock.NewFake(start)
			iss := &fakeIssuer{clock: c, max: tc.max}
			m := New(iss.request, c).WithoutJitter()
			for i, s := range tc.steps {
				c.Step(s.after)
				got, err := m.Token(context.Background(), "ns", "sa", request(tc.exp, "uid-1"))
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if want := fmt.Sprintf("ns/sa/token-%d", s.token); got.Status.Token != want {
					t.Fatalf("step %d (at %v): token %q, want %q", i, c.Now().Sub(start), got.Status.Token, want)
				}
			}
		})
	}
}

// The 80% boundary exactly: 3600 s tokens are due after 2880 s, not at it.
func TestRefreshBoundary(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	iss := &fakeIssuer{clock: c}
	m := New(iss.request, c).WithoutJitter()
	get := func() string {
		got, err := m.Token(context.Background(), "ns", "sa", request(3600, "u"))
		if err != nil {
			t.Fatal(err)
		}
		return got.Status.Token
	}
	get()
	c.Step(2880 * time.Second)
	if tok := get(); tok != "ns/sa/token-1" {
		t.Errorf("at 80%%: %s, want the first token", tok)
	}
	c.Step(time.Millisecond)
	if tok := get(); tok != "ns/sa/token-2" {
		t.Errorf("past 80%%: %s, want a new token", tok)
	}
}

func TestFailedRefreshServesValidToken(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	iss := &fakeIssuer{clock: c}
	m := New(iss.request, c).WithoutJitter()
	ctx := context.Background()
	if _, err := m.Token(ctx, "ns", "sa", request(3600, "u")); err != nil {
		t.Fatal(err)
	}
	iss.fail = true
	c.Step(3500 * time.Second) // due for refresh, still valid
	got, err := m.Token(ctx, "ns", "sa", request(3600, "u"))
	if err != nil || got.Status.Token != "ns/sa/token-1" {
		t.Fatalf("failed refresh of a valid token: %v %v", got, err)
	}
	c.Step(100 * time.Second) // expired
	if _, err := m.Token(ctx, "ns", "sa", request(3600, "u")); err == nil {
		t.Fatal("an expired token was served")
	}
}

// Different requests are different tokens; a forgotten pod's tokens are asked for again.
func TestCacheKeys(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	iss := &fakeIssuer{clock: c}
	m := New(iss.request, c).WithoutJitter()
	ctx := context.Background()
	for _, r := range []struct {
		ns, name string
		tr       *authentication.TokenRequest
	}{
		{"ns", "sa", request(3600, "u1")},
		{"ns", "sa", request(3600, "u2")},
		{"ns", "other", request(3600, "u1")},
		{"ns2", "sa", request(3600, "u1")},
		{"ns", "sa", request(7200, "u1")},
		{"ns", "sa", func() *authentication.TokenRequest {
			tr := request(3600, "u1")
			tr.Spec.Audiences = []string{"vault"}
			return tr
		}()},
	} {
		if _, err := m.Token(ctx, r.ns, r.name, r.tr); err != nil {
			t.Fatal(err)
		}
	}
	if iss.calls != 6 {
		t.Errorf("%d requests for 6 different tokens", iss.calls)
	}
	if _, err := m.Token(ctx, "ns", "sa", request(3600, "u1")); err != nil || iss.calls != 6 {
		t.Errorf("a cached token was requested again (%d calls, %v)", iss.calls, err)
	}
	m.ForgetPod("u1")
	if _, err := m.Token(ctx, "ns", "sa", request(3600, "u2")); err != nil || iss.calls != 6 {
		t.Errorf("another pod's token was forgotten (%d calls)", iss.calls)
	}
	if _, err := m.Token(ctx, "ns", "sa", request(3600, "u1")); err != nil || iss.calls != 7 {
		t.Errorf("a forgotten pod's token was not requested again (%d calls)", iss.calls)
	}
}
