package resourcequota

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/storage"
)

// fakeStore keeps quotas with a revision counter; UpdateStatus is a real compare-and-swap,
// and the cache can be made to lag (stale) to exercise the conflict path.
type fakeStore struct {
	mu     sync.Mutex
	rev    int
	quotas map[string]*core.ResourceQuota
	cache  map[string]*core.ResourceQuota // what Cached returns; nil = same as quotas
	writes atomic.Int32
}

func newStore(qs ...*core.ResourceQuota) *fakeStore {
	s := &fakeStore{quotas: map[string]*core.ResourceQuota{}}
	for _, q := range qs {
		s.rev++
		q.ResourceVersion = strconv.Itoa(s.rev)
		s.quotas[q.Name] = q
	}
	return s
}

func (s *fakeStore) Cached(string) []*core.ResourceQuota {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.quotas
	if s.cache != nil {
		src = s.cache
	}
	var out []*core.ResourceQuota
	for _, q := range src {
		c := *q
		out = append(out, &c)
	}
	return out
}

func (s *fakeStore) Live(context.Context, string) ([]*core.ResourceQuota, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*core.ResourceQuota
	for _, q := range s.quotas {
		c := *q
		out = append(out, &c)
	}
	return out, nil
}

func (s *fakeStore) UpdateStatus(_ context.Context, q *core.ResourceQuota) (*core.ResourceQuota, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.quotas[q.Name]
	if cur == nil || cur.ResourceVersion != q.ResourceVersion {
		return nil, fmt.Errorf("quota %s: %w", q.Name, storage.ErrConflict)
	}
	s.rev++
	n := *cur
	n.Status = q.Status
	n.ResourceVersion = strconv.Itoa(s.rev)
	s.quotas[q.Name] = &n
	s.writes.Add(1)
	c := n
	return &c, nil
}

func (s *fakeStore) used(name string, r core.ResourceName) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.quotas[name].Status.Used[r]
	return q.String()
}

func list(kv ...string) core.ResourceList {
	out := core.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[core.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// quotaObj is a quota the controller has seen: status.hard = spec.hard, used as given.
func quotaObj(name string, hard, used core.ResourceList, scopes ...core.ResourceQuotaScope) *core.ResourceQuota {
	return &core.ResourceQuota{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "ns", UID: "uid-" + name},
		Spec:   core.ResourceQuotaSpec{Hard: hard, Scopes: scopes},
		Status: core.ResourceQuotaStatus{Hard: hard, Used: used}}
}

func pod(name string, reqs, lims core.ResourceList) *core.Pod {
	return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "app", Resources: core.ResourceRequirements{Requests: reqs, Limits: lims}}}}}
}

func kind(t *testing.T, group, res string) *registry.Kind {
	t.Helper()
	for _, k := range registry.Default().Kinds() {
		if k.Group == group && k.Resource == res {
			return k
		}
	}
	t.Fatalf("no kind %s/%s", group, res)
	return nil
}

func TestValidate(t *testing.T) {
	pods := kind(t, "", "pods")
	cms := kind(t, "", "configmaps")
	deploys := kind(t, "apps", "deployments")
	cm := &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "c", Namespace: "ns"}}
	for _, tc := range []struct {
		name    string
		quota   *core.ResourceQuota
		kind    *registry.Kind
		obj     meta.Object
		want    string // "" = admitted
		charged map[core.ResourceName]string
	}{
		{"pods at the limit", quotaObj("small", list("pods", "2"), list("pods", "2")), pods, pod("x", nil, nil),
			`pods "x" is forbidden: exceeded quota: small, requested: pods=1, used: pods=2, limited: pods=2`, nil},
		{"pods under the limit", quotaObj("small", list("pods", "2"), list("pods", "1")), pods, pod("x", nil, nil),
			"", map[core.ResourceName]string{"pods": "2"}},
		{"requests.cpu exceeded", quotaObj("compute", list("requests.cpu", "1", "pods", "10"), list("requests.cpu", "800m", "pods", "1")), pods,
			pod("x", list("cpu", "300m"), nil),
			`exceeded quota: compute, requested: requests.cpu=300m, used: requests.cpu=800m, limited: requests.cpu=1`, nil},
		{"requests.cpu charged", quotaObj("compute", list("requests.cpu", "1", "limits.memory", "1Gi"), list("requests.cpu", "200m", "limits.memory", "0")), pods,
			pod("x", list("cpu", "300m"), list("memory", "128Mi")),
			"", map[core.ResourceName]string{"requests.cpu": "500m", "limits.memory": "128Mi"}},
		{"must specify", quotaObj("compute", list("limits.cpu", "2", "requests.memory", "1Gi"), list("limits.cpu", "0", "requests.memory", "0")), pods,
			pod("x", nil, nil), `failed quota: compute: must specify limits.cpu for: app; requests.memory for: app`, nil},
		{"status unknown", &core.ResourceQuota{ObjectMeta: meta.ObjectMeta{Name: "q", Namespace: "ns", UID: "u"},
			Status: core.ResourceQuotaStatus{Hard: list("pods", "1")}}, pods, pod("x", nil, nil),
			"status unknown for quota: q, resources: pods", nil},
		{"not yet seen by the controller", &core.ResourceQuota{ObjectMeta: meta.ObjectMeta{Name: "q", Namespace: "ns", UID: "u"},
			Spec: core.ResourceQuotaSpec{Hard: list("pods", "0")}}, pods, pod("x", nil, nil), "", nil},
		{"BestEffort scope counts a best-effort pod", quotaObj("be", list("pods", "1"), list("pods", "1"), core.ResourceQuotaScopeBestEffort), pods,
			pod("x", nil, nil), "exceeded quota: be", nil},
		{"BestEffort scope ignores a burstable pod", quotaObj("be", list("pods", "1"), list("pods", "1"), core.ResourceQuotaScopeBestEffort), pods,
			pod("x", list("cpu", "1"), nil), "", nil},
		{"NotBestEffort scope ignores a best-effort pod", quotaObj("nbe", list("pods", "1"), list("pods", "1"), core.ResourceQuotaScopeNotBestEffort), pods,
			pod("x", nil, nil), "", nil},
		{"Terminating scope ignores a pod without a deadline", quotaObj("t", list("pods", "1"), list("pods", "1"), core.ResourceQuotaScopeTerminating), pods,
			pod("x", nil, nil), "", nil},
		{"NotTerminating scope counts it", quotaObj("nt", list("pods", "1"), list("pods", "1"), core.ResourceQuotaScopeNotTerminating), pods,
			pod("x", nil, nil), "exceeded quota: nt", nil},
		{"count/pods", quotaObj("c", list("count/pods", "3"), list("count/pods", "3")), pods, pod("x", nil, nil),
			"exceeded quota: c, requested: count/pods=1, used: count/pods=3, limited: count/pods=3", nil},
		{"legacy configmaps", quotaObj("c", list("configmaps", "1"), list("configmaps", "1")), cms, cm,
			`configmaps "c" is forbidden: exceeded quota: c, requested: configmaps=1, used: configmaps=1, limited: configmaps=1`, nil},
		{"count/configmaps charged", quotaObj("c", list("count/configmaps", "5"), list("count/configmaps", "1")), cms, cm,
			"", map[core.ResourceName]string{"count/configmaps": "2"}},
		{"count/deployments.apps", quotaObj("c", list("count/deployments.apps", "1"), list("count/deployments.apps", "1")), deploys,
			&core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "d", Namespace: "ns"}}, // the evaluator only counts
			`deployments.apps "d" is forbidden: exceeded quota: c, requested: count/deployments.apps=1`, nil},
		{"a scoped quota does not count configmaps", quotaObj("c", list("configmaps", "0"), list("configmaps", "0"), core.ResourceQuotaScopeBestEffort), cms, cm,
			"", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newStore(tc.quota)
			p := New(store)
			m := tc.obj.GetObjectMeta()
			a := &admission.Attributes{Operation: admission.Create, Kind: tc.kind, Namespace: "ns", Name: m.Name, Object: tc.obj}
			err := p.Validate(context.Background(), a)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else {
				var ae *admission.Error
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want %q", err, tc.want)
				}
				if !errorsAs(err, &ae) || ae.Status.Code != 403 {
					t.Fatalf("want a 403 admission.Error, got %#v", err)
				}
				if store.writes.Load() != 0 {
					t.Fatalf("a refusal charged the quota")
				}
			}
			for r, v := range tc.charged {
				if got := store.used(tc.quota.Name, r); got != v {
					t.Errorf("used %s = %s, want %s", r, got, v)
				}
			}
			if tc.want == "" && tc.charged == nil && store.writes.Load() != 0 {
				t.Errorf("an uncounted object charged the quota")
			}
		})
	}
}

func errorsAs(err error, target **admission.Error) bool {
	e, ok := err.(*admission.Error)
	*target = e
	return ok
}

func TestPriorityClassScopeSelector(t *testing.T) {
	q := quotaObj("pc", list("pods", "0"), list("pods", "0"))
	q.Spec.ScopeSelector = &core.ScopeSelector{MatchExpressions: []core.ScopedResourceSelectorRequirement{
		{ScopeName: core.ResourceQuotaScopePriorityClass, Operator: core.ScopeSelectorOpIn, Values: []string{"high"}}}}
	p := New(newStore(q))
	for class, refused := range map[string]bool{"high": true, "low": false, "": false} {
		po := pod("x", nil, nil)
		po.Spec.PriorityClassName = class
		err := p.Validate(context.Background(), &admission.Attributes{Operation: admission.Create, Kind: kind(t, "", "pods"), Namespace: "ns", Name: "x", Object: po})
		if (err != nil) != refused {
			t.Errorf("class %q: err %v, want refused=%v", class, err, refused)
		}
	}
}

func TestDryRunDoesNotCharge(t *testing.T) {
	store := newStore(quotaObj("q", list("pods", "5"), list("pods", "1")))
	a := &admission.Attributes{Operation: admission.Create, Kind: kind(t, "", "pods"), Namespace: "ns", Name: "x", Object: pod("x", nil, nil), DryRun: true}
	if err := New(store).Validate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if store.writes.Load() != 0 {
		t.Fatal("a dry run charged the quota")
	}
}

func TestUpdateChargesOnlyScopeChanges(t *testing.T) {
	store := newStore(quotaObj("q", list("pods", "5"), list("pods", "1")))
	old := pod("x", nil, nil)
	old.ResourceVersion = "7"
	n := pod("x", nil, nil)
	n.Labels = map[string]string{"a": "b"}
	a := &admission.Attributes{Operation: admission.Update, Kind: kind(t, "", "pods"), Namespace: "ns", Name: "x", Object: n, OldObject: old}
	if err := New(store).Validate(context.Background(), a); err != nil || store.writes.Load() != 0 {
		t.Fatalf("a label change was charged (err %v, writes %d)", err, store.writes.Load())
	}
}

// A stale cache (the controller or another server wrote the quota) costs a conflict, a live
// read and a second check — never a lost charge.
func TestConflictRereadsLive(t *testing.T) {
	q := quotaObj("q", list("pods", "2"), list("pods", "1"))
	store := newStore(q)
	stale := *q
	store.cache = map[string]*core.ResourceQuota{"q": &stale}
	// Someone else charges the last unit behind the cache's back.
	other := *q
	other.Status = core.ResourceQuotaStatus{Hard: q.Status.Hard, Used: list("pods", "2")}
	if _, err := store.UpdateStatus(context.Background(), &other); err != nil {
		t.Fatal(err)
	}
	err := New(store).Validate(context.Background(), &admission.Attributes{Operation: admission.Create, Kind: kind(t, "", "pods"), Namespace: "ns", Name: "x", Object: pod("x", nil, nil)})
	if err == nil || !strings.Contains(err.Error(), "used: pods=2, limited: pods=2") {
		t.Fatalf("got %v, want the refusal computed from the live quota", err)
	}
}

// Racing creates for a quota of 10: exactly 10 are admitted and status.used is 10.
func TestConcurrentCreatesAreExact(t *testing.T) {
	store := newStore(quotaObj("q", list("pods", "10"), list("pods", "0")))
	p := New(store)
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("p%d", i)
			err := p.Validate(context.Background(), &admission.Attributes{Operation: admission.Create, Kind: kind(t, "", "pods"), Namespace: "ns", Name: name, Object: pod(name, nil, nil)})
			if err == nil {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != 10 || store.used("q", "pods") != "10" {
		t.Fatalf("admitted %d, used %s; want 10 and 10", admitted.Load(), store.used("q", "pods"))
	}
}
